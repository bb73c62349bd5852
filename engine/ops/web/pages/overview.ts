/**
 * Overview `/`: every channel with its state, its inbound queue and its destinations coloured
 * by health with the reason of their last failure; then report version deliveries per kind.
 * Channel drill-down `/channels/:name`: per destination, what waits, what died and why.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ChannelStatus, ConsoleContext } from '../../context';
import type { ChannelStats } from '../../../store/types';
import { notFound } from '../../api/common';
import { age, html, isoMinute, truncate, type Html } from '../html';
import { badge, pageRoute } from '../layout';
import { DESTINATION_HEAD, destinationHealth, destinationRow, throughput, versionDeliveryTable } from './health';

const INBOUND_STATES = ['received', 'processing', 'routed', 'done', 'filtered', 'refused', 'dead', 'discarded'];

function counts(channel: string, c: ChannelStats['counts']): Html {
  return html`${INBOUND_STATES.filter((s) => (c[s] ?? 0) > 0).map(
    (s) => html`<a class="count st-${s}" href="/messages?channel=${encodeURIComponent(channel)}&amp;state=${s}">${s} <b>${c[s]}</b></a> `,
  )}`;
}

function channelCard(ch: ChannelStatus, stats: ChannelStats, now: Date): Html {
  const types = new Map(ch.destinations.map((d) => [d.name, d.type]));
  const worst = stats.destinations.map((d) => destinationHealth(d, now)).reduce<string>((w, h) => (h === 'failing' || (h === 'retrying' && w === 'ok') ? h : w), 'ok');
  return html`<section class="card ch-${ch.state} h-${worst}" data-channel="${ch.name}">
  <h2><a href="/channels/${encodeURIComponent(ch.name)}">${ch.name}</a> ${badge(ch.state, ch.stoppedBy ? `stopped by ${ch.stoppedBy}` : undefined)}
    <span class="muted small">${ch.source.type}${ch.source.port ? ` :${ch.source.port}` : ''} · ${ch.source.connections} connection(s)</span></h2>
  <p class="inbound">${counts(ch.name, stats.counts)}
    <span class="muted">received 1/5/60 min</span> ${throughput(stats.received)}
    ${stats.oldestInboundAt ? html` · <span class="warn">oldest waiting ${age(stats.oldestInboundAt, now)}</span>` : ''}</p>
  <table class="grid"><thead>${DESTINATION_HEAD}</thead><tbody>${stats.destinations.map((d) => destinationRow(ch.name, types.get(d.destination) ?? '', d, now))}</tbody></table>
</section>`;
}

async function overviewBody(ctx: ConsoleContext): Promise<Html> {
  const now = new Date();
  const channels = ctx.engine.channelStatuses();
  const stats = await Promise.all(channels.map((ch) => ctx.store.channelStats(ch.name, ch.destinations.map((d) => d.name), now)));
  const versions = await ctx.store.versionDeliveryStats(now);
  return html`<div id="overview" data-refresh-every="10">
<p class="muted small">As of ${isoMinute(now)} · refreshed every 10 s</p>
${channels.length === 0 ? html`<p>No channel is loaded.</p>` : channels.map((ch, i) => channelCard(ch, stats[i]!, now))}
<section class="card"><h2>Report deliveries</h2>${versionDeliveryTable(versions, now)}</section>
</div>`;
}

async function channelBody(ctx: ConsoleContext, name: string): Promise<Html> {
  const now = new Date();
  const ch = ctx.engine.channelStatuses().find((c) => c.name === name);
  if (!ch) throw notFound(`channel ${name}`);
  const stats = await ctx.store.channelStats(ch.name, ch.destinations.map((d) => d.name), now);
  const types = new Map(ch.destinations.map((d) => [d.name, d.type]));
  const dests = stats.destinations.map(
    (d) => html`<section class="card h-${destinationHealth(d, now)}" id="dest-${d.destination}">
  <h2>${d.destination} <span class="muted small">${types.get(d.destination) ?? ''}</span> ${badge(destinationHealth(d, now))}</h2>
  <p>Queued <b>${d.open}</b>${d.oldestOpenAt ? html` (oldest ${age(d.oldestOpenAt, now)})` : ''} · dead <b>${d.dead}</b> · delivered 1/5/60 min ${throughput(d.delivered)}</p>
  ${d.lastFailures.length === 0
    ? html`<p class="muted">No failure recorded.</p>`
    : html`<table class="grid"><thead><tr><th>When</th><th>State</th><th>Reason</th><th>Message</th></tr></thead><tbody>${d.lastFailures.map(
        (f) => html`<tr><td>${isoMinute(f.at)}</td><td>${badge(f.state === 'pending' ? 'retrying' : f.state)}</td><td class="reason">${truncate(f.detail, 500)}</td><td><a href="/messages/${encodeURIComponent(f.messageId)}">open</a></td></tr>`,
      )}</tbody></table>`}
</section>`,
  );
  return html`<div id="channel" data-refresh-every="10">
<p>${badge(ch.state, ch.stoppedBy ? `stopped by ${ch.stoppedBy}` : undefined)} ${ch.stoppedBy ? html`<span class="muted">stopped by ${ch.stoppedBy}</span>` : ''}
  · <span class="muted">${ch.file} · config ${ch.configVersion}</span></p>
<p>${counts(ch.name, stats.counts)} · received 1/5/60 min ${throughput(stats.received)}${stats.oldestInboundAt ? html` · oldest waiting ${age(stats.oldestInboundAt, now)}` : ''}</p>
<p><a href="/messages?channel=${encodeURIComponent(ch.name)}">All messages</a> · <a href="/messages?channel=${encodeURIComponent(ch.name)}&amp;state=dead">Dead messages</a></p>
${dests}
</div>`;
}

export function overviewRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/', pageRoute(async () => ({ title: 'Overview', section: 'overview', body: await overviewBody(ctx) })));
  app.get(
    '/channels/:name',
    pageRoute(async (req: FastifyRequest<{ Params: { name: string } }>) => ({ title: `Channel ${req.params.name}`, section: 'overview', body: await channelBody(ctx, req.params.name) })),
  );
}
