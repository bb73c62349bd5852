/**
 * Reports across messages on the PostgreSQL store (PgStore delegates here): reports and their
 * versions, version deliveries, orders and their references, named sequences.
 */
import type { StoredOrder, StoredReport, StoredReportVersion, StoredVersionDelivery, VersionFacts } from './types';
import { versionDeliveryOf, type VersionDeliveryRow } from './common';
import type { PgContext } from './pg-context';

export class PgReports {
  constructor(private readonly pg: PgContext) {}

  async getReport(lab: string, fillerOrder: string): Promise<StoredReport | undefined> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ state: string; row_version: string; updated_at: Date }>(
      `SELECT state, row_version, updated_at FROM ${this.pg.t.reports} WHERE lab = $1 AND filler_order = $2`,
      [lab, fillerOrder],
    );
    const row = r.rows[0];
    return row && { lab, fillerOrder, state: row.state, rowVersion: Number(row.row_version), updatedAt: row.updated_at };
  }

  async reportsByFillerOrder(fillerOrder: string): Promise<StoredReport[]> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ lab: string; state: string; row_version: string; updated_at: Date }>(
      `SELECT lab, state, row_version, updated_at FROM ${this.pg.t.reports} WHERE filler_order = $1 ORDER BY lab`,
      [fillerOrder],
    );
    return r.rows.map((x) => ({ lab: x.lab, fillerOrder, state: x.state, rowVersion: Number(x.row_version), updatedAt: x.updated_at }));
  }

  async putReport(lab: string, fillerOrder: string, state: string, expectedVersion: number | null): Promise<boolean> {
    this.pg.checkReady();
    const r =
      expectedVersion === null
        ? await this.pg.pool.query(
            `INSERT INTO ${this.pg.t.reports} (lab, filler_order, state, row_version, updated_at) VALUES ($1, $2, $3, 1, now())
             ON CONFLICT (lab, filler_order) DO NOTHING`,
            [lab, fillerOrder, state],
          )
        : await this.pg.pool.query(
            `UPDATE ${this.pg.t.reports} SET state = $1, row_version = row_version + 1, updated_at = now()
              WHERE lab = $2 AND filler_order = $3 AND row_version = $4`,
            [state, lab, fillerOrder, expectedVersion],
          );
    return r.rowCount === 1;
  }

  async reserveReportVersion(v: Omit<StoredReportVersion, 'written' | 'createdAt'> & { facts?: VersionFacts }, staleAfterMs: number): Promise<boolean> {
    this.pg.checkReady();
    const f = v.facts;
    const r = await this.pg.pool.query(
      `INSERT INTO ${this.pg.t.versions} AS v (lab, filler_order, version, status, content_hash, revision, written, created_at, finess, rpps, ins_qualified)
       VALUES ($1, $2, $3, $4, $5, $6, false, now(), $8, $9, $10)
       ON CONFLICT (lab, filler_order, version) DO UPDATE
         SET status = excluded.status, content_hash = excluded.content_hash, revision = excluded.revision, created_at = excluded.created_at,
             finess = excluded.finess, rpps = excluded.rpps, ins_qualified = excluded.ins_qualified
         WHERE NOT v.written AND v.created_at < now() - make_interval(secs => $7::double precision / 1000)`,
      [v.lab, v.fillerOrder, v.version, v.status, v.contentHash, v.revision, staleAfterMs, f?.finess ?? null, f?.rpps ?? null, f ? f.insQualified : null],
    );
    return r.rowCount === 1;
  }

  async markReportVersionWritten(lab: string, fillerOrder: string, version: number): Promise<void> {
    this.pg.checkReady();
    await this.pg.pool.query(`UPDATE ${this.pg.t.versions} SET written = true WHERE lab = $1 AND filler_order = $2 AND version = $3`, [lab, fillerOrder, version]);
  }

  async releaseReportVersion(lab: string, fillerOrder: string, version: number): Promise<void> {
    this.pg.checkReady();
    await this.pg.pool.query(`DELETE FROM ${this.pg.t.versions} WHERE lab = $1 AND filler_order = $2 AND version = $3 AND NOT written`, [lab, fillerOrder, version]);
  }

  async reportVersions(lab: string, fillerOrder: string): Promise<StoredReportVersion[]> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ version: number; status: string; content_hash: string; revision: number; written: boolean; created_at: Date }>(
      `SELECT version, status, content_hash, revision, written, created_at FROM ${this.pg.t.versions} WHERE lab = $1 AND filler_order = $2 ORDER BY version`,
      [lab, fillerOrder],
    );
    return r.rows.map((x) => ({
      lab,
      fillerOrder,
      version: x.version,
      status: x.status as StoredReportVersion['status'],
      contentHash: x.content_hash,
      revision: x.revision,
      written: x.written,
      createdAt: x.created_at,
    }));
  }

  async putVersionDelivery(d: Omit<StoredVersionDelivery, 'updatedAt'>): Promise<void> {
    this.pg.checkReady();
    await this.pg.pool.query(
      `INSERT INTO ${this.pg.t.vd} (lab, filler_order, version, target, state, detail, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (lab, filler_order, version, target) DO UPDATE SET state = excluded.state, detail = excluded.detail, updated_at = excluded.updated_at`,
      [d.lab, d.fillerOrder, d.version, d.target, d.state, d.detail],
    );
  }

  async versionDeliveries(lab: string, fillerOrder: string): Promise<StoredVersionDelivery[]> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<VersionDeliveryRow>(`SELECT * FROM ${this.pg.t.vd} WHERE lab = $1 AND filler_order = $2 ORDER BY version, target`, [lab, fillerOrder]);
    return r.rows.map(versionDeliveryOf);
  }

  async findVersionDeliveries(f: { state?: StoredVersionDelivery['state']; fillerOrder?: string; limit: number }): Promise<StoredVersionDelivery[]> {
    this.pg.checkReady();
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.state) (args.push(f.state), where.push(`state = $${args.length}`));
    if (f.fillerOrder) (args.push(f.fillerOrder), where.push(`filler_order = $${args.length}`));
    args.push(f.limit);
    const r = await this.pg.pool.query<VersionDeliveryRow>(`SELECT * FROM ${this.pg.t.vd} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY updated_at DESC LIMIT $${args.length}`, args);
    return r.rows.map(versionDeliveryOf);
  }

  async queuedVersionDeliveries(limit: number, since = 0): Promise<StoredVersionDelivery[]> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<VersionDeliveryRow>(`SELECT * FROM ${this.pg.t.vd} WHERE state = 'queued' AND updated_at >= to_timestamp($2::double precision / 1000) ORDER BY updated_at LIMIT $1`, [limit, since]);
    return r.rows.map(versionDeliveryOf);
  }

  async getOrder(key: string): Promise<StoredOrder | undefined> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ state: string; row_version: string; updated_at: Date }>(`SELECT state, row_version, updated_at FROM ${this.pg.t.orders} WHERE order_key = $1`, [key]);
    const row = r.rows[0];
    return row && { key, state: row.state, rowVersion: Number(row.row_version), updatedAt: row.updated_at };
  }

  async putOrder(key: string, state: string, expectedVersion: number | null): Promise<boolean> {
    this.pg.checkReady();
    const r =
      expectedVersion === null
        ? await this.pg.pool.query(`INSERT INTO ${this.pg.t.orders} (order_key, state, row_version, updated_at) VALUES ($1, $2, 1, now()) ON CONFLICT (order_key) DO NOTHING`, [key, state])
        : await this.pg.pool.query(`UPDATE ${this.pg.t.orders} SET state = $1, row_version = row_version + 1, updated_at = now() WHERE order_key = $2 AND row_version = $3`, [state, key, expectedVersion]);
    return r.rowCount === 1;
  }

  async linkOrder(ref: string, orderKey: string): Promise<string> {
    this.pg.checkReady();
    await this.pg.pool.query(`INSERT INTO ${this.pg.t.orderRefs} (ref, order_key) VALUES ($1, $2) ON CONFLICT (ref) DO NOTHING`, [ref, orderKey]);
    return (await this.orderKeyOf(ref))!;
  }

  async orderKeyOf(ref: string): Promise<string | undefined> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ order_key: string }>(`SELECT order_key FROM ${this.pg.t.orderRefs} WHERE ref = $1`, [ref]);
    return r.rows[0]?.order_key;
  }

  async nextSequence(name: string): Promise<number> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ value: string }>(
      `INSERT INTO ${this.pg.t.counters} AS c (channel, name, value) VALUES ('#sequence', $1, 1)
       ON CONFLICT (channel, name) DO UPDATE SET value = c.value + 1 RETURNING value`,
      [name],
    );
    return Number(r.rows[0]!.value);
  }
}
