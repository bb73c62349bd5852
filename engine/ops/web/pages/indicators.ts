/**
 * Indicators `/indicators`: TBB.01 / TBB.03 for the current month, the current year and the
 * previous year (or those of another reference month), per FINESS and RPPS, and the CSV extract.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConsoleContext } from '../../context';
import { indicators, referenceDate } from '../../api/indicators';
import type { ChannelCounts, IndicatorGroup } from '../../../reports/indicators';
import { html, query, type Html } from '../html';
import { pageRoute } from '../layout';

const PERIOD_TITLE: Record<IndicatorGroup['period']['kind'], string> = { month: 'Month', year: 'Year', 'previous-year': 'Previous year' };

const three = (c: ChannelCounts): Html => html`<td class="num total">${c.total}</td><td class="num">${c.insQualified}</td><td class="num">${c.insNotQualified}</td>`;

function periodTable(groups: IndicatorGroup[]): Html {
  const p = groups[0]!.period;
  return html`<section class="card"><h2>${PERIOD_TITLE[p.kind]} ${p.label}</h2>
<table class="grid indicators"><thead>
<tr><th rowspan="2">FINESS</th><th rowspan="2">RPPS</th><th colspan="3">CR-BIO to the DMP</th><th colspan="3">MSSanté professionals</th><th colspan="3">MSSanté patient</th>
  <th colspan="4">Lab files with a CR-BIO</th><th colspan="3">Failures (TBB.03)</th></tr>
<tr><th class="num">total</th><th class="num">INS qualified</th><th class="num">without</th><th class="num">total</th><th class="num">INS qualified</th><th class="num">without</th>
  <th class="num">total</th><th class="num">INS qualified</th><th class="num">without</th>
  <th class="num">DMP</th><th class="num">MSS pro</th><th class="num">MSS patient</th><th class="num">all three</th><th class="num">DMP</th><th class="num">MSS pro</th><th class="num">MSS patient</th></tr>
</thead><tbody>${groups.map((g) => {
    const c = g.counts;
    return html`<tr${g.rpps === null ? html` class="finess-total"` : ''}><td>${g.rpps === null ? g.finess || '(unknown)' : ''}</td><td>${g.rpps ?? html`<b>all</b>`}</td>
  ${three(c.dmp)}${three(c.mssPro)}${three(c.mssPatient)}
  <td class="num">${c.files.dmp}</td><td class="num">${c.files.mssPro}</td><td class="num">${c.files.mssPatient}</td><td class="num total">${c.files.allThree}</td>
  <td class="num${c.failures.dmp ? ' bad' : ''}">${c.failures.dmp}</td><td class="num${c.failures.mssPro ? ' bad' : ''}">${c.failures.mssPro}</td><td class="num${c.failures.mssPatient ? ' bad' : ''}">${c.failures.mssPatient}</td></tr>`;
  })}</tbody></table></section>`;
}

export function indicatorsPageRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get(
    '/indicators',
    pageRoute(async (req: FastifyRequest<{ Querystring: { at?: string } }>) => {
      const at = req.query.at || undefined;
      const ref = referenceDate(at);
      const groups = await indicators(ctx, at);
      const month = `${ref.getFullYear()}-${String(ref.getMonth() + 1).padStart(2, '0')}`;
      const byPeriod = ['month', 'year', 'previous-year'].map((k) => groups.filter((g) => g.period.kind === k));
      return {
        title: 'Ségur indicators (TBB.01, TBB.03)',
        section: 'indicators',
        body: html`<form method="get" action="/indicators" class="search">
  <label>Reference month <input type="month" name="at" value="${month}"></label> <button type="submit">Show</button>
  <a class="button" href="/api/indicators.csv${query({ at })}">Download the CSV extract</a>
</form>
<p class="muted small">CR-BIO documents (one per report version) sent to the DMP, by MSSanté to professionals and to the patient, per geographic FINESS and validating biologist (RPPS);
a document is counted once per channel whatever the number of recipients; sent or failed as the delivery (or the PFI's receipt) last said (docs/indicators.md).</p>
${groups.length === 0 ? html`<p class="muted">No CR-BIO sent nor failed in these periods.</p>` : byPeriod.filter((g) => g.length > 0).map(periodTable)}`,
      };
    }),
  );
}
