/**
 * CR-BIO in CDA R2 level 1: the same header as the N3, exactly the three templateIds
 * StrucMin expects with a nonXMLBody (HL7 France, CI-SIS, IHE XDS-SD), and the PDF in base64.
 * Its own document id and set id (derived from the N3 ones, engine/cda/ids.ts).
 */
import { create } from 'xmlbuilder2';
import type { Report } from '../lab/report';
import type { LabProfile } from '../lab/profile';
import { NS, nowTs } from './xml';
import { n1Ids } from './ids';
import { writeHeader } from './header';
import type { N3Options } from './n3';

export const N1_TEMPLATE_IDS = [{ root: '2.16.840.1.113883.2.8.2.1' }, { root: '1.2.250.1.213.1.1.1.1' }, { root: '1.3.6.1.4.1.19376.1.2.20' }];

export function buildN1(report: Report, lab: LabProfile, options: N3Options): { xml: string } {
  const { replaces, ...ids } = n1Ids(report, lab, options);
  const effectiveTime = options.effectiveTime ?? nowTs();
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(NS.HL7, 'ClinicalDocument', {
    'xmlns:lab': NS.LAB,
    'xmlns:xsi': NS.XSI,
  });
  writeHeader(root, report, lab, { templateIds: N1_TEMPLATE_IDS, ids, replaces, effectiveTime });
  root
    .ele('component')
    .ele('nonXMLBody')
    .ele('text', { mediaType: 'application/pdf', representation: 'B64' })
    .txt(options.pdf.toString('base64'));
  return { xml: root.end({ prettyPrint: false }) };
}
