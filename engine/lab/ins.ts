/**
 * INS (Identifiant National de Santé) rules: NIR key, known OIDs, and the one decision that
 * matters for documents (Ségur SGL.INS.37 / RNIV rule 28): an INS is written into a document
 * only for a qualified identity. Anything else keeps the traits and drops matricule + OID.
 * Reference: shared/docs/dmp-mss-ins.md §3, hl7-lab.md §3.2.
 */
import type { IdentityReliability, Ins } from './report';

/** INS assigning-authority OIDs (CX-4.2 of the PID-3 INS repetition). */
export const INS_OIDS: Readonly<Record<string, { nature: Ins['nature']; label: string; production: boolean }>> = Object.freeze({
  '1.2.250.1.213.1.4.8': { nature: 'NIR', label: 'INS-NIR', production: true },
  '1.2.250.1.213.1.4.9': { nature: 'NIA', label: 'INS-NIA', production: true },
  '1.2.250.1.213.1.4.10': { nature: 'NIR', label: 'INS-NIR test', production: false },
  '1.2.250.1.213.1.4.11': { nature: 'NIR', label: 'INS-NIR démonstration', production: false },
});

/** The obsolete calculated INS (INS-C): recognised so it can be refused with a clear reason. */
export const INS_C_OID = '1.2.250.1.213.1.4.2';

/** PID-32 values (French table 0445, plus the RNIV status QUAL some senders use) meaning "qualified". */
const QUALIFIED = new Set(['VALI', 'QUAL']);
/**
 * Statuses that cancel a qualification even when VALI is also sent (PID-32 repeats): a doubtful,
 * fictitious, usurped, deactivated or anonymous identity must never carry its INS.
 */
const BLOCKING = new Set(['DOUT', 'FICT', 'USUR', 'DESA', 'ANOM']);

// 13 characters: sex/category, year, month, department (2 digits, 2A or 2B), commune, order.
const NIR13 = /^[0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{6}$/;

/**
 * NIR key: 97 − (N mod 97), with Corsica's 2A read as 19 and 2B as 18 (the historical
 * numbering of department 20). Keys run 1..97 (97 when N mod 97 = 0, never `00`).
 * Throws RangeError when the input is not a 13-character NIR.
 */
export function nirKey(nir13: string): number {
  const s = nir13.toUpperCase();
  if (!NIR13.test(s)) throw new RangeError(`not a 13-character NIR: ${JSON.stringify(nir13.length > 20 ? nir13.slice(0, 20) + '…' : nir13)}`);
  const digits = s.replace('2A', '19').replace('2B', '18');
  // 13 digits < 2^53: Number is exact.
  return 97 - (Number(digits) % 97);
}

/** True for a 15-character INS matricule (NIR or NIA) whose 2-digit key matches. */
export function isValidIns(matricule: string): boolean {
  if (typeof matricule !== 'string' || matricule.length !== 15) return false;
  const body = matricule.slice(0, 13);
  const key = matricule.slice(13);
  if (!/^[0-9]{2}$/.test(key) || !NIR13.test(body.toUpperCase())) return false;
  return nirKey(body) === Number(key);
}

/** The INS the message sent (before any decision), as read from PID-3. */
export interface ReceivedIns {
  matricule: string;
  oid: string;
}

export interface InsDecision {
  /** Set only when the INS may be written into documents. */
  ins?: Ins;
  /** Why not, when an INS was received but refused (document metadata, logs). */
  refusedReason?: string;
}

export interface QualifyOptions {
  /** Production channels refuse the test (.10) and demo (.11) OIDs. Default false. */
  production?: boolean;
}

/** PID-32 repetitions → the codes, upper-cased. */
function statuses(reliability: IdentityReliability | readonly string[]): string[] {
  const list = typeof reliability === 'string' ? reliability.split('~') : [...reliability];
  return list.map((s) => s.trim().toUpperCase()).filter((s) => s !== '');
}

/** True when PID-32 says the identity is qualified (VALI, or QUAL) and nothing blocks it. */
export function isQualifiedIdentity(reliability: IdentityReliability | readonly string[]): boolean {
  const codes = statuses(reliability);
  return codes.some((c) => QUALIFIED.has(c)) && !codes.some((c) => BLOCKING.has(c));
}

/**
 * Decides whether the received INS may go into documents: qualified identity (PID-32 VALI /
 * QUAL), known INS OID, valid key. Reasons are short English sentences without patient data
 * (they go into document metadata and logs).
 */
export function qualifyIns(
  received: ReceivedIns | undefined,
  reliability: IdentityReliability | readonly string[],
  options: QualifyOptions = {},
): InsDecision {
  if (!received || received.matricule === '') return {};
  const codes = statuses(reliability);
  if (!isQualifiedIdentity(codes)) {
    const shown = codes.length > 0 ? codes.join('~') : 'empty';
    return { refusedReason: `identity not qualified (PID-32 ${shown}): INS not transmitted` };
  }
  if (received.oid === INS_C_OID) return { refusedReason: 'obsolete INS-C (1.2.250.1.213.1.4.2) is not an INS' };
  const known = INS_OIDS[received.oid];
  if (!known) return { refusedReason: `unknown INS assigning authority OID ${JSON.stringify(received.oid)}` };
  if (options.production && !known.production) return { refusedReason: `${known.label} OID ${received.oid} refused on a production channel` };
  const matricule = received.matricule.toUpperCase();
  if (!isValidIns(matricule)) {
    return { refusedReason: matricule.length !== 15 ? `INS matricule has ${matricule.length} characters, 15 expected` : 'INS matricule key is invalid' };
  }
  return { ins: { matricule, oid: received.oid, nature: known.nature } };
}
