/**
 * `passerelle report <filler order number>`: what the store holds of a report across messages
 * — its versions, each observation's current value with its history, what is pending and what
 * was parked — for an operator. Codes and values only: no patient name or identifier.
 */
import { engineConfigFromEnv } from '../config/engine-config';
import { storeSettings } from '../engine';
import { createStore } from '../store';
import type { Result } from '../lab';
import { pendingObservations, reportFromJson, type ObservationEntry } from '../reports';

const out = (s: string): void => void process.stdout.write(s + '\n');

function valueText(r: Result): string {
  const v = r.value;
  const unit = r.unitText ? ` ${r.unitText}` : '';
  switch (v.type) {
    case 'NM':
      return v.value + unit;
    case 'SN':
      return v.text + unit;
    case 'CWE':
      return v.coded.display ?? v.coded.code;
    case 'ST':
    case 'TX':
    case 'FT':
      return v.text.length > 40 ? `${v.text.slice(0, 40).replace(/\n/g, ' ')}…` : v.text.replace(/\n/g, ' ');
    case 'ED':
      return `${v.mediaType} (${v.data.length} bytes)`;
    case 'DT':
    case 'TS':
      return v.value;
    default:
      return '-';
  }
}

function codeText(e: ObservationEntry): string {
  const r = e.current ?? e.history.at(-1)?.result;
  const code = r?.code.loinc?.code ?? r?.code.local?.code ?? e.key;
  return `${code}${r?.subId ? `[${r.subId}]` : ''} ${r?.code.text ?? ''}`.trim();
}

export async function reportCommand(fillerOrder: string, lab: string | undefined): Promise<number> {
  const store = createStore(storeSettings(engineConfigFromEnv()));
  await store.init();
  try {
    const rows = (await store.reportsByFillerOrder(fillerOrder)).filter((r) => lab === undefined || r.lab === lab);
    if (rows.length === 0) {
      process.stderr.write(`no report ${fillerOrder}${lab ? ` of ${lab}` : ''} in the store\n`);
      return 1;
    }
    for (const row of rows) {
      const state = reportFromJson(row.state);
      out(`report ${fillerOrder} of ${row.lab}: revision ${state.revision}, ${state.messages.length} message(s), updated ${row.updatedAt.toISOString()}`);
      const versions = await store.reportVersions(row.lab, fillerOrder);
      out(versions.length === 0 ? 'versions: none published' : 'versions:');
      for (const v of versions) out(`  v${v.version}\t${v.status}\t${v.written ? 'written' : 'reserved, not written'}\t${v.createdAt.toISOString()}`);
      out('observations:');
      for (const e of state.observations) {
        const now = e.current ? `${valueText(e.current)}\t${e.current.status}` : `withdrawn (${e.withdrawn?.reason ?? '?'})`;
        const before = e.history.map((h) => `${valueText(h.result)} ${h.result.status}, ended by ${h.endedBy}`).join('; ');
        out(`  ${codeText(e)}\t${now}${before ? `\t[before: ${before}]` : ''}`);
      }
      const pending = pendingObservations(state);
      out(`pending: ${pending.length === 0 ? 'none' : pending.map((k) => codeText(state.observations.find((e) => e.key === k)!)).join(', ')}`);
      if (state.parked.length > 0) {
        out(`parked for an operator: ${state.parked.length}`);
        for (const p of state.parked) out(`  ${p.observationKey}\t${p.reason}\tfrom ${p.messageId}\t${p.detail}`);
      }
    }
    return 0;
  } finally {
    await store.close();
  }
}
