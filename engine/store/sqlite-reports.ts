/**
 * Reports across messages on the SQLite store (SqliteStore delegates here): reports and their
 * versions, version deliveries, orders and their references, named sequences.
 */
import type Database from 'better-sqlite3';
import type { StoredOrder, StoredReport, StoredReportVersion, StoredVersionDelivery, VersionFacts } from './types';
import { versionDeliveryOf, type VersionDeliveryRow } from './common';
import type { SqliteHandle } from './sqlite-handle';

/** Counter rows of named sequences (engine/orders sub-order numbers) live under this channel name. */
const SEQUENCE_CHANNEL = '#sequence';

interface VersionRow {
  lab: string;
  filler_order: string;
  version: number;
  status: string;
  content_hash: string;
  revision: number;
  written: number;
  created_at: number;
}

export type ReportStatements = ReturnType<typeof prepareReportStatements>;

export function prepareReportStatements(db: Database.Database) {
  return {
    reportGet: db.prepare<[string, string], { state: string; row_version: number; updated_at: number }>(
      'SELECT state, row_version, updated_at FROM reports WHERE lab = ? AND filler_order = ?',
    ),
    reportsByFiller: db.prepare<[string], { lab: string; state: string; row_version: number; updated_at: number }>(
      'SELECT lab, state, row_version, updated_at FROM reports WHERE filler_order = ? ORDER BY lab',
    ),
    reportInsert: db.prepare<[string, string, string, number]>(
      'INSERT OR IGNORE INTO reports (lab, filler_order, state, row_version, updated_at) VALUES (?, ?, ?, 1, ?)',
    ),
    versionReserve: db.prepare<[string, string, number, string, string, number, number, string | null, string | null, number | null, number]>(
      `INSERT INTO report_versions (lab, filler_order, version, status, content_hash, revision, written, created_at, finess, rpps, ins_qualified)
       VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)
       ON CONFLICT (lab, filler_order, version) DO UPDATE
         SET status = excluded.status, content_hash = excluded.content_hash, revision = excluded.revision, created_at = excluded.created_at,
             finess = excluded.finess, rpps = excluded.rpps, ins_qualified = excluded.ins_qualified
         WHERE report_versions.written = 0 AND report_versions.created_at < ?`,
    ),
    versionWritten: db.prepare<[string, string, number]>('UPDATE report_versions SET written = 1 WHERE lab = ? AND filler_order = ? AND version = ?'),
    versionRelease: db.prepare<[string, string, number]>('DELETE FROM report_versions WHERE lab = ? AND filler_order = ? AND version = ? AND written = 0'),
    versionList: db.prepare<[string, string], VersionRow>('SELECT * FROM report_versions WHERE lab = ? AND filler_order = ? ORDER BY version'),
    reportUpdate: db.prepare<[string, number, string, string, number]>(
      'UPDATE reports SET state = ?, row_version = row_version + 1, updated_at = ? WHERE lab = ? AND filler_order = ? AND row_version = ?',
    ),
    vdPut: db.prepare<[string, string, number, string, string, string | null, number]>(
      `INSERT INTO version_deliveries (lab, filler_order, version, target, state, detail, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (lab, filler_order, version, target) DO UPDATE SET state = excluded.state, detail = excluded.detail, updated_at = excluded.updated_at`,
    ),
    vdList: db.prepare<[string, string], VersionDeliveryRow>('SELECT * FROM version_deliveries WHERE lab = ? AND filler_order = ? ORDER BY version, target'),
    vdQueued: db.prepare<[number, number], VersionDeliveryRow>(`SELECT * FROM version_deliveries WHERE state = 'queued' AND updated_at >= ? ORDER BY updated_at LIMIT ?`),
    orderGet: db.prepare<[string], { state: string; row_version: number; updated_at: number }>('SELECT state, row_version, updated_at FROM orders WHERE order_key = ?'),
    orderInsert: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO orders (order_key, state, row_version, updated_at) VALUES (?, ?, 1, ?)'),
    orderUpdate: db.prepare<[string, number, string, number]>('UPDATE orders SET state = ?, row_version = row_version + 1, updated_at = ? WHERE order_key = ? AND row_version = ?'),
    orderLink: db.prepare<[string, string]>('INSERT OR IGNORE INTO order_refs (ref, order_key) VALUES (?, ?)'),
    orderRef: db.prepare<[string], { order_key: string }>('SELECT order_key FROM order_refs WHERE ref = ?'),
    sequenceNext: db.prepare<[string, string], { value: number }>(
      `INSERT INTO counters (channel, name, value) VALUES (?, ?, 1)
       ON CONFLICT (channel, name) DO UPDATE SET value = counters.value + 1 RETURNING value`,
    ),
  };
}

export class SqliteReports {
  constructor(private readonly handle: () => SqliteHandle) {}

