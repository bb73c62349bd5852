/**
 * The catalogue as FHIR R4 (SGL.LOI.10): the exported Bundle is valid for the R4 validator and
 * carries the CodeSystems, ValueSets and ConceptMap with the catalogue's content.
 */
import { exportCatalogueFhir } from '../../engine/catalogue/fhir-export';
import { ASSIGNMENT_DATES_URL, type CodeSystem, type ConceptMap, type ValueSet } from '../../engine/catalogue/fhir-model';
import { errorsOf, validateFhir } from '../../engine/catalogue/fhir-validate';
import { isLoincCode } from '../../engine/catalogue/loinc-code';
import { BASE, smallCatalogue, smallMap } from './fhir-fixtures/small-catalogue';
import { configErrorMessage } from '../support/config-files';

const now = new Date('2026-12-07T10:00:00Z');
const bundle = exportCatalogueFhir(smallCatalogue(), smallMap(), { base: `${BASE}/`, publisher: 'Laboratoire Exemple', now });
const resources = (bundle.entry ?? []).map((e) => e.resource) as (CodeSystem | ValueSet | ConceptMap)[];
const byUrl = (url: string) => resources.find((r) => r.url === url);
const codeSystem = (slug: string) => byUrl(`${BASE}/CodeSystem/${slug}`) as CodeSystem;

test('the fixture uses well-formed LOINC codes', () => {
  for (const t of Object.values(smallMap())) for (const a of t.values()) expect(isLoincCode(a.loinc)).toBe(true);
});

test('the Bundle is a valid FHIR R4 collection: four CodeSystems, two ValueSets, one ConceptMap, canonical URLs under the base', () => {
  expect(errorsOf(validateFhir(bundle))).toEqual([]);
  expect(bundle.type).toBe('collection');
  expect(bundle.timestamp).toBe('2026-12-07T10:00:00.000Z');
  expect(resources.map((r) => `${r.resourceType} ${r.url}`)).toEqual([
    `CodeSystem ${BASE}/CodeSystem/chapters`,
    `CodeSystem ${BASE}/CodeSystem/sub-chapters`,
    `CodeSystem ${BASE}/CodeSystem/exams`,
    `CodeSystem ${BASE}/CodeSystem/analyses`,
    `ValueSet ${BASE}/ValueSet/orderable-exams`,
    `ValueSet ${BASE}/ValueSet/result-analyses`,
    `ConceptMap ${BASE}/ConceptMap/loinc`,
  ]);
  for (const e of bundle.entry ?? []) expect(e.fullUrl).toBe((e.resource as CodeSystem).url);
  for (const r of resources) {
    expect(errorsOf(validateFhir(r))).toEqual([]);
    expect(r).toMatchObject({ status: 'active', date: '2026-12-07', publisher: 'Laboratoire Exemple' });
  }
});

