/**
 * XD-LAB / CI-SIS entries of one request: entry DRIV → act → specimen procedures, results
 * (single observation or battery organizer), microbiology isolates, comments. Shapes follow the
 * ANS CR-BIO examples; constraints quoted in comments come from the volet and IHE schematrons.
 */
import type { Coded, Isolate, Professional, Request, Result, Specimen } from '../lab/report';
import type { LabProfile } from '../lab/profile';
import { type El, cd, ii, isTs, maxTs, organization, personName, professionalId, telecoms, addr, ts } from './xml';
import { type RenderContext, type RequestRefs, type ResultRefs, directResults, isolateOwnResults } from './narrative';
import { OID, groupStatus, interpretationOf, isLoinc, observationStatus, specimenTypeOf, systemOf } from './vocab';
import { writeReferenceRange, writeValue } from './values';
import { localCodeSystem } from './ids';

const T = {
  DRIV: ['1.3.6.1.4.1.19376.1.3.1', '1.2.250.1.213.1.1.3.21'],
  OBS: ['1.3.6.1.4.1.19376.1.3.1.6', '1.2.250.1.213.1.1.3.80'],
  BATTERY: ['1.3.6.1.4.1.19376.1.3.1.4', '1.2.250.1.213.1.1.3.78'],
  ISOLATE: ['1.3.6.1.4.1.19376.1.3.1.5', '1.2.250.1.213.1.1.3.79'],
  SPECIMEN: ['1.3.6.1.4.1.19376.1.3.1.2', '1.2.250.1.213.1.1.3.77'],
  RECEIVED: ['1.3.6.1.4.1.19376.1.3.1.3', '1.2.250.1.213.1.1.3.107'],
  PERFORMER: ['1.3.6.1.4.1.19376.1.3.3.1.7', '1.2.250.1.213.1.1.3.23'],
  AUTHEN: ['1.3.6.1.4.1.19376.1.3.3.1.5', '1.2.250.1.213.1.1.3.109'],
  COMMENT: ['2.16.840.1.113883.10.20.1.40', '1.3.6.1.4.1.19376.1.5.3.1.4.2', '1.2.250.1.213.1.1.3.32'],
  MEDIA: ['2.16.840.1.113883.10.12.304', '1.2.250.1.213.1.1.3.103'],
};

function templates(el: El, roots: string[]): void {
  for (const root of roots) el.ele('templateId', { root });
}

/**
 * code of a result / battery. LOINC: code + displayName + codeSystem (all three required by the
 * volet). Otherwise the element has no code attributes and the local code rides in a
 * translation with code + displayName (the 2021.01 and battery rules forbid a non-LOINC code
 * attribute; the CRP_non_LOINC example does the same).
 */
export function resultCode(parent: El, code: { loinc?: Coded; local?: Coded; text: string }, lab: LabProfile, ref?: string): El {
  const e = parent.ele('code');
  if (isLoinc(code.loinc)) {
    e.att('code', code.loinc.code).att('displayName', code.loinc.display || code.text).att('codeSystem', OID.LOINC).att('codeSystemName', 'LOINC');
  }
  if (ref) e.ele('originalText').ele('reference', { value: `#${ref}` });
  const local = code.local && code.local.code !== code.loinc?.code ? code.local : !isLoinc(code.loinc) ? code.loinc : undefined;
  if (local?.code) {
    cd(e, 'translation', { code: local.code, display: local.display || code.text, system: systemOf(local) ?? localCodeSystem(lab), systemName: local.systemName });
  }
  return e;
}

/** FR-Commentaire-ER: the text lives in the narrative, the entry points to it. */
export function commentAct(parent: El, ref: string): El {
  const act = parent.ele('act', { classCode: 'ACT', moodCode: 'EVN' });
  templates(act, T.COMMENT);
  cd(act, 'code', { code: '48767-8', display: 'Commentaire', system: OID.LOINC, systemName: 'LOINC' });
  act.ele('text').ele('reference', { value: `#${ref}` });
  act.ele('statusCode', { code: 'completed' });
  return act;
}

