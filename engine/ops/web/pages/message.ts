/**
 * Message page `/messages/:id`: its state and reason, its deliveries, its search keys and
 * reports, the ACK it got, then the HL7 segment by segment (paged, long values on demand).
 * Operators get the actions a dead message allows; viewers see the identity masked.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleContext } from '../../context';
import { TERMINAL_STATES, type MessageState } from '../../../store/types';
import { can, intParam, seesIdentity } from '../../api/common';
import { messageDetail, messageFacts, segmentsPage, type MessageDetail, type MessageFacts } from '../../api/messages';
import { SEGMENT_PAGE } from '../../api/segments';
import { html, isoMinute, type Html } from '../html';
import { badge, pageRoute } from '../layout';
import { moreSegments, segmentBlocks } from './segments-view';

function actions(d: MessageFacts, operator: boolean): Html {
  if (!operator) return html``;
  const id = d.message.id;
  if (d.message.state !== 'dead') return html`<p class="muted small">No action applies to a ${d.message.state} message.</p>`;
  const deadDests = d.deliveries.filter((x) => x.state === 'dead').map((x) => x.destination);
  return html`<div class="actions">
  <button type="button" class="primary" data-action="/api/messages/${encodeURIComponent(id)}/reprocess" data-refresh="#message-state"
    data-confirm="Run the failed stage of this message again${deadDests.length ? ` (${deadDests.join(', ')})` : ''}?">Reprocess${deadDests.length ? ` ${deadDests.join(', ')}` : ''}</button>
  <button type="button" class="danger" data-action="/api/messages/${encodeURIComponent(id)}/discard" data-refresh="#message-state" data-reason="Why discard this message for good?">Discard…</button>
</div>`;
}

function stateRegion(d: MessageFacts, operator: boolean): Html {
  const m = d.message;
  const settled = TERMINAL_STATES.includes(m.state as MessageState);
  return html`<div id="message-state" data-refresh-url="/messages/${encodeURIComponent(m.id)}/state"${settled ? '' : html` data-refresh-every="2"`}>
<div class="cols">
<table class="facts">
  <tr><th>State</th><td>${badge(m.state)}${settled ? '' : html` <span class="muted small">(updating)</span>`}</td></tr>
  ${m.reasonFull ? html`<tr><th>Reason</th><td><pre class="reason">${m.reasonFull}</pre></td></tr>` : ''}
  <tr><th>Channel</th><td><a href="/channels/${encodeURIComponent(m.channel)}">${m.channel}</a></td></tr>
  <tr><th>Type</th><td>${m.messageType}</td></tr><tr><th>Control id</th><td>${m.controlId || '(none)'}</td></tr>
</table>
<table class="facts">
  <tr><th>Sender</th><td>${m.sender}</td></tr><tr><th>Ordering key</th><td>${m.orderingKey || '(none)'}</td></tr>
  <tr><th>Received</th><td>${isoMinute(new Date(m.receivedAt))}</td></tr><tr><th>Updated</th><td>${isoMinute(new Date(m.updatedAt))}</td></tr>
</table>
</div>
${actions(d, operator)}
<h2>Deliveries</h2>
${d.deliveries.length + d.notAttempted.length === 0
  ? html`<p class="muted">No delivery recorded (not routed yet, filtered or refused).</p>`
  : html`<table class="grid" id="deliveries"><thead><tr><th>Destination</th><th>State</th><th>Attempts</th><th>Detail</th><th>Updated</th></tr></thead><tbody>${d.deliveries.map(
      (x) => html`<tr data-destination="${x.destination}"><td>${x.destination}</td><td>${badge(x.state)}</td><td class="num">${x.attempts}</td><td class="${x.state === 'delivered' ? 'small' : 'reason'}">${x.detail ?? ''}</td><td class="nowrap">${isoMinute(new Date(x.updatedAt))}</td></tr>`,
    )}${d.notAttempted.map(
      (n) => html`<tr data-destination="${n}"><td>${n}</td><td>${badge('waiting')}</td><td class="num">0</td><td class="muted small">not tried yet (in its line, or held at the gate of a failing destination: see the overview)</td><td></td></tr>`,
    )}</tbody></table>`}
</div>`;
}

function keysAndReports(d: MessageDetail): Html {
  return html`<p class="keys">Search keys: ${d.keys.length === 0 ? html`<span class="muted">none</span>` : d.keys.map((k) => html`<span class="key${k.masked ? ' masked' : ''}">${k.kind} <code>${k.value}</code></span> `)}
 · ${d.reports.length === 0 ? html`<span class="muted">No report of this message's order numbers.</span>` : d.reports.map((r) => html`<a class="button" href="/reports/${encodeURIComponent(r.lab)}/${encodeURIComponent(r.fillerOrder)}">Report ${r.fillerOrder} (${r.lab})</a> `)}
 · <span class="muted small">${d.bytes} characters, ${d.segments.count} segments, ${d.message.charset}</span></p>`;
}

async function messageBody(ctx: ConsoleContext, req: FastifyRequest, id: string): Promise<{ title: string; body: Html }> {
  const d = await messageDetail(ctx, req, id);
  const operator = can(req, 'operator');
  const identity = seesIdentity(req);
  const segs = d.segmentViews;
  return {
    title: `Message ${d.message.controlId || d.message.id}`,
    body: html`${stateRegion(d, operator)}
${keysAndReports(d)}
<h2>ACK sent</h2><pre class="ack">${d.ack.replace(/\r/g, '\n')}</pre>
<h2>HL7 <span class="muted small">${identity ? '' : 'patient identity masked'}</span>${operator ? html` <a class="small" href="/api/messages/${encodeURIComponent(id)}/raw" target="_blank">raw</a>` : ''}</h2>
${d.parseError ? html`<p class="error">Does not parse: ${d.parseError}</p>` : ''}
<div id="segments" class="segments">${segmentBlocks(id, segs, d.segments.count, identity)}</div>
${moreSegments(id, segs.length, d.segments.count)}`,
  };
}

export function messageRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get(
    '/messages/:id',
    pageRoute(async (req: FastifyRequest<{ Params: { id: string } }>) => {
      const { title, body } = await messageBody(ctx, req, req.params.id);
      return { title, section: 'messages', body: html`<div id="message">${body}</div>` };
    }),
  );
  // The state region alone, refreshed by console.js after an action and while the message moves (no identity in it).
  app.get(
    '/messages/:id/state',
    pageRoute(async (req: FastifyRequest<{ Params: { id: string } }>) => ({ title: 'State', section: 'messages', body: stateRegion(await messageFacts(ctx, req, req.params.id), can(req, 'operator')) })),
  );
  // The next page of segments, appended by console.js.
  app.get(
    '/messages/:id/segments',
    pageRoute(async (req: FastifyRequest<{ Params: { id: string }; Querystring: { from?: string } }>) => {
      const from = intParam(req.query.from, 0, 0, 10_000_000);
      const page = await segmentsPage(ctx, req, req.params.id, from);
      const body = html`${segmentBlocks(req.params.id, page.segments, page.count, seesIdentity(req))}${moreSegments(req.params.id, from + SEGMENT_PAGE, page.count)}`;
      return { title: 'Segments', section: 'messages', body };
    }),
  );
}
