/**
 * Ségur indicators of CR-BIO sent (SGL.TBB.01 / TBB.03, scenario TBB/va1.03.01; docs/indicators.md):
 * per period (the reference date's month, its year, the year before), per geographic FINESS and
 * per RPPS of the validating biologist, the CR-BIO sent to the DMP, by MSSanté to professionals
 * and by MSSanté to the patient — each in total, with a qualified INS and without —, the lab
 * files with at least one CR-BIO in each channel and in all three, and the failures per channel.
 *
 * Pure: rows in (store.indicatorRows, version deliveries joined with their version's facts),
 * counts out. Documents are counted, not mails: a CR-BIO is one (lab, filler order, version),
 * counted once per channel however many recipients or routes (our own line and the PFI's
 * receipt) carried it. A version that deletes the one before (a withdrawal) is not a CR-BIO sent.
 *
 * Channel of a delivery row (its target): `dmp` → DMP; `mss:<address>` → MSSanté to the patient
 * when the address ends with `@patient.mssante.fr`, else to a professional; what the PFI says it
 * did: `pfi>dmp` → DMP, `pfi>mss:<address>` → MSSanté by the same rule. Sent: `sent` on our own
 * lines, `acknowledged` on the PFI's receipts. Failed: `dead` on our own lines, `failed` on the
 * PFI's receipts. `held` (not sent on purpose: no qualified identity, no address, the full ANS
 * check failed) and `queued` are neither.
 */
import type { IndicatorRow, MessageStore, VersionFacts } from '../store/types';
import type { LabProfile } from '../lab/profile';
import type { Report } from '../lab/report';
import { RPPS_OID } from '../lab/hl7-fields';

export type IndicatorChannel = 'dmp' | 'mssPro' | 'mssPatient';
export const INDICATOR_CHANNELS: readonly IndicatorChannel[] = ['dmp', 'mssPro', 'mssPatient'];

export interface IndicatorPeriod {
  kind: 'month' | 'year' | 'previous-year';
  /** `2026-03`, `2026`, `2025`. */
  label: string;
  /** First instant (local time of the process), included. */
  from: Date;
  /** First instant after the period, excluded. */
  to: Date;
}

export interface ChannelCounts {
  total: number;
  insQualified: number;
  insNotQualified: number;
}

export interface IndicatorCounts {
  dmp: ChannelCounts;
  mssPro: ChannelCounts;
  mssPatient: ChannelCounts;
  /** Lab files (lab + filler order) with at least one CR-BIO sent in the channel, and in all three. */
  files: { dmp: number; mssPro: number; mssPatient: number; allThree: number };
  /** CR-BIO whose sending failed in the channel (TBB.03). */
  failures: { dmp: number; mssPro: number; mssPatient: number };
}

export interface IndicatorGroup {
  period: IndicatorPeriod;
  /** Geographic FINESS of the lab; '' when the version did not record one. */
  finess: string;
  /** The validating biologist's RPPS; null for every biologist of the FINESS together. */
  rpps: string | null;
  counts: IndicatorCounts;
}

/** The facts a version is counted by, recorded when it is reserved (engine/documents/report-publisher.ts). */
export function versionFacts(lab: LabProfile, report: Pick<Report, 'validator' | 'patient'>): VersionFacts {
  const facts: VersionFacts = { insQualified: report.patient.ins !== undefined };
  const finess = lab.lab.finess ?? lab.lab.id;
  if (finess) facts.finess = finess;
  const v = report.validator;
  if (v?.id && v.idAuthorityOid === RPPS_OID) facts.rpps = v.id;
  return facts;
}

/** The month, the year and the year before of `reference`, in the process's local time. */
export function indicatorPeriods(reference: Date = new Date()): IndicatorPeriod[] {
  const y = reference.getFullYear();
  const m = reference.getMonth();
  return [
    { kind: 'month', label: `${y}-${String(m + 1).padStart(2, '0')}`, from: new Date(y, m, 1), to: new Date(y, m + 1, 1) },
    { kind: 'year', label: String(y), from: new Date(y, 0, 1), to: new Date(y + 1, 0, 1) },
    { kind: 'previous-year', label: String(y - 1), from: new Date(y - 1, 0, 1), to: new Date(y, 0, 1) },
  ];
}

