/**
 * The sample channels of channels/ as shipped, in a test engine: only their ports (2575, 2576,
 * 2577, and the placer's 2578 and subcontractor's 2580 they send to → free ones) and output directories (var/out → the engine's temp dir) moved.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { decode } from '../../engine/hl7';
import { startTestEngine, type TestEngine, type TestEngineOptions } from './engine-harness';
import { ANS_KIT_DIR } from './ans-kit';
import { freePort } from './redis';
import { waitFor } from './wait';

const repo = resolve(__dirname, '../..');

/** The LTW results sample (samples/oru-r01_ltw_biochemistry.hl7), as text. */
export const LTW_SAMPLE = decode(readFileSync(join(repo, 'samples', 'oru-r01_ltw_biochemistry.hl7'))).text;
export const GLU = (v: string, status: string, at: string): string =>
  `OBX|1|NM|2345-7^Glucose [Masse/Volume] Sérum/Plasma^LN||${v}|g/L^g/L^UCUM|0.70-1.10|${v ? 'N' : ''}|||${status}|||20261125073000|||||${at}`;
export const CREA = (v: string, status: string, at: string): string =>
  `OBX|2|NM|2160-0^Créatinine [Masse/Volume] Sérum/Plasma^LN||${v}|mg/L^mg/L^UCUM|5.0-9.0|${v ? 'N' : ''}|||${status}|||20261125073000|||||${at}`;

/** The LTW results sample with another MSH-10, OBR-25 and OBX lines (report LAB-0001 of order CMD-0001). */
export function ltwResults(controlId: string, obr25: string, obx: string[]): string {
  const out: string[] = [];
  for (const l of LTW_SAMPLE.split('\r').filter((x) => x !== '')) {
    if (l.startsWith('MSH|')) out.push(l.replace('|SMP-ORU-0001|', `|${controlId}|`));
    else if (l.startsWith('OBR|')) out.push(l.replace(/\|F$/, `|${obr25}`));
    else if (l.startsWith('OBX|') || l.startsWith('NTE|')) continue;
    else if (l.startsWith('SPM|')) out.push(...obx, l);
    else out.push(l);
  }
  return out.join('\r') + '\r';
}

export async function startSampleChannels(opts: Pick<TestEngineOptions, 'logger'> = {}): Promise<{ te: TestEngine; ports: Record<number, number> }> {
  const ports: Record<number, number> = {};
  for (const p of [2575, 2576, 2577, 2578, 2579, 2580]) ports[p] = await freePort();
  const files: Record<string, string> = {};
  for (const f of readdirSync(join(repo, 'channels')).filter((n) => n.endsWith('.yaml'))) {
    files[f] = readFileSync(join(repo, 'channels', f), 'utf8')
      .replace(/\b(2575|2576|2577|2578|2579|2580)\b/g, (p) => String(ports[Number(p)]))
      .replace(/directory: var\/out/g, 'directory: ${DIR}/out');
  }
  return { te: await startTestEngine(files, { ansKitDir: ANS_KIT_DIR, ...opts }), ports };
}

/** The `documents` delivery of a message of ltw-results, once final (delivered or dead). */
export async function documentsDelivery(te: TestEngine | string, controlId: string): Promise<{ state: string; detail: string | null }> {
  const db = new Database(join(typeof te === 'string' ? te : te.dir, 'store.db'), { readonly: true, fileMustExist: true });
  try {
    const q = db.prepare<[string], { state: string; detail: string | null }>(
      `SELECT d.state, d.detail FROM deliveries d JOIN messages m ON m.id = d.message_id
        WHERE m.channel = 'ltw-results' AND m.control_id = ? AND d.destination = 'documents'`,
    );
    let row: { state: string; detail: string | null } | undefined;
    await waitFor(() => (row = q.get(controlId)) !== undefined && ['delivered', 'dead'].includes(row.state), 60_000);
    if (!row) throw new Error(`no documents delivery for ${controlId}`);
    return row;
  } finally {
    db.close();
  }
}
