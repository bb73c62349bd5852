/**
 * Who a report version goes to (issue 9, item 1; ../shared/docs/segur-requirements.md §4–5):
 *
 *  - the DMP, unless the channel does not feed it, the lab blocked it for this file (DMP.02) or
 *    the patient refused it, and only for a qualified INS (the DMP files by INS);
 *  - by MSSanté to professionals: the prescriber and every copy the report names, with no cap
 *    (MSS.15 asks for at least 10), unless the patient refused it (MSS.16);
 *  - by MSSanté to the patient, `<INS matricule>@patient.mssante.fr`, only for a qualified INS
 *    (MSS.12), unless refused (MSS.19) or the version is invisible to the patient.
 *
 * The recipients are read off the same report the documents print (DOC.07), once the
 * correspondents file filled the addresses the message left out. Someone the report names
 * without an MSSanté address is listed as not mailed, with why, never silently dropped; one the
 * RPPS directory does not know (or no longer lists) is flagged, mailed or not.
 */
import type { Professional, Report, SharingChoices } from '../lab';

export const PATIENT_MAIL_DOMAIN = 'patient.mssante.fr';

/** What the channel delivers at all. */
export interface RoutingOptions {
  dmp: boolean;
  mssProfessionals: boolean;
  mssPatient: boolean;
  /** The version is invisible to the patient (DOC.16): no patient mail. */
  invisibleToPatient?: boolean;
}

export interface MailRecipient {
  /** Lower-case MSSanté address. */
  address: string;
  audience: 'professional' | 'patient';
  role: 'prescriber' | 'copy' | 'patient';
  /** RPPS (or other id) of a professional. */
  id?: string;
}

export interface Routing {
  dmp: { send: true } | { send: false; why: string };
  mail: MailRecipient[];
  /** Named by the report but not mailed: `who` has no patient data (RPPS, role), `why` says what is missing. */
  notMailed: { who: string; why: string }[];
  /** Mailed (the message gave the address) though the RPPS directory doubts them: unknown or inactive RPPS. */
  flagged: { who: string; why: string }[];
}

export function routeVersion(report: Report, o: RoutingOptions, sharing: SharingChoices = report.sharing ?? {}): Routing {
  const ins = report.patient.ins;
  const dmp: Routing['dmp'] = !o.dmp
    ? { send: false, why: 'the channel does not feed the DMP' }
    : sharing.dmp === false
      ? { send: false, why: 'DMP feeding blocked or refused for this file (DESTDMP=N)' }
      : !ins
        ? { send: false, why: 'identity not qualified: no INS to file the document under' }
        : { send: true };

  const mail: MailRecipient[] = [];
  const notMailed: Routing['notMailed'] = [];
  const flagged: Routing['flagged'] = [];
  if (o.mssProfessionals && sharing.mssProfessionals !== false) {
    const seen = new Set<string>();
    const add = (p: Professional | undefined, role: 'prescriber' | 'copy'): void => {
      if (!p) return;
      const who = `${role}${p.id ? ` ${p.id}` : ''}`;
      if (!p.mssante) {
        notMailed.push({ who, why: p.directoryNote ? `${p.directoryNote}: no MSSanté address` : 'no MSSanté address (neither in the message nor in the correspondents file)' });
        return;
      }
      if (p.directoryNote) flagged.push({ who, why: p.directoryNote });
      const address = p.mssante.toLowerCase();
      if (seen.has(address)) return;
      seen.add(address);
      mail.push({ address, audience: 'professional', role, ...(p.id ? { id: p.id } : {}) });
    };
    add(report.prescriber, 'prescriber');
    for (const c of report.copiesTo) add(c, 'copy');
  } else if (o.mssProfessionals) {
    notMailed.push({ who: 'professionals', why: 'the patient refused sending by MSSanté to professionals (DESTMSSANTEPS=N)' });
  }

  if (o.mssPatient) {
    if (!ins) notMailed.push({ who: 'patient', why: 'identity not qualified: no patient mailbox without a qualified INS' });
    else if (sharing.mssPatient === false) notMailed.push({ who: 'patient', why: 'the patient refused sending by MSSanté (DESTMSSANTEPAT=N)' });
    else if (o.invisibleToPatient) notMailed.push({ who: 'patient', why: 'the version is invisible to the patient' });
    else mail.push({ address: `${ins.matricule}@${PATIENT_MAIL_DOMAIN}`, audience: 'patient', role: 'patient' });
  }
  return { dmp, mail, notMailed, flagged };
}

/**
 * The professionals the RPPS directory doubts (unknown or inactive RPPS), for a line that sends
 * the version on to someone else who mails it (the PFI): `who` has no patient data.
 */
export function directoryDoubts(report: Report): { who: string; why: string }[] {
  const out: { who: string; why: string }[] = [];
  const add = (p: Professional | undefined, role: 'prescriber' | 'copy'): void => {
    if (p?.directoryNote) out.push({ who: `${role}${p.id ? ` ${p.id}` : ''}`, why: p.mssante ? p.directoryNote : `${p.directoryNote}: no MSSanté address` });
  };
  add(report.prescriber, 'prescriber');
  for (const c of report.copiesTo) add(c, 'copy');
  return out;
}
