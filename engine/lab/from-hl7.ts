/**
 * ORU^R01 / OUL^R22 → Report (engine/lab/report.ts). One pass over the segments in order; a
 * bad message gives a PasserelleError with a PSL_REPORT_* code, never another exception.
 *
 * Conventions (the samples in samples/ follow them):
 *  - Structure. ORU: `[ORC] OBR [NTE] {OBX [NTE] [PRT]} [SPM [OBX]]` per order. OUL (specimen
 *    first): `SPM [OBX] {OBR [ORC] [NTE] {OBX [NTE]}}`. An OUL SPM that is not followed by an
 *    OBR (IHE storyboard style: ORC OBR OBX SPM) belongs to the request before it. OBX right
 *    after an SPM describe the specimen (Specimen.observations), not a request.
 *  - Comments. NTE attaches to the segment before it: MSH/PID/PV1/ORC-before-OBR → report,
 *    OBR (and an OUL ORC following its OBR, and SPM) → request, OBX → result.
 *  - Prescriber: ORC-12 (first ORC that has one), else OBR-16. Its MSSanté address: an ORC-14
 *    (else OBR-17) XTN with equipment type `X.400`, or `Internet` under mssante.fr
 *    (hl7-fields.ts readMssante); or a PRT with PRT-4 `OP` and PRT-15 (ANS PRT style).
 *  - Copies: OBR-28 of every OBR, plus PRT-4 `RCT` (PRT-5 person, PRT-15 MSSanté address).
 *  - Dossier: PID-18 (account number), else ORC-4 (placer group), else the first OBR-2 /
 *    ORC-2 placer order, else OBR-3 filler order, else MSH-10 — never empty.
 *  - Validation: OBX-16 (first repetition) and OBX-19, else OBR-32 and OBR-22. Auto-validation:
 *    a final/corrected result whose OBX-16 (else OBR-32) identifier is `AUTO` has no validator
 *    and `autoValidated: true`; `AUTO^Validation automatique` is the marker to send.
 *  - Subcontracting: OBX-23 (name, id), OBX-24 (address), OBX-25 (director), OBX-19 as the
 *    time it was performed. A request whose results all name the same lab gets it too.
 *  - Times compare on their first 14 digits (time zone ignored).
 */
import type { Delimiters, Message, Segment } from '../hl7';
import { PasserelleError } from '../errors';
import { chapterFor, examChapter, loadChapterMap, loadTranscoding, loadUnitMap, transcodeCode, type ChapterMap, type Transcoding, type UnitMap } from './mappings';
import { codesOf, readAddress, readMssante, readNdl, readResultCode, readTelecom, readTs, readXcn, readXon, repetitions } from './hl7-fields';
import type { QualifyOptions } from './ins';
import { groupIsolates } from './isolates';
import { isAuto, readResult, readSpecimen, readWithdrawal } from './results';
import { readPatient } from './patient';
import type { Comment, Organization, Patient, Professional, Report, Request, Result, ResultStatus, SharingChoices, Specimen } from './report';
import { commentText, requestStatus } from './values';

export interface ReportOptions {
  /** Chapter map; default mappings/lab-chapters.yaml (loaded once). */
  chapters?: ChapterMap;
  /** Unit map; default mappings/units.yaml (loaded once). */
  units?: UnitMap;
  /**
   * The lab's catalogue and LOINC transcoding: local codes without a LOINC in the message get the
   * lab's one, a request its exam's chapter. Default mappings/catalogue.yaml + loinc.yaml (loaded once).
   */
  transcoding?: Transcoding;
  /** INS decision options (production channels refuse test/demo OIDs). */
  ins?: QualifyOptions;
  /**
   * A message whose every result is withdrawn (OBX-11 D/W) still gives a report, with the
   * withdrawals as its content (engine/reports accumulates them). Default false: alone, such a
   * message has nothing to render (PSL_REPORT_NO_RESULTS).
   */
  withdrawalsOnly?: boolean;
}

let defaultChapters: ChapterMap | undefined;
let defaultUnits: UnitMap | undefined;
let defaultTranscoding: Transcoding | undefined;

