/**
 * What the PostgreSQL store's parts share, given by PgStore: the pool, the schema and its
 * qualified table names, the store's readiness check, and transactions on one connection.
 */
import type { Pool, PoolClient } from 'pg';

/** Qualified table names. */
export interface PgTables {
  messages: string; contents: string; deliveries: string; open: string; counters: string; reports: string; versions: string; orders: string; orderRefs: string; vd: string;
  keys: string; failures: string; vdCounts: string;
  reportPatients: string; patientActivity: string; reportArchive: string; marks: string;
}

export function pgTables(schema: string): PgTables {
  const q = `"${schema}"`;
  return { messages: `${q}.messages`, contents: `${q}.contents`, deliveries: `${q}.deliveries`, open: `${q}.open_deliveries`, counters: `${q}.counters`, reports: `${q}.reports`, versions: `${q}.report_versions`, orders: `${q}.orders`, orderRefs: `${q}.order_refs`, vd: `${q}.version_deliveries`,
    keys: `${q}.message_keys`, failures: `${q}.delivery_failures`, vdCounts: `${q}.version_delivery_counts`,
    reportPatients: `${q}.report_patients`, patientActivity: `${q}.patient_activity`, reportArchive: `${q}.report_archive`, marks: `${q}.retention_marks` };
}

export interface PgContext {
  readonly pool: Pool;
  readonly schema: string;
  readonly t: PgTables;
  /** Throws unless init() ran and close() did not. */
  checkReady(): void;
  inTransaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T>;
}

/** `fn` between BEGIN and COMMIT on one connection of `pool`; ROLLBACK when it fails. */
export async function inTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken: unknown;
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    try {
      await c.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError; // the connection is unusable: do not give it back to the pool
    }
    throw e;
  } finally {
    c.release(broken instanceof Error ? broken : undefined);
  }
}