test('CodeSystems are complete, declare every property their concepts use, and carry the catalogue', () => {
  for (const slug of ['chapters', 'sub-chapters', 'exams', 'analyses']) {
    const cs = codeSystem(slug);
    expect(cs).toMatchObject({ content: 'complete', caseSensitive: true, count: cs.concept?.length ?? 0 });
    const declared = new Set((cs.property ?? []).map((p) => p.code));
    for (const c of cs.concept ?? []) for (const p of c.property ?? []) expect(declared).toContain(p.code);
  }
  expect(codeSystem('chapters').concept?.map((c) => [c.code, c.display])).toEqual([['BIOCH', 'Biochimie'], ['HEMA', 'Hématologie']]);
  // Sub-chapter codes repeat across chapters (PROT): the concept code is <chapter>/<sub-chapter>.
  expect(codeSystem('sub-chapters').concept?.map((c) => c.code)).toEqual(['BIOCH/PROT', 'BIOCH/GLUC', 'HEMA/PROT']);

  const inflam = codeSystem('exams').concept?.find((c) => c.code === 'INFLAM');
  expect(inflam?.display).toBe('Bilan inflammatoire');
  expect(inflam?.property).toEqual([
    { code: 'chapter', valueCoding: { system: `${BASE}/CodeSystem/chapters`, code: 'BIOCH', display: 'Biochimie' } },
    { code: 'subChapter', valueCoding: { system: `${BASE}/CodeSystem/sub-chapters`, code: 'BIOCH/PROT' } },
    { code: 'specimen', valueString: 'Sérum' },
    { code: 'nabm', valueString: '1804' },
    { code: 'nabm', valueString: '1805' },
    { code: 'analysis', valueCoding: { system: `${BASE}/CodeSystem/analyses`, code: 'CRP', display: 'Protéine C réactive' } },
    { code: 'analysis', valueCoding: { system: `${BASE}/CodeSystem/analyses`, code: 'VS', display: 'Vitesse de sédimentation' } },
  ]);
  const gly = codeSystem('exams').concept?.find((c) => c.code === 'GLY');
  expect(gly?.designation).toEqual([{ language: 'fr-FR', use: { system: 'http://snomed.info/sct', code: '900000000000013009', display: 'Synonym' }, value: 'Glucose' }]);

  const vs = codeSystem('analyses').concept?.find((c) => c.code === 'VS');
  expect(vs?.property).toEqual([
    { code: 'loincProperty', valueString: 'Vel' },
    { code: 'unit', valueCoding: { code: 'mm/h', display: 'millimètres par heure' } },
    { code: 'timeAspect', valueString: 'Pt' },
    { code: 'loincSystem', valueCoding: { code: 'Bld', display: 'Sang' } },
    { code: 'scale', valueString: 'Qn' },
    { code: 'method', valueString: 'Westergren' },
  ]);
});

test('the ValueSets take the whole exams / analyses CodeSystems', () => {
  expect((byUrl(`${BASE}/ValueSet/orderable-exams`) as ValueSet).compose).toEqual({ include: [{ system: `${BASE}/CodeSystem/exams` }] });
  expect((byUrl(`${BASE}/ValueSet/result-analyses`) as ValueSet).compose).toEqual({ include: [{ system: `${BASE}/CodeSystem/analyses` }] });
  expect(codeSystem('exams').valueSet).toBe(`${BASE}/ValueSet/orderable-exams`);
});

test('the ConceptMap has one group per kind to http://loinc.org, equivalent targets with their dates', () => {
  const cm = byUrl(`${BASE}/ConceptMap/loinc`) as ConceptMap;
  expect(cm.targetUri).toBe('http://loinc.org/vs');
  expect(cm.copyright).toMatch(/LOINC.*Regenstrief/);
  expect(cm.group?.map((g) => [g.source, g.target, g.element.length])).toEqual([
    [`${BASE}/CodeSystem/chapters`, 'http://loinc.org', 1],
    [`${BASE}/CodeSystem/sub-chapters`, 'http://loinc.org', 1],
    [`${BASE}/CodeSystem/exams`, 'http://loinc.org', 1],
    [`${BASE}/CodeSystem/analyses`, 'http://loinc.org', 3],
  ]);
  const crp = cm.group?.[3].element.find((e) => e.code === 'CRP');
  expect(crp).toEqual({
    code: 'CRP',
    display: 'Protéine C réactive',
    target: [
      {
        code: '1988-5',
        display: 'C reactive protein [Mass/volume] in Serum or Plasma',
        equivalence: 'equivalent',
        extension: [{ url: ASSIGNMENT_DATES_URL, extension: [{ url: 'created', valueDate: '2022-11-30' }, { url: 'modified', valueDate: '2024-01-15' }] }],
      },
    ],
  });
});

test('an invalid base or a catalogue that makes invalid FHIR (a duplicated code) is refused, nothing returned', () => {
  expect(configErrorMessage(() => exportCatalogueFhir(smallCatalogue(), smallMap(), { base: 'labo/fhir' }))).toMatch(/labo\/fhir/);
  const twice = smallCatalogue();
  twice.analyses.push({ code: 'CRP', label: 'CRP bis', nabm: [] });
  const message = configErrorMessage(() => exportCatalogueFhir(twice, smallMap(), { base: BASE }));
  expect(message).toContain(`${BASE}/CodeSystem/analyses`);
  expect(message).toMatch(/csd-1/);
});
