/**
 * One OBX → Result, and one SPM → Specimen: the field-level reading behind from-hl7.ts, whose
 * header lists the conventions (validation, auto-validation, subcontracting).
 */
import type { Delimiters, Segment } from '../hl7';
import { ucumFor, type UnitMap } from './mappings';
import { FINESS_OID, readAddress, readCoded, readNdl, readResultCode, readTs, readXcn, readXon, repetitions } from './hl7-fields';
import type { Organization, Result, ResultStatus, Specimen, Withdrawal } from './report';
import { parseRange, readValue, requestStatus, resultStatus } from './values';

/** The auto-validation marker in OBX-16 / OBR-32 (identifier `AUTO`). */
export function isAuto(id: string | undefined): boolean {
  return id !== undefined && id.trim().toUpperCase() === 'AUTO';
}

export interface ResultContext {
/** Id given to the result (`r<n>`), unique within the report. */
id: string;
units: UnitMap;
delimiters: Delimiters;
/** Where the value sits, for error details. */
where: { segment: 'OBX'; sequence: number; field: number };
}

/**
 * OBX → Result. `obr` is the request's OBR (its status, times and validator are the defaults);
 * undefined for OBX describing a specimen. A deleted or withdrawn result (OBX-11 D/W) gives
 * undefined.
 */
export function readResult(seg: Segment, obr: Segment | undefined, ctx: ResultContext): Result | undefined {
  const sent = resultStatus(seg.get('11'));
  if (sent === null) return undefined;
  const status: ResultStatus = sent ?? (obr ? requestStatus(obr.get('25')) : undefined) ?? 'preliminary';
  const r: Result = {
    id: ctx.id,
    code: readResultCode(seg, '3'),
    value: readValue(seg, ctx.delimiters, ctx.where),
    flags: repetitions(seg, 8)
      .map((rep) => seg.get(rep).trim())
      .filter((f) => f !== ''),
    status,
    comments: [],
  };
  const unitText = seg.get('6.1').trim() || seg.get('6.2').trim();
  if (unitText !== '') {
    r.unitText = unitText;
    const ucum = ucumFor(ctx.units, unitText, seg.get('6.3'));
    if (ucum !== undefined) r.unit = ucum;
  }
  const range = parseRange(seg.get('7'));
  if (range) r.range = range;
  const observedAt = readTs(seg, '14') ?? (obr ? readTs(obr, '7') : undefined);
  if (observedAt) r.observedAt = observedAt;
  const subId = seg.get('4').trim();
  if (subId !== '') r.subId = subId;
  const analysedAt = readTs(seg, '19');

  // Performing lab (subcontracting).
  const org = readXon(seg, '23[1]');
  if (org) {
    const addr = readAddress(seg, '24[1]');
    if (addr) org.address = addr;
    const performer: NonNullable<Result['performer']> = { organization: org };
    const director = readXcn(seg, '25[1]');
    if (director) performer.director = director;
    if (analysedAt) performer.performedAt = analysedAt;
    r.performer = performer;
  } else {
    // OBX-15 (producer's ID, CE): who produced the result when OBX-23 says nothing. Kept apart
    // from `performer`: on our own results it names us; on a subcontractor's it stands in for OBX-23.
    const id = seg.get('15.1');
    if (id !== '') {
      const producer: Organization = { name: seg.get('15.2') || id, id };
      if (/^(FINESS|FINEG|FINEJ)$/i.test(seg.get('15.3'))) producer.idRoot = FINESS_OID;
      r.producer = producer;
    }
  }

  // Validation: OBX-16 / OBX-19, else OBR-32 / OBR-22; `AUTO` marks auto-validation.
  const obx16 = seg.get('16[1].1');
  const ownValidator = seg.getRaw('16') !== '';
  const validatorAuto = ownValidator ? isAuto(obx16) : obr ? isAuto(obr.get('32[1].1.1')) : false;
  if (validatorAuto) {
    if (status === 'final' || status === 'corrected') r.autoValidated = true;
  } else {
    const v = ownValidator ? readXcn(seg, '16[1]') : obr && obr.getRaw('32') !== '' ? readNdl(obr, '32[1]') : undefined;
    if (v) r.validator = v;
  }
  const validatedAt = analysedAt ?? (obr ? readTs(obr, '22') : undefined);
  if (validatedAt && (status === 'final' || status === 'corrected')) r.validatedAt = validatedAt;
  if (validatedAt) r.statusAt = validatedAt;
  return r;
}

/** OBX with OBX-11 `D` or `W` → Withdrawal; undefined for any other status. */
export function readWithdrawal(seg: Segment, obr: Segment | undefined): Withdrawal | undefined {
  const code = seg.get('11').trim().toUpperCase();
  if (code !== 'D' && code !== 'W') return undefined;
  const w: Withdrawal = { code: readResultCode(seg, '3'), reason: code === 'D' ? 'deleted' : 'wrong-patient' };
  const subId = seg.get('4').trim();
  if (subId !== '') w.subId = subId;
  const at = readTs(seg, '19') ?? (obr ? readTs(obr, '22') : undefined);
  if (at) w.at = at;
  return w;
}

/** SPM → Specimen (hl7-lab.md §3.5). */
export function readSpecimen(seg: Segment): Specimen {
  const s: Specimen = {};
  const id = seg.get('2.2.1') || seg.get('2.1.1');
  if (id !== '') s.id = id;
  const type = readCoded(seg, '4');
  if (type) s.type = type;
  const site = readCoded(seg, '8');
  if (site) s.site = site;
  const collected = seg.get('17.1.1').trim();
  if (collected !== '') s.collectedAt = collected;
  const received = readTs(seg, '18');
  if (received) s.receivedAt = received;
  if (seg.get('20').trim().toUpperCase() === 'N') {
    s.rejectReason = readCoded(seg, '21[1]') ?? { code: '', display: 'échantillon non disponible (SPM-20 = N)' };
  }
  return s;
}
