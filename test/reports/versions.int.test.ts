/**
 * Versions of a report across messages: a final ORU then a correction carrying only the
 * corrected OBX give v1 and v2 of one report; v2 shows the corrected value, keeps every other
 * result, replaces v1 (same set, RPLC to v1's id) and passes the full official ANS rule set.
 * Then the publication rules: same content, policies, withdrawal of everything → deletion.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { reportFromMessage } from '../../engine/lab';
import { buildN3 } from '../../engine/cda/n3';
import { reportVersionIds } from '../../engine/cda/ids';
import { AnsKit, formatReport } from '../../engine/validation';
import {
  applyUpdate,
  nextPublication,
  reportOf,
  splitByReport,
  type ApplyOutcome,
  type Publication,
  type PublishedVersion,
  type ReportState,
} from '../../engine/reports';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { Doc } from '../cda/helpers';

jest.setTimeout(300_000);

const FAKE_PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'latin1');
const FINAL = decode(readFileSync(resolve(__dirname, '../../samples/oru-r01_ltw_biochemistry.hl7'))).text;

/** The sample, with another MSH-10, OBR-25 and OBX lines. */
function variant(controlId: string, obr25: string, obx: string[]): string {
  const lines = FINAL.split('\r').filter((l) => l !== '');
  const out: string[] = [];
  for (const l of lines) {
    if (l.startsWith('MSH|')) out.push(l.replace('|SMP-ORU-0001|', `|${controlId}|`));
    else if (l.startsWith('OBR|')) out.push(l.replace(/\|F$/, `|${obr25}`));
    else if (l.startsWith('OBX|')) continue;
    else if (l.startsWith('NTE|')) continue; // the comment belonged to the creatinine OBX
    else if (l.startsWith('SPM|')) out.push(...obx, l);
    else out.push(l);
  }
  return out.join('\r');
}
const CORRECTION = variant('SMP-ORU-0002', 'C', [
  'OBX|1|NM|2160-0^Créatinine [Masse/Volume] Sérum/Plasma^LN||8.9|mg/L^mg/L^UCUM|5.0-9.0|N|||C|||20261125073000|||||20261125143000',
]);
const WITHDRAW_ALL = variant('SMP-ORU-0003', 'C', [
  'OBX|1|NM|2345-7^Glucose [Masse/Volume] Sérum/Plasma^LN||||||||D|||20261125073000|||||20261125150000',
  'OBX|2|NM|2160-0^Créatinine [Masse/Volume] Sérum/Plasma^LN||||||||D|||20261125073000|||||20261125150000',
]);

function apply(state: ReportState | undefined, text: string): ReportState {
  const msg = Message.parse(text);
  const { updates } = splitByReport(reportFromMessage(msg, { withdrawalsOnly: true }), msg.controlId, 'LABO-DEMO');
  const out: ApplyOutcome = applyUpdate(state, updates[0]!);
  if (out.kind !== 'applied') throw new Error(out.detail);
  return out.state;
}

function render(state: ReportState, p: Extract<Publication, { kind: 'publish' }>): Doc {
  const ids = reportVersionIds(TEST_LAB_PROFILE, state.lab, state.fillerOrder, p.version);
  const replaces = p.replaces ? reportVersionIds(TEST_LAB_PROFILE, state.lab, state.fillerOrder, p.replaces).documentId : undefined;
  const { xml } = buildN3(reportOf(state), TEST_LAB_PROFILE, { version: '2024.01', profile: 'pro', pdf: FAKE_PDF, ...ids, replaces, effectiveTime: '20261125150000+0100' });
  return new Doc(xml);
}

const published = (p: Publication, revision: number): PublishedVersion => {
  if (p.kind === 'none') throw new Error(`nothing to publish: ${p.why}`);
  return { version: p.version, status: p.kind === 'delete' ? 'deleted' : p.status, contentHash: p.contentHash, revision };
};

