/**
 * A stored message as the console shows it: decoded, segment by segment, every value with its
 * path (as `passerelle parse` prints them). Values are cut at VIEW_CHARS: a 5 MB ORU with a
 * base64 PDF is a few KB of page, and its long fields are fetched on demand (`fieldValue`).
 * Segments that carry the patient's identity are masked for viewers.
 */
import { Message, decode, segmentLeaves, type Charset } from '../../hl7';
import type { MessageStore, StoredMessage } from '../../store/types';
import { MASK, maskTail, notFound } from './common';

/** Characters of a value shown inline; longer ones are loaded on demand. */
export const VIEW_CHARS = 200;
/** Segments per page of the segment view. */
export const SEGMENT_PAGE = 100;
/** Characters of a long value sent per request. */
export const FIELD_CHUNK = 64 * 1024;

/** Segments that name or locate the patient (or their relatives, guarantors, insurers). */
const IDENTITY_SEGMENTS = new Set(['PID', 'PD1', 'NK1', 'MRG', 'GT1', 'IN1', 'IN2']);

export interface FieldLeaf {
  /** Full path, for `fieldValue` (e.g. `OBX[3]-5[1].5.1`). */
  path: string;
  /** Short path as `passerelle parse` prints it (e.g. `OBX[3]-5.5`). */
  label: string;
  value: string;
  length: number;
  truncated: boolean;
  masked: boolean;
}

export interface SegmentView {
  /** 0-based position in the message. */
  index: number;
  /** `OBX[3]`. */
  ref: string;
  name: string;
  /** The segment as on the wire, cut (or masked) for a one-line summary. */
  summary: string;
  length: number;
  leaves: FieldLeaf[];
}

export interface LoadedMessage {
  stored: StoredMessage;
  text: string;
  /** Undefined when the text does not parse (a refused message's excerpt, say). */
  message?: Message;
  parseError?: string;
}

export async function loadMessage(store: MessageStore, id: string): Promise<LoadedMessage> {
  const stored = await store.get(id);
  if (!stored) throw notFound(`message ${id}`);
  const raw = (await store.raw(id)) ?? Buffer.alloc(0);
  const text = decodeStored(raw, stored.charset);
  try {
    return { stored, text, message: Message.parse(text) };
  } catch (e) {
    return { stored, text, parseError: (e as Error).message };
  }
}

export function decodeStored(raw: Buffer, charset: string): string {
  try {
    return decode(raw, { override: charset as Charset, strict: false }).text;
  } catch {
    return raw.toString('utf8');
  }
}

/** The segments' references in order (`OBX[3]` for the third OBX). */
function refs(msg: Message): { name: string; ref: string; raw: string }[] {
  const seen = new Map<string, number>();
  return msg.segments().map((seg) => {
    const n = (seen.get(seg.name) ?? 0) + 1;
    seen.set(seg.name, n);
    return { name: seg.name, ref: `${seg.name}[${n}]`, raw: seg.toString() };
  });
}

export function segmentCount(msg: Message): number {
  return msg.segments().length;
}

/** Segments [from, from + count) with their values; identity segments masked unless `identity`. */
export function segmentViews(msg: Message, from: number, count: number, identity: boolean): SegmentView[] {
  const d = msg.delimiters;
  const all = refs(msg);
  const segs = msg.segments();
  const out: SegmentView[] = [];
  for (let i = from; i < Math.min(all.length, from + count); i++) {
    const { name, ref, raw } = all[i]!;
    const seg = segs[i]!;
    const masked = !identity && IDENTITY_SEGMENTS.has(name);
    const shortRef = ref.endsWith('[1]') ? name : ref;
    const leaves: FieldLeaf[] = [];
    for (const v of segmentLeaves(seg, ref, shortRef, d)) {
      if (v.literal) {
        leaves.push(leaf(v.path, v.label, v.wire, false));
        continue;
      }
      // Long wire values are base64 or text blocks: unescaping them inline would cost the whole value.
      const value = v.wire.length > VIEW_CHARS ? v.wire : msg.get(v.path);
      const hide = masked && !(name === 'PID' && v.field === 1);
      leaves.push(hide ? maskedLeaf(v.path, v.label, value, name === 'PID' && v.field === 3 && v.component === 0) : leaf(v.path, v.label, value, false));
    }
    out.push({
      index: i,
      ref,
      name,
      summary: masked ? `${name}|${MASK}` : raw.length > 120 ? `${raw.slice(0, 120)}…` : raw,
      length: raw.length,
      leaves,
    });
  }
  return out;
}

function leaf(path: string, label: string, value: string, masked: boolean): FieldLeaf {
  const truncated = value.length > VIEW_CHARS;
  return { path, label, value: truncated ? value.slice(0, VIEW_CHARS) : value, length: value.length, truncated, masked };
}

/** Identifiers keep their last characters (telling two patients apart); everything else is hidden. */
function maskedLeaf(path: string, label: string, value: string, identifier: boolean): FieldLeaf {
  return { path, label, value: identifier ? maskTail(value) : MASK, length: value.length, truncated: false, masked: true };
}

/** Whether a path falls in a segment viewers may not read. */
export function isIdentityPath(path: string): boolean {
  return IDENTITY_SEGMENTS.has(path.slice(0, 3).toUpperCase());
}

/** Whether a viewer may load a value in full: not the identity, not an embedded document (OBX-5: a PDF names the patient). */
export function viewerMayLoad(path: string): boolean {
  return !isIdentityPath(path) && !/^OBX(\[\d+\])?-5\b/i.test(path);
}

/** A chunk of one value (`path` as in FieldLeaf.path), unescaped. */
export function fieldValue(msg: Message, path: string, offset: number, limit: number): { path: string; length: number; offset: number; value: string } {
  const value = msg.get(path);
  return { path, length: value.length, offset, value: value.slice(offset, offset + limit) };
}
