/**
 * Level-1 sections of the N3 body: one FR-CR-BIO-Chapitre per chapter (each request in its own
 * FR-CR-BIO-Sous-Chapitre, because IHE allows exactly one text + one entry per section), the
 * FR-Commentaire-non-code sections (document comments; lab mentions DOC.07–DOC.10) and the
 * FR-Document-PDF-copie section. Only these templates are allowed at level 1 (Entete_CR-BIO).
 */
import type { Coded, Report, Request, Result } from '../lab/report';
import type { RenderOptions } from '../lab/profile';
import { type El, cd, professionalLabel, xsiType } from './xml';
import { type RenderContext, isAccredited, lines, orgLabel, requestNarrative, visibleComments } from './narrative';
import { requestEntry } from './entries';
import { OID, isLoinc } from './vocab';

function templates(el: El, roots: string[]): void {
  for (const root of roots) el.ele('templateId', { root });
}

function chapterCode(c: Coded): { code: string; display?: string; system: string; systemName: string } {
  // Chapters come from mappings/lab-chapters.yaml and are LOINC specialty codes (18719-5…).
  return { code: c.code, display: c.display, system: OID.LOINC, systemName: 'LOINC' };
}

/** Chapters in order of first appearance, each with its requests. */
function byChapter(requests: Request[]): Array<{ chapter: Coded; requests: Request[] }> {
  const out = new Map<string, { chapter: Coded; requests: Request[] }>();
  for (const r of requests) {
    const g = out.get(r.chapter.code) ?? { chapter: r.chapter, requests: [] };
    g.requests.push(r);
    out.set(r.chapter.code, g);
  }
  return [...out.values()];
}

export function chapterList(report: Report): Coded[] {
  return byChapter(report.requests).map((g) => g.chapter);
}

export function chapterSections(body: El, report: Report, ctx: RenderContext): void {
  for (const g of byChapter(report.requests)) {
    const sec = body.ele('component').ele('section');
    templates(sec, ['1.3.6.1.4.1.19376.1.3.3.2.1', '1.2.250.1.213.1.1.2.70']);
    cd(sec, 'code', chapterCode(g.chapter));
    sec.ele('title').txt(g.chapter.display || g.chapter.code);
    for (const req of g.requests) {
      const sub = sec.ele('component').ele('section');
      templates(sub, ['1.3.6.1.4.1.19376.1.3.3.2.2', '1.2.250.1.213.1.1.2.71']);
      // IHE: a sub-chapter code, when present, is LOINC.
      cd(sub, 'code', isLoinc(req.code.loinc) ? { code: req.code.loinc.code, display: req.code.loinc.display || req.code.text, system: OID.LOINC, systemName: 'LOINC' } : chapterCode(g.chapter));
      sub.ele('title').txt(req.code.text);
      const refs = requestNarrative(sub.ele('text'), req, ctx);
      requestEntry(sub, req, g.chapter, refs, ctx);
    }
  }
}

function commentSection(body: El, title: string): El {
  const sec = body.ele('component').ele('section');
  templates(sec, ['2.16.840.1.113883.10.12.201', '1.3.6.1.4.1.19376.1.4.1.2.16', '1.2.250.1.213.1.1.2.73']);
  cd(sec, 'code', { code: '55112-7', display: 'Commentaire', system: OID.LOINC, systemName: 'LOINC' });
  sec.ele('title').txt(title);
  return sec.ele('text');
}

/** Document-level comments (NTE after PID/ORC), when there are any for this audience. */
export function documentCommentsSection(body: El, report: Report, ctx: RenderContext): void {
  const list = visibleComments(report.comments, ctx.profile);
  if (!list.length) return;
  const text = commentSection(body, 'Commentaires');
  for (const c of list) lines(text.ele('paragraph').ele('content', { ID: ctx.ids.next('doc-comment') }), c.text);
}

/**
 * Lab mentions printed on every report, kept in the N3 narrative as on the PDF: recipients
 * (DOC.07), RGPD text (DOC.08), auto-validation (DOC.09), Cofrac number and `*` legend (DOC.10),
 * partial report and replacement notices.
 */
export function mentionsSection(body: El, report: Report, ctx: RenderContext, options: RenderOptions): void {
  const { lab } = ctx;
  const text = commentSection(body, 'Informations du laboratoire');
  const recipients = [
    ...(report.prescriber ? [{ p: report.prescriber, role: 'prescripteur' }] : []),
    ...report.copiesTo.map((p) => ({ p, role: 'copie' })),
  ];
  if (recipients.length) {
    text.ele('paragraph').txt('Destinataires du compte rendu :');
    const list = text.ele('list');
    for (const { p, role } of recipients) list.ele('item').txt(`${professionalLabel(p)} (${role})${p.mssante ? ` – MSSanté : ${p.mssante}` : ''}`);
  }
  if (lab.cofrac) {
    const accredited = report.requests.some((r) => [...r.results, ...(r.isolates ?? []).flatMap((i) => i.susceptibilities)].some((x) => isAccredited(x, lab)));
    text.ele('paragraph').txt(`${lab.lab.name} – accréditation Cofrac n° ${lab.cofrac.number}${lab.cofrac.scope ? ` (${lab.cofrac.scope})` : ''}.`);
    text.ele('paragraph').txt(
      accredited
        ? '* Examen réalisé sous accréditation Cofrac. Les examens non marqués ne sont pas couverts par l’accréditation.'
        : 'Aucun examen de ce compte rendu n’est couvert par l’accréditation Cofrac.',
    );
  }
  if (report.autoValidated) text.ele('paragraph').txt(lab.autoValidationText);
  if (report.completeness === 'partial') text.ele('paragraph').txt('Compte rendu partiel : des résultats sont en attente et feront l’objet d’un compte rendu complémentaire.');
  if (options.replaces) text.ele('paragraph').txt('Ce compte rendu annule et remplace la version précédente.');
  if (lab.rgpdText) text.ele('paragraph').txt(lab.rgpdText);
}