/** FR-Laboratoire-executant at entry level: the lab that performed subcontracted results. */
function performer(parent: El, p: NonNullable<Result['performer']>, at: string | undefined, lab: LabProfile): void {
  const e = parent.ele('performer', { typeCode: 'PRF' });
  templates(e, T.PERFORMER);
  ts(e, 'time', p.performedAt ?? at);
  const ae = e.ele('assignedEntity');
  professionalId(ae, p.director);
  addr(ae, p.director?.address ?? p.organization.address);
  telecoms(ae, p.director?.telecom ?? p.organization.telecom);
  if (p.director?.family) personName(ae.ele('assignedPerson'), p.director);
  // The subcontractor's own cadre d'exercice is not in the model: the reporting lab's is used.
  organization(ae, 'representedOrganization', p.organization, { sector: { ...lab.sectorCode, system: '1.2.250.1.213.1.1.4.9' } });
}

/**
 * FR-Participant (AUTHEN) at entry level: the executing lab's biologist who validated its
 * results. Only with an identifier and a validation time, as the DEP-CCU example shows it.
 */
function validatedBy(parent: El, p: Professional | undefined, at: string | undefined): void {
  if (!p?.id || !p.family || !isTs(at)) return;
  const e = parent.ele('participant', { typeCode: 'AUTHEN' });
  templates(e, T.AUTHEN);
  e.ele('time').ele('high', { value: at });
  const role = e.ele('participantRole');
  professionalId(role, p);
  if (p.address) addr(role, p.address);
  if (p.telecom?.length) telecoms(role, p.telecom);
  personName(role.ele('playingEntity'), p);
}

/** The validator and time of subcontracted results when they all agree (one biologist signed them). */
function subcontractValidation(results: Result[]): { p?: Professional; at?: string } {
  const signed = results.filter((r) => r.validator?.id);
  if (signed.length === 0 || signed.some((r) => r.validator!.id !== signed[0]!.validator!.id)) return {};
  return { p: signed[0]!.validator, at: maxTs(signed.map((r) => r.validatedAt)) };
}

function samePerformer(a: Result['performer'], b: Result['performer']): boolean {
  return !!a && !!b && a.organization.name === b.organization.name && a.organization.id === b.organization.id;
}

/** FR-Prelevement (+ FR-Echantillon-date-reception when the reception time is known). */
function specimenProcedure(parent: El, s: Specimen, lab: LabProfile): void {
  const proc = parent.ele('entryRelationship', { typeCode: 'COMP' }).ele('procedure', { classCode: 'PROC', moodCode: 'EVN' });
  templates(proc, T.SPECIMEN);
  ts(proc, 'effectiveTime', s.collectedAt);
  if (s.site?.code && systemOf(s.site)) cd(proc, 'targetSiteCode', { code: s.site.code, display: s.site.display, system: systemOf(s.site)! });
  const role = proc.ele('participant', { typeCode: 'PRD' }).ele('participantRole', { classCode: 'SPEC' });
  // Specimen numbers (SPM-2) are issued by the lab's order system: its OID qualifies them.
  ii(role, s.id ? lab.orderIdRoot : undefined, s.id);
  const type = specimenTypeOf(s.type);
  // The CI-SIS value set is HL7 table 0487; a type coded otherwise (e.g. SNOMED CT) is kept as text.
  if (type && type.system === OID.SPECIMEN_TYPE) cd(role.ele('playingEntity'), 'code', { code: type.code, display: type.display, system: type.system });
  else if (type) role.ele('playingEntity').ele('code', { nullFlavor: 'OTH' }).ele('originalText').txt(type.display || type.code);
  if (isTs(s.receivedAt)) {
    const act = proc.ele('entryRelationship', { typeCode: 'COMP' }).ele('act', { classCode: 'ACT', moodCode: 'EVN' });
    templates(act, T.RECEIVED);
    cd(act, 'code', { code: 'SPRECEIVE', display: 'Échantillon reçu', system: OID.IHE_ACT_CODE, systemName: 'IHEActCode' });
    act.ele('effectiveTime', { value: s.receivedAt });
  }
}

