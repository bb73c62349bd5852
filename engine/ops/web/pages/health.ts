/**
 * How a destination is doing, from the store's figures: operators must see *why* a queue grows
 * (the last failure's words), not only how long it is (../shared/docs/peers.md §2).
 */
import type { DestinationStats, VersionDeliveryStats } from '../../../store/types';
import { age, html, isoMinute, truncate, type Html } from '../html';
import { badge } from '../layout';

export type DestinationHealth = 'ok' | 'retrying' | 'failing';

/** A failure newer than this, with nothing delivered since, means the destination is down now. */
const RECENT_MS = 5 * 60_000;

/**
 * failing: deliveries wait on failures and nothing got through for 5 minutes (or the newest
 * failure is a recent dead letter with nothing delivered since); retrying: some wait on
 * failures while others get through; ok otherwise (old dead letters are counted, not coloured).
 */
export function destinationHealth(d: DestinationStats, now = new Date()): DestinationHealth {
  const waiting = d.open > 0 && d.lastFailures.some((f) => f.state === 'pending');
  if (waiting) return d.delivered.m5 === 0 ? 'failing' : 'retrying';
  const newest = d.lastFailures[0];
  if (newest && newest.state === 'dead' && now.getTime() - newest.at.getTime() < RECENT_MS && d.delivered.m5 === 0) return 'failing';
  return 'ok';
}

/** The newest failure's words, or nothing. */
export function lastReason(d: DestinationStats): Html {
  const f = d.lastFailures[0];
  if (!f) return html``;
  return html`<span class="reason" title="${isoMinute(f.at)}">${truncate(f.detail, 300)}</span> <a class="small" href="/messages/${encodeURIComponent(f.messageId)}">message</a>`;
}

export function throughput(t: { m1: number; m5: number; m60: number }): Html {
  return html`<span class="num" title="last 1 / 5 / 60 minutes">${t.m1} / ${t.m5} / ${t.m60}</span>`;
}

export function destinationRow(channel: string, type: string, d: DestinationStats, now: Date): Html {
  const health = destinationHealth(d, now);
  return html`<tr class="dest h-${health}" data-destination="${d.destination}">
  <td><a href="/channels/${encodeURIComponent(channel)}#dest-${d.destination}">${d.destination}</a> <span class="muted">${type}</span></td>
  <td>${badge(health)}</td>
  <td class="num">${d.open}</td>
  <td>${age(d.oldestOpenAt, now)}</td>
  <td class="num">${d.dead > 0 ? html`<a href="/messages?channel=${encodeURIComponent(channel)}&amp;state=dead">${d.dead}</a>` : '0'}</td>
  <td>${throughput(d.delivered)}</td>
  <td>${lastReason(d)}</td>
</tr>`;
}

export const DESTINATION_HEAD = html`<tr><th>Destination</th><th>State</th><th>Queued</th><th>Oldest</th><th>Dead</th><th>Delivered 1/5/60 min</th><th>Last failure</th></tr>`;

/** Report version deliveries (DMP, MSSanté, PFI and their receipts) per kind. */
export function versionDeliveryTable(stats: VersionDeliveryStats[], now: Date): Html {
  if (stats.length === 0) return html`<p class="muted">No report version deliveries yet.</p>`;
  const rows = stats.map((s) => {
    const f = s.lastFailures[0];
    const bad = (s.counts.dead ?? 0) + (s.counts.failed ?? 0) + (s.counts.held ?? 0);
    const health = f && now.getTime() - f.at.getTime() < RECENT_MS ? 'failing' : s.oldestQueuedAt && now.getTime() - s.oldestQueuedAt.getTime() > RECENT_MS ? 'retrying' : 'ok';
    return html`<tr class="h-${health}">
  <td>${s.kind}</td><td>${badge(health)}</td>
  <td>${Object.entries(s.counts).map(([k, v]) => html`<span class="count">${k} <b>${v}</b></span> `)}</td>
  <td>${age(s.oldestQueuedAt, now)}</td>
  <td class="num">${bad}</td>
  <td>${f ? html`<span class="reason">${truncate(f.detail, 300)}</span> <a class="small" href="/reports/${encodeURIComponent(f.lab)}/${encodeURIComponent(f.fillerOrder)}">${f.fillerOrder} v${f.version} ${f.target}</a>` : ''}</td>
</tr>`;
  });
  return html`<table class="grid"><thead><tr><th>Kind</th><th>State</th><th>Counts</th><th>Oldest queued</th><th>Dead / failed / held</th><th>Last failure</th></tr></thead><tbody>${rows}</tbody></table>`;
}