  async getReport(lab: string, fillerOrder: string): Promise<StoredReport | undefined> {
    const r = this.handle().reports.reportGet.get(lab, fillerOrder);
    return r && { lab, fillerOrder, state: r.state, rowVersion: r.row_version, updatedAt: new Date(r.updated_at) };
  }

  async reportsByFillerOrder(fillerOrder: string): Promise<StoredReport[]> {
    return this.handle().reports.reportsByFiller.all(fillerOrder).map((r) => ({ lab: r.lab, fillerOrder, state: r.state, rowVersion: r.row_version, updatedAt: new Date(r.updated_at) }));
  }

  async putReport(lab: string, fillerOrder: string, state: string, expectedVersion: number | null): Promise<boolean> {
    const st = this.handle().reports;
    const now = Date.now();
    const done = expectedVersion === null ? st.reportInsert.run(lab, fillerOrder, state, now) : st.reportUpdate.run(state, now, lab, fillerOrder, expectedVersion);
    return done.changes === 1;
  }

  async reserveReportVersion(v: Omit<StoredReportVersion, 'written' | 'createdAt'> & { facts?: VersionFacts }, staleAfterMs: number): Promise<boolean> {
    const st = this.handle().reports;
    const now = Date.now();
    const f = v.facts;
    const ins = f ? (f.insQualified ? 1 : 0) : null;
    return st.versionReserve.run(v.lab, v.fillerOrder, v.version, v.status, v.contentHash, v.revision, now, f?.finess ?? null, f?.rpps ?? null, ins, now - staleAfterMs).changes === 1;
  }

  async markReportVersionWritten(lab: string, fillerOrder: string, version: number): Promise<void> {
    this.handle().reports.versionWritten.run(lab, fillerOrder, version);
  }

  async releaseReportVersion(lab: string, fillerOrder: string, version: number): Promise<void> {
    this.handle().reports.versionRelease.run(lab, fillerOrder, version);
  }

  async reportVersions(lab: string, fillerOrder: string): Promise<StoredReportVersion[]> {
    return this.handle().reports.versionList.all(lab, fillerOrder).map((r) => ({
      lab: r.lab,
      fillerOrder: r.filler_order,
      version: r.version,
      status: r.status as StoredReportVersion['status'],
      contentHash: r.content_hash,
      revision: r.revision,
      written: r.written === 1,
      createdAt: new Date(r.created_at),
    }));
  }

  async putVersionDelivery(d: Omit<StoredVersionDelivery, 'updatedAt'>): Promise<void> {
    this.handle().reports.vdPut.run(d.lab, d.fillerOrder, d.version, d.target, d.state, d.detail, Date.now());
  }

  async versionDeliveries(lab: string, fillerOrder: string): Promise<StoredVersionDelivery[]> {
    return this.handle().reports.vdList.all(lab, fillerOrder).map(versionDeliveryOf);
  }

  async findVersionDeliveries(f: { state?: StoredVersionDelivery['state']; fillerOrder?: string; limit: number }): Promise<StoredVersionDelivery[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (f.state) (where.push('state = ?'), args.push(f.state));
    if (f.fillerOrder) (where.push('filler_order = ?'), args.push(f.fillerOrder));
    const sql = `SELECT * FROM version_deliveries ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY updated_at DESC LIMIT ?`;
    const { db } = this.handle();
    return db.prepare<(string | number)[], VersionDeliveryRow>(sql).all(...args, f.limit).map(versionDeliveryOf);
  }

  async queuedVersionDeliveries(limit: number, since = 0): Promise<StoredVersionDelivery[]> {
    return this.handle().reports.vdQueued.all(since, limit).map(versionDeliveryOf);
  }

  async getOrder(key: string): Promise<StoredOrder | undefined> {
    const r = this.handle().reports.orderGet.get(key);
    return r && { key, state: r.state, rowVersion: r.row_version, updatedAt: new Date(r.updated_at) };
  }

  async putOrder(key: string, state: string, expectedVersion: number | null): Promise<boolean> {
    const st = this.handle().reports;
    const now = Date.now();
    return (expectedVersion === null ? st.orderInsert.run(key, state, now) : st.orderUpdate.run(state, now, key, expectedVersion)).changes === 1;
  }

  async linkOrder(ref: string, orderKey: string): Promise<string> {
    const st = this.handle().reports;
    st.orderLink.run(ref, orderKey);
    return st.orderRef.get(ref)!.order_key;
  }

  async orderKeyOf(ref: string): Promise<string | undefined> {
    return this.handle().reports.orderRef.get(ref)?.order_key;
  }

  async nextSequence(name: string): Promise<number> {
    return this.handle().reports.sequenceNext.get(SEQUENCE_CHANNEL, name)!.value;
  }
}
