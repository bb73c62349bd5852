import type { Delimiters } from './delimiters';
import type { Segment } from './segment';

/** One non-empty value of a segment, as `passerelle parse` and the console list them. */
export interface ValueLeaf {
  /** Field number. */
  field: number;
  /** Component and subcomponent, 0-based (0 for MSH-1/2). */
  component: number;
  subcomponent: number;
  /** Short path: repetition, component and subcomponent only where the field has them (`PID-3[2].4.2`). */
  label: string;
  /** Full path, for Message.get (`PID-3[2].4.2`, always with repetition, component and subcomponent). */
  path: string;
  /** The value as on the wire, still escaped (MSH-1 and MSH-2 are taken literally). */
  wire: string;
  /** MSH-1 / MSH-2: the delimiters themselves, never unescaped. */
  literal: boolean;
}

/**
 * Every non-empty value of a segment, in order. `ref` names the segment in full paths
 * (`OBX[3]`), `shortRef` in labels (`OBX[3]`, or `PID` for the first one).
 */
export function* segmentLeaves(seg: Segment, ref: string, shortRef: string, d: Delimiters): Generator<ValueLeaf> {
  for (let f = 1; f <= seg.fieldCount(); f++) {
    const wire = seg.getRaw(String(f));
    if (wire === '') continue;
    if (seg.name === 'MSH' && f <= 2) {
      yield { field: f, component: 0, subcomponent: 0, label: `${shortRef}-${f}`, path: `${ref}-${f}`, wire, literal: true };
      continue;
    }
    const reps = wire.split(d.repetition);
    for (let r = 0; r < reps.length; r++) {
      const comps = reps[r]!.split(d.component);
      for (let c = 0; c < comps.length; c++) {
        const subs = comps[c]!.split(d.subcomponent);
        for (let s = 0; s < subs.length; s++) {
          if (subs[s] === '') continue;
          let label = `${shortRef}-${f}`;
          if (reps.length > 1) label += `[${r + 1}]`;
          if (comps.length > 1 || subs.length > 1) label += `.${c + 1}`;
          if (subs.length > 1) label += `.${s + 1}`;
          yield { field: f, component: c, subcomponent: s, label, path: `${ref}-${f}[${r + 1}].${c + 1}.${s + 1}`, wire: subs[s]!, literal: false };
        }
      }
    }
  }
}
