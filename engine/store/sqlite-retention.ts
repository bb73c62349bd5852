/**
 * What the SQLite store drops and keeps (SqliteStore delegates here): pruning by age, the
 * refusal quota, and the retention passes of engine/channels/retention.ts (messages deleted or
 * trimmed, patients' last activity, report documents archived and purged).
 */
import type Database from 'better-sqlite3';
import type { MessageState, RefusalQuota, RefusalStats, ReportActivity, ReportCursor, RetentionCandidate, RetentionState, TrimRequest } from './types';
import { RETENTION_NOTE } from './types';
import { PRUNE_CHUNK, REFUSALS_DROPPED, TERMINAL_SQL, checkLimit, checkQuota, sqlList } from './common';
import { PATIENTS_MARK, checkRetentionStates, checkTrim, patientIdsOf, retentionCandidateOf, trimPlan } from './retention-common';
import type { SqliteHandle } from './sqlite-handle';
import type { SqliteStats } from './sqlite-stats';

/** Rows read per step when walking a channel's refusals (well under a millisecond each on a quiet machine). */
const REFUSAL_PAGE = 500;

interface RetentionRow {
  seq: number;
  id: string;
  state: MessageState;
  received_at: number;
  updated_at: number;
  raw_bytes: number;
  has_contents: number;
}

export type RetentionStatements = ReturnType<typeof prepareRetentionStatements>;

export function prepareRetentionStatements(db: Database.Database) {
  return {
    retentionLine: db.prepare<[string, string, number, number], RetentionRow>(
      `SELECT m.seq, m.id, m.state, m.received_at, m.updated_at, length(m.raw) AS raw_bytes,
              EXISTS (SELECT 1 FROM contents c WHERE c.message_id = m.id AND c.name <> '${RETENTION_NOTE}') AS has_contents
         FROM messages m INDEXED BY messages_by_state WHERE m.channel = ? AND m.state = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`,
    ),
    trimRead: db.prepare<[string], { raw: Buffer; state: string; updated_at: number }>('SELECT raw, state, updated_at FROM messages WHERE id = ?'),
    trimRaw: db.prepare<[Buffer, string]>('UPDATE messages SET raw = ? WHERE id = ?'),
    contentNames: db.prepare<[string], { name: string }>('SELECT name FROM contents WHERE message_id = ? ORDER BY name'),
    contentsDrop: db.prepare<[string, string]>('DELETE FROM contents WHERE message_id = ? AND name <> ?'),
    reportsChanged: db.prepare<[number, string, string, number], { lab: string; filler_order: string; updated_at: number; patient: string | null }>(
      `SELECT lab, filler_order, updated_at, json_extract(state, '$.patient') AS patient FROM reports INDEXED BY reports_updated
        WHERE (updated_at, lab, filler_order) > (?, ?, ?) ORDER BY updated_at, lab, filler_order LIMIT ?`,
    ),
    markGet: db.prepare<[string], { at: number; lab: string; filler_order: string }>('SELECT at, lab, filler_order FROM retention_marks WHERE name = ?'),
    markSet: db.prepare<[string, number, string, string]>(
      'INSERT INTO retention_marks (name, at, lab, filler_order) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at, lab = excluded.lab, filler_order = excluded.filler_order',
    ),
    reportPatientsDrop: db.prepare<[string, string]>('DELETE FROM report_patients WHERE lab = ? AND filler_order = ?'),
    reportPatientAdd: db.prepare<[string, string, string]>('INSERT OR IGNORE INTO report_patients (lab, filler_order, patient) VALUES (?, ?, ?)'),
    patientSeen: db.prepare<[string, number]>(
      'INSERT INTO patient_activity (patient, last_at) VALUES (?, ?) ON CONFLICT (patient) DO UPDATE SET last_at = max(last_at, excluded.last_at)',
    ),
    oldReports: db.prepare<{ before: number; at: number; lab: string; filler: string; limit: number }, { lab: string; filler_order: string; updated_at: number; last: number; versions: number; archived_at: number | null }>(
      `SELECT r.lab, r.filler_order, r.updated_at,
              max(r.updated_at, coalesce((SELECT max(pa.last_at) FROM report_patients rp JOIN patient_activity pa ON pa.patient = rp.patient
                                           WHERE rp.lab = r.lab AND rp.filler_order = r.filler_order), 0)) AS last,
              (SELECT count(*) FROM report_versions v WHERE v.lab = r.lab AND v.filler_order = r.filler_order) AS versions,
              (SELECT a.archived_at FROM report_archive a WHERE a.lab = r.lab AND a.filler_order = r.filler_order) AS archived_at
         FROM reports r INDEXED BY reports_updated
        WHERE r.updated_at < @before AND (r.updated_at, r.lab, r.filler_order) > (@at, @lab, @filler)
        ORDER BY r.updated_at, r.lab, r.filler_order LIMIT @limit`,
    ),
    archiveMark: db.prepare<[string, string, number]>(
      'INSERT INTO report_archive (lab, filler_order, archived_at) VALUES (?, ?, ?) ON CONFLICT (lab, filler_order) DO UPDATE SET archived_at = excluded.archived_at',
    ),
    purgeStatements: [
      'DELETE FROM version_deliveries WHERE lab = ? AND filler_order = ?',
      'DELETE FROM report_versions WHERE lab = ? AND filler_order = ?',
      'DELETE FROM report_patients WHERE lab = ? AND filler_order = ?',
      'DELETE FROM report_archive WHERE lab = ? AND filler_order = ?',
      'DELETE FROM reports WHERE lab = ? AND filler_order = ?',
    ].map((sql) => db.prepare<[string, string]>(sql)),
    refusalTotals: db.prepare<[string], { n: number; b: number }>(
      `SELECT count(*) AS n, coalesce(sum(length(raw) + length(ack)), 0) AS b FROM messages WHERE channel = ? AND state = 'refused'`,
    ),
    refusalSizes: db.prepare<[string, number, number], { seq: number; size: number }>(
      `SELECT seq, length(raw) + length(ack) AS size FROM messages
        WHERE channel = ? AND state = 'refused' AND seq < ? ORDER BY seq DESC LIMIT ?`,
    ),
    refusalDeleteChunk: db.prepare<[string, number, number]>(
      `DELETE FROM messages WHERE seq IN (
         SELECT seq FROM messages WHERE channel = ? AND state = 'refused' AND seq <= ? ORDER BY seq LIMIT ?)`,
    ),
    counterAdd: db.prepare<[string, string, number]>(
      `INSERT INTO counters (channel, name, value) VALUES (?, ?, ?)
       ON CONFLICT (channel, name) DO UPDATE SET value = counters.value + excluded.value`,
    ),
    counterGet: db.prepare<[string, string], { value: number }>('SELECT value FROM counters WHERE channel = ? AND name = ?'),
    pruneChunk: db.prepare<[number, number, number]>(
      `DELETE FROM messages WHERE seq IN (
         SELECT seq FROM messages
          WHERE state IN (${TERMINAL_SQL}) AND received_at < ? AND updated_at < ?
          LIMIT ?)`,
    ),
  };
}

