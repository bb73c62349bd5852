/**
 * CR-BIO in CDA R2 level 3 (CI-SIS volet BIO-CR-BIO 2024.01 by default, 2021.01 on request).
 *
 * Body: [document comments] · chapters (FR-CR-BIO-Chapitre → one Sous-Chapitre per request) ·
 * lab mentions (FR-Commentaire-non-code) · FR-Document-PDF-copie (2024.01 only: the 2021.01
 * volet whitelists level-1 sections and does not list …2.243).
 */
import { create } from 'xmlbuilder2';
import type { Report } from '../lab/report';
import type { DocumentMetadata, LabProfile, RenderOptions } from '../lab/profile';
import { NS, nowTs, professionalLabel } from './xml';
import { n3Ids } from './ids';
import { writeHeader } from './header';
import { IdRegistry, type RenderContext } from './narrative';
import { chapterSections, documentCommentsSection, mentionsSection, pdfCopySection, secondIntentionSection } from './sections';

export type N3Options = RenderOptions & { pdf: Buffer };
export type N3Metadata = Omit<DocumentMetadata, 'pdfFileName'>;

/** templateIds of a structured CR-BIO; the …1.1.55 extension selects the volet's rule set. */
export function n3TemplateIds(version: RenderOptions['version']) {
  return [
    { root: '2.16.840.1.113883.2.8.2.1' },
    { root: '1.2.250.1.213.1.1.1.1' },
    { root: '1.3.6.1.4.1.19376.1.3.3' },
    { root: '1.2.250.1.213.1.1.1.55', extension: version },
  ];
}

export function documentMetadata(report: Report, options: RenderOptions, ids: { documentId: string; setId: string; versionNumber: number }, effectiveTime: string): N3Metadata {
  const qualified = !!report.patient.ins;
  const vis = options.visibility ?? {};
  return {
    documentId: ids.documentId,
    setId: ids.setId,
    versionNumber: ids.versionNumber,
    version: options.version,
    profile: options.profile,
    effectiveTime,
    insQualified: qualified,
    insRefusedReason: qualified ? undefined : report.patient.insRefusedReason,
    patientMssAllowed: qualified,
    dmpAllowed: qualified,
    confidentiality: {
      maskedFromProfessionals: !!vis.maskedFromProfessionals,
      invisibleToPatient: !!vis.invisibleToPatient,
      invisibleToLegalRepresentatives: !!vis.invisibleToLegalRepresentatives,
    },
    completeness: report.completeness,
    recipients: [
      ...(report.prescriber ? [{ name: professionalLabel(report.prescriber), mssante: report.prescriber.mssante, role: 'prescriber' as const }] : []),
      ...report.copiesTo.map((p) => ({ name: professionalLabel(p), mssante: p.mssante, role: 'copy' as const })),
    ],
  };
}

export function buildN3(report: Report, lab: LabProfile, options: N3Options): { xml: string; metadata: N3Metadata } {
  const ids = n3Ids(report, lab, options);
  const effectiveTime = options.effectiveTime ?? nowTs();
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(NS.HL7, 'ClinicalDocument', {
    'xmlns:lab': NS.LAB,
    'xmlns:xsi': NS.XSI,
  });
  writeHeader(root, report, lab, { templateIds: n3TemplateIds(options.version), ids, replaces: options.replaces, effectiveTime });
  const body = root.ele('component').ele('structuredBody');
  const ctx: RenderContext = { lab, profile: options.profile, ids: new IdRegistry() };
  documentCommentsSection(body, report, ctx);
  chapterSections(body, report, ctx);
  secondIntentionSection(body, report, ids.documentId);
  mentionsSection(body, report, ctx, options);
  if (options.version === '2024.01') pdfCopySection(body, options.pdf, ids.documentId);
  // Not pretty-printed: indentation would add whitespace inside the narrative's mixed content.
  return { xml: root.end({ prettyPrint: false }), metadata: documentMetadata(report, options, ids, effectiveTime) };
}
