/**
 * Messages written by others (the third-party corpus: US ELR, IHE, IPF, Mirth, ANS…): every file
 * of it is accounted for. Each result message either becomes a document set that passes every
 * ANS rule set, or is refused with the coded reason listed below before any document exists;
 * every other file is refused with its listed code (not a result, or not parseable HL7). Never a
 * document that fails the rules, never a file silently left out.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Message, decode, splitBatch } from '../../engine/hl7';
import { PasserelleError } from '../../engine/errors';
import { reportFromMessage } from '../../engine/lab';
import { renderDocumentSet } from '../../engine/documents/document-set';
import { AnsKit } from '../../engine/validation';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { ANS_KIT_DIR } from '../support/ans-kit';
import { MALFORMED, SAMPLES_DIR, loadManifest } from '../support/hl7-corpus';

/** Outcome per corpus file: 'valid' (N3 and N1 pass every rule set) or the code it is refused with. */
const EXPECTED: Record<string, string> = {
  // Refused by the parser before any report exists.
  ...MALFORMED,
  'ans-ig/ack-r01_ae_err203.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans-ig/ack-t02_ae_err203.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans-ig/ack-t02_ae_err207-902.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans-ig/orm-o01_tlr_ca.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans-ig/orm-o01_tlr_nw_ins.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans-ig/oru-r01_tlr_ok_ed-base64.hl7': 'PSL_REPORT_BAD_VALUE',
  'ans/ack-r01_aa_8859-15.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/ack-r01_aa_utf8.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/ack-t02_aa.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/adt-a01_pamfr-2.11_ins_consentement.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/mdm-t02_cr-radio_v2.1_init.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/mdm-t02_cr-radio_v2.1_init_base64-330kb.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/mdm-t02_lps-mss_v1.1_init.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/mdm-t04_cr-radio_v2.0_del.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/mdm-t10_cr-radio_v2.0_rplc.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/oru-r01_crbio-n1n3_v2.1_del.hl7': 'PSL_REPORT_BAD_VALUE',
  'ans/oru-r01_crbio-n1n3_v2.1_init.hl7': 'PSL_REPORT_BAD_VALUE',
  'ans/oru-r01_crbio-n1n3_v2.1_rplc.hl7': 'PSL_REPORT_BAD_VALUE',
  'ans/oru-r01_crbio-n1n3_v2.1_rplc_base64-820kb.hl7': 'PSL_REPORT_BAD_VALUE',
  'ans/oru-r01_crbio-n3_segur_del.hl7': 'PSL_REPORT_BAD_VALUE',
  'ans/oru-r01_crbio-n3_segur_init.hl7': 'PSL_REPORT_BAD_VALUE',
  'ans/oru-r01_crbio-n3_segur_rplc.hl7': 'PSL_REPORT_BAD_VALUE',
  'ans/oru-r01_crbio_v1.2.hl7': 'PSL_REPORT_BAD_VALUE',
  'ans/zam-z01_ack-reception-dmp_err207.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/zam-z02_ack-reception-mss.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ans/zam-z03_ack-lecture-mss.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'batch/cdc_fhs-bhs_2x-oru-r01.hl7': 'valid, valid',
  'batch/mirth_3x-siu_no-fhs.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE, PSL_REPORT_UNSUPPORTED_TYPE, PSL_REPORT_UNSUPPORTED_TYPE',
  'batch/mirth_fhs-bhs_no-trailer_orm.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'batch/node-hl7-client_fhs-bhs_msh-inside-obx.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE, PSL_REPORT_UNSUPPORTED_TYPE',
  'cdc/oml-o21_etor_spm.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'cdc/orm-o01_etor.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'cdc/oru-r01_elr_canceled-X_8859-1-declared_utf8-bytes.hl7': 'valid',
  'cdc/oru-r01_elr_entered-in-error-W.hl7': 'PSL_REPORT_NO_RESULTS',
  'cdc/oru-r01_elr_full_corrected-C_sn_enc5.hl7': 'valid',
  'cdc/oru-r01_escapes-br-R_149obx.hl7': 'PSL_DOCUMENT_INCOMPLETE',
  'cdc/oru-r01_ft-br.hl7': 'valid',
  'cdc/oru-r01_hex-escape-X0d0a_T.hl7': 'valid',
  'cdc/oru-r01_mega-case_sn_spm-obx_T-escape.hl7': 'valid',
  'cdc/oru-r01_v2.3_br.hl7': 'valid',
  'efferent/adt-a01_utf8-bom_E-escape_lf.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'efferent/orm-o01_escapes-br-H-N-X0D0A_crlf.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'hapi/adt-a24_custom-delimiters_crlf.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'hapi/erp-z99_olis_2.3.1_8859-1_znt.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'hapi/omd-o03_repetitions.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ihe-hapi/00_oml-o21_placer-nw_msgOP123.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ihe-hapi/01_oml-o21_filler-sc-ip_specimen-broken_msgOF102.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ihe-hapi/02_oul-r22_partial-results_obx-x_msgOF103.hl7': 'valid',
  'ihe-hapi/03_oul-r22_results-R_msgOF105.hl7': 'valid',
  'ihe-hapi/04_oml-o21_placer-xo-change_msgOP124.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ihe-hapi/05_oul-r22_results_msgOF108.hl7': 'valid',
  'ihe-hapi/06_oml-o21_filler-sc-cm_msgOF109.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ihe-hapi/07_oul-r22_final_msgOF110.hl7': 'valid',
  'ihe-hapi/08_orl-o34_am-ok_lab4_msg301.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ihe-hapi/09_oru-r01_2.5.1_es_hemograma.hl7': 'valid',
  'ihe-hapi/10_oml-o21_no-msh7-no-msh10_3orders.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ihe-hapi/11_oml-o21_no-msh10_in1_utf8-accent.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ihe-hapi/12_oml-o21_of-to-am_lab4_msgOF101.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ipf/ack-q23_ar_err204_escapes-S-T.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ipf/adt-a01_v2.2_utf8-umlauts.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ipf/adt-a40_iso-8859-1_crlf.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ipf/mdm-t02_ed-base64-70kb.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'ipf/oru-r01_2.5_everywoman_obx23-25_spm_tq1.hl7': 'valid',
  'mirth/orm-o01_leading-whitespace-crlf.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'mirth/orm-o01_obx-subcomponents.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'mirth/orm-o01_obx5-repetitions.hl7': 'PSL_REPORT_UNSUPPORTED_TYPE',
  'mirth/oru-r01_v2.2_lab_84obx_50nte.hl7': 'valid',
};