function hasSpecimenData(s: Specimen): boolean {
  return !!(s.id || s.type?.code || s.collectedAt || s.receivedAt);
}

/** Results that get a structured entry: pending ones have nothing to say yet. */
function structurable(r: Result): boolean {
  return r.status !== 'pending' && !(r.value.type === 'ED' && !r.value.mediaType.startsWith('image/'));
}

/** FR-Resultat-examens-de-biologie-element-clinique-pertinent, or FR-Image-illustrative for images. */
function resultEntry(parent: El, r: Result, refs: ResultRefs, ctx: RenderContext, inheritedPerformer: Result['performer']): void {
  if (r.value.type === 'ED') {
    const m = parent.ele('observationMedia', { classCode: 'OBS', moodCode: 'EVN', ID: refs.media ?? ctx.ids.next(`img-${r.id}`) });
    templates(m, T.MEDIA);
    m.ele('value', { mediaType: r.value.mediaType, representation: 'B64' }).txt(r.value.data.toString('base64'));
    return;
  }
  const obs = parent.ele('observation', { classCode: 'OBS', moodCode: 'EVN' });
  templates(obs, T.OBS);
  resultCode(obs, r.code, ctx.lab, refs.name);
  obs.ele('statusCode', { code: observationStatus(r.status) });
  ts(obs, 'effectiveTime', r.observedAt);
  const unit = writeValue(obs, r, refs.value);
  for (const f of r.flags) {
    const i = interpretationOf(f);
    if (i) cd(obs, 'interpretationCode', { code: i.code, display: i.display, system: OID.INTERPRETATION });
  }
  if (r.performer && !samePerformer(r.performer, inheritedPerformer)) {
    performer(obs, r.performer, r.observedAt, ctx.lab);
    validatedBy(obs, r.validator, r.validatedAt);
  }
  for (const c of refs.comments) commentAct(obs.ele('entryRelationship', { typeCode: 'SUBJ', inversionInd: 'true' }), c.id);
  writeReferenceRange(obs, r, unit);
}

/** Several results → one battery organizer; one result → the observation itself. */
function resultGroup(slot: () => El, componentSlot: (org: El) => El, results: Result[], refs: RequestRefs, ctx: RenderContext, code: Request['code'] | undefined, perf: Result['performer'], codeRef?: string): void {
  const list = results.filter(structurable);
  if (!list.length) return;
  if (list.length === 1) {
    resultEntry(slot(), list[0], refs.results.get(list[0].id)!, ctx, perf);
    return;
  }
  const org = slot().ele('organizer', { classCode: 'BATTERY', moodCode: 'EVN' });
  templates(org, T.BATTERY);
  if (code && (code.loinc?.code || code.local?.code)) resultCode(org, code, ctx.lab, codeRef);
  org.ele('statusCode', { code: groupStatus(results.map((r) => r.status)) });
  for (const r of list) resultEntry(componentSlot(org), r, refs.results.get(r.id)!, ctx, perf);
}

