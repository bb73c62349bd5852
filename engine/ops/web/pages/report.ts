/**
 * Report page `/reports/:lab/:fillerOrder`: the versions' timeline with their deliveries, one
 * version's CR-BIO narrative (rendered on the server) and PDF side by side, the diff of two
 * versions, observations with their history, what is pending or subcontracted, what was parked.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleContext } from '../../context';
import { MASK, can, intParam, maskTail, seesIdentity } from '../../api/common';
import { reportView, versionDiff, type ReportView } from '../../api/reports';
import type { DiffLine } from '../../api/version-diff';
import { html, isoMinute, query, truncate, type Html } from '../html';
import { badge, pageRoute } from '../layout';

type Delivery = ReportView['deliveries'][number];

/** A patient's MSSanté address names their INS: viewers see its last characters only. */
export function shownTarget(target: string, identity: boolean): string {
  if (identity) return target;
  return target.replace(/([^:>\s]+)@patient\.mssante\.fr/g, (_, local: string) => `${maskTail(local)}@patient.mssante.fr`);
}

function deliveryActions(r: ReportView, d: Delivery, operator: boolean): Html {
  if (!operator || d.target.includes('>')) return html``;
  const body = JSON.stringify({ lab: r.lab, fillerOrder: r.fillerOrder, version: d.version, target: d.target });
  const resend = d.state === 'dead' ? html`<button type="button" class="small primary" data-action="/api/deliveries/resend" data-body="${body}" data-refresh="#report-deliveries">resend</button>` : '';
  const cancel = d.state === 'queued' || d.state === 'held' ? html`<button type="button" class="small danger" data-action="/api/deliveries/cancel" data-body="${body}" data-refresh="#report-deliveries" data-confirm="Give up this delivery for good?">cancel</button>` : '';
  return html`${resend}${cancel}`;
}

/** Every delivery and receipt, per version then recipient, with what operators may do. */
export function deliveriesRegion(r: ReportView, operator: boolean, identity: boolean): Html {
  const url = `/reports/${encodeURIComponent(r.lab)}/${encodeURIComponent(r.fillerOrder)}/deliveries`;
  const rows = [...r.deliveries].sort((a, b) => a.version - b.version || a.target.localeCompare(b.target));
  return html`<div id="report-deliveries" data-refresh-url="${url}">
${rows.length === 0
  ? html`<p class="muted">No delivery of any version yet.</p>`
  : html`<table class="grid"><thead><tr><th>Version</th><th>Recipient</th><th>State</th><th>Detail</th><th>Updated</th><th></th></tr></thead><tbody>${rows.map(
      (d) => html`<tr class="${d.target.includes('>') ? 'receipt' : ''}"><td>v${d.version}</td><td>${shownTarget(d.target, identity)}</td><td>${badge(d.state)}</td>
  <td class="${['dead', 'failed', 'held'].includes(d.state) ? 'reason' : 'small'}">${truncate(d.detail ? shownTarget(d.detail, identity) : '', 300)}</td><td class="nowrap">${isoMinute(new Date(d.updatedAt))}</td><td>${deliveryActions(r, d, operator)}</td></tr>`,
    )}</tbody></table>`}
</div>`;
}

function timeline(r: ReportView, shown: number | undefined): Html {
  return html`<ol class="timeline">${r.versions.map((v) => {
    const ds = r.deliveries.filter((d) => d.version === v.version && !d.target.includes('>'));
    return html`<li class="${v.version === shown ? 'current' : ''}"><a href="${query({ v: v.version })}">v${v.version}</a> ${badge(v.status)}
  <span class="muted small">${isoMinute(new Date(v.createdAt))}${v.written ? '' : ' · not written'}</span>
  ${ds.map((d) => html`<span class="chip st-${d.state}" title="${d.detail ?? ''}">${d.target.split(':')[0]} ${d.state}</span> `)}</li>`;
  })}</ol>`;
}

function documentsPane(r: ReportView, v: number | undefined, operator: boolean): Html {
  if (v === undefined) return html`<p class="muted">No version has documents yet.</p>`;
  if (!operator) return html`<p class="muted">The documents name the patient: operators and admins open them.</p>`;
  const base = `/api/reports/${encodeURIComponent(r.lab)}/${encodeURIComponent(r.fillerOrder)}/versions/${v}`;
  return html`<div class="docs">
  <figure><figcaption>CR-BIO v${v} (N3 narrative, rendered by the server)</figcaption>
    <iframe class="narrative" src="${base}/narrative" sandbox="" loading="lazy" title="CR-BIO narrative v${v}"></iframe></figure>
  <figure><figcaption>PDF v${v} · <a href="${base}/pdf" target="_blank">open</a></figcaption>
    <object class="pdf" data="${base}/pdf" type="application/pdf" title="PDF v${v}"><a href="${base}/pdf">Download the PDF</a></object></figure>
</div>`;
}

