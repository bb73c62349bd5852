/**
 * The flowing part of the report: title, prescriber and recipients (DOC.07), specimen times,
 * results by chapter then request, microbiology antibiograms, subcontracting, validation
 * and the auto-validation mention (DOC.09).
 *
 * Rows are measured before they are drawn and a page is added when a row would cross the
 * bottom margin, so a row never splits and table headings repeat on the new page.
 */
import type { Comment, Isolate, Organization, Report, Request, Result, Specimen } from '../lab/report';
import type { LabProfile, RenderOptions } from '../lab/profile';
import type { PdfDoc } from './pdfkit';
import { CONTENT_WIDTH, FONT, GREY, INK, PAGE } from './page-frame';
import {
  addressLines,
  flagMark,
  formatTs,
  isLongValue,
  professionalName,
  statusLabel,
  susceptibility,
  valueText,
} from './format';

const ALERT = '#B00000';
const BAND = '#E6E6E6';
const LEFT = PAGE.side;

interface Cell {
  text: string;
  width: number;
  font?: string;
  size?: number;
  color?: string;
  align?: 'left' | 'right' | 'center';
}

class Flow {
  constructor(readonly doc: PdfDoc) {}

  get y(): number {
    return this.doc.y;
  }

  private limit(): number {
    return this.doc.page.height - this.doc.page.margins.bottom;
  }

  /** Starts a new page when `h` points do not fit; returns true when it did. */
  ensure(h: number): boolean {
    if (this.doc.y + h <= this.limit()) return false;
    this.doc.addPage();
    return true;
  }

  gap(h: number): void {
    this.doc.y += h;
  }

  /** Full-width (or indented) paragraph; may flow over pages when longer than one. */
  para(text: string, opts: { font?: string; size?: number; color?: string; indent?: number } = {}): void {
    if (!text) return;
    const indent = opts.indent ?? 0;
    this.doc.font(opts.font ?? FONT.regular).fontSize(opts.size ?? 8.5).fillColor(opts.color ?? INK);
    const h = this.doc.heightOfString(text, { width: CONTENT_WIDTH - indent });
    this.ensure(Math.min(h, 40));
    this.doc.text(text, LEFT + indent, this.doc.y, { width: CONTENT_WIDTH - indent });
  }

  private cellHeight(c: Cell): number {
    if (!c.text) return 0;
    this.doc.font(c.font ?? FONT.regular).fontSize(c.size ?? 8.5);
    return this.doc.heightOfString(c.text, { width: c.width - 4 });
  }

  /** One table row; `onNewPage` redraws the table heading after a page break. */
  row(cells: Cell[], onNewPage?: () => void, pad = 2): void {
    const h = Math.max(...cells.map((c) => this.cellHeight(c))) + pad;
    if (this.ensure(h) && onNewPage) onNewPage();
    const y = this.doc.y;
    let x = LEFT;
    for (const c of cells) {
      if (c.text) {
        this.doc.font(c.font ?? FONT.regular).fontSize(c.size ?? 8.5).fillColor(c.color ?? INK);
        this.doc.text(c.text, x + 2, y, { width: c.width - 4, align: c.align ?? 'left' });
      }
      x += c.width;
    }
    this.doc.y = y + h;
    this.doc.x = LEFT;
  }

  band(text: string, size = 9.5): void {
    this.doc.font(FONT.bold).fontSize(size);
    const h = this.doc.heightOfString(text, { width: CONTENT_WIDTH - 8 }) + 4;
    this.ensure(h + 40); // a heading never ends a page
    const y = this.doc.y;
    this.doc.rect(LEFT, y, CONTENT_WIDTH, h).fill(BAND);
    this.doc.fillColor(INK).text(text, LEFT + 4, y + 2, { width: CONTENT_WIDTH - 8 });
    this.doc.y = y + h + 2;
    this.doc.x = LEFT;
  }

  rule(): void {
    const y = this.doc.y;
    this.doc.lineWidth(0.3).moveTo(LEFT, y).lineTo(LEFT + CONTENT_WIDTH, y).stroke(GREY);
    this.doc.y = y + 1;
  }
}

// Column widths of the results table (sum = content width).
const COL = { name: 178, value: 100, flag: 42, unit: 66, range: CONTENT_WIDTH - 178 - 100 - 42 - 66 };
const ATB = { name: 250, mic: 130, sir: CONTENT_WIDTH - 250 - 130 };
const SIR_LABEL: Record<string, string> = { S: 'S (sensible)', I: 'I (intermédiaire)', R: 'R (résistant)' };

function isAccredited(r: Result, lab: LabProfile): boolean {
  if (r.accredited) return true;
  const codes = [r.code.loinc?.code, r.code.local?.code].filter((c): c is string => !!c);
  return codes.some((c) => lab.accreditedCodes.includes(c));
}