/**
 * FR-Document-attache: a PDF as an entry (organizer CLUSTER → FR-Type-document-attache + the
 * observationMedia the narrative's renderMultiMedia points to).
 */
function attachedPdf(sec: El, pdf: Buffer, o: { idRoot: string; idExt: string; mediaId: string; typeRef: string; type?: { code: string; display: string } }): void {
  const org = sec.ele('entry').ele('organizer', { classCode: 'CLUSTER', moodCode: 'EVN' });
  templates(org, ['1.2.250.1.213.1.1.3.18']);
  org.ele('id', { root: o.idRoot, extension: o.idExt });
  cd(org, 'code', { code: '55107-7', display: 'Document attaché', system: OID.LOINC, systemName: 'LOINC' });
  org.ele('statusCode', { code: 'completed' });
  const obs = org.ele('component').ele('observation', { classCode: 'OBS', moodCode: 'EVN' });
  templates(obs, ['1.3.6.1.4.1.19376.1.5.3.1.4.13', '1.2.250.1.213.1.1.3.48', '1.2.250.1.213.1.1.3.48.18']);
  obs.ele('id', { root: o.idRoot, extension: `${o.idExt}-type` });
  cd(obs, 'code', { code: '69764-9', display: 'Type de document', system: OID.LOINC, systemName: 'LOINC' });
  obs.ele('text').ele('reference', { value: `#${o.typeRef}` });
  obs.ele('statusCode', { code: 'completed' });
  obs.ele('effectiveTime', { nullFlavor: 'NA' });
  if (o.type) xsiType(cd(obs, 'value', { code: o.type.code, display: o.type.display, system: OID.LOINC, systemName: 'LOINC' }), 'CD');
  else xsiType(obs.ele('value'), 'CD').ele('originalText').ele('reference', { value: `#${o.typeRef}` });
  const media = org.ele('component').ele('observationMedia', { classCode: 'OBS', moodCode: 'EVN', ID: o.mediaId });
  media.ele('value', { mediaType: 'application/pdf', representation: 'B64' }).txt(pdf.toString('base64'));
}

/** FR-Document-PDF-copie (mandatory in 2024.01): the PDF of the same report, base64. */
export function pdfCopySection(body: El, pdf: Buffer, documentId: string): void {
  const sec = body.ele('component').ele('section');
  templates(sec, ['1.2.250.1.213.1.1.2.243']);
  cd(sec, 'code', { code: '55108-5', display: 'Copie du document', system: OID.LOINC, systemName: 'LOINC' });
  sec.ele('title').txt('Copie du document');
  const text = sec.ele('text');
  text.ele('paragraph').ele('content', { ID: 'pdf-copy-type' }).txt('Copie PDF du compte rendu');
  text.ele('table', { border: '0' }).ele('tbody').ele('tr').ele('td').ele('renderMultiMedia', { referencedObject: 'pdf-copy' });
  attachedPdf(sec, pdf, { idRoot: documentId, idExt: 'pdf-copie', mediaId: 'pdf-copy', typeRef: 'pdf-copy-type', type: { code: '55108-5', display: 'Copie du document' } });
}

/** PDF reports sent as results (OBX ED application/pdf), typically by a subcontracting lab. */
export function pdfResults(report: Report): Result[] {
  return report.requests.flatMap((q) => q.results.filter((r) => r.value.type === 'ED' && r.value.mediaType === 'application/pdf'));
}

/**
 * FR-Resultats-de-laboratoire-de-biologie-de-seconde-intention: results that came as a PDF
 * (a subcontractor that sends its own report) travel inside the N3, one FR-Document-attache
 * each, shown by renderMultiMedia. Their rows in the chapter tables point here.
 */
export function secondIntentionSection(body: El, report: Report, documentId: string): void {
  const pdfs = pdfResults(report);
  if (pdfs.length === 0) return;
  const sec = body.ele('component').ele('section');
  templates(sec, ['1.2.250.1.213.1.1.2.60']);
  cd(sec, 'code', { code: '101792-0', display: 'Résultats de laboratoire scannés', system: OID.LOINC, systemName: 'LOINC' });
  sec.ele('title').txt('Comptes rendus de laboratoire joints (PDF)');
  const tbody = sec.ele('text').ele('table', { border: '0' }).ele('tbody');
  for (const r of pdfs) {
    const by = r.performer ? ` – ${orgLabel(r.performer.organization)}` : '';
    tbody.ele('tr').ele('td').ele('content', { ID: `pdf-${r.id}-type` }).txt(`${r.code.text}${by}`);
    tbody.ele('tr').ele('td').ele('renderMultiMedia', { referencedObject: `pdf-${r.id}` });
  }
  for (const r of pdfs) {
    if (r.value.type !== 'ED') continue;
    attachedPdf(sec, r.value.data, { idRoot: documentId, idExt: `pdf-${r.id}`, mediaId: `pdf-${r.id}`, typeRef: `pdf-${r.id}-type` });
  }
}
