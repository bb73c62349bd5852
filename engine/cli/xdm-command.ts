/**
 * `passerelle xdm <version folder> --out IHE_XDM.ZIP`: the IHE_XDM.ZIP an MSSanté mail carries
 * for one written version (`<documents>/<filler order>/v<n>/`: its N3 and N1, their metadata),
 * the same zip the MSSanté line attaches. Facts come from the documents themselves; the lab
 * profile gives the author's institution. The PDF travels beside the zip in a mail, as in the
 * ANS examples.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadLabProfile } from '../config/lab-profile';
import { readWrittenVersion, xdmOfVersion } from '../delivery/version-folder';

export function xdmCommand(dir: string, opts: { out: string; lab?: string; profile?: string }): number {
  const profile = opts.profile ?? 'pro';
  const version = readWrittenVersion(dir, profile);
  if (!version) {
    process.stderr.write(`${join(dir, `${profile}.n3.xml`)}: no N3 there; give a version folder (<documents>/<filler order>/v<n>)\n`);
    return 1;
  }
  const lab = loadLabProfile(resolve(opts.lab ?? 'channels/labs/laboratoire-demo.yaml'));
  const zip = xdmOfVersion(version, lab, new Date());
  const replacing = /<relatedDocument typeCode="RPLC">/.test(version.n3);
  writeFileSync(opts.out, zip);
  process.stdout.write(`${opts.out}: IHE_XDM.ZIP with ${version.n1 ? 'the N3 and the N1' : 'the N3'}${replacing ? ', replacing the previous version' : ''} (${zip.length} bytes)\n`);
  return 0;
}