const PATIENT_DOMAIN = '@patient.mssante.fr';

/** The channel a delivery row counts in, and whether its state is a sending or a failure; undefined when it counts nowhere. */
export function classify(row: Pick<IndicatorRow, 'target' | 'state'>): { channel: IndicatorChannel; outcome: 'sent' | 'failed' } | undefined {
  let target = row.target;
  let sent: string;
  let failed: string;
  if (target.startsWith('pfi>')) {
    target = target.slice(4);
    sent = 'acknowledged';
    failed = 'failed';
  } else {
    sent = 'sent';
    failed = 'dead';
  }
  const outcome = row.state === sent ? 'sent' : row.state === failed ? 'failed' : undefined;
  if (!outcome) return undefined;
  if (target === 'dmp') return { channel: 'dmp', outcome };
  if (target.startsWith('mss:')) {
    return { channel: target.toLowerCase().endsWith(PATIENT_DOMAIN) ? 'mssPatient' : 'mssPro', outcome };
  }
  return undefined;
}

interface Tally {
  /** Document key → INS qualified, per channel. */
  sent: Record<IndicatorChannel, Map<string, boolean>>;
  files: Record<IndicatorChannel, Set<string>>;
  failed: Record<IndicatorChannel, Set<string>>;
}

const newTally = (): Tally => ({
  sent: { dmp: new Map(), mssPro: new Map(), mssPatient: new Map() },
  files: { dmp: new Set(), mssPro: new Set(), mssPatient: new Set() },
  failed: { dmp: new Set(), mssPro: new Set(), mssPatient: new Set() },
});

function countsOf(t: Tally): IndicatorCounts {
  const channel = (c: IndicatorChannel): ChannelCounts => {
    let q = 0;
    for (const qualified of t.sent[c].values()) if (qualified) q++;
    return { total: t.sent[c].size, insQualified: q, insNotQualified: t.sent[c].size - q };
  };
  let allThree = 0;
  for (const f of t.files.dmp) if (t.files.mssPro.has(f) && t.files.mssPatient.has(f)) allThree++;
  return {
    dmp: channel('dmp'),
    mssPro: channel('mssPro'),
    mssPatient: channel('mssPatient'),
    files: { dmp: t.files.dmp.size, mssPro: t.files.mssPro.size, mssPatient: t.files.mssPatient.size, allThree },
    failures: { dmp: t.failed.dmp.size, mssPro: t.failed.mssPro.size, mssPatient: t.failed.mssPatient.size },
  };
}

/**
 * The indicators of `rows` for each period: one group per FINESS (every biologist, `rpps`
 * null) and one per (FINESS, RPPS), for every FINESS and RPPS met in any period (zeros where a
 * period has none), sorted by period, FINESS, RPPS (the FINESS total first).
 */
export function computeIndicators(rows: readonly IndicatorRow[], periods: readonly IndicatorPeriod[] = indicatorPeriods()): IndicatorGroup[] {
  const tallies = new Map<string, Tally>();
  const pairs = new Map<string, { finess: string; rpps: string | null }>();
  const tallyOf = (p: number, finess: string, rpps: string | null): Tally => {
    const k = `${p}\u0000${finess}\u0000${rpps ?? ''}\u0000${rpps === null ? 0 : 1}`;
    let t = tallies.get(k);
    if (!t) tallies.set(k, (t = newTally()));
    return t;
  };
  for (const r of rows) {
    if (r.status === 'deleted') continue;
    const c = classify(r);
    if (!c) continue;
    const finess = r.finess ?? '';
    pairs.set(`${finess}\u0000`, { finess, rpps: null });
    if (r.rpps !== undefined) pairs.set(`${finess}\u0000${r.rpps}`, { finess, rpps: r.rpps });
    const t = r.updatedAt.getTime();
    periods.forEach((period, p) => {
      if (t < period.from.getTime() || t >= period.to.getTime()) return;
      const doc = `${r.lab}\u0000${r.fillerOrder}\u0000${r.version}`;
      const file = `${r.lab}\u0000${r.fillerOrder}`;
      for (const tally of r.rpps === undefined ? [tallyOf(p, finess, null)] : [tallyOf(p, finess, null), tallyOf(p, finess, r.rpps)]) {
        if (c.outcome === 'sent') {
          tally.sent[c.channel].set(doc, r.insQualified);
          tally.files[c.channel].add(file);
        } else {
          tally.failed[c.channel].add(doc);
        }
      }
    });
  }
  const sorted = [...pairs.values()].sort((a, b) => cmp(a.finess, b.finess) || (a.rpps === null ? -1 : b.rpps === null ? 1 : cmp(a.rpps, b.rpps)));
  const out: IndicatorGroup[] = [];
  periods.forEach((period, p) => {
    for (const { finess, rpps } of sorted) out.push({ period, finess, rpps, counts: countsOf(tallies.get(`${p}\u0000${finess}\u0000${rpps ?? ''}\u0000${rpps === null ? 0 : 1}`) ?? newTally()) });
  });
  return out;
}

