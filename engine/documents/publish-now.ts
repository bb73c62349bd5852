/**
 * An operator asks for a report's next version now, whatever its channel's policy: a partial
 * report sent on request (DSR DMP.04, MSS.23), or a report held by `on-request` /
 * `when-complete` (docs/design.md "Operator actions"). The store's version numbering keeps it
 * consistent with a running engine; the version's deliveries are recorded and queued through
 * the publisher's lines like any other version. The report's `actions` say who asked and when.
 */
import type { RedisOptions } from 'ioredis';
import { PasserelleError } from '../errors';
import { checkActor, operatorText, type ActionResult } from '../operator-action';
import { loadChannelDir } from '../config/load-channels';
import type { ChannelConfig, ReportsDestinationConfig } from '../config/channel-schema';
import type { MessageStore } from '../store/types';
import type { AnsKit } from '../validation';
import type { Logger } from '../runtime/logger';
import { findReport, recordAction, updateReport, type ReportRef } from '../reports/parked-actions';
import { reportFromJson } from '../reports/serialize';
import type { ReportPublisher } from './report-publisher';
import { ReportsDestination, type ReportsDestinationOptions } from './reports-destination';
import { reportsDestinationOptions } from './from-config';

export interface PublishNowDeps {
  store: Pick<MessageStore, 'reportsByFillerOrder' | 'getReport' | 'putReport' | 'reportVersions'>;
  /** The publisher of the report's channel (a ReportsDestination's, with its delivery lines). */
  publisher: Pick<ReportPublisher, 'publish'>;
}

/**
 * Publishes the report's next version now. `outcome`: `published` (a new version, `version`
 * its number), `deleted` (every result was withdrawn: the deletion of the last version), or
 * `unchanged` (the last version shows the same content already).
 */
export async function publishReportNow(deps: PublishNowDeps, ref: ReportRef, actor: string, note?: string): Promise<ActionResult & { version?: number }> {
  checkActor(actor);
  const text = operatorText(note, 'a note', false);
  const row = await findReport(deps.store, ref);
  const newest = async (): Promise<number> => Math.max(0, ...(await deps.store.reportVersions(row.lab, row.fillerOrder)).filter((v) => v.written).map((v) => v.version));
  const before = await newest();
  const said = await deps.publisher.publish(reportFromJson(row.state), true);
  const versions = await deps.store.reportVersions(row.lab, row.fillerOrder);
  const made = versions.filter((v) => v.written && v.version > before).at(-1);
  await updateReport(deps.store, row.lab, row.fillerOrder, (s) => {
    recordAction(s, { action: 'publish', by: actor, at: new Date().toISOString(), ...(text ? { note: text } : {}), outcome: said });
    return true;
  });
  if (!made) return { outcome: 'unchanged', detail: said };
  return { outcome: made.status === 'deleted' ? 'deleted' : 'published', detail: said, version: made.version };
}

/** The reports destination of a channel directory: the one there is, or the one of `channel`. */
export function reportsDestinationOf(channelsDir: string, channel?: string): { channel: string; charset: ChannelConfig['charset']['default']; config: ReportsDestinationConfig } {
  const candidates = loadChannelDir(channelsDir).flatMap((l) =>
    l.config.destinations.flatMap((d) => (d.type === 'reports' ? [{ channel: l.config.name, charset: l.config.charset.default, config: d }] : [])),
  );
  const chosen = candidates.filter((c) => channel === undefined || c.channel === channel);
  if (chosen.length === 0) throw new PasserelleError('PSL_PUBLISH_NO_DESTINATION', `no reports destination${channel ? ` in channel ${channel}` : ''} in ${channelsDir}`);
  if (chosen.length > 1) throw new PasserelleError('PSL_PUBLISH_DESTINATION_AMBIGUOUS', `several channels publish reports (${chosen.map((c) => c.channel).join(', ')}): name one with --channel`);
  return chosen[0]!;
}

export interface OpenReportsPublisherOptions {
  channelsDir: string;
  channel?: string;
  store: ReportsDestinationOptions['store'];
  kit: AnsKit | undefined;
  /** The engine's Redis: a version's deliveries (DMP, MSSanté, PFI) are queued for the running engine to send; nothing is sent from here. */
  redis: { connection: RedisOptions; prefix: string };
  logger: Logger;
}

/**
 * A channel's reports destination built outside the engine (the CLI), producing only: it
 * renders and records versions and queues their deliveries, the running engine sends them.
 * Close it when done.
 */
export function openReportsPublisher(o: OpenReportsPublisherOptions): { channel: string; publisher: ReportPublisher; close(): Promise<void> } {
  const chosen = reportsDestinationOf(o.channelsDir, o.channel);
  const opts = reportsDestinationOptions(chosen.config, { store: o.store, kit: o.kit, logger: o.logger });
  opts.lines = { name: `${chosen.channel}.${chosen.config.name}`, connection: o.redis.connection, prefix: o.redis.prefix, consume: false, defaultCharset: chosen.charset };
  // No DMP request is built here (this process sends nothing): no build thread.
  opts.deliveryThreads = 0;
  const destination = new ReportsDestination(opts);
  return {
    channel: chosen.channel,
    publisher: destination.publisher,
    close: async () => {
      await destination.stop(1000);
      await destination.close();
    },
  };
}