function diffPane(r: ReportView, a: number | undefined, b: number | undefined, lines: DiffLine[] | undefined): Html {
  const docs = r.versions.filter((v) => v.documents).map((v) => v.version);
  if (docs.length < 2) return html`<p class="muted">Two versions with documents are needed to compare.</p>`;
  const sel = (name: string, cur: number | undefined): Html => html`<select name="${name}">${docs.map((n) => html`<option value="${n}"${n === cur ? html` selected` : ''}>v${n}</option>`)}</select>`;
  const changed = lines?.filter((l) => l.op !== '=') ?? [];
  return html`<form method="get" class="inline" id="diff-form">Compare ${sel('a', a ?? docs[docs.length - 2])} with ${sel('b', b ?? docs[docs.length - 1])} <button type="submit">Show the changes</button></form>
${lines ? (changed.length === 0 ? html`<p>No difference in the narrative.</p>` : html`<pre class="diff">${lines.map((l) => html`<span class="d${l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'same'}">${l.op} ${l.text}\n</span>`)}</pre>`) : ''}`;
}

function observations(r: ReportView): Html {
  return html`<table class="grid"><thead><tr><th>Test</th><th>Value</th><th>Status</th><th>Range</th><th>History</th></tr></thead><tbody>${r.observations.map(
    (o) => html`<tr${o.withdrawn ? html` class="withdrawn"` : ''}><td><code>${o.code}</code> ${o.name}</td>
  <td>${o.withdrawn ? html`<i>withdrawn (${o.withdrawn})</i>` : o.value} ${o.flags.filter((f) => f !== 'N').map((f) => html`<b class="flag">${f}</b>`)}</td>
  <td>${o.status}</td><td>${o.range}</td>
  <td class="small">${o.history.map((h) => html`<div>${h.value} ${h.status} → ${h.endedBy} <a href="/messages/${encodeURIComponent(h.messageId)}">msg</a></div>`)}</td></tr>`,
  )}</tbody></table>`;
}

function orderPane(r: ReportView, operator: boolean): Html {
  const o = r.order;
  const pending = r.pending.length ? html`<p>Pending: ${r.pending.map((p) => html`<span class="chip st-queued">${p}</span> `)}</p>` : html`<p class="muted">No result pending.</p>`;
  if (!o) return html`${pending}<p class="muted">No order in the store: completeness comes from the results alone.</p>`;
  return html`${pending}<p>Order <code>${o.key}</code> ${badge(o.status)}</p>
<table class="grid"><thead><tr><th>Placer</th><th>Test</th><th>State</th><th>Sub-order</th></tr></thead><tbody>${o.tests.map(
    (t) => html`<tr><td>${t.placer}</td><td><code>${t.code}</code> ${t.display}</td><td>${badge(t.state)}</td><td>${t.subOrder ?? ''}</td></tr>`,
  )}</tbody></table>
${o.subOrders.map((s) => html`<p>Sub-order <code>${s.number}</code> to ${s.subcontractor}${s.finess ? ` (FINESS ${s.finess})` : ''} ${badge(s.state)} <span class="muted">${s.note}</span>
  ${s.parked && operator ? decide(r, 'suborders', { subOrder: s.number }, 'Fuse these results into the report: the patient was verified to be the same?') : ''}</p>`)}`;
}

/** Accept / drop buttons of something parked (a result, or a sub-order's results). */
function decide(r: ReportView, kind: 'parked' | 'suborders', what: Record<string, string>, confirmAccept: string): Html {
  const url = `/api/reports/${encodeURIComponent(r.lab)}/${encodeURIComponent(r.fillerOrder)}/${kind}/release`;
  return html`<button type="button" class="small primary" data-action="${url}" data-body="${JSON.stringify({ ...what, decision: 'accept' })}" data-confirm="${confirmAccept}" data-refresh="#report">accept</button>
<button type="button" class="small danger" data-action="${url}" data-body="${JSON.stringify({ ...what, decision: 'drop' })}" data-confirm="Drop it? The report keeps its current value." data-refresh="#report">drop</button>`;
}