/** The rows of every period, read from the store once (from the earliest start to the latest end). */
export async function loadIndicators(store: Pick<MessageStore, 'indicatorRows'>, reference: Date = new Date()): Promise<IndicatorGroup[]> {
  const periods = indicatorPeriods(reference);
  const from = new Date(Math.min(...periods.map((p) => p.from.getTime())));
  const to = new Date(Math.max(...periods.map((p) => p.to.getTime())));
  return computeIndicators(await store.indicatorRows(from, to), periods);
}

/** Indicator names in the CSV, in this order (docs/indicators.md). */
export const CSV_INDICATORS: readonly [string, (c: IndicatorCounts) => number][] = [
  ['dmp.total', (c) => c.dmp.total],
  ['dmp.ins_qualified', (c) => c.dmp.insQualified],
  ['dmp.ins_not_qualified', (c) => c.dmp.insNotQualified],
  ['mss_pro.total', (c) => c.mssPro.total],
  ['mss_pro.ins_qualified', (c) => c.mssPro.insQualified],
  ['mss_pro.ins_not_qualified', (c) => c.mssPro.insNotQualified],
  ['mss_patient.total', (c) => c.mssPatient.total],
  ['mss_patient.ins_qualified', (c) => c.mssPatient.insQualified],
  ['mss_patient.ins_not_qualified', (c) => c.mssPatient.insNotQualified],
  ['files.dmp', (c) => c.files.dmp],
  ['files.mss_pro', (c) => c.files.mssPro],
  ['files.mss_patient', (c) => c.files.mssPatient],
  ['files.all_three', (c) => c.files.allThree],
  ['failures.dmp', (c) => c.failures.dmp],
  ['failures.mss_pro', (c) => c.failures.mssPro],
  ['failures.mss_patient', (c) => c.failures.mssPatient],
];

export const CSV_HEADER = 'period;period_label;period_start;period_end;finess;rpps;indicator;value';

/**
 * The extract (TBB.01, format in docs/indicators.md): UTF-8, `;`-separated, CRLF line ends, a
 * header line, then one line per period × FINESS × RPPS × indicator, in the groups' order:
 * `period` month | year | previous-year; `period_label` 2026-03 | 2026 | 2025; `period_start`
 * and `period_end` local dates (YYYY-MM-DD, end excluded); `finess` ('' when unknown); `rpps`
 * `*` for every biologist of the FINESS, else the RPPS; `indicator` a name of CSV_INDICATORS;
 * `value` an integer. A field holding `;`, `"` or a line break is quoted, `"` doubled.
 */
export function indicatorsCsv(groups: readonly IndicatorGroup[]): string {
  const lines = [CSV_HEADER];
  for (const g of groups) {
    const head = [g.period.kind, g.period.label, localDate(g.period.from), localDate(g.period.to), g.finess, g.rpps ?? '*'].map(csvField).join(';');
    for (const [name, value] of CSV_INDICATORS) lines.push(`${head};${name};${value(g.counts)}`);
  }
  return lines.join('\r\n') + '\r\n';
}

function csvField(s: string): string {
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function localDate(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