const kit = AnsKit.open(ANS_KIT_DIR);
const files = loadManifest().map((e) => e.file).sort();

/** A batch file (FHS/BHS, or messages one after another) gives one outcome per message, joined by ', '. */
async function outcome(file: string): Promise<string> {
  const text = decode(readFileSync(join(SAMPLES_DIR, file))).text;
  if (!file.startsWith('batch/')) return messageOutcome(text);
  const outcomes: string[] = [];
  for (const m of splitBatch(text).messages) outcomes.push(await messageOutcome(m));
  return outcomes.join(', ');
}

/** Parse, build the report, render, validate fully: 'valid', a refusal code, or 'invalid: <findings>'. */
async function messageOutcome(text: string): Promise<string> {
  let msg: Message;
  try {
    msg = Message.parse(text);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!code) throw e;
    return code;
  }
  let set;
  try {
    set = await renderDocumentSet(reportFromMessage(msg), TEST_LAB_PROFILE, { version: '2024.01', profile: 'pro', effectiveTime: '20261125120000+0100' }, { kit });
  } catch (e) {
    if (!(e instanceof PasserelleError)) throw e;
    return e.code;
  }
  const findings = [...(await kit.validate(set.n3, { full: true })).findings, ...(await kit.validate(set.n1, { full: true })).findings];
  const errors = findings.filter((f) => f.severity === 'error').map((f) => `${f.ruleSet}: ${f.text.trim()}`);
  return errors.length === 0 ? 'valid' : `invalid: ${errors.join(' | ')}`;
}

it('lists an expected outcome for every file of the corpus, and only for those', () => {
  expect(Object.keys(EXPECTED).sort()).toEqual(files);
});

it.each(files)('%s', async (file) => {
  expect(await outcome(file)).toBe(EXPECTED[file]);
}, 60_000);