async function reportBody(ctx: ConsoleContext, req: FastifyRequest<{ Params: { lab: string; filler: string }; Querystring: Record<string, string | undefined> }>): Promise<Html> {
  const { lab, filler } = req.params;
  const r = await reportView(ctx, req, lab, filler);
  const operator = can(req, 'operator');
  const identity = seesIdentity(req);
  const withDocs = r.versions.filter((v) => v.documents).map((v) => v.version);
  const asked = req.query.v ? intParam(req.query.v, 0, 1, 1_000_000) : undefined;
  const shown = asked !== undefined && withDocs.includes(asked) ? asked : withDocs[withDocs.length - 1];
  const a = req.query.a ? intParam(req.query.a, 0, 1, 1_000_000) : undefined;
  const b = req.query.b ? intParam(req.query.b, 0, 1, 1_000_000) : undefined;
  const lines = a && b ? await versionDiff(ctx, req, lab, filler, a, b) : undefined;
  const p = r.patient;
  return html`<table class="facts">
  <tr><th>Patient</th><td class="${p.masked ? 'masked' : ''}">${p.name} · born ${p.birthDate} · ${p.sex}${p.ins ? html` · INS <code>${p.ins}</code> ${p.insQualified ? 'qualified' : 'not qualified'}` : ''}</td></tr>
  <tr><th>Lab file</th><td>${r.fillerOrder} (${r.lab}) · dossier ${identity ? r.dossier : r.dossier ? maskTail(r.dossier) : MASK}</td></tr>
  <tr><th>Prescriber</th><td>${r.prescriber}</td></tr>
  <tr><th>Revision</th><td>${r.revision}, updated ${isoMinute(new Date(r.updatedAt))} · from ${r.messages.length} message(s): ${r.messages.slice(-10).map((m) => html`<a href="/messages/${encodeURIComponent(m)}">${m.slice(0, 8)}</a> `)}</td></tr>
</table>
<h2>Versions</h2>${r.versions.length === 0 ? html`<p class="muted">No version published.</p>` : timeline(r, shown)}
${operator ? html`<p><button type="button" data-action="/api/reports/${encodeURIComponent(lab)}/${encodeURIComponent(filler)}/publish" data-note="Publish the next version now (a partial report on request). A note for the record (optional):" data-refresh="#report">Publish now…</button></p>` : ''}
${documentsPane(r, shown, operator)}
<h2>Changes between versions</h2>${diffPane(r, a, b, lines)}
<h2>Observations</h2>${observations(r)}
<h2>Pending and subcontracted tests</h2>${orderPane(r, operator)}
${r.parked.length ? html`<h2>Parked for an operator</h2><table class="grid"><thead><tr><th>Observation</th><th>Reason</th><th>Detail</th><th>Message</th><th></th></tr></thead><tbody>${r.parked.map(
  (x) => html`<tr><td><code>${x.observationKey}</code></td><td>${x.reason}</td><td class="reason">${x.detail}</td><td><a href="/messages/${encodeURIComponent(x.messageId)}">msg</a></td>
  <td>${operator ? decide(r, 'parked', { item: x.id }, 'Make this value the current one?') : ''}</td></tr>`,
)}</tbody></table>` : ''}
${r.actions.length ? html`<h2>Operators' decisions</h2><ul class="small">${r.actions.map((a) => html`<li>${a.at.replace('T', ' ').slice(0, 19)} ${a.by}: ${a.action}${a.note ? ` (${a.note})` : ''}${a.outcome ? html` → <span class="muted">${a.outcome}</span>` : ''}</li>`)}</ul>` : ''}
<h2>Deliveries and receipts</h2>${deliveriesRegion(r, operator, identity)}`;
}

type ReportReq = FastifyRequest<{ Params: { lab: string; filler: string }; Querystring: Record<string, string | undefined> }>;

export function reportRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get(
    '/reports/:lab/:filler',
    pageRoute(async (req: ReportReq) => ({ title: `Report ${req.params.filler}`, section: 'messages', body: html`<div id="report">${await reportBody(ctx, req)}</div>` })),
  );
  app.get(
    '/reports/:lab/:filler/deliveries',
    pageRoute(async (req: ReportReq) => ({
      title: `Deliveries of ${req.params.filler}`,
      section: 'messages',
      body: deliveriesRegion(await reportView(ctx, req, req.params.lab, req.params.filler), can(req, 'operator'), seesIdentity(req)),
    })),
  );
}
