/**
 * PID (French extension, hl7-lab.md §3.2) → Patient with the INS decision applied.
 * PID-3 repetitions are split: the INS (CX-5 `INS`, or an assigning authority OID of the INS
 * table) is read apart and never listed among local identifiers.
 */
import type { Segment } from '../hl7';
import { PasserelleError } from '../errors';
import { INS_C_OID, INS_OIDS, type QualifyOptions, type ReceivedIns, qualifyIns } from './ins';
import { readAddress, readTelecom, repetitions } from './hl7-fields';
import type { Address, Ins, LocalIdentifier, Patient } from './report';

const INS_TYPES = new Set(['INS', 'INS-NIR', 'INS-NIA']);

/** Priority among several INS repetitions: production NIR, NIA, test, demo, anything else. */
function insRank(oid: string): number {
  const order = ['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11'];
  const i = order.indexOf(oid);
  return i < 0 ? order.length : i;
}

export function readPatient(pid: Segment, options: QualifyOptions = {}): Patient {
  const identifiers: LocalIdentifier[] = [];
  let received: ReceivedIns | undefined;
  for (const rep of repetitions(pid, 3)) {
    const id = pid.get(`${rep}.1`).trim();
    if (id === '') continue;
    const oid = pid.get(`${rep}.4.2`).trim();
    const type = pid.get(`${rep}.5`).trim().toUpperCase();
    const isIns = INS_TYPES.has(type) || oid in INS_OIDS || oid === INS_C_OID;
    if (isIns) {
      if (!received || insRank(oid) < insRank(received.oid)) received = { matricule: id, oid };
      continue;
    }
    const li: LocalIdentifier = { id };
    if (oid !== '') li.authorityOid = oid;
    const ns = pid.get(`${rep}.4.1`);
    if (ns !== '') li.authorityName = ns;
    if (type !== '') li.type = type;
    identifiers.push(li);
  }

  // PID-5: L = birth name (INS traits), D = used name. No L: the first repetition stands in.
  const names = repetitions(pid, 5).map((rep) => ({
    family: pid.get(`${rep}.1.1`).trim(),
    given: pid.get(`${rep}.2`).trim(),
    givens: pid.get(`${rep}.3`).trim(),
    type: pid.get(`${rep}.7`).trim().toUpperCase(),
  }));
  const birth = names.find((n) => n.type === 'L') ?? names.find((n) => n.family !== '');
  const used = names.find((n) => n.type === 'D');
  if (identifiers.length === 0 && !received && !birth) {
    throw new PasserelleError('PSL_REPORT_NO_PATIENT', 'PID has neither an identifier (PID-3) nor a name (PID-5)', {
      details: { segment: 'PID', field: 3 },
    });
  }

  const sexSent = pid.get('8').trim().toUpperCase();
  const reliabilityCodes = repetitions(pid, 32).map((rep) => pid.get(rep).trim().toUpperCase()).filter((s) => s !== '');
  const decision = qualifyIns(received, reliabilityCodes, options);
  const patient: Patient = {
    birthFamily: birth?.family ?? '',
    firstBirthGiven: birth?.given ?? '',
    birthGivens: birth?.givens || birth?.given || '',
    sex: sexSent === 'F' || sexSent === 'M' ? sexSent : 'U',
    identifiers,
    // The qualifying code when one is there (VALI~… senders), else what came first.
    reliability: reliabilityCodes.find((c) => c === 'VALI' || c === 'QUAL') ?? reliabilityCodes[0] ?? '',
  };
  if (used && (used.family !== patient.birthFamily || used.given !== patient.firstBirthGiven)) {
    if (used.family !== '') patient.usedFamily = used.family;
    if (used.given !== '') patient.usedGiven = used.given;
  }
  const birthDate = pid.get('7.1').trim();
  if (birthDate !== '') patient.birthDate = birthDate.slice(0, 8);

  // PID-11: the BDL repetition carries the birthplace (INSEE COG code in XAD-9); the first
  // other repetition (home first) is the address.
  let address: Address | undefined;
  let homeSeen = false;
  for (const rep of repetitions(pid, 11)) {
    const type = pid.get(`${rep}.7`).trim().toUpperCase();
    if (type === 'BDL') {
      const code = pid.get(`${rep}.9`).trim();
      if (code !== '' && !patient.birthplaceCode) patient.birthplaceCode = code;
      continue;
    }
    const a = readAddress(pid, rep);
    if (a && (!address || (type === 'H' && !homeSeen))) {
      address = a;
      homeSeen = type === 'H';
    }
  }
  if (address) patient.address = address;
  const telecom = [...repetitions(pid, 13), ...repetitions(pid, 14)].map((rep) => readTelecom(pid, rep)).filter((t): t is string => t !== undefined);
  if (telecom.length > 0) patient.telecom = telecom;

  if (received) patient.insReceived = receivedIns(received);
  const missing = decision.ins ? missingInsTraits(patient) : [];
  if (decision.ins && missing.length === 0) patient.ins = decision.ins;
  else if (decision.ins) patient.insRefusedReason = `INS traits missing (${missing.join(', ')}): INS not transmitted`;
  if (decision.refusedReason) patient.insRefusedReason = decision.refusedReason;
  return patient;
}

/**
 * A qualified identity carries every INS trait; a document with an INS but without one of them
 * fails the CI-SIS rules (structuration minimale), so such an INS is not transmitted and the
 * reason is kept for routing (no DMP, no patient MSSanté) rather than sending an invalid CDA.
 */
export function missingInsTraits(p: Patient): string[] {
  const missing: string[] = [];
  if (!p.birthFamily) missing.push('birth name');
  if (!p.firstBirthGiven) missing.push('first birth given name');
  if (!p.birthDate || p.birthDate.length < 8) missing.push('full birth date');
  if (p.sex === 'U') missing.push('sex');
  if (!p.birthplaceCode) missing.push('birthplace (PID-11 BDL)');
  return missing;
}

/** The received INS in the model's shape (nature from the OID table; NIR when unknown). */
function receivedIns(r: ReceivedIns): Ins {
  return { matricule: r.matricule, oid: r.oid, nature: INS_OIDS[r.oid]?.nature ?? 'NIR' };
}
