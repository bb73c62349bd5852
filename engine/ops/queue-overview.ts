import type { ChannelStats, MessageStore, VersionDeliveryStats } from '../store/types';
import type { ChannelStatus, EngineControl, StageJobs } from './context';

export interface ChannelQueues {
  channel: ChannelStatus;
  /** undefined when the store could not answer for this channel (`error` says why). */
  stats?: ChannelStats;
  /** BullMQ job counts per stage; undefined when the channel does not run here. */
  jobs?: StageJobs[];
  error?: string;
}

export interface QueueOverview {
  at: Date;
  channels: ChannelQueues[];
  versionDeliveries?: VersionDeliveryStats[];
  versionDeliveriesError?: string;
}

/**
 * Every channel's store statistics (with each destination) and queue jobs, and the report-version
 * lines, read at once. One channel the store fails on does not hide the others: its error is
 * kept beside it (the API shows it, /metrics counts it).
 */
export async function queueOverview(store: MessageStore, engine: EngineControl, now = new Date()): Promise<QueueOverview> {
  const statuses = engine.channelStatuses();
  const channels = await Promise.all(
    statuses.map(async (channel): Promise<ChannelQueues> => {
      const [stats, jobs] = await Promise.allSettled([
        store.channelStats(channel.name, channel.destinations.map((d) => d.name), now),
        engine.stageJobs(channel.name),
      ]);
      return {
        channel,
        ...(stats.status === 'fulfilled' ? { stats: stats.value } : { error: (stats.reason as Error)?.message ?? String(stats.reason) }),
        ...(jobs.status === 'fulfilled' && jobs.value ? { jobs: jobs.value } : {}),
      };
    }),
  );
  try {
    return { at: now, channels, versionDeliveries: await store.versionDeliveryStats(now) };
  } catch (e) {
    return { at: now, channels, versionDeliveriesError: (e as Error)?.message ?? String(e) };
  }
}

/** Seconds since `d` (0 when none). */
export function ageSeconds(d: Date | null | undefined, now: Date): number {
  return d ? Math.max(0, (now.getTime() - d.getTime()) / 1000) : 0;
}
