/**
 * The sample channels of channels/ as shipped, in a test engine: only their ports (2575, 2576,
 * 2577, and the placer's 2578 and subcontractor's 2580 they send to → free ones) and output directories (var/out → the engine's temp dir) moved.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { startTestEngine, type TestEngine } from './engine-harness';
import { ANS_KIT_DIR } from './ans-kit';
import { freePort } from './redis';
import { waitFor } from './wait';

const repo = resolve(__dirname, '../..');

export async function startSampleChannels(): Promise<{ te: TestEngine; ports: Record<number, number> }> {
  const ports: Record<number, number> = {};
  for (const p of [2575, 2576, 2577, 2578, 2580]) ports[p] = await freePort();
  const files: Record<string, string> = {};
  for (const f of readdirSync(join(repo, 'channels')).filter((n) => n.endsWith('.yaml'))) {
    files[f] = readFileSync(join(repo, 'channels', f), 'utf8')
      .replace(/\b(2575|2576|2577|2578|2580)\b/g, (p) => String(ports[Number(p)]))
      .replace(/directory: var\/out/g, 'directory: ${DIR}/out');
  }
  return { te: await startTestEngine(files, { ansKitDir: ANS_KIT_DIR }), ports };
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
