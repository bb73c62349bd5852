/**
 * The R4 validator the FHIR catalogue uses: medplum's structural checks and invariants, plus the
 * required-binding check on codes, through datatypes, repeated (contentReference) elements and
 * the resources of a Bundle.
 */
import { errorsOf, formatIssues, validateFhir } from '../../engine/catalogue/fhir-validate';

const cs = (extra: Record<string, unknown>) => ({ resourceType: 'CodeSystem', url: 'https://labo.example.fr/fhir/CodeSystem/x', status: 'active', content: 'complete', ...extra });

test('a valid resource has no errors; a non-object or a missing resourceType is an error', () => {
  expect(errorsOf(validateFhir(cs({ concept: [{ code: 'A', display: 'a' }] })))).toEqual([]);
  expect(validateFhir([])).toEqual([{ severity: 'error', path: '(root)', message: 'not a JSON object' }]);
  expect(validateFhir({ status: 'active' })).toEqual([{ severity: 'error', path: '(root)', message: 'no resourceType' }]);
});

test('structure, cardinality and invariants come from medplum with their paths', () => {
  const issues = errorsOf(validateFhir({ resourceType: 'ConceptMap', group: [{ element: [{ code: 'A', target: [{ code: 'B', equivalence: 'narrower' }] }] }] }));
  expect(formatIssues(issues)).toMatch(/ConceptMap\.status: Missing required property/);
  // cmd-1: a narrower map needs a comment; csd-1: codes unique (medplum's FHIRPath does not see a
  // nested duplicate; our CodeSystems are flat and the import ignores nested concepts).
  const cmd1 = errorsOf(validateFhir({ resourceType: 'ConceptMap', status: 'active', group: [{ element: [{ code: 'A', target: [{ code: 'B', equivalence: 'narrower' }] }] }] }));
  expect(formatIssues(cmd1)).toMatch(/ConceptMap\.group\[0\]\.element\[0\]\.target\[0\]: Constraint cmd-1 not met/);
  expect(formatIssues(errorsOf(validateFhir(cs({ concept: [{ code: 'A' }, { code: 'A' }] }))))).toMatch(/csd-1/);
  expect(formatIssues(errorsOf(validateFhir(cs({ date: '07/12/2026' }))))).toMatch(/CodeSystem\.date: Invalid dateTime format/);
  // In a Bundle too, with the entry's path, and each issue once.
  const inBundle = errorsOf(validateFhir({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: cs({ concept: [{ code: 'A' }, { code: 'A' }] }) }, { resource: { resourceType: 'ConceptMap' } }] }));
  expect(inBundle.map((i) => i.path)).toEqual(['Bundle.entry[1].resource.status', 'Bundle.entry[0].resource']);
  expect(inBundle[1].message).toMatch(/csd-1/);
});

test('codes outside a required binding are errors: in the resource, a datatype, a repeated element, a Bundle entry', () => {
  const messages = (r: unknown) => errorsOf(validateFhir(r)).map((i) => `${i.path}: ${i.message}`);
  expect(messages(cs({ content: 'all', text: { status: 'made-up', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' } }))).toEqual([
    'CodeSystem.text.status: "made-up" is not in the required value set http://hl7.org/fhir/ValueSet/narrative-status (generated, extensions, additional, empty)',
    'CodeSystem.content: "all" is not in the required value set http://hl7.org/fhir/ValueSet/codesystem-content-mode (not-present, example, fragment, complete, supplement)',
  ]);
  const vs = {
    resourceType: 'ValueSet',
    status: 'draft',
    compose: { include: [{ system: 'http://loinc.org' }], exclude: [{ system: 'http://loinc.org', filter: [{ property: 'CLASS', op: 'like', value: 'CHEM' }] }] },
  };
  expect(messages(vs)).toEqual([expect.stringMatching(/^ValueSet\.compose\.exclude\[0\]\.filter\[0\]\.op: "like" is not in the required value set http:\/\/hl7\.org\/fhir\/ValueSet\/filter-operator/)]);
  expect(messages({ resourceType: 'Bundle', type: 'pile', entry: [{ resource: { ...vs, status: 'final', compose: undefined } }] })).toEqual([
    expect.stringMatching(/^Bundle\.type: "pile" is not in the required value set http:\/\/hl7\.org\/fhir\/ValueSet\/bundle-type/),
    expect.stringMatching(/^Bundle\.entry\[0\]\.resource\.status: "final" is not in the required value set http:\/\/hl7\.org\/fhir\/ValueSet\/publication-status/),
  ]);
});
