import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { MessageStore } from '../store/types';
import type { EngineControl } from './context';
import { ageSeconds, queueOverview } from './queue-overview';

const WINDOWS = [['m1', '1m'], ['m5', '5m'], ['m60', '60m']] as const;

/**
 * Prometheus metrics read at scrape time from the store and this engine (nothing counted on
 * the hot path): gauges per channel and destination, report-version lines, process metrics.
 * Its own Registry: several consoles in one process (tests) never share series.
 */
export class MetricsCollector {
  readonly registry = new Registry();
  private readonly g: Record<string, Gauge<string>>;
  private refreshing?: Promise<void>;

  constructor(private readonly store: MessageStore, private readonly engine: EngineControl) {
    collectDefaultMetrics({ register: this.registry });
    const gauge = (name: string, help: string, labelNames: string[]): Gauge<string> => new Gauge({ name, help, labelNames, registers: [this.registry] });
    this.g = {
      channelState: gauge('passerelle_channel_state', 'channel state in this process (1 for the current state)', ['channel', 'state']),
      connections: gauge('passerelle_channel_connections', 'open source connections', ['channel']),
      messages: gauge('passerelle_messages', 'messages the store holds, per state', ['channel', 'state']),
      received: gauge('passerelle_messages_received_recent', 'messages received in the last window', ['channel', 'window']),
      inboundAge: gauge('passerelle_inbound_oldest_age_seconds', 'age of the oldest message not yet through the inbound stage (0: none)', ['channel']),
      open: gauge('passerelle_destination_queue_depth', 'open deliveries (waiting or retrying) of a destination', ['channel', 'destination']),
      openAge: gauge('passerelle_destination_oldest_open_age_seconds', 'age of the oldest open delivery (0: none)', ['channel', 'destination']),
      dead: gauge('passerelle_destination_dead', 'dead deliveries the store holds for a destination', ['channel', 'destination']),
      delivered: gauge('passerelle_destination_delivered_recent', 'deliveries made in the last window', ['channel', 'destination', 'window']),
      failing: gauge('passerelle_destination_failing', "1 while this process's breaker holds the destination as failing", ['channel', 'destination']),
      jobs: gauge('passerelle_queue_jobs', 'BullMQ jobs of a stage, per state', ['channel', 'stage', 'state']),
      versions: gauge('passerelle_version_deliveries', 'report version deliveries (DMP, MSSanté, PFI and receipts), per kind and state', ['kind', 'state']),
      versionAge: gauge('passerelle_version_delivery_oldest_queued_age_seconds', 'age of the oldest queued version delivery of a kind (0: none)', ['kind']),
      errors: gauge('passerelle_metrics_store_errors', 'store reads that failed during this scrape (their series are missing)', []),
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Concurrent scrapes share one refresh. */
  async metrics(): Promise<string> {
    this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    await this.refreshing;
    return this.registry.metrics();
  }

  private async refresh(): Promise<void> {
    const o = await queueOverview(this.store, this.engine);
    const now = o.at;
    // Series of channels or destinations gone since the last scrape disappear.
    for (const g of Object.values(this.g)) g.reset();
    let errors = 0;
    for (const { channel: c, stats, jobs, error } of o.channels) {
      this.g.channelState!.set({ channel: c.name, state: c.state }, 1);
      this.g.connections!.set({ channel: c.name }, c.source.connections);
      for (const d of c.destinations) this.g.failing!.set({ channel: c.name, destination: d.name }, d.failing ? 1 : 0);
      for (const j of jobs ?? []) {
        for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) this.g.jobs!.set({ channel: c.name, stage: j.stage, state }, j[state]);
      }
      if (error || !stats) {
        errors++;
        continue;
      }
      for (const [state, n] of Object.entries(stats.counts)) this.g.messages!.set({ channel: c.name, state }, n);
      for (const [k, w] of WINDOWS) this.g.received!.set({ channel: c.name, window: w }, stats.received[k]);
      this.g.inboundAge!.set({ channel: c.name }, ageSeconds(stats.oldestInboundAt, now));
      for (const d of stats.destinations) {
        const l = { channel: c.name, destination: d.destination };
        this.g.open!.set(l, d.open);
        this.g.openAge!.set(l, ageSeconds(d.oldestOpenAt, now));
        this.g.dead!.set(l, d.dead);
        for (const [k, w] of WINDOWS) this.g.delivered!.set({ ...l, window: w }, d.delivered[k]);
      }
    }
    if (o.versionDeliveriesError) errors++;
    for (const v of o.versionDeliveries ?? []) {
      for (const [state, n] of Object.entries(v.counts)) this.g.versions!.set({ kind: v.kind, state }, n);
      this.g.versionAge!.set({ kind: v.kind }, ageSeconds(v.oldestQueuedAt, now));
    }
    this.g.errors!.set(errors);
  }
}
