import { Hl7Error } from './errors';

/**
 * Path syntax: 'PID-3', 'PID-3[2].4.2', 'OBX[3]-5', 'MSH-9.2', 'OBX' (segment only).
 * Segment occurrence and repetition are 1-based in brackets; component and subcomponent are
 * 1-based after dots. Inside a segment: '3[2].4.2' or '5'.
 * An index that is not written means "the whole thing at that level" (e.g. 'PID-3' = every
 * repetition), except that going deeper implies repetition 1 ('PID-3.1' = 'PID-3[1].1').
 */
export interface Hl7Path {
  segment?: string;
  occurrence: number;
  field?: number;
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

const SEGMENT_PATH = /^([A-Za-z0-9]{3})(?:\[(\d+)\])?(?:-(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?)?$/;
const FIELD_PATH = /^(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?$/;

// Paths are few and reused on every message: parse each once.
const cache = new Map<string, Hl7Path>();
const fieldCache = new Map<string, Hl7Path>();
const CACHE_LIMIT = 2000;

function badPath(path: string, why: string): never {
  throw new Hl7Error('HL7_BAD_PATH', `invalid HL7 path ${JSON.stringify(path)}: ${why}`);
}

function positive(path: string, s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) badPath(path, `${what} must be ≥ 1`);
  return n;
}

function remember(map: Map<string, Hl7Path>, key: string, p: Hl7Path): Hl7Path {
  if (map.size >= CACHE_LIMIT) map.clear();
  map.set(key, p);
  return p;
}

/** Parses a message-level path ('PID-3[2].4.2'). Throws HL7_BAD_PATH. */
export function parsePath(path: string): Hl7Path {
  const hit = cache.get(path);
  if (hit) return hit;
  const m = SEGMENT_PATH.exec(path);
  if (!m) badPath(path, "expected e.g. 'PID-3', 'PID-3[2].4.2' or 'OBX[3]-5'");
  const p: Hl7Path = Object.freeze({
    segment: m[1].toUpperCase(),
    occurrence: positive(path, m[2], 'segment occurrence') ?? 1,
    field: positive(path, m[3], 'field'),
    repetition: positive(path, m[4], 'repetition'),
    component: positive(path, m[5], 'component'),
    subcomponent: positive(path, m[6], 'subcomponent'),
  });
  return remember(cache, path, p);
}

/** Parses a segment-level path ('3[2].4.2', '5'). Throws HL7_BAD_PATH. */
export function parseFieldPath(path: string): Hl7Path {
  const hit = fieldCache.get(path);
  if (hit) return hit;
  const m = FIELD_PATH.exec(path);
  if (!m) badPath(path, "expected e.g. '5' or '3[2].4.2'");
  const p: Hl7Path = Object.freeze({
    occurrence: 1,
    field: positive(path, m[1], 'field'),
    repetition: positive(path, m[2], 'repetition'),
    component: positive(path, m[3], 'component'),
    subcomponent: positive(path, m[4], 'subcomponent'),
  });
  return remember(fieldCache, path, p);
}