/** FR-Isolat-microbiologique: the organism, its own results and its antibiogram battery. */
function isolateEntry(parent: El, req: Request, iso: Isolate, refs: RequestRefs, ctx: RenderContext, perf: Result['performer']): void {
  const own = isolateOwnResults(req, iso.subId);
  const all = [...own, ...iso.susceptibilities];
  const org = parent.ele('organizer', { classCode: 'CLUSTER', moodCode: 'EVN' });
  templates(org, T.ISOLATE);
  org.ele('statusCode', { code: groupStatus(all.map((r) => r.status)) });
  const when = maxTs(all.map((r) => r.observedAt));
  if (when) org.ele('effectiveTime', { value: when });
  const ent = org.ele('specimen', { typeCode: 'SPC' }).ele('specimenRole', { classCode: 'SPEC' }).ele('specimenPlayingEntity', { classCode: 'MIC' });
  const sys = systemOf(iso.organism);
  const code = ent.ele('code');
  if (sys && iso.organism.code) code.att('code', iso.organism.code).att('displayName', iso.organism.display || iso.organism.code).att('codeSystem', sys);
  code.ele('originalText').ele('reference', { value: `#${refs.isolates.get(iso.subId)}` });
  // An organism without a code system stays text (originalText): the IHE rules only accept NCBI
  // taxonomy in a translation here.
  if (!sys) code.att('nullFlavor', 'OTH');
  const comp = (o: El) => o.ele('component');
  for (const r of own.filter(structurable)) resultEntry(comp(org), r, refs.results.get(r.id)!, ctx, perf);
  const sus = iso.susceptibilities.filter(structurable);
  if (sus.length) {
    const bat = comp(org).ele('organizer', { classCode: 'BATTERY', moodCode: 'EVN' });
    templates(bat, T.BATTERY);
    cd(bat, 'code', { code: '18769-0', display: 'Antibiogramme', system: OID.LOINC, systemName: 'LOINC' });
    bat.ele('statusCode', { code: groupStatus(iso.susceptibilities.map((r) => r.status)) });
    for (const r of sus) resultEntry(comp(bat), r, refs.results.get(r.id)!, ctx, perf);
  }
}

/** The single entry of a sub-chapter section (IHE: exactly one entry per section). */
export function requestEntry(section: El, req: Request, chapterCode: Coded, refs: RequestRefs, ctx: RenderContext): void {
  const entry = section.ele('entry', { typeCode: 'DRIV' });
  templates(entry, T.DRIV);
  const act = entry.ele('act', { classCode: 'ACT', moodCode: 'EVN' });
  // Volet: the act code, when present, must be LOINC: the request's LOINC, else the chapter's.
  const code = isLoinc(req.code.loinc) ? req.code.loinc : chapterCode;
  const actCode = cd(act, 'code', { code: code.code, display: code.display || req.code.text, system: OID.LOINC, systemName: 'LOINC' });
  if (req.code.local?.code && req.code.local.code !== code.code) {
    cd(actCode, 'translation', { code: req.code.local.code, display: req.code.local.display || req.code.text, system: systemOf(req.code.local) ?? localCodeSystem(ctx.lab) });
  }
  const every = [...req.results, ...(req.isolates ?? []).flatMap((i) => i.susceptibilities)];
  act.ele('statusCode', { code: every.length ? groupStatus(every.map((r) => r.status)) : 'active' });
  const perf = req.performer;
  if (perf) {
    performer(act, perf, maxTs(req.results.map((r) => r.observedAt)) ?? req.reportedAt, ctx.lab);
    const v = subcontractValidation(req.results.filter((r) => samePerformer(r.performer, perf)));
    validatedBy(act, v.p, v.at);
  }
  for (const s of req.specimens.filter(hasSpecimenData)) specimenProcedure(act, s, ctx.lab);
  const comp = () => act.ele('entryRelationship', { typeCode: 'COMP' });
  const direct = directResults(req);
  resultGroup(comp, (o) => o.ele('component'), direct, refs, ctx, direct.length === req.results.length ? req.code : undefined, perf);
  for (const iso of req.isolates ?? []) isolateEntry(comp(), req, iso, refs, ctx, perf);
  // Volet: at least one COMP relationship. A request with nothing structurable yet (all pending)
  // points to its "en cours" narrative line.
  if (!direct.some(structurable) && !(req.isolates ?? []).length) {
    commentAct(comp(), refs.pendingNote ?? refs.results.values().next().value?.name ?? ctx.ids.next('pending'));
  }
  for (const c of refs.comments) commentAct(act.ele('entryRelationship', { typeCode: 'SUBJ' }), c.id);
}

