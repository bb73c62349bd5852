/**
 * What operators look a message up by (issue 10; MessageKey in engine/store/types.ts), read
 * from the parsed message at intake: every PID-3 repetition (an INS when its assigning
 * authority is an INS OID, else a local patient id) and the order numbers of every ORC / OBR
 * (ORC-2, ORC-3, OBR-2, OBR-3: placer and filler numbers, the lab file).
 *
 * It runs on the intake path for every accepted message: one pass over the segment list, only
 * the fields named above split, no path parsing.
 */
import type { Message } from '../hl7';
import { unescape, type Delimiters } from '../hl7';
import type { MessageKey } from '../store/types';
import { INS_OIDS } from '../lab/ins';
// At most MAX_KEYS keys (a message listing more is found by its first ones), of at most
// MAX_KEY_LENGTH characters (an id is never that long; the index stays small).
import { MAX_KEYS, MAX_KEY_LENGTH } from '../store/common';

export function searchKeysOf(msg: Message): MessageKey[] {
  const d = msg.delimiters;
  const out: MessageKey[] = [];
  const seen = new Set<string>();
  const add = (kind: MessageKey['kind'], raw: string): void => {
    if (out.length >= MAX_KEYS) return;
    const value = clean(raw, d);
    if (value === '') return;
    const k = `${kind}\u0000${value}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push({ kind, value });
  };
  for (const seg of msg.segments()) {
    switch (seg.name) {
      case 'PID': {
        const field = seg.getRaw('3');
        if (field === '') break;
        for (const rep of field.split(d.repetition)) {
          const comps = rep.split(d.component);
          const id = comps[0] ?? '';
          if (id === '') continue;
          add(isInsAuthority(comps[3] ?? '', d) ? 'ins' : 'patient', firstSub(id, d));
        }
        break;
      }
      case 'ORC':
      case 'OBR':
        add('order', firstComponent(seg.getRaw('2'), d));
        add('order', firstComponent(seg.getRaw('3'), d));
        break;
      default:
        break;
    }
    if (out.length >= MAX_KEYS) break;
  }
  return out;
}

/** CX-4 (HD): the universal id (HD-2) or the namespace (HD-1) is one of the INS OIDs. */
function isInsAuthority(hd: string, d: Delimiters): boolean {
  if (hd === '') return false;
  const parts = hd.split(d.subcomponent);
  const ns = (parts[0] ?? '').trim();
  const universal = (parts[1] ?? '').trim();
  return (universal !== '' && universal in INS_OIDS) || (ns !== '' && ns in INS_OIDS);
}

function firstComponent(field: string, d: Delimiters): string {
  if (field === '') return '';
  const rep = field.indexOf(d.repetition) >= 0 ? field.slice(0, field.indexOf(d.repetition)) : field;
  const i = rep.indexOf(d.component);
  return firstSub(i >= 0 ? rep.slice(0, i) : rep, d);
}

function firstSub(comp: string, d: Delimiters): string {
  const i = comp.indexOf(d.subcomponent);
  return i >= 0 ? comp.slice(0, i) : comp;
}

/**
 * Unescaped, trimmed, cut to MAX_KEY_LENGTH, control characters dropped (they would break the
 * store's key packing and say nothing to an operator). A flat copy: it outlives the frame text.
 */
function clean(raw: string, d: Delimiters): string {
  let v = unescape(raw, d).trim();
  if (v.length > MAX_KEY_LENGTH) v = v.slice(0, MAX_KEY_LENGTH);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) v = v.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return v === '' ? '' : Buffer.from(v, 'utf8').toString('utf8');
}
