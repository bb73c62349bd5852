/**
 * The FHIR import (SGL.LOI.10): a round trip keeps the transcoding and its dates and the
 * catalogue; several LOINC codes for one local code and invalid FHIR refuse the whole import.
 */
import { formatImportReport } from '../../engine/catalogue/csv-import';
import { exportCatalogueFhir } from '../../engine/catalogue/fhir-export';
import { importCatalogueFhir } from '../../engine/catalogue/fhir-import';
import { ASSIGNMENT_DATES_URL, type ConceptMap } from '../../engine/catalogue/fhir-model';
import { emptyLoincMap } from '../../engine/catalogue/loinc-file';
import { BASE, plain, smallCatalogue, smallMap } from './fhir-fixtures/small-catalogue';

const day = '2026-12-07';
const exported = JSON.stringify(exportCatalogueFhir(smallCatalogue(), smallMap(), { base: BASE, now: new Date(`${day}T08:00:00Z`) }));

/** A standalone ConceptMap to LOINC for the analyses, targets given per element. */
function conceptMap(elements: { code: string; target: { code?: string; equivalence: string; display?: string }[] }[], status = 'active'): ConceptMap {
  return {
    resourceType: 'ConceptMap',
    url: `${BASE}/ConceptMap/loinc`,
    status,
    group: [{ source: `${BASE}/CodeSystem/analyses`, target: 'http://loinc.org', element: elements }],
  };
}
const blocking = (r: { problems: { severity: string; message: string }[] }) => r.problems.filter((p) => p.severity === 'blocking').map((p) => p.message);
const warnings = (r: { problems: { severity: string; message: string }[] }) => r.problems.filter((p) => p.severity === 'warning').map((p) => p.message);

test('round trip: export then import gives the same transcoding, dates kept, and the same catalogue', () => {
  const r = importCatalogueFhir(exported, { file: 'catalogue.fhir.json', day });
  expect(blocking(r)).toEqual([]);
  expect(warnings(r)).toEqual([]);
  expect(r.accepted).toBe(true);
  expect(plain(r.map)).toEqual(plain(smallMap()));
  expect(r.catalogue).toEqual(smallCatalogue());
  expect(r.changes.every((c) => c.action === 'added')).toBe(true);
  expect(r.files).toEqual([{ file: 'catalogue.fhir.json', lines: 6 }]);
  expect(formatImportReport(r)).toMatch(/imported \(6 added, 0 changed, 0 unchanged; 0 warning\(s\)\)/);
});

test('round trip over a current transcoding: the same codes are unchanged, another code is a change with the imported dates', () => {
  const current = smallMap() as ReturnType<typeof smallMap> & { analyses: Map<string, unknown> };
  (current.analyses as Map<string, { loinc: string; created: string; modified: string }>).set('VS', { loinc: '30341-2', created: '2020-01-01', modified: '2020-01-01' });
  const r = importCatalogueFhir(Buffer.from(exported), { file: 'x.json', day, current, catalogue: smallCatalogue() });
  expect(r.accepted).toBe(true);
  expect(r.changes.find((c) => c.local === 'VS')).toEqual({ kind: 'analyses', local: 'VS', loinc: '4537-7', action: 'changed', previous: '30341-2' });
  expect(r.changes.filter((c) => c.action === 'unchanged')).toHaveLength(5);
  expect(plain(r.map)).toEqual(plain(smallMap()));
});

test('two LOINC targets for one local code are refused, naming the element (SGL.LOI.07)', () => {
  const cm = conceptMap([
    { code: 'CRP', target: [{ code: '1988-5', equivalence: 'equivalent' }] },
    { code: 'GLY', target: [{ code: '2345-7', equivalence: 'equivalent' }, { code: '2339-0', equivalence: 'equivalent' }] },
  ]);
  const r = importCatalogueFhir(cm, { file: 'map.json', day, catalogue: smallCatalogue(), current: smallMap() });
  expect(r.accepted).toBe(false);
  expect(blocking(r)).toEqual(['ConceptMap group[0].element[1] (GLY): GLY: several LOINC codes (2345-7, 2339-0); one local code takes one LOINC code']);
  // Refused: the report's map is the current one, untouched.
  expect(plain(r.map)).toEqual(plain(smallMap()));
  expect(formatImportReport(r)).toMatch(/REFUSED, 1 blocking error\(s\)/);
});

test('the same local code in two elements with different LOINC codes is refused too', () => {
  const cm = conceptMap([
    { code: 'CRP', target: [{ code: '1988-5', equivalence: 'equivalent' }] },
    { code: 'CRP', target: [{ code: '30522-7', equivalence: 'equivalent' }] },
  ]);
  const r = importCatalogueFhir(JSON.stringify(cm), { file: 'map.json', day, catalogue: smallCatalogue() });
  expect(r.accepted).toBe(false);
  expect(blocking(r)[0]).toMatch(/analyses CRP: several LOINC codes in different elements: ConceptMap group\[0\]\.element\[0\] \(CRP\) → 1988-5, ConceptMap group\[0\]\.element\[1\] \(CRP\) → 30522-7/);
});