function orgLine(o: Organization): string {
  return [o.name, ...addressLines(o.address)].join(', ');
}

function commentsText(cs: Comment[]): string {
  return cs.map((c) => c.text).filter(Boolean).join('\n');
}

function titleBlock(f: Flow, report: Report): void {
  f.para('Compte rendu d’examens de biologie médicale', { font: FONT.bold, size: 14 });
  if (report.completeness === 'partial') {
    f.para('COMPTE RENDU PARTIEL – des résultats sont en attente et feront l’objet d’un compte rendu complémentaire.', {
      font: FONT.bold,
      size: 9,
      color: ALERT,
    });
  }
  f.gap(4);
}

function firstCollection(report: Report): string | undefined {
  const times = report.requests.flatMap((r) => [r.collectedAt, ...r.specimens.map((s) => s.collectedAt)]).filter((t): t is string => !!t);
  return times.sort()[0];
}

function infoBlock(f: Flow, report: Report, options: RenderOptions): void {
  const p = report.prescriber;
  const recipients: string[] = [];
  if (p) recipients.push(`${professionalName(p)} (prescripteur)${p.mssante ? ` – ${p.mssante}` : ''}`);
  for (const c of report.copiesTo) recipients.push(`${professionalName(c)} (copie)${c.mssante ? ` – ${c.mssante}` : ''}`);
  const rows: Array<[string, string]> = [
    ['Prescripteur', [professionalName(p), p?.id ? `RPPS ${p.id}` : ''].filter(Boolean).join(' – ')],
    ['Établissement', report.prescriberOrganization ? orgLine(report.prescriberOrganization) : ''],
    ['Destinataires', recipients.join('\n')],
    ['N° de demande', report.orderId],
    ['Prélèvement', formatTs(firstCollection(report))],
    ['Réception', formatTs(report.receivedAt)],
    ['Édité le', formatTs(options.effectiveTime)],
  ];
  for (const [label, value] of rows) {
    if (!value) continue;
    f.row([
      { text: `${label} :`, width: 95, color: GREY, size: 8 },
      { text: value, width: CONTENT_WIDTH - 95, size: 8.5 },
    ], undefined, 1);
  }
  if (report.comments.length > 0) {
    f.gap(3);
    f.para(commentsText(report.comments), { size: 8.5 });
  }
  f.gap(6);
}

function specimenLine(s: Specimen): string {
  const what = [s.type?.display || s.type?.code, s.site?.display].filter(Boolean).join(', ');
  const parts = [what ? `Échantillon : ${what}` : 'Échantillon'];
  if (s.id) parts.push(`n° ${s.id}`);
  if (s.collectedAt) parts.push(`prélevé le ${formatTs(s.collectedAt)}`);
  if (s.receivedAt) parts.push(`reçu le ${formatTs(s.receivedAt)}`);
  if (s.rejectReason) parts.push(`NON CONFORME : ${s.rejectReason.display || s.rejectReason.code}`);
  return parts.join(' – ');
}

function tableHeading(f: Flow): void {
  const h = { font: FONT.bold, size: 7.5, color: GREY };
  f.row([
    { text: 'Examen', width: COL.name, ...h },
    { text: 'Résultat', width: COL.value, ...h },
    { text: '', width: COL.flag },
    { text: 'Unité', width: COL.unit, ...h },
    { text: 'Valeurs de référence', width: COL.range, ...h },
  ]);
  f.rule();
}

function resultRows(f: Flow, r: Result, lab: LabProfile, requestPerformer: Request['performer']): void {
  const value = valueText(r.value);
  const long = isLongValue(r.value, value);
  const flag = flagMark(r.flags);
  const status = statusLabel(r.status);
  const notes = [status, r.autoValidated ? 'validation automatique' : ''].filter(Boolean).join(', ');
  const name = `${r.code.text}${isAccredited(r, lab) ? ' *' : ''}${notes ? `\n(${notes})` : ''}`;
  f.row(
    [
      { text: name, width: COL.name },
      { text: long ? '' : value, width: COL.value, font: flag ? FONT.bold : FONT.regular, color: flag ? ALERT : INK },
      { text: flag, width: COL.flag, font: FONT.bold, color: ALERT },
      { text: r.unitText ?? r.unit ?? '', width: COL.unit },
      { text: r.range?.text ?? '', width: COL.range },
    ],
    () => tableHeading(f),
  );
  if (long) f.para(value, { indent: 12, size: 8.5 });
  if (r.performer && r.performer.organization.name !== requestPerformer?.organization.name) {
    f.para(`Réalisé par le laboratoire : ${orgLine(r.performer.organization)}`, { indent: 12, size: 7.5, color: GREY });
  }
  if (r.comments.length > 0) f.para(commentsText(r.comments), { indent: 12, size: 7.5, color: GREY });
}

