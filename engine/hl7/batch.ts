import { Hl7Error } from './errors';

/**
 * Splits HL7 batches (FHS/BHS ... BTS/FTS) and plain concatenations of messages.
 * A message starts at each line beginning with 'MSH' followed by a non-alphanumeric
 * character: lines are cut at terminators first, so 'MSH' inside a field value (an OBX-5 of
 * "MSH") can never start a message.
 */
export interface BatchSplit {
  /** each message's segments joined with '\r', with a trailing '\r' */
  messages: string[];
  /** the FHS/BHS lines, '\r'-joined */
  header?: string;
  /** the BTS/FTS lines, '\r'-joined */
  trailer?: string;
  /** BTS-1 (batch message count) when present and numeric; callers compare it */
  declaredCount?: number;
}

function startsMessage(line: string): boolean {
  if (!line.startsWith('MSH') || line.length < 4) return false;
  const c = line.charCodeAt(3);
  return c > 0x20 && c < 0x7f && !/[A-Za-z0-9]/.test(line[3]);
}

export function splitBatch(text: string): BatchSplit {
  let body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  body = body.replace(/^[ \t\r\n]+/, '');
  if (body === '') throw new Hl7Error('HL7_EMPTY', 'empty batch');
  const lines = body.split(/\r\n|\r|\n/);
  const header: string[] = [];
  const trailer: string[] = [];
  const messages: string[] = [];
  let current: string[] | null = null;
  let declaredCount: number | undefined;
  const flush = (): void => {
    if (current) messages.push(current.join('\r') + '\r');
    current = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const tag = line.slice(0, 3);
    if (tag === 'FHS' || tag === 'BHS') {
      // a new batch may follow a BTS; a header inside a message may not
      if (current) throw new Hl7Error('HL7_BAD_BATCH', `${tag} inside a message (line ${i + 1})`, { hl7Code: 100 });
      header.push(line);
    } else if (tag === 'BTS' || tag === 'FTS') {
      flush();
      trailer.push(line);
      if (tag === 'BTS') {
        const count = line.split(line[3] ?? '|')[1];
        if (count !== undefined && /^\d+$/.test(count.trim())) declaredCount = Number(count.trim());
      }
    } else if (startsMessage(line)) {
      flush();
      current = [line];
    } else if (current) {
      current.push(line);
    } else {
      throw new Hl7Error('HL7_BAD_BATCH', `line ${i + 1} is neither a batch header nor part of a message: ${JSON.stringify(line.slice(0, 20))}`, {
        hl7Code: 100,
        location: { segment: tag, sequence: i + 1 },
      });
    }
  }
  flush();
  const out: BatchSplit = { messages };
  if (header.length) out.header = header.join('\r');
  if (trailer.length) out.trailer = trailer.join('\r');
  if (declaredCount !== undefined) out.declaredCount = declaredCount;
  return out;
}
