/**
 * The operations console's figures on the SQLite store (SqliteStore delegates here): channel and
 * destination stats, version delivery stats and the rows of the Ségur indicators, read from the
 * counters the schema's triggers keep (sqlite-schema.ts CONSOLE_TABLES).
 */
import type Database from 'better-sqlite3';
import type { ChannelStats, DeliveryState, DestinationStats, IndicatorRow, StoredVersionDelivery, VersionDeliveryStats } from './types';
import {
  LAST_FAILURES,
  VD_FAILURE_STATES,
  VD_STATES_SQL,
  boundDetail,
  checkDestinations,
  indicatorRowOf,
  targetKind,
  windowCounts,
  type IndicatorDbRow,
  type VersionDeliveryRow,
} from './common';
import { ACTIVITY_BUCKET_MS } from './sqlite-intake';
import { VD_KIND } from './sqlite-schema';
import type { SqliteHandle } from './sqlite-handle';
import type { SqliteMessages } from './sqlite-messages';

export type StatsStatements = ReturnType<typeof prepareStatsStatements>;

export function prepareStatsStatements(db: Database.Database) {
  return {
    activity: db.prepare<[string, string, number], { bucket: number; n: number }>(
      'SELECT bucket, n FROM message_activity WHERE channel = ? AND what = ? AND bucket >= ?',
    ),
    activityPrune: db.prepare<[number]>('DELETE FROM message_activity WHERE bucket < ?'),
    // The head of the line (lowest seq) per inbound state: the oldest message waiting.
    oldestInState: db.prepare<[string, string], { received_at: number }>(
      'SELECT received_at FROM messages INDEXED BY messages_by_state WHERE channel = ? AND state = ? ORDER BY seq LIMIT 1',
    ),
    openCount: db.prepare<[string, string], { n: number }>(
      'SELECT count(*) AS n FROM open_deliveries INDEXED BY open_deliveries_line WHERE channel = ? AND destination = ?',
    ),
    // The head of the destination's line; a reopened delivery keeps its place in seq order.
    openHead: db.prepare<[string, string], { opened_at: number }>(
      'SELECT min(opened_at) AS opened_at FROM (SELECT opened_at FROM open_deliveries INDEXED BY open_deliveries_by_seq WHERE channel = ? AND destination = ? ORDER BY seq LIMIT 64)',
    ),
    deadCount: db.prepare<[string, string], { dead: number }>('SELECT dead FROM destination_counts WHERE channel = ? AND destination = ?'),
    lastFailures: db.prepare<[string, string, number], { message_id: string; state: DeliveryState; detail: string | null; at: number }>(
      'SELECT message_id, state, detail, at FROM delivery_failures WHERE channel = ? AND destination = ? ORDER BY id DESC LIMIT ?',
    ),
    vdCounts: db.prepare<[], { kind: string; state: string; n: number }>('SELECT kind, state, n FROM version_delivery_counts WHERE n <> 0'),
    vdOldestQueued: db.prepare<[], { kind: string; at: number }>(
      `SELECT ${VD_KIND('v')} AS kind, min(v.updated_at) AS at FROM version_deliveries v INDEXED BY version_deliveries_queued WHERE v.state = 'queued' GROUP BY 1`,
    ),
    vdLastInState: db.prepare<[string, number], VersionDeliveryRow>(
      'SELECT * FROM version_deliveries INDEXED BY version_deliveries_queued WHERE state = ? ORDER BY updated_at DESC LIMIT ?',
    ),
    // Every state named, so version_deliveries_queued (state, updated_at) serves each as one range.
    indicatorRows: db.prepare<[number, number], IndicatorDbRow>(
      `SELECT d.lab, d.filler_order, d.version, d.target, d.state, d.updated_at, v.finess, v.rpps, v.ins_qualified, v.status
         FROM version_deliveries d LEFT JOIN report_versions v ON v.lab = d.lab AND v.filler_order = d.filler_order AND v.version = d.version
        WHERE d.state IN (${VD_STATES_SQL}) AND d.updated_at >= ? AND d.updated_at < ?`,
    ),
  };
}

