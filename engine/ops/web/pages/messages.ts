/**
 * Message browser `/messages`: search by channel, state, date range, control id, order / lab
 * file number, local patient id or INS; newest first, 50 a page, paged by seq. Rows carry no
 * payload: a preview of the first segments loads on demand (console.js).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleContext } from '../../context';
import { STATES, messageQuery, search, type MessageSummary, type SearchParams } from '../../api/messages';
import { html, query, truncate, type Html } from '../html';
import { badge, pageRoute } from '../layout';

function field(name: keyof SearchParams, label: string, p: SearchParams, type = 'text', placeholder = ''): Html {
  return html`<label>${label} <input type="${type}" name="${name}" value="${p[name] ?? ''}" placeholder="${placeholder}"></label>`;
}

function form(channels: string[], p: SearchParams): Html {
  const opt = (v: string, cur: string | undefined, label = v): Html => html`<option value="${v}"${v === (cur ?? '') ? html` selected` : ''}>${label}</option>`;
  return html`<form method="get" action="/messages" class="search" id="search">
  <label>Channel <select name="channel">${opt('', p.channel, 'any')}${channels.map((c) => opt(c, p.channel))}</select></label>
  <label>State <select name="state">${opt('', p.state, 'any')}${STATES.map((s) => opt(s, p.state))}</select></label>
  ${field('from', 'From', p, 'datetime-local')} ${field('to', 'To', p, 'datetime-local')}
  ${field('controlId', 'Control id (MSH-10)', p)} ${field('order', 'Order / lab file no.', p)}
  ${field('patient', 'Patient local id', p)} ${field('ins', 'INS', p, 'text', '15 characters')}
  <button type="submit">Search</button> <a href="/messages">Clear</a>
</form>`;
}

export function messageRows(rows: MessageSummary[]): Html {
  if (rows.length === 0) return html`<p class="muted">No message matches.</p>`;
  return html`<table class="grid messages"><thead><tr><th>Received</th><th>Channel</th><th>Type</th><th>Control id</th><th>State</th><th>Reason</th><th></th></tr></thead><tbody>${rows.map(
    (m) => html`<tr data-id="${m.id}">
  <td class="nowrap">${m.receivedAt.replace('T', ' ').slice(0, 19)}</td><td>${m.channel}</td><td>${m.messageType}</td>
  <td><a href="/messages/${encodeURIComponent(m.id)}">${m.controlId || '(none)'}</a></td>
  <td>${badge(m.state)}</td><td class="reason">${truncate(m.reason, 160)}</td>
  <td><button type="button" class="small" data-preview="${m.id}">preview</button></td>
</tr><tr class="preview" hidden><td colspan="7"></td></tr>`,
  )}</tbody></table>`;
}

export function messagesRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get(
    '/messages',
    pageRoute(async (req: FastifyRequest<{ Querystring: SearchParams }>) => {
      const p = req.query;
      const channels = ctx.engine.channelStatuses().map((c) => c.name);
      const searched = Object.entries(p).some(([k, v]) => k !== 'limit' && v);
      // datetime-local values have no zone: Date reads them as the server's local time.
      const q = messageQuery(p);
      const page = await search(ctx, req, q);
      const next = page.next === null ? html`` : html`<a class="button" href="/messages${query({ ...p, before: page.next })}">Older messages →</a>`;
      const first = p.before ? html`<a class="button" href="/messages${query({ ...p, before: undefined })}">← Newest</a> ` : html``;
      const results = html`<div id="results">${messageRows(page.messages)}<p class="pager">${first}${next}</p></div>`;
      return {
        title: 'Messages',
        section: 'messages',
        body: html`${form(channels, p)}${searched ? html`` : html`<p class="muted small">The newest messages of every channel; narrow with the form.</p>`}${results}`,
      };
    }),
  );
}
