/**
 * `passerelle xdm <version folder> --out IHE_XDM.ZIP`: the IHE_XDM.ZIP an MSSanté mail would
 * carry for one written version (`<documents>/<filler order>/v<n>/`: its pro N3 and N1, their
 * metadata). Facts come from the documents themselves; the lab profile gives the author's
 * institution. The PDF travels beside the zip in a mail, as in the ANS examples.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { loadLabProfile } from '../config/lab-profile';
import { xdsFactsOfCda } from '../delivery/xds/metadata';
import { buildXdm, replacedId } from '../delivery/xds/xdm';

export function xdmCommand(dir: string, opts: { out: string; lab?: string; profile?: string }): number {
  const base = opts.profile ?? 'pro';
  const n3File = join(dir, `${base}.n3.xml`);
  if (!existsSync(n3File)) {
    process.stderr.write(`${n3File}: no N3 there; give a version folder (<documents>/<filler order>/v<n>)\n`);
    return 1;
  }
  const n3 = readFileSync(n3File, 'utf8');
  const n1File = join(dir, `${base}.n1.xml`);
  const n1 = existsSync(n1File) ? readFileSync(n1File, 'utf8') : undefined;
  const metaFile = join(dir, `${base}.metadata.json`);
  const meta = existsSync(metaFile) ? (JSON.parse(readFileSync(metaFile, 'utf8')) as { confidentiality?: { maskedFromProfessionals: boolean; invisibleToPatient: boolean; invisibleToLegalRepresentatives: boolean } }) : {};
  const lab = loadLabProfile(resolve(opts.lab ?? 'channels/labs/laboratoire-demo.yaml'));
  const parentN3 = replacedId(n3);
  const parentN1 = n1 && replacedId(n1);
  const zip = buildXdm({
    facts: xdsFactsOfCda(n3),
    lab,
    n3,
    n1,
    replaces: parentN3 ? { n3: parentN3, ...(parentN1 ? { n1: parentN1 } : {}) } : undefined,
    // One submission id per document set: the same folder gives the same zip.
    submissionUniqueId: `${lab.documentIdRoot}.${BigInt('0x' + createHash('sha256').update(`xdm:${n3}`).digest('hex').slice(0, 12)).toString()}`,
    sourceId: lab.documentIdRoot,
    submissionTime: new Date(),
    visibility: meta.confidentiality ?? { maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false },
  });
  writeFileSync(opts.out, zip);
  process.stdout.write(`${opts.out}: IHE_XDM.ZIP with ${n1 ? 'the N3 and the N1' : 'the N3'}${parentN3 ? ', replacing the previous version' : ''} (${zip.length} bytes)\n`);
  return 0;
}