export class SqliteStats {
  private activityPrunedAt = 0;

  constructor(
    private readonly handle: () => SqliteHandle,
    private readonly messages: SqliteMessages,
  ) {}

  async channelStats(channel: string, destinations: readonly string[], now: Date = new Date()): Promise<ChannelStats> {
    checkDestinations(destinations);
    const st = this.handle().stats;
    const t = now.getTime();
    this.pruneActivity(t);
    const counts = await this.messages.counts(channel);
    const received = windowCounts(st.activity.all(channel, '', Math.floor((t - 3_600_000) / ACTIVITY_BUCKET_MS)), t, ACTIVITY_BUCKET_MS);
    let oldest: number | null = null;
    for (const s of ['received', 'processing']) {
      const r = st.oldestInState.get(channel, s);
      if (r && (oldest === null || r.received_at < oldest)) oldest = r.received_at;
    }
    const out: DestinationStats[] = destinations.map((destination) => {
      const head = st.openHead.get(channel, destination);
      return {
        destination,
        open: st.openCount.get(channel, destination)!.n,
        oldestOpenAt: head && head.opened_at !== null ? new Date(head.opened_at) : null,
        dead: st.deadCount.get(channel, destination)?.dead ?? 0,
        delivered: windowCounts(st.activity.all(channel, destination, Math.floor((t - 3_600_000) / ACTIVITY_BUCKET_MS)), t, ACTIVITY_BUCKET_MS),
        lastFailures: st.lastFailures.all(channel, destination, LAST_FAILURES).map((f) => ({ messageId: f.message_id, state: f.state, detail: boundDetail(f.detail), at: new Date(f.at) })),
      };
    });
    return { counts, received, oldestInboundAt: oldest === null ? null : new Date(oldest), destinations: out };
  }

  async versionDeliveryStats(_now: Date = new Date()): Promise<VersionDeliveryStats[]> {
    const st = this.handle().stats;
    const byKind = new Map<string, VersionDeliveryStats>();
    const kind = (k: string): VersionDeliveryStats => {
      let v = byKind.get(k);
      if (!v) byKind.set(k, (v = { kind: k, counts: {}, oldestQueuedAt: null, lastFailures: [] }));
      return v;
    };
    for (const r of st.vdCounts.all()) kind(r.kind).counts[r.state] = r.n;
    for (const r of st.vdOldestQueued.all()) kind(r.kind).oldestQueuedAt = new Date(r.at);
    const failures = VD_FAILURE_STATES.flatMap((s) => st.vdLastInState.all(s, LAST_FAILURES * 8)).sort((a, b) => Number(b.updated_at) - Number(a.updated_at));
    for (const f of failures) {
      const v = kind(targetKind(f.target));
      if (v.lastFailures.length < LAST_FAILURES) {
        v.lastFailures.push({ lab: f.lab, fillerOrder: f.filler_order, version: f.version, target: f.target, state: f.state as StoredVersionDelivery['state'], detail: boundDetail(f.detail), at: new Date(f.updated_at) });
      }
    }
    return [...byKind.values()].sort((a, b) => a.kind.localeCompare(b.kind));
  }

  async indicatorRows(from: Date, to: Date): Promise<IndicatorRow[]> {
    return this.handle().stats.indicatorRows.all(from.getTime(), to.getTime()).map(indicatorRowOf);
  }

  /** Activity buckets older than two hours go, at most once a minute (retention passes call it too). */
  pruneActivity(now: number): void {
    if (now - this.activityPrunedAt < 60_000) return;
    this.activityPrunedAt = now;
    this.handle().stats.activityPrune.run(Math.floor((now - 2 * 3_600_000) / ACTIVITY_BUCKET_MS));
  }
}
