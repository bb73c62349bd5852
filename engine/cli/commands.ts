import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Hl7Error, Message, decode, encode, segmentLeaves, splitBatch } from '../hl7';
import { MllpClient } from '../mllp';
import { loadChannelDir, ChannelConfigError } from '../config/load-channels';

const out = (s: string): void => void process.stdout.write(s + '\n');
const err = (s: string): void => void process.stderr.write(s + '\n');

/** `passerelle send`: one connection, messages in file-name order, each ACK printed. Exit 1 if any was not AA/CA. */
export async function sendCommand(path: string, to: string, timeoutMs: number): Promise<number> {
  const url = new URL(to);
  if (url.protocol !== 'mllp:' && url.protocol !== 'mllps:') throw new Error(`--to must be mllp://host:port, got ${to}`);
  const files = statSync(path).isDirectory()
    ? readdirSync(path).filter((f) => f.endsWith('.hl7')).sort().map((f) => join(path, f))
    : [path];
  const client = new MllpClient({ host: url.hostname, port: Number(url.port || 2575), responseTimeoutMs: timeoutMs, tls: url.protocol === 'mllps:' ? {} : undefined });
  let failures = 0;
  try {
    for (const file of files) {
      const bytes = readFileSync(file);
      const { text, charset } = decode(bytes, { strict: false });
      const messages = splitBatch(text).messages;
      const frames = messages.length <= 1 ? [bytes] : messages.map((m) => encode(m, charset));
      for (const frame of frames) {
        try {
          const ack = Message.parse(decode(await client.send(frame)).text);
          const code = ack.get('MSA-1');
          const why = [ack.get('ERR-3.2'), ack.get('ERR-8'), ack.get('MSA-3')].filter(Boolean).join('; ');
          // An order answer (ORL / ORR) says each order's fate in its ORC-1.
          const orders = ack.segments('ORC').map((o) => `${o.get('2.1')} ${o.get('1')}`);
          const answer = orders.length > 0 ? ` (${ack.get('MSH-9.1')}^${ack.get('MSH-9.2')}: ${orders.join(', ')})` : '';
          out(`${file}: ${code} ${ack.get('MSA-2')}${answer}${why ? ' — ' + why : ''}`);
          if (code !== 'AA' && code !== 'CA') failures++;
        } catch (e) {
          failures++;
          out(`${file}: no ACK — ${(e as Error).message}`);
        }
      }
    }
  } finally {
    await client.close();
  }
  return failures === 0 ? 0 : 1;
}

/** Reads one HL7 message file (charset from MSH-18); an unreadable message is reported and gives undefined. */
export function readMessageFile(file: string): Message | undefined {
  try {
    return Message.parse(decode(readFileSync(file)).text);
  } catch (e) {
    if (e instanceof Hl7Error) {
      err(`${file}: ${e.code} (HL7 ${e.hl7Code}): ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

/** `passerelle parse`: every non-empty value with its path, unescaped. */
export function parseCommand(file: string): number {
  const msg = readMessageFile(file);
  if (!msg) return 1;
  const d = msg.delimiters;
  const seen = new Map<string, number>();
  for (const seg of msg.segments()) {
    const n = (seen.get(seg.name) ?? 0) + 1;
    seen.set(seg.name, n);
    const segRef = n > 1 ? `${seg.name}[${n}]` : seg.name;
    out(`${segRef}`);
    for (const v of segmentLeaves(seg, segRef, segRef, d)) {
      const value = v.literal ? v.wire : msg.get(v.path);
      out(`  ${v.label} = ${value.length > 200 ? value.slice(0, 200) + `… (${value.length} chars)` : value}`);
    }
  }
  return 0;
}

/** `passerelle check`: exit 0 when every channel file is valid. */
export function checkCommand(dir: string): number {
  try {
    const loaded = loadChannelDir(dir);
    for (const l of loaded) {
      const src = l.config.source;
      out(`ok  ${l.file}: ${l.config.name} (${src.type === 'mllp' ? `mllp port ${src.port}` : `directory ${src.path}`}, ${l.config.destinations.length} destination(s))`);
    }
    return 0;
  } catch (e) {
    if (e instanceof ChannelConfigError) {
      err(e.message);
      return 1;
    }
    throw e;
  }
}
