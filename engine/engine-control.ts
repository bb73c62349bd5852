/**
 * What an operator may ask of a running engine (the console, engine/ops, uses it; Engine
 * implements it). Declared here, not in engine/ops, because the engine never imports the console.
 */

import type { ReportPublisher } from './documents/report-publisher';
import type { VersionLine } from './delivery/version-line';

/** A channel as operators see it in this process. */
export interface ChannelStatus {
  name: string;
  /** running: listening and consuming; paused: listening, queues held; stopped: configured, not running here. */
  state: 'running' | 'paused' | 'stopped';
  /** Why a stopped channel is stopped: an operator stopped it, its file says `enabled: false`, or it failed to start. */
  stoppedBy?: 'operator' | 'file' | 'failure';
  /** The channel file and the fingerprint of the deployed configuration. */
  file: string;
  configVersion: string;
  source: { type: 'mllp' | 'directory'; port?: number; connections: number };
  /** `failing`: this process's circuit breaker for the destination is open (docs/design.md, "Failing destinations"). */
  destinations: { name: string; type: string; failing: boolean }[];
}

/** BullMQ jobs of one stage of a channel (`in`, `dest.<name>`), over its partitions. */
export interface StageJobs {
  stage: string;
  waiting: number;
  active: number;
  delayed: number;
  /** Dead-lettered jobs Redis still keeps (the store's dead states are what operators go by). */
  failed: number;
}

/**
 * Channel control and reprocessing. Acts on this process only: with several engine processes,
 * each one's console controls its own channels (docs/console.md, "Channels").
 */
export interface EngineControl {
  channelStatuses(): ChannelStatus[];
  /** Starts a channel stopped by an operator (or that failed to start), with its last loaded file. */
  startChannel(name: string): Promise<void>;
  /** Stops a channel until an operator starts it again or the engine restarts; reloads leave it stopped. */
  stopChannel(name: string): Promise<void>;
  /** Holds the channel's queues in this process; its source keeps accepting and ACKing. Survives reloads. */
  pauseChannel(name: string): Promise<void>;
  resumeChannel(name: string): Promise<void>;
  /**
   * Runs the failed stage of a dead message again (Pipeline.reprocess); the stages requeued.
   * `note` (who asked, when) becomes the message's reason and the reopened deliveries' detail.
   */
  reprocess(channel: string, messageId: string, note?: string): Promise<string[]>;
  /**
   * The publisher of a channel's reports destination running here (publish now, parked
   * releases: engine/documents/publish-now.ts, engine/reports/parked-actions.ts); undefined when
   * the channel has none or does not run here.
   */
  reportPublisher(channel: string): Pick<ReportPublisher, 'publish'> | undefined;
  /**
   * The report-version delivery lines running here (engine/delivery/version-actions.ts): a
   * delivery queued again goes on its line at once instead of at the next scan.
   */
  versionLines(): readonly Pick<VersionLine, 'owns' | 'enqueue'>[];
  /** Job counts per stage from Redis; undefined when the channel does not run here. */
  stageJobs(channel: string): Promise<StageJobs[] | undefined>;
}