/** Builds the lab report of one ORU^R01 or OUL^R22. Throws PasserelleError PSL_REPORT_* / PSL_CONFIG_INVALID. */
export function reportFromMessage(msg: Message, options: ReportOptions = {}): Report {
  try {
    const chapters = options.chapters ?? (defaultChapters ??= loadChapterMap());
    const units = options.units ?? (defaultUnits ??= loadUnitMap());
    const transcoding = options.transcoding ?? (defaultTranscoding ??= loadTranscoding());
    return new Builder(msg, chapters, units, transcoding, options.ins ?? {}, options.withdrawalsOnly ?? false).build();
  } catch (e) {
    if (e instanceof PasserelleError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new PasserelleError('PSL_REPORT_INVALID', `message ${JSON.stringify(safeControlId(msg))} cannot become a lab report: ${why}`, { cause: e });
  }
}

function safeControlId(msg: Message): string {
  try {
    return msg.controlId;
  } catch {
    return '';
  }
}

/** A request being built, with the segments it came from. */
interface RequestState {
  request: Request;
  obr: Segment;
  orc?: Segment;
}

type Attach = { to: 'report' } | { to: 'request'; state: RequestState } | { to: 'result'; result: Result } | { to: 'specimen'; state?: RequestState } | { to: 'nowhere' };

function tsKey(ts: string): string {
  return ts.replace(/[^0-9]/g, '').slice(0, 14).padEnd(14, '0');
}

function earliest(values: (string | undefined)[]): string | undefined {
  let best: string | undefined;
  for (const v of values) if (v && (best === undefined || tsKey(v) < tsKey(best))) best = v;
  return best;
}


function sameOrg(a: Organization, b: Organization): boolean {
  return (a.id ?? a.name) === (b.id ?? b.name) && (a.idRoot ?? '') === (b.idRoot ?? '');
}

function personKey(p: Professional): string {
  return p.id ? `id:${p.idAuthorityOid ?? ''}:${p.id}` : p.mssante ? `mss:${p.mssante.toLowerCase()}` : `name:${p.family ?? ''}:${p.given ?? ''}`;
}

class Builder {
  private readonly d: Delimiters;
  private readonly type: 'ORU^R01' | 'OUL^R22';
  private patient?: Patient;
  private readonly requests: RequestState[] = [];
  private readonly comments: Comment[] = [];
  private readonly copies = new Map<string, Professional>();
  private prescriber?: Professional;
  private prescriberFromObr = false;
  private prescriberOrganization?: Organization;
  private firstOrc?: Segment;
  private pendingOrc?: Segment;
  private pid?: Segment;
  /** OUL: specimens of the current SPECIMEN group, given to each following OBR. */
  private groupSpecimens: Specimen[] = [];
  /** OUL: comments (NTE) on the SPM heading the current group, repeated on each of its requests. */
  private groupComments: Comment[] = [];
  private attach: Attach = { to: 'report' };
  /** Set from an SPM until the next OBR/ORC: OBX in between describe that specimen. */
  private specimenContext?: { state?: RequestState };
  private obxSeq = 0;
  private resultSeq = 0;
  private autoValidated = false;
  private readonly sharing: SharingChoices = {};

  constructor(
    private readonly msg: Message,
    private readonly chapters: ChapterMap,
    private readonly units: UnitMap,
    private readonly transcoding: Transcoding,
    private readonly insOptions: QualifyOptions,
    private readonly withdrawalsOnly: boolean,
  ) {
    this.d = msg.delimiters;
    const code = msg.messageCode.toUpperCase();
    const event = msg.triggerEvent.toUpperCase();
    if (code === 'ORU' && event === 'R01') this.type = 'ORU^R01';
    else if (code === 'OUL' && event === 'R22') this.type = 'OUL^R22';
    else {
      throw new PasserelleError('PSL_REPORT_UNSUPPORTED_TYPE', `MSH-9 ${JSON.stringify(msg.messageType)}: only ORU^R01 and OUL^R22 become lab reports`, {
        details: { segment: 'MSH', field: 9, messageType: msg.messageType },
      });
    }
  }

  build(): Report {
    const segs = this.msg.segments();
    for (let i = 0; i < segs.length; i++) this.segment(segs[i], segs, i);
    if (!this.pid || !this.patient) {
      throw new PasserelleError('PSL_REPORT_NO_PATIENT', `${this.type} ${JSON.stringify(this.msg.controlId)} has no PID segment`, { details: { segment: 'PID' } });
    }
    const requests = this.requests.map((s) => this.finish(s));
    const empty = (r: Request): boolean => r.results.length === 0 && !(this.withdrawalsOnly && r.withdrawn?.length);
    if (requests.length === 0 || requests.every(empty)) {
      throw new PasserelleError(
        'PSL_REPORT_NO_RESULTS',
        requests.length === 0 ? `${this.type} ${JSON.stringify(this.msg.controlId)} has no OBR` : `${this.type} ${JSON.stringify(this.msg.controlId)} has no OBX result to report`,
        { details: { segment: requests.length === 0 ? 'OBR' : 'OBX', requests: requests.length } },
      );
    }
    return this.report(requests);
  }

  private segment(seg: Segment, segs: Segment[], i: number): void {
    switch (seg.name) {
      case 'MSH':
        this.attach = { to: 'report' };
        return;
      case 'PID':
        if (this.pid) {
          throw new PasserelleError('PSL_REPORT_MULTIPLE_PATIENTS', `${this.type} ${JSON.stringify(this.msg.controlId)} has more than one PID: one report is about one patient`, {
            details: { segment: 'PID', count: this.msg.count('PID') },
          });
        }
        this.pid = seg;
        this.patient = readPatient(seg, this.insOptions);
        this.attach = { to: 'report' };
        return;
      case 'PD1':
      case 'NK1':
      case 'PV1':
      case 'PV2':
        this.attach = { to: 'report' };
        return;
      case 'ORC':
        return this.orc(seg, segs, i);
      case 'OBR':
        return this.obr(seg);
      case 'OBX':
        return this.obx(seg);
      case 'NTE':
        return this.nte(seg);
      case 'SPM':
        return this.spm(seg, segs, i);
      case 'PRT':
        return this.prt(seg);
      default:
        // SFT, TQ1, TQ2, CTD, CTI, FT1, TCD, SID, SAC, INV, DSC, Z-segments: nothing for the
        // report; an NTE after them stays with what came before.
        return;
    }
  }

  private current(): RequestState | undefined {
    return this.requests[this.requests.length - 1];
  }

  private orc(seg: Segment, segs: Segment[], i: number): void {
    this.firstOrc ??= seg;
    this.specimenContext = undefined;
    const cur = this.current();
    // OUL_R22: ORC follows its OBR.
    if (this.type === 'OUL^R22' && cur && !cur.orc && i > 0 && segs[i - 1].name === 'OBR' && segs[i - 1] === cur.obr) {
      cur.orc = seg;
      this.orderFacts(cur);
      this.attach = { to: 'request', state: cur };
      return;
    }
    this.pendingOrc = seg;
    this.attach = { to: 'report' };
  }

  private obr(seg: Segment): void {
    this.specimenContext = undefined;
    const n = this.requests.length + 1;
    const request: Request = {
      id: `o${n}`,
      code: transcodeCode(readResultCode(seg, '4'), this.transcoding.loinc.exams),
      chapter: { code: '' }, // decided in finish(), when the results are known
      specimens: [...this.groupSpecimens],
      results: [],
      comments: [...this.groupComments],
      status: 'pending',
    };
    const state: RequestState = { request, obr: seg };
    if (this.pendingOrc) {
      state.orc = this.pendingOrc;
      this.pendingOrc = undefined;
    }
    this.requests.push(state);
    this.orderFacts(state);
    for (const rep of repetitions(seg, 28)) {
      const p = readXcn(seg, rep);
      if (p) this.addCopy(p);
    }
    this.attach = { to: 'request', state };
  }

  /** Order numbers and prescriber from the OBR and its ORC (the ORC may arrive after the OBR). */
  private orderFacts(state: RequestState): void {
    const { obr, orc, request } = state;
    const placer = obr.get('2.1') || orc?.get('2.1') || '';
    const filler = obr.get('3.1') || orc?.get('3.1') || '';
    if (placer !== '') request.placerOrder = placer;
    if (filler !== '') request.fillerOrder = filler;
    const fillerAuthority = (obr.get('3.1') ? obr.get('3.2') : orc?.get('3.2') ?? '').trim();
    if (fillerAuthority !== '') request.fillerAuthority = fillerAuthority;
    const placerAuthority = (obr.get('2.1') ? obr.get('2.2') : orc?.get('2.2') ?? '').trim();
    if (placerAuthority !== '') request.placerAuthority = placerAuthority;
    // ORC-12 wins over OBR-16, also when the ORC arrives after its OBR (OUL_R22).
    if (!this.prescriber || (this.prescriberFromObr && orc && repetitions(orc, 12).length > 0)) {
      const fromOrc = orc && repetitions(orc, 12).length > 0 ? readXcn(orc, '12[1]') : undefined;
      const p = fromOrc ?? (repetitions(obr, 16).length > 0 ? readXcn(obr, '16[1]') : undefined);
      if (p) {
        this.prescriberFromObr = !fromOrc;
        const phones = orc && fromOrc ? { seg: orc, field: 14 } : { seg: obr, field: 17 };
        const telecom: string[] = [];
        for (const rep of repetitions(phones.seg, phones.field)) {
          const mss = readMssante(phones.seg, rep);
          if (mss && !p.mssante) p.mssante = mss;
          else {
            const t = readTelecom(phones.seg, rep);
            if (t) telecom.push(t);
          }
        }
        if (telecom.length > 0) p.telecom = telecom;
        this.prescriber = p;
      }
    }
    if (!this.prescriberOrganization && orc) {
      const org = readXon(orc, '21[1]');
      if (org) {
        const addr = readAddress(orc, '22[1]');
        if (addr) org.address = addr;
        this.prescriberOrganization = org;
      }
    }
  }

  private obx(seg: Segment): void {
    this.obxSeq++;
    if (this.sharingChoice(seg)) {
      this.attach = { to: 'nowhere' };
      return;
    }
    const where = { segment: 'OBX' as const, sequence: this.obxSeq, field: 5 };
    if (this.specimenContext) {
      const spec = this.lastSpecimen();
      if (spec) {
        const r = this.result(seg, undefined, where);
        if (r) (spec.observations ??= []).push(r);
        this.attach = r ? { to: 'result', result: r } : { to: 'nowhere' };
        return;
      }
    }
    const cur = this.current();
    if (!cur) {
      throw new PasserelleError('PSL_REPORT_INVALID', `OBX #${this.obxSeq} comes before any OBR: a result must belong to a request`, {
        details: { segment: 'OBX', sequence: this.obxSeq },
      });
    }
    const r = this.result(seg, cur, where);
    if (r) cur.request.results.push(r);
    else {
      const w = readWithdrawal(seg, cur.obr);
      if (w) (cur.request.withdrawn ??= []).push({ ...w, code: transcodeCode(w.code, this.transcoding.loinc.analyses) });
    }
    // A withdrawn result (D/W) is dropped, and its comments with it.
    this.attach = r ? { to: 'result', result: r } : { to: 'nowhere' };
  }

  /**
   * A MetaDMPMSS-style OBX (ANS CDA-in-HL7v2 volet: OBX-3 DESTDMP / DESTMSSANTEPS /
   * DESTMSSANTEPAT, OBX-5 Y or N) is the lab system's sharing choice for the report, not a result.
   */
  private sharingChoice(seg: Segment): boolean {
    const key = SHARING_OBX[seg.get('3.1').toUpperCase()];
    if (!key) return false;
    const v = seg.get('5.1').toUpperCase();
    if (v === 'Y' || v === 'N') this.sharing[key] = v === 'Y';
    return true;
  }

  private lastSpecimen(): Specimen | undefined {
    if (!this.specimenContext) return undefined;
    const state = this.specimenContext.state;
    if (state) return state.request.specimens[state.request.specimens.length - 1];
    return this.groupSpecimens[this.groupSpecimens.length - 1];
  }

  private result(seg: Segment, state: RequestState | undefined, where: { segment: 'OBX'; sequence: number; field: number }): Result | undefined {
    const r = readResult(seg, state?.obr, { id: `r${this.resultSeq + 1}`, units: this.units, delimiters: this.d, where });
    if (!r) return undefined;
    r.code = transcodeCode(r.code, this.transcoding.loinc.analyses);
    this.resultSeq++;
    if (r.autoValidated) this.autoValidated = true;
    return r;
  }

  private nte(seg: Segment): void {
    const text = commentText(seg.getRaw('3'), this.d);
    if (text.trim() === '') return;
    const c: Comment = { text };
    const type = seg.get('4.1').trim();
    if (type !== '') c.type = type;
    const a = this.attach;
    switch (a.to) {
      case 'report':
        this.comments.push(c);
        return;
      case 'request':
        a.state.request.comments.push(c);
        return;
      case 'result':
        a.result.comments.push(c);
        return;
      case 'specimen':
        // A comment on a specimen is shown with the request(s) it serves.
        if (a.state) a.state.request.comments.push(c);
        else this.groupComments.push(c);
        return;
      case 'nowhere':
        return;
    }
  }

  private spm(seg: Segment, segs: Segment[], i: number): void {
    const spec = readSpecimen(seg);
    const cur = this.current();
    if (this.type === 'ORU^R01') {
      if (cur) {
        cur.request.specimens.push(spec);
        this.attach = { to: 'specimen', state: cur };
        this.specimenContext = { state: cur };
      } else {
        // SPM before any OBR: given to the next requests, like an OUL group header.
        this.groupSpecimens = [spec];
        this.groupComments = [];
        this.attach = { to: 'specimen' };
        this.specimenContext = {};
      }
      return;
    }
    // OUL_R22: a specimen heads the OBRs that follow it, unless no OBR follows (then it closes
    // the request before it, as in the IHE storyboard messages).
    let j = i + 1;
    while (j < segs.length && (segs[j].name === 'OBX' || segs[j].name === 'NTE' || segs[j].name === 'SAC' || segs[j].name === 'INV')) j++;
    const headsGroup = (j < segs.length && segs[j].name === 'OBR') || !cur;
    if (headsGroup) {
      this.groupSpecimens = [spec];
      this.groupComments = [];
      this.attach = { to: 'specimen' };
      this.specimenContext = {};
    } else {
      cur.request.specimens.push(spec);
      this.attach = { to: 'specimen', state: cur };
      this.specimenContext = { state: cur };
    }
  }

  private prt(seg: Segment): void {
    const role = seg.get('4.1').trim().toUpperCase();
    if (role !== 'RCT' && role !== 'OP') return;
    const p = repetitions(seg, 5).length > 0 ? readXcn(seg, '5[1]') : undefined;
    let mss: string | undefined;
    for (const rep of repetitions(seg, 15)) mss ??= readMssante(seg, rep);
    if (role === 'OP') {
      if (!this.prescriber && p) {
        this.prescriber = p;
        this.prescriberFromObr = false;
      }
      if (this.prescriber && mss && (!p || personKey(p) === personKey(this.prescriber))) this.prescriber.mssante ??= mss;
      return;
    }
    const who: Professional = p ?? {};
    if (mss) who.mssante = mss;
    if (who.id || who.family || who.mssante) this.addCopy(who);
  }

  private addCopy(p: Professional): void {
    const key = personKey(p);
    const known = this.copies.get(key) ?? (p.id ? undefined : [...this.copies.values()].find((c) => p.mssante && c.mssante === p.mssante));
    if (known) {
      known.mssante ??= p.mssante;
      return;
    }
    this.copies.set(key, p);
  }

  private finish(state: RequestState): Request {
    const { request, obr } = state;
    const resultCodes = request.results.flatMap((r) => codesOf(r.code));
    // The lab's catalogue places its exams first; the chapter map's rules decide the rest.
    request.chapter = examChapter(this.transcoding, this.chapters, request.code.local?.code) ?? chapterFor(this.chapters, codesOf(request.code), obr.get('24').trim(), resultCodes);
    request.status = requestStatus(obr.get('25')) ?? derivedStatus(request.results);
    const collectedAt = readTs(obr, '7') ?? earliest(request.specimens.map((s) => s.collectedAt));
    if (collectedAt) request.collectedAt = collectedAt;
    const reportedAt = readTs(obr, '22');
    if (reportedAt) request.reportedAt = reportedAt;
    const validator = !isAuto(obr.get('32[1].1.1')) && obr.getRaw('32') !== '' ? readNdl(obr, '32[1]') : (latestValidator(request.results.filter((r) => !r.performer)) ?? latestValidator(request.results));
    if (validator) request.validator = validator;
    const performers = request.results.map((r) => r.performer);
    const first = performers[0];
    if (first && performers.every((p) => p !== undefined && sameOrg(p.organization, first.organization))) request.performer = first;
    const isolates = groupIsolates(request.results);
    if (isolates) request.isolates = isolates;
    return request;
  }

  private report(requests: Request[]): Report {
    const pid = this.pid as Segment;
    const patient = this.patient as Patient;
    const firstObr = this.requests[0].obr;
    const orc = this.firstOrc;
    const orderId = orc?.get('4.1') || orc?.get('2.1') || firstObr.get('2.1') || firstObr.get('3.1') || this.msg.controlId;
    const dossier = pid.get('18.1') || orc?.get('4.1') || firstObr.get('2.1') || orc?.get('2.1') || firstObr.get('3.1') || this.msg.controlId;
    const results = requests.flatMap((r) => r.results);
    const done = (s: ResultStatus): boolean => s === 'final' || s === 'corrected' || s === 'cancelled';
    const complete = results.every((r) => done(r.status)) && requests.every((r) => done(r.status));

    const specimens = requests.flatMap((r) => r.specimens);
    const received = earliest([...specimens.map((s) => s.receivedAt), ...this.requests.map((s) => readTs(s.obr, '14'))]);
    const receivedAt = received ?? earliest(requests.map((r) => r.collectedAt));
    let validatedAt: string | undefined;
    for (const r of results) if (r.validatedAt && (validatedAt === undefined || tsKey(r.validatedAt) >= tsKey(validatedAt))) validatedAt = r.validatedAt;
    // The report's biologist is the reporting lab's: a subcontractor's validator signs only its results.
    const validator = latestValidator(results.filter((r) => !r.performer)) ?? latestValidator(results);

    const report: Report = {
      sourceControlId: this.msg.controlId,
      messageType: this.type,
      patient,
      dossier,
      orderId,
      requests,
      comments: this.comments,
      completeness: complete ? 'complete' : 'partial',
      autoValidated: this.autoValidated,
      copiesTo: [...this.copies.values()],
    };
    const facility = this.msg.get('MSH-4.1') || this.msg.get('MSH-4.2');
    if (facility) report.sendingFacility = this.msg.get('MSH-4.2') ? { name: facility, id: this.msg.get('MSH-4.2') } : { name: facility };
    if (this.prescriber) report.prescriber = this.prescriber;
    if (this.prescriberOrganization) report.prescriberOrganization = this.prescriberOrganization;
    if (receivedAt) report.receivedAt = receivedAt;
    if (validatedAt) report.validatedAt = validatedAt;
    if (validator) report.validator = validator;
    if (Object.keys(this.sharing).length > 0) report.sharing = { ...this.sharing };
    return report;
  }
}

const SHARING_OBX: Record<string, keyof SharingChoices> = { DESTDMP: 'dmp', DESTMSSANTEPS: 'mssProfessionals', DESTMSSANTEPAT: 'mssPatient' };

/** A request status from its results when OBR-25 says nothing. */
function derivedStatus(results: Result[]): ResultStatus {
  if (results.length === 0) return 'pending';
  if (results.every((r) => r.status === 'cancelled')) return 'cancelled';
  if (results.every((r) => r.status === 'pending')) return 'pending';
  if (results.some((r) => r.status === 'preliminary' || r.status === 'pending')) return 'preliminary';
  return results.some((r) => r.status === 'corrected') ? 'corrected' : 'final';
}

/** Validator of the latest validated result (message order breaks ties: the last one wins). */
function latestValidator(results: Result[]): Professional | undefined {
  let best: Result | undefined;
  for (const r of results) {
    if (!r.validator) continue;
    if (!best || tsKey(r.validatedAt ?? '') >= tsKey(best.validatedAt ?? '')) best = r;
  }
  return best?.validator;
}