function antibiogram(f: Flow, iso: Isolate): void {
  f.gap(3);
  f.para(`Germe ${iso.subId} : ${iso.organism.display || iso.organism.code}`, { font: FONT.bold, size: 9 });
  if (iso.susceptibilities.length === 0) return;
  const heading = (): void => {
    const h = { font: FONT.bold, size: 7.5, color: GREY };
    f.row([
      { text: 'Antibiotique', width: ATB.name, ...h },
      { text: 'CMI', width: ATB.mic, ...h },
      { text: 'Interprétation', width: ATB.sir, ...h },
    ]);
    f.rule();
  };
  heading();
  for (const s of iso.susceptibilities) {
    const sir = susceptibility(s);
    const mic = s.value.type === 'CWE' && sir ? '' : [valueText(s.value), s.unitText ?? s.unit].filter(Boolean).join(' ');
    f.row(
      [
        { text: s.code.text, width: ATB.name },
        { text: mic, width: ATB.mic },
        { text: SIR_LABEL[sir] ?? sir, width: ATB.sir, font: FONT.bold, color: sir === 'R' ? ALERT : INK },
      ],
      heading,
    );
    // An NTE on an antibiogram line (e.g. "BLSE non détectée") belongs to the report too.
    if (s.comments.length > 0) f.para(commentsText(s.comments), { indent: 12, size: 7.5, color: GREY });
  }
}

function requestBlock(f: Flow, req: Request, lab: LabProfile): void {
  const status = statusLabel(req.status);
  f.ensure(50);
  f.para(`${req.code.text}${status ? ` (${status})` : ''}`, { font: FONT.bold, size: 9.5 });
  for (const s of req.specimens) {
    f.para(specimenLine(s), { size: 7.5, color: GREY });
    for (const o of s.observations ?? []) {
      const v = [valueText(o.value), o.unitText ?? o.unit].filter(Boolean).join(' ');
      f.para(`${o.code.text} : ${v}`, { size: 7.5, color: GREY, indent: 12 });
    }
  }
  if (req.specimens.length === 0 && req.collectedAt) f.para(`Prélevé le ${formatTs(req.collectedAt)}`, { size: 7.5, color: GREY });
  if (req.performer) {
    f.para(`Examen sous-traité – réalisé par le laboratoire : ${orgLine(req.performer.organization)}`, { font: FONT.bold, size: 7.5 });
  }
  // Antibiogram lines are printed in their isolate's table, not twice.
  const inAntibiogram = new Set((req.isolates ?? []).flatMap((i) => i.susceptibilities.map((s) => s.id)));
  const rows = req.results.filter((r) => !inAntibiogram.has(r.id));
  if (rows.length > 0) {
    f.gap(2);
    tableHeading(f);
    for (const r of rows) resultRows(f, r, lab, req.performer);
  }
  for (const iso of req.isolates ?? []) antibiogram(f, iso);
  if (req.comments.length > 0) f.para(commentsText(req.comments), { size: 8, indent: 4 });
  f.gap(6);
}

/** Chapters in first-seen order, each with its requests in message order. */
function byChapter(report: Report): Array<{ title: string; requests: Request[] }> {
  const chapters = new Map<string, { title: string; requests: Request[] }>();
  for (const req of report.requests) {
    const key = req.chapter.code;
    let ch = chapters.get(key);
    if (!ch) {
      ch = { title: req.chapter.display || req.chapter.code, requests: [] };
      chapters.set(key, ch);
    }
    ch.requests.push(req);
  }
  return [...chapters.values()];
}

function closing(f: Flow, report: Report, lab: LabProfile): void {
  f.ensure(40);
  f.rule();
  f.gap(3);
  const who = professionalName(report.validator);
  if (who || report.validatedAt) {
    const when = report.validatedAt ? ` le ${formatTs(report.validatedAt)}` : '';
    f.para(`Compte rendu validé par ${who || 'le biologiste'}${when}`, { font: FONT.bold, size: 9 });
  }
  const auto = report.autoValidated || report.requests.some((q) => q.results.some((r) => r.autoValidated));
  if (auto) f.para(lab.autoValidationText, { size: 8.5, font: FONT.bold });
  f.para(`Biologiste responsable : ${professionalName(lab.director)}`, { size: 8, color: GREY });
}

export function drawBody(doc: PdfDoc, report: Report, lab: LabProfile, options: RenderOptions): void {
  const f = new Flow(doc);
  doc.x = LEFT;
  titleBlock(f, report);
  infoBlock(f, report, options);
  for (const ch of byChapter(report)) {
    f.band(ch.title);
    for (const req of ch.requests) requestBlock(f, req, lab);
  }
  closing(f, report, lab);
}
