/**
 * Result values by HL7 type → CDA observation/value, and the same value as narrative text.
 *
 * SN (structured numeric) follows the ANS examples: `<0.128` is an IVL_PQ with
 * `high inclusive="false"`, `>=0.512` an IVL_PQ with `low inclusive="true"`, `1-5` an IVL_PQ with
 * both bounds, a bare number a PQ. What IVL_PQ cannot say (ratios `1:64`, `<>`, `2+`) goes as ST
 * with the text as sent, so nothing is invented.
 */
import type { Result } from '../lab/report';
import { type El, xsiType, isTs } from './xml';
import { systemOf } from './vocab';

const NUM_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Decimal as CDA wants it (dot separator, no leading +), or undefined when not a number. */
export function cdaNumber(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const v = s.trim().replace(',', '.').replace(/^\+/, '');
  return NUM_RE.test(v) ? v : undefined;
}

/** UCUM unit for a PQ: the UCUM unit, "1" for a unitless number, undefined when only a non-UCUM unit was sent. */
export function pqUnit(r: Result): string | undefined {
  if (r.unit) return r.unit;
  return r.unitText?.trim() ? undefined : '1';
}

function unitLabel(r: Result): string {
  return r.unitText?.trim() || (r.unit && r.unit !== '1' ? r.unit : '');
}

/** Readable value with its unit, as printed in the narrative table. */
export function valueText(r: Result): string {
  const v = r.value;
  const u = unitLabel(r);
  const withUnit = (s: string) => (u ? `${s} ${u}` : s);
  switch (v.type) {
    case 'NM': return withUnit(v.value);
    case 'SN': return withUnit(v.text || [v.comparator, v.num1, v.separator, v.num2].filter(Boolean).join(''));
    case 'CWE': return v.coded.display || v.coded.code;
    case 'ST': case 'TX': case 'FT': return v.text;
    case 'ED': return v.mediaType === 'application/pdf' ? 'compte rendu PDF joint (voir « Comptes rendus de laboratoire joints »)' : `[${v.mediaType}]`;
    case 'DT': case 'TS': return formatTs(v.value);
    default: return '';
  }
}

/** YYYYMMDD[HHMM…] → "dd/mm/yyyy[ hh:mm]" for people. */
export function formatTs(t: string | undefined): string {
  if (!t || !/^\d{8}/.test(t)) return t ?? '';
  const d = `${t.slice(6, 8)}/${t.slice(4, 6)}/${t.slice(0, 4)}`;
  return t.length >= 12 ? `${d} ${t.slice(8, 10)}:${t.slice(10, 12)}` : d;
}

type Bound = { value: string; inclusive: boolean };

/** IVL_PQ / PQ / undefined (not representable) for an SN value. */
function snShape(r: Result): { pq?: string; low?: Bound; high?: Bound } | undefined {
  if (r.value.type !== 'SN') return undefined;
  const { comparator, num1, separator, num2 } = r.value;
  const n1 = cdaNumber(num1);
  const n2 = cdaNumber(num2);
  const cmp = comparator?.trim() || undefined;
  if (n1 && !separator && !num2) {
    switch (cmp) {
      case undefined: case '=': return { pq: n1 };
      case '<': return { high: { value: n1, inclusive: false } };
      case '<=': return { high: { value: n1, inclusive: true } };
      case '>': return { low: { value: n1, inclusive: false } };
      case '>=': return { low: { value: n1, inclusive: true } };
      default: return undefined;
    }
  }
  if (n1 && n2 && separator === '-' && (!cmp || cmp === '=')) {
    return { low: { value: n1, inclusive: true }, high: { value: n2, inclusive: true } };
  }
  return undefined;
}

function st(obs: El, text: string): void {
  xsiType(obs.ele('value'), 'ST').txt(text);
}

/**
 * Writes observation/value. `valueRef` is the narrative ID of the value cell, used by CD values
 * that carry no code. Returns the UCUM unit used (for the reference range) or undefined.
 */
export function writeValue(obs: El, r: Result, valueRef: string): string | undefined {
  const v = r.value;
  const unit = pqUnit(r);
  switch (v.type) {
    case 'NM': {
      const n = cdaNumber(v.value);
      if (n && unit) {
        xsiType(obs.ele('value'), 'PQ').att('value', n).att('unit', unit);
        return unit;
      }
      st(obs, valueText(r));
      return undefined;
    }
    case 'SN': {
      const shape = snShape(r);
      if (!shape || !unit) {
        st(obs, valueText(r));
        return undefined;
      }
      if (shape.pq) {
        xsiType(obs.ele('value'), 'PQ').att('value', shape.pq).att('unit', unit);
        return unit;
      }
      const e = xsiType(obs.ele('value'), 'IVL_PQ');
      if (shape.low) e.ele('low', { value: shape.low.value, unit, inclusive: String(shape.low.inclusive) });
      if (shape.high) e.ele('high', { value: shape.high.value, unit, inclusive: String(shape.high.inclusive) });
      return unit;
    }
    case 'CWE': {
      const sys = systemOf(v.coded);
      const e = xsiType(obs.ele('value'), 'CD');
      if (sys && v.coded.code) {
        e.att('code', v.coded.code);
        if (v.coded.display) e.att('displayName', v.coded.display);
        e.att('codeSystem', sys);
      }
      e.ele('originalText').ele('reference', { value: `#${valueRef}` });
      return undefined;
    }
    case 'ST': case 'TX': case 'FT':
      st(obs, v.text);
      return undefined;
    case 'DT': case 'TS':
      if (isTs(v.value)) xsiType(obs.ele('value'), 'TS').att('value', v.value);
      else st(obs, v.value);
      return undefined;
    default:
      return undefined; // ED goes to observationMedia; none has no value
  }
}

/** referenceRange (at most one, volet rule) when the bounds are numbers and the value has a UCUM unit. */
export function writeReferenceRange(obs: El, r: Result, unit: string | undefined): void {
  if (!r.range || !unit) return;
  const low = cdaNumber(r.range.low);
  const high = cdaNumber(r.range.high);
  if (!low && !high) return;
  const range = obs.ele('referenceRange', { typeCode: 'REFV' }).ele('observationRange', { classCode: 'OBS', moodCode: 'EVN.CRT' });
  const v = xsiType(range.ele('value'), 'IVL_PQ');
  if (low) v.ele('low', { value: low, unit });
  if (high) v.ele('high', { value: high, unit });
  range.ele('interpretationCode', { code: 'N', displayName: 'Normal', codeSystem: '2.16.840.1.113883.5.83' });
}