test('an invalid resource is refused with the validator\'s path and message', () => {
  const badStatus = importCatalogueFhir(conceptMap([{ code: 'CRP', target: [{ code: '1988-5', equivalence: 'equivalent' }] }], 'bogus'), { file: 'map.json', day });
  expect(badStatus.accepted).toBe(false);
  expect(blocking(badStatus)).toEqual([
    'ConceptMap.status: not valid FHIR R4: "bogus" is not in the required value set http://hl7.org/fhir/ValueSet/publication-status (draft, active, retired, unknown)',
  ]);

  const bundle = JSON.parse(exported) as { entry: { resource: Record<string, unknown> }[] };
  bundle.entry[6].resource.colour = 'blue';
  (bundle.entry[6].resource as unknown as ConceptMap).group![0].element[0].target![0].equivalence = 'same';
  const r = importCatalogueFhir(bundle, { file: 'bundle.json', day });
  expect(blocking(r)).toEqual([
    'Bundle.entry[6].resource.colour: not valid FHIR R4: Invalid additional property "colour"',
    'Bundle.entry[6].resource.group[0].element[0].target[0].equivalence: not valid FHIR R4: "same" is not in the required value set http://hl7.org/fhir/ValueSet/concept-map-equivalence (relatedto, equivalent, equal, wider, subsumes, narrower, specializes, inexact, unmatched, disjoint)',
  ]);
  expect(r.map.analyses.size).toBe(0);

  expect(blocking(importCatalogueFhir('{"resourceType": "ConceptMap", ', { file: 'cut.json', day }))[0]).toMatch(/^\(file\): not JSON/);
  expect(blocking(importCatalogueFhir({ resourceType: 'Patient' }, { file: 'p.json', day }))).toEqual(['Patient: a FHIR Bundle or ConceptMap is expected']);
});

test('without dates the CSV rules apply; unknown local codes, other equivalences and the value set give warnings', () => {
  const cm = conceptMap([
    { code: 'CRP', target: [{ code: '1988-5', equivalence: 'equivalent', display: 'CRP SerPl-mCnc' }] },
    { code: 'VS', target: [{ code: '30341-2', equivalence: 'wider' }] },
    { code: 'NOPE', target: [{ code: '718-7', equivalence: 'equivalent' }] },
    { code: 'GLY', target: [{ equivalence: 'unmatched' }] },
  ]);
  const current = emptyLoincMap();
  (current.analyses as Map<string, unknown>).set('VS', { loinc: '4537-7', created: '2022-11-30', modified: '2022-11-30' });
  const r = importCatalogueFhir(cm, { file: 'map.json', day, current, catalogue: smallCatalogue(), valueSet: { source: 'vs.json', codes: new Set(['1988-5']) } });
  expect(r.accepted).toBe(true);
  expect(warnings(r)).toEqual([
    'ConceptMap group[0].element[1] (VS): VS → 30341-2 is mapped as "wider", imported as its LOINC code',
    'ConceptMap group[0].element[1] (VS): VS: LOINC 30341-2 is not in the "circuit de la biologie" value set (imported)',
    'ConceptMap group[0].element[2] (NOPE): analyses NOPE is not in the catalogue: skipped',
  ]);
  expect(plain(r.map).analyses).toEqual({
    CRP: { loinc: '1988-5', label: 'CRP SerPl-mCnc', created: day, modified: day },
    VS: { loinc: '30341-2', created: '2022-11-30', modified: day },
  });
  expect(r.catalogue).toBeUndefined();
});

test('a malformed LOINC code, bad dates or a source that is not a catalogue CodeSystem are blocking', () => {
  const bad = importCatalogueFhir(conceptMap([{ code: 'CRP', target: [{ code: '1988-4', equivalence: 'equivalent' }] }]), { file: 'm.json', day });
  expect(blocking(bad)).toEqual(['ConceptMap group[0].element[0] (CRP): CRP: "1988-4" has a wrong LOINC check digit (1988-5 would be valid)']);

  const dated = conceptMap([{ code: 'CRP', target: [{ code: '1988-5', equivalence: 'equivalent' }] }]);
  dated.group![0].element[0].target![0].extension = [{ url: ASSIGNMENT_DATES_URL, extension: [{ url: 'created', valueDate: '2024-05-01' }, { url: 'modified', valueDate: '2024-01-01' }] }];
  expect(blocking(importCatalogueFhir(dated, { file: 'm.json', day }))).toEqual(['ConceptMap group[0].element[0] (CRP): modified 2024-01-01 is before created 2024-05-01']);

  const elsewhere = conceptMap([{ code: 'CRP', target: [{ code: '1988-5', equivalence: 'equivalent' }] }]);
  elsewhere.group![0].source = 'http://provider.example/codes';
  expect(blocking(importCatalogueFhir(elsewhere, { file: 'm.json', day }))[0]).toMatch(/^ConceptMap group\[0\]: source http:\/\/provider.example\/codes is not a catalogue CodeSystem/);
});

test('a ConceptMap alone and no catalogue: imported, with a warning that local codes were not checked', () => {
  const r = importCatalogueFhir(conceptMap([{ code: 'ANY', target: [{ code: '718-7', equivalence: 'equal' }] }]), { file: 'm.json', day });
  expect(r.accepted).toBe(true);
  expect(warnings(r)).toEqual(['(catalogue): none given and the input has no complete CodeSystems: local codes taken unchecked']);
  expect(plain(r.map).analyses).toEqual({ ANY: { loinc: '718-7', created: day, modified: day } });
});
