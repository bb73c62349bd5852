/** What delivery tests share: sending a message that must be accepted, and reading the engine's delivery rows. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decode } from '../../engine/hl7';
import type { MllpClient } from '../../engine/mllp';

/** Sends one message and expects it accepted (MSA AA). */
export async function sendAccepted(mllp: MllpClient, text: string): Promise<void> {
  const ack = decode(await mllp.send(Buffer.from(text, 'utf8'))).text;
  // No jest here: test/support is also built for the benchmarks.
  if (!/\rMSA\|AA\|/.test(ack)) throw new Error(`message not accepted: ${ack.replace(/\r/g, '\n')}`);
}

export interface DeliveryRow {
  version: number;
  target: string;
  state: string;
  detail: string | null;
}

/** The `version_deliveries` rows of one report in a test engine's SQLite store, by version then target. */
export function deliveryRows(engineDir: string, filler: string): DeliveryRow[] {
  const db = new Database(join(engineDir, 'store.db'), { readonly: true });
  try {
    return db.prepare(`SELECT version, target, state, detail FROM version_deliveries WHERE filler_order = ? ORDER BY version, target`).all(filler) as DeliveryRow[];
  } finally {
    db.close();
  }
}