export class SqliteRetention {
  constructor(
    private readonly handle: () => SqliteHandle,
    private readonly stats: SqliteStats,
  ) {}

  /**
   * Deletes terminal messages received AND last updated before `olderThan` (a message that died
   * yesterday after weeks of retries is kept as long as a fresh one), with their contents and
   * deliveries, PRUNE_CHUNK rows per transaction, yielding to the event loop between chunks so
   * queued receives commit in between.
   */
  async prune(olderThan: Date): Promise<number> {
    const cutoff = olderThan.getTime();
    if (Number.isNaN(cutoff)) throw new TypeError('prune: olderThan must be a valid Date');
    let total = 0;
    for (;;) {
      const { db, retention: st } = this.handle();
      const n = db.transaction(() => st.pruneChunk.run(cutoff, cutoff, PRUNE_CHUNK).changes).immediate();
      total += n;
      if (n < PRUNE_CHUNK) return total;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /**
   * Walks the channel's refusals newest first, in pages of REFUSAL_PAGE rows (each a short read
   * on the event loop, yielding between pages), to the first row past the budget; then deletes
   * that row and every older one, PRUNE_CHUNK rows per transaction.
   */
  async pruneRefusals(channel: string, quota: RefusalQuota): Promise<number> {
    checkQuota(quota);
    let before = Number.MAX_SAFE_INTEGER;
    let count = 0;
    let bytes = 0;
    let cutoff = -1;
    walk: for (;;) {
      const rows = this.handle().retention.refusalSizes.all(channel, before, REFUSAL_PAGE);
      for (const r of rows) {
        count++;
        bytes += r.size;
        if (count > quota.maxCount || bytes > quota.maxBytes) {
          cutoff = r.seq;
          break walk;
        }
      }
      if (rows.length < REFUSAL_PAGE) break;
      before = rows[rows.length - 1]!.seq;
      await new Promise<void>((r) => setImmediate(r));
    }
    if (cutoff < 0) return 0;
    let total = 0;
    for (;;) {
      const { db, retention: st } = this.handle();
      const n = db.transaction(() => {
        const k = st.refusalDeleteChunk.run(channel, cutoff, PRUNE_CHUNK).changes;
        if (k > 0) st.counterAdd.run(channel, REFUSALS_DROPPED, k);
        return k;
      }).immediate();
      total += n;
      if (n < PRUNE_CHUNK) return total;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  async refusalStats(channel: string): Promise<RefusalStats> {
    const st = this.handle().retention;
    const t = st.refusalTotals.get(channel)!;
    return { count: t.n, bytes: t.b, dropped: st.counterGet.get(channel, REFUSALS_DROPPED)?.value ?? 0 };
  }

  async retentionCandidates(channel: string, states: readonly RetentionState[], afterSeq: number, limit: number): Promise<RetentionCandidate[]> {
    checkRetentionStates(states);
    checkLimit(limit);
    const st = this.handle().retention;
    this.stats.pruneActivity(Date.now()); // also when no console reads the stats
    // Each state's line from the cursor, merged: the first `limit` by seq are exact.
    const rows = states.flatMap((state) => st.retentionLine.all(channel, state, afterSeq, limit)).sort((a, b) => a.seq - b.seq).slice(0, limit);
    return rows.map(retentionCandidateOf);
  }

  async deleteMessages(ids: readonly string[], states: readonly RetentionState[], olderThan: Date): Promise<number> {
    checkRetentionStates(states);
    if (ids.length === 0) return 0;
    const t = olderThan.getTime();
    if (Number.isNaN(t)) throw new TypeError('deleteMessages: olderThan must be a valid Date');
    const { db } = this.handle();
    // The conditions are checked again in the delete itself: a message reprocessed since it was read stays.
    const sql = `DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?)) AND state IN (${sqlList(states)})
                   AND received_at < ? AND updated_at < ?
                   AND NOT EXISTS (SELECT 1 FROM open_deliveries o WHERE o.message_id = messages.id)`;
    return db.transaction(() => db.prepare(sql).run(JSON.stringify(ids), t, t).changes).immediate();
  }

  async trimMessages(ids: readonly string[], how: TrimRequest): Promise<number> {
    checkTrim(how);
    const { db, messages, retention: st } = this.handle();
    const t = how.olderThan.getTime();
    const at = new Date().toISOString();
    return db.transaction(() => {
      let n = 0;
      for (const id of ids) {
        const row = st.trimRead.get(id);
        if (!row || !(how.states as readonly string[]).includes(row.state) || row.updated_at >= t) continue;
        const names = st.contentNames.all(id).map((c) => c.name);
        const plan = trimPlan(row.raw, names, how, at, messages.getContent.get(id, RETENTION_NOTE)?.data);
        if (!plan) continue;
        st.trimRaw.run(plan.raw, id);
        st.contentsDrop.run(id, RETENTION_NOTE);
        messages.putContent.run(id, RETENTION_NOTE, plan.note);
        n++;
      }
      return n;
    }).immediate();
  }

  async refreshPatientActivity(limit: number): Promise<number> {
    checkLimit(limit);
    const { db, retention: st } = this.handle();
    return db.transaction(() => {
      const mark = st.markGet.get(PATIENTS_MARK) ?? { at: -1, lab: '', filler_order: '' };
      const rows = st.reportsChanged.all(mark.at, mark.lab, mark.filler_order, limit);
      for (const r of rows) {
        st.reportPatientsDrop.run(r.lab, r.filler_order);
        for (const p of patientIdsOf(r.patient)) {
          st.reportPatientAdd.run(r.lab, r.filler_order, p);
          st.patientSeen.run(p, r.updated_at);
        }
      }
      const last = rows[rows.length - 1];
      if (last) st.markSet.run(PATIENTS_MARK, last.updated_at, last.lab, last.filler_order);
      return rows.length;
    }).immediate();
  }

  async inactiveReports(before: Date, which: 'unarchived' | 'any', after: ReportCursor | undefined, limit: number): Promise<{ reports: ReportActivity[]; next: ReportCursor | undefined }> {
    checkLimit(limit);
    const rows = this.handle().retention.oldReports.all({ before: before.getTime(), at: after ? after.updatedAt.getTime() : -1, lab: after?.lab ?? '', filler: after?.fillerOrder ?? '', limit });
    const all = rows.map((r): ReportActivity => ({
      lab: r.lab, fillerOrder: r.filler_order, updatedAt: new Date(r.updated_at), lastActivity: new Date(r.last), versions: r.versions,
      archivedAt: r.archived_at === null ? null : new Date(r.archived_at),
    }));
    const last = all[all.length - 1];
    return {
      reports: all.filter((r) => r.lastActivity.getTime() < before.getTime() && (which === 'any' || r.archivedAt === null)),
      next: rows.length === limit && last ? { updatedAt: last.updatedAt, lab: last.lab, fillerOrder: last.fillerOrder } : undefined,
    };
  }

  async markReportArchived(lab: string, fillerOrder: string, at: Date): Promise<void> {
    this.handle().retention.archiveMark.run(lab, fillerOrder, at.getTime());
  }

  async purgeReport(lab: string, fillerOrder: string): Promise<void> {
    const { db, retention: st } = this.handle();
    db.transaction(() => {
      for (const s of st.purgeStatements) s.run(lab, fillerOrder);
    }).immediate();
  }
}