describe('versions of one report', () => {
  const s1 = apply(undefined, FINAL);
  const p1 = nextPublication(s1, undefined, 'every-change');
  const s2 = apply(s1, CORRECTION);
  const p2 = nextPublication(s2, published(p1, s1.revision), 'every-change');

  test('final then correction: v1 completed, v2 replaces it', () => {
    expect(p1).toMatchObject({ kind: 'publish', version: 1, status: 'completed' });
    expect(p1).not.toHaveProperty('replaces');
    expect(p2).toMatchObject({ kind: 'publish', version: 2, status: 'completed', replaces: 1 });
  });

  test('v2 shows the corrected value, keeps the other result, same set, RPLC to v1, and passes the full ANS rule set', async () => {
    if (p1.kind !== 'publish' || p2.kind !== 'publish') throw new Error('not published');
    const v1 = render(s1, p1);
    const v2 = render(s2, p2);
    const values = (d: Doc): string[] => d.strings("//c:observation[c:code/@code='2160-0' or c:code/@code='2345-7']/c:value/@value");
    expect(values(v1)).toEqual(['0.95', '9.8']);
    expect(values(v2)).toEqual(['0.95', '8.9']);
    expect(v2.str('/c:ClinicalDocument/c:setId/@root')).toBe(v1.str('/c:ClinicalDocument/c:setId/@root'));
    expect(v2.str('/c:ClinicalDocument/c:versionNumber/@value')).toBe('2');
    expect(v2.str("/c:ClinicalDocument/c:relatedDocument[@typeCode='RPLC']/c:parentDocument/c:id/@root")).toBe(v1.str('/c:ClinicalDocument/c:id/@root'));
    expect(v2.str('/c:ClinicalDocument/c:id/@root')).not.toBe(v1.str('/c:ClinicalDocument/c:id/@root'));

    const kit = AnsKit.open(ANS_KIT_DIR);
    const r = await kit.validate(v2.xml, { full: true });
    const bad = r.findings.filter((f) => f.severity !== 'info');
    if (bad.length) throw new Error(formatReport(r));
    expect(r.valid).toBe(true);
  });

  test('the same content again makes no new version', () => {
    const resent = apply(s2, CORRECTION.replace('|SMP-ORU-0002|', '|SMP-ORU-0002b|'));
    expect(nextPublication(resent, published(p2, s2.revision), 'every-change')).toEqual({ kind: 'none', why: 'same-content' });
  });

  test('policies: when-complete waits for every test, on-request waits for the operator', () => {
    const partial = apply(undefined, variant('SMP-ORU-0010', 'P', [
      'OBX|1|NM|2345-7^Glucose [Masse/Volume] Sérum/Plasma^LN||0.95|g/L^g/L^UCUM|0.70-1.10|N|||F|||20261125073000|||||20261125100500',
      'OBX|2|NM|2160-0^Créatinine [Masse/Volume] Sérum/Plasma^LN|||mg/L^mg/L^UCUM|||||I|||20261125073000',
    ]));
    expect(nextPublication(partial, undefined, 'every-change')).toMatchObject({ kind: 'publish', version: 1, status: 'active' });
    expect(nextPublication(partial, undefined, 'when-complete')).toEqual({ kind: 'none', why: 'waiting-for-complete' });
    expect(nextPublication(partial, undefined, 'on-request')).toEqual({ kind: 'none', why: 'waiting-for-request' });
    expect(nextPublication(partial, undefined, 'on-request', true)).toMatchObject({ kind: 'publish', version: 1, status: 'active' });
    expect(nextPublication(s1, undefined, 'when-complete')).toMatchObject({ kind: 'publish', status: 'completed' });
  });

  test('every result withdrawn: the published document is deleted, once', () => {
    const s3 = apply(s2, WITHDRAW_ALL);
    const p3 = nextPublication(s3, published(p2, s2.revision), 'every-change');
    expect(p3).toMatchObject({ kind: 'delete', version: 3, deletes: 2 });
    expect(nextPublication(s3, published(p3, s3.revision), 'every-change')).toEqual({ kind: 'none', why: 'already-deleted' });
    expect(nextPublication(s3, undefined, 'every-change')).toEqual({ kind: 'none', why: 'nothing-published-to-delete' });
    expect(reportOf(s3).requests).toEqual([]);
  });
});
