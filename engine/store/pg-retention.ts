/**
 * What the PostgreSQL store drops and keeps (PgStore delegates here): pruning by age, the
 * refusal quota, and the retention passes of engine/channels/retention.ts (messages deleted or
 * trimmed, patients' last activity, report documents archived and purged).
 */
import type { RefusalQuota, RefusalStats, ReportActivity, ReportCursor, RetentionCandidate, RetentionState, TrimRequest } from './types';
import { RETENTION_NOTE } from './types';
import { PRUNE_CHUNK, REFUSALS_DROPPED, TERMINAL_SQL, checkLimit, checkQuota, refusalVictimsSql, storeUnavailable } from './common';
import { PATIENTS_MARK, checkRetentionStates, checkTrim, patientIdsOf, retentionCandidateOf, trimPlan, type RetentionDbRow } from './retention-common';
import type { PgContext } from './pg-context';

export class PgRetention {
  constructor(private readonly pg: PgContext) {}

  /**
   * Deletes terminal messages received AND last updated before `olderThan`, with their contents
   * and deliveries (ON DELETE CASCADE), PRUNE_CHUNK rows per statement (each its own short
   * transaction). Rows another transaction holds locked are skipped, not waited for.
   */
  async prune(olderThan: Date): Promise<number> {
    if (Number.isNaN(olderThan.getTime())) throw new TypeError('prune: olderThan must be a valid Date');
    this.pg.checkReady();
    const m = this.pg.t.messages;
    let total = 0;
    for (;;) {
      const r = await this.pg.pool.query(
        `WITH victims AS (
           SELECT seq FROM ${m}
            WHERE state IN (${TERMINAL_SQL}) AND received_at < $1 AND updated_at < $1
            LIMIT ${PRUNE_CHUNK}
            FOR UPDATE SKIP LOCKED)
         DELETE FROM ${m} WHERE seq IN (SELECT seq FROM victims) AND state IN (${TERMINAL_SQL})`,
        [olderThan],
      );
      const n = r.rowCount ?? 0;
      total += n;
      if (n < PRUNE_CHUNK) return total;
    }
  }

