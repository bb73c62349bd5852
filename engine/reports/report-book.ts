/**
 * The reports a store holds: applies a message's update to its report with compare-and-set,
 * so two channels updating one report (our results, a subcontractor's) never lose a change.
 */
import { PasserelleError } from '../errors';
import type { MessageStore } from '../store';
import { applyUpdate, type ApplyOutcome, type ReportUpdate } from './accumulate';
import { reportFromJson, reportToJson } from './serialize';
import type { ReportState } from './state';

/** Attempts before giving up to a retry of the whole job (PSL_REPORT_CONTENDED is transient). */
const MAX_ATTEMPTS = 8;

export class ReportBook {
  constructor(private readonly store: Pick<MessageStore, 'getReport' | 'putReport'>) {}

  async get(lab: string, fillerOrder: string): Promise<ReportState | undefined> {
    const row = await this.store.getReport(lab, fillerOrder);
    return row && reportFromJson(row.state);
  }

  /** Applies `update` to its report and stores the result; a mismatch or a no-op writes nothing. */
  async apply(update: ReportUpdate): Promise<ApplyOutcome> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const row = await this.store.getReport(update.lab, update.fillerOrder);
      const before = row && reportFromJson(row.state);
      const out = applyUpdate(before, update);
      if (out.kind !== 'applied' || out.state === before) return out;
      if (await this.store.putReport(update.lab, update.fillerOrder, reportToJson(out.state), row?.rowVersion ?? null)) return out;
    }
    throw new PasserelleError('PSL_REPORT_CONTENDED', `report ${update.lab}/${update.fillerOrder}: still changing after ${MAX_ATTEMPTS} attempts`);
  }
}
