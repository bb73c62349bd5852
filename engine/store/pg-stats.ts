/**
 * The operations console's figures on the PostgreSQL store (PgStore delegates here): channel
 * and destination stats, version delivery stats and the rows of the Ségur indicators.
 */
import type { ChannelStats, DeliveryState, IndicatorRow, StoredVersionDelivery, VersionDeliveryStats } from './types';
import { LAST_FAILURES, VD_FAILURE_STATES, boundDetail, checkDestinations, indicatorRowOf, targetKind, type IndicatorDbRow, type VersionDeliveryRow } from './common';
import type { PgContext } from './pg-context';
import type { PgMessages } from './pg-messages';

export class PgStats {
  constructor(
    private readonly pg: PgContext,
    private readonly messages: PgMessages,
  ) {}

  async channelStats(channel: string, destinations: readonly string[], now: Date = new Date()): Promise<ChannelStats> {
    checkDestinations(destinations);
    this.pg.checkReady();
    const { messages, deliveries, open, failures } = this.pg.t;
    const t = now.getTime();
    const since = (ms: number): Date => new Date(t - ms);
    const [counts, received, inbound] = await Promise.all([
      this.messages.counts(channel),
      this.pg.pool.query<{ m1: string; m5: string; m60: string }>(
        `SELECT count(*) FILTER (WHERE received_at >= $2) AS m1, count(*) FILTER (WHERE received_at >= $3) AS m5, count(*) AS m60
           FROM ${messages} WHERE received_at >= $4 AND received_at <= $5 AND channel = $1`,
        [channel, since(60_000), since(300_000), since(3_600_000), now],
      ),
      this.pg.pool.query<{ at: Date | null }>(
        `SELECT least((SELECT received_at FROM ${messages} WHERE channel = $1 AND state = 'received' ORDER BY seq LIMIT 1),
                      (SELECT received_at FROM ${messages} WHERE channel = $1 AND state = 'processing' ORDER BY seq LIMIT 1)) AS at`,
        [channel],
      ),
    ]);
    const dests = await Promise.all(
      destinations.map(async (destination) => {
        const [o, d, f] = await Promise.all([
          this.pg.pool.query<{ n: string; oldest: Date | null }>(`SELECT count(*) AS n, min(opened_at) AS oldest FROM ${open} WHERE channel = $1 AND destination = $2`, [channel, destination]),
          this.pg.pool.query<{ dead: string; m1: string; m5: string; m60: string }>(
            `SELECT count(*) FILTER (WHERE d.state = 'dead') AS dead,
                    count(*) FILTER (WHERE d.state = 'delivered' AND d.updated_at >= $3) AS m1,
                    count(*) FILTER (WHERE d.state = 'delivered' AND d.updated_at >= $4) AS m5,
                    count(*) FILTER (WHERE d.state = 'delivered' AND d.updated_at >= $5) AS m60
               FROM ${deliveries} d JOIN ${messages} m ON m.id = d.message_id
              WHERE d.destination = $2 AND m.channel = $1
                AND (d.state = 'dead' OR (d.state = 'delivered' AND d.updated_at >= $5 AND d.updated_at <= $6))`,
            [channel, destination, since(60_000), since(300_000), since(3_600_000), now],
          ),
          this.pg.pool.query<{ message_id: string; state: DeliveryState; detail: string | null; at: Date }>(
            `SELECT message_id, state, detail, at FROM ${failures} WHERE channel = $1 AND destination = $2 ORDER BY id DESC LIMIT $3`,
            [channel, destination, LAST_FAILURES],
          ),
        ]);
        const dr = d.rows[0]!;
        return {
          destination,
          open: Number(o.rows[0]!.n),
          oldestOpenAt: o.rows[0]!.oldest,
          dead: Number(dr.dead),
          delivered: { m1: Number(dr.m1), m5: Number(dr.m5), m60: Number(dr.m60) },
          lastFailures: f.rows.map((x) => ({ messageId: x.message_id, state: x.state, detail: boundDetail(x.detail), at: x.at })),
        };
      }),
    );
    const rr = received.rows[0]!;
    return { counts, received: { m1: Number(rr.m1), m5: Number(rr.m5), m60: Number(rr.m60) }, oldestInboundAt: inbound.rows[0]?.at ?? null, destinations: dests };
  }

  async versionDeliveryStats(_now: Date = new Date()): Promise<VersionDeliveryStats[]> {
    this.pg.checkReady();
    const { vd, vdCounts } = this.pg.t;
    const [counts, queued, failed] = await Promise.all([
      this.pg.pool.query<{ kind: string; state: string; n: string }>(`SELECT kind, state, n FROM ${vdCounts} WHERE n <> 0`),
      this.pg.pool.query<{ kind: string; at: Date }>(`SELECT split_part(target, ':', 1) AS kind, min(updated_at) AS at FROM ${vd} WHERE state = 'queued' GROUP BY 1`),
      Promise.all(VD_FAILURE_STATES.map((st) => this.pg.pool.query<VersionDeliveryRow>(`SELECT * FROM ${vd} WHERE state = $1 ORDER BY updated_at DESC LIMIT $2`, [st, LAST_FAILURES * 8]))),
    ]);
    const byKind = new Map<string, VersionDeliveryStats>();
    const kind = (k: string): VersionDeliveryStats => {
      let v = byKind.get(k);
      if (!v) byKind.set(k, (v = { kind: k, counts: {}, oldestQueuedAt: null, lastFailures: [] }));
      return v;
    };
    for (const r of counts.rows) kind(r.kind).counts[r.state] = Number(r.n);
    for (const r of queued.rows) kind(r.kind).oldestQueuedAt = r.at;
    const rows = failed.flatMap((r) => r.rows).sort((a, b) => new Date(b.updated_at).getTime() - new Date(a.updated_at).getTime());
    for (const f of rows) {
      const v = kind(targetKind(f.target));
      if (v.lastFailures.length < LAST_FAILURES) {
        v.lastFailures.push({ lab: f.lab, fillerOrder: f.filler_order, version: f.version, target: f.target, state: f.state as StoredVersionDelivery['state'], detail: boundDetail(f.detail), at: new Date(f.updated_at) });
      }
    }
    return [...byKind.values()].sort((a, b) => a.kind.localeCompare(b.kind));
  }

  async indicatorRows(from: Date, to: Date): Promise<IndicatorRow[]> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<IndicatorDbRow>(
      `SELECT d.lab, d.filler_order, d.version, d.target, d.state, d.updated_at, v.finess, v.rpps, v.ins_qualified, v.status
         FROM ${this.pg.t.vd} d LEFT JOIN ${this.pg.t.versions} v ON v.lab = d.lab AND v.filler_order = d.filler_order AND v.version = d.version
        WHERE d.updated_at >= $1 AND d.updated_at < $2`,
      [from, to],
    );
    return r.rows.map(indicatorRowOf);
  }
}