  async pruneRefusals(channel: string, quota: RefusalQuota): Promise<number> {
    checkQuota(quota);
    this.pg.checkReady();
    const m = this.pg.t.messages;
    try {
      return await this.pg.inTransaction(async (c) => {
        // One pruner per channel at a time across processes; others skip (the next call catches up).
        const got = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS ok', [
          [this.pg.schema, 'refusals', channel].join('\u001f'),
        ]);
        if (!got.rows[0]?.ok) return 0;
        const t = await c.query<{ n: string; b: string }>(
          `SELECT count(*) AS n, coalesce(sum(octet_length(raw) + octet_length(ack)), 0) AS b FROM ${m} WHERE channel = $1 AND state = 'refused'`,
          [channel],
        );
        if (Number(t.rows[0]!.n) <= quota.maxCount && Number(t.rows[0]!.b) <= quota.maxBytes) return 0;
        const r = await c.query(
          `DELETE FROM ${m} WHERE channel = $1 AND state = 'refused' AND seq IN (${refusalVictimsSql(m, ['$1', '$2', '$3'], 'octet_length')})`,
          [channel, quota.maxCount, quota.maxBytes],
        );
        const n = r.rowCount ?? 0;
        if (n > 0) {
          await c.query(
            `INSERT INTO ${this.pg.t.counters} AS k (channel, name, value) VALUES ($1, $2, $3)
             ON CONFLICT (channel, name) DO UPDATE SET value = k.value + EXCLUDED.value`,
            [channel, REFUSALS_DROPPED, n],
          );
        }
        return n;
      });
    } catch (e) {
      throw storeUnavailable(e);
    }
  }

  async refusalStats(channel: string): Promise<RefusalStats> {
    this.pg.checkReady();
    const t = await this.pg.pool.query<{ n: string; b: string }>(
      `SELECT count(*) AS n, coalesce(sum(octet_length(raw) + octet_length(ack)), 0) AS b FROM ${this.pg.t.messages} WHERE channel = $1 AND state = 'refused'`,
      [channel],
    );
    const d = await this.pg.pool.query<{ value: string }>(`SELECT value FROM ${this.pg.t.counters} WHERE channel = $1 AND name = $2`, [channel, REFUSALS_DROPPED]);
    return { count: Number(t.rows[0]!.n), bytes: Number(t.rows[0]!.b), dropped: Number(d.rows[0]?.value ?? 0) };
  }

  async retentionCandidates(channel: string, states: readonly RetentionState[], afterSeq: number, limit: number): Promise<RetentionCandidate[]> {
    checkRetentionStates(states);
    checkLimit(limit);
    this.pg.checkReady();
    const { messages, contents } = this.pg.t;
    // Each state's line from the cursor (messages_by_state), merged by seq.
    const lines = states.map((_, i) => `(SELECT seq FROM ${messages} WHERE channel = $1 AND state = $${i + 4} AND seq > $2 ORDER BY seq LIMIT $3)`).join(' UNION ALL ');
    const r = await this.pg.pool.query<RetentionDbRow>(
      `SELECT m.seq, m.id, m.state, m.received_at, m.updated_at, octet_length(m.raw) AS raw_bytes,
              EXISTS (SELECT 1 FROM ${contents} c WHERE c.message_id = m.id AND c.name <> '${RETENTION_NOTE}') AS has_contents
         FROM ${messages} m WHERE m.seq IN (SELECT seq FROM (${lines}) l ORDER BY seq LIMIT $3) ORDER BY m.seq`,
      [channel, afterSeq, limit, ...states],
    );
    return r.rows.map(retentionCandidateOf);
  }

  async deleteMessages(ids: readonly string[], states: readonly RetentionState[], olderThan: Date): Promise<number> {
    checkRetentionStates(states);
    if (Number.isNaN(olderThan.getTime())) throw new TypeError('deleteMessages: olderThan must be a valid Date');
    this.pg.checkReady();
    if (ids.length === 0) return 0;
    const { messages, open } = this.pg.t;
    // The conditions are checked again in the delete itself: a message reprocessed since it was read stays.
    const r = await this.pg.pool.query(
      `DELETE FROM ${messages} m WHERE m.id = ANY($1::text[]) AND m.state = ANY($2::text[]) AND m.received_at < $3 AND m.updated_at < $3
          AND NOT EXISTS (SELECT 1 FROM ${open} o WHERE o.message_id = m.id)`,
      [[...ids], [...states], olderThan],
    );
    return r.rowCount ?? 0;
  }

  async trimMessages(ids: readonly string[], how: TrimRequest): Promise<number> {
    checkTrim(how);
    this.pg.checkReady();
    if (ids.length === 0) return 0;
    const { messages, contents } = this.pg.t;
    const at = new Date().toISOString();
    return this.pg.inTransaction(async (c) => {
      const rows = await c.query<{ id: string; raw: Buffer }>(
        `SELECT id, raw FROM ${messages} WHERE id = ANY($1::text[]) AND state = ANY($2::text[]) AND updated_at < $3 ORDER BY seq FOR UPDATE`,
        [[...ids], [...how.states], how.olderThan],
      );
      let n = 0;
      for (const row of rows.rows) {
        const names = (await c.query<{ name: string; data: Buffer | null }>(
          `SELECT name, CASE WHEN name = $2 THEN data END AS data FROM ${contents} WHERE message_id = $1 ORDER BY name`,
          [row.id, RETENTION_NOTE],
        )).rows;
        const plan = trimPlan(row.raw, names.map((x) => x.name), how, at, names.find((x) => x.name === RETENTION_NOTE)?.data ?? undefined);
        if (!plan) continue;
        await c.query(`UPDATE ${messages} SET raw = $2 WHERE id = $1`, [row.id, plan.raw]);
        await c.query(`DELETE FROM ${contents} WHERE message_id = $1 AND name <> $2`, [row.id, RETENTION_NOTE]);
        await c.query(
          `INSERT INTO ${contents} (message_id, name, data) VALUES ($1, $2, $3) ON CONFLICT (message_id, name) DO UPDATE SET data = EXCLUDED.data`,
          [row.id, RETENTION_NOTE, plan.note],
        );
        n++;
      }
      return n;
    });
  }

  async refreshPatientActivity(limit: number): Promise<number> {
    checkLimit(limit);
    this.pg.checkReady();
    const { reports, reportPatients, patientActivity, marks } = this.pg.t;
    return this.pg.inTransaction(async (c) => {
      // One refresher at a time across processes; another one finds the work done.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`passerelle.retention.patients:${this.pg.schema}`]);
      const mark = (await c.query<{ at: Date; lab: string; filler_order: string }>(`SELECT at, lab, filler_order FROM ${marks} WHERE name = $1`, [PATIENTS_MARK])).rows[0];
      const rows = (await c.query<{ lab: string; filler_order: string; updated_at: Date; patient: object | null }>(
        `SELECT lab, filler_order, updated_at, (state::jsonb) -> 'patient' AS patient FROM ${reports}
          WHERE (updated_at, lab, filler_order) > ($1, $2, $3) ORDER BY updated_at, lab, filler_order LIMIT $4`,
        [mark?.at ?? new Date(-1), mark?.lab ?? '', mark?.filler_order ?? '', limit],
      )).rows;
      for (const r of rows) {
        const ids = patientIdsOf(r.patient);
        await c.query(`DELETE FROM ${reportPatients} WHERE lab = $1 AND filler_order = $2`, [r.lab, r.filler_order]);
        if (ids.length === 0) continue;
        await c.query(`INSERT INTO ${reportPatients} (lab, filler_order, patient) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING`, [r.lab, r.filler_order, ids]);
        await c.query(
          `INSERT INTO ${patientActivity} AS a (patient, last_at) SELECT unnest($1::text[]), $2
           ON CONFLICT (patient) DO UPDATE SET last_at = greatest(a.last_at, EXCLUDED.last_at)`,
          [ids, r.updated_at],
        );
      }
      const last = rows[rows.length - 1];
      if (last) {
        await c.query(
          `INSERT INTO ${marks} (name, at, lab, filler_order) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE SET at = EXCLUDED.at, lab = EXCLUDED.lab, filler_order = EXCLUDED.filler_order`,
          [PATIENTS_MARK, last.updated_at, last.lab, last.filler_order],
        );
      }
      return rows.length;
    });
  }

  async inactiveReports(before: Date, which: 'unarchived' | 'any', after: ReportCursor | undefined, limit: number): Promise<{ reports: ReportActivity[]; next: ReportCursor | undefined }> {
    checkLimit(limit);
    this.pg.checkReady();
    const { reports, reportPatients, patientActivity, reportArchive, versions } = this.pg.t;
    const rows = (await this.pg.pool.query<{ lab: string; filler_order: string; updated_at: Date; last: Date; versions: string; archived_at: Date | null }>(
      `SELECT r.lab, r.filler_order, r.updated_at,
              greatest(r.updated_at, (SELECT max(pa.last_at) FROM ${reportPatients} rp JOIN ${patientActivity} pa ON pa.patient = rp.patient
                                       WHERE rp.lab = r.lab AND rp.filler_order = r.filler_order)) AS last,
              (SELECT count(*) FROM ${versions} v WHERE v.lab = r.lab AND v.filler_order = r.filler_order) AS versions,
              (SELECT a.archived_at FROM ${reportArchive} a WHERE a.lab = r.lab AND a.filler_order = r.filler_order) AS archived_at
         FROM ${reports} r
        WHERE r.updated_at < $1 AND (r.updated_at, r.lab, r.filler_order) > ($2, $3, $4)
        ORDER BY r.updated_at, r.lab, r.filler_order LIMIT $5`,
      [before, after?.updatedAt ?? new Date(-1), after?.lab ?? '', after?.fillerOrder ?? '', limit],
    )).rows;
    const all = rows.map((r): ReportActivity => ({ lab: r.lab, fillerOrder: r.filler_order, updatedAt: r.updated_at, lastActivity: r.last, versions: Number(r.versions), archivedAt: r.archived_at }));
    const last = all[all.length - 1];
    return {
      reports: all.filter((r) => r.lastActivity.getTime() < before.getTime() && (which === 'any' || r.archivedAt === null)),
      next: rows.length === limit && last ? { updatedAt: last.updatedAt, lab: last.lab, fillerOrder: last.fillerOrder } : undefined,
    };
  }

  async markReportArchived(lab: string, fillerOrder: string, at: Date): Promise<void> {
    this.pg.checkReady();
    await this.pg.pool.query(
      `INSERT INTO ${this.pg.t.reportArchive} (lab, filler_order, archived_at) VALUES ($1, $2, $3) ON CONFLICT (lab, filler_order) DO UPDATE SET archived_at = EXCLUDED.archived_at`,
      [lab, fillerOrder, at],
    );
  }

  async purgeReport(lab: string, fillerOrder: string): Promise<void> {
    this.pg.checkReady();
    const { vd, versions, reportPatients, reportArchive, reports } = this.pg.t;
    await this.pg.inTransaction(async (c) => {
      for (const table of [vd, versions, reportPatients, reportArchive, reports]) await c.query(`DELETE FROM ${table} WHERE lab = $1 AND filler_order = $2`, [lab, fillerOrder]);
    });
  }
}
