/**
 * What kind of CR-BIO a document is, decided from its templateIds (ans-cda.md §3, §6, §8):
 * - N1 (templateId 1.3.6.1.4.1.19376.1.2.20 or a nonXMLBody) never gets the volet;
 * - the volet version comes from the extension of templateId 1.2.250.1.213.1.1.1.55:
 *   2024.01 → 2024.01; 2021.01 → 2021.01; 2023.01 (withdrawn) → 2024.01 with a warning;
 *   no extension → 2021.01, EXCEPT when the 2024.01-only FR-Document-PDF-copie section is present
 *   (ANS's own 2024.01 TSH examples carry no extension): then 2024.01 with an info finding.
 * Auto-présentable files (root xsl:stylesheet carrying data:Contenu/ClinicalDocument) are reduced
 * to the embedded ClinicalDocument first, like ANS's selectCDA.xsl: otherwise the XSD would accept
 * the wrapper and absolute-path rules would never fire.
 */
import { NODE, parseXml, serializeNode, SxNode } from './saxon';
import type { Finding } from './types';

const HL7 = 'urn:hl7-org:v3';
const XSL = 'http://www.w3.org/1999/XSL/Transform';
const N1_TEMPLATE = '1.3.6.1.4.1.19376.1.2.20';
const VOLET_TEMPLATE = '1.2.250.1.213.1.1.1.55';
const PDF_COPY_SECTION = '1.2.250.1.213.1.1.2.243';

export interface PreparedDocument {
  /** the text actually validated (the extracted ClinicalDocument for auto-présentables) */
  xml: string;
  doc: SxNode;
  level: 'N1' | 'N3';
  voletVersion?: '2024.01' | '2021.01';
  extracted: boolean;
  notes: Finding[];
}

export function prepareDocument(input: string | Buffer): PreparedDocument {
  let xml = typeof input === 'string' ? input : input.toString('utf8');
  let doc = parseXml(xml);
  let extracted = false;
  const root = doc.documentElement;
  if (root && root.namespaceURI === XSL) {
    const cda = findFirst(root, (e) => e.localName === 'ClinicalDocument' && e.namespaceURI === HL7);
    if (cda) {
      xml = serializeNode(cda);
      doc = parseXml(xml);
      extracted = true;
    }
  }
  const notes: Finding[] = [];
  const cdaRoot = doc.documentElement;
  const templates = cdaRoot ? childElements(cdaRoot, 'templateId') : [];
  const hasNonXmlBody = cdaRoot ? childElements(cdaRoot, 'component').some((c) => childElements(c, 'nonXMLBody').length > 0) : false;
  const isN1 = hasNonXmlBody || templates.some((t) => t.getAttribute?.('root') === N1_TEMPLATE);
  if (isN1) return { xml, doc, level: 'N1', extracted, notes };
  const volet = templates.find((t) => t.getAttribute?.('root') === VOLET_TEMPLATE);
  const ext = volet?.getAttribute?.('extension') ?? '';
  let voletVersion: '2024.01' | '2021.01';
  if (ext === '2024.01') voletVersion = '2024.01';
  else if (ext === '2023.01') {
    voletVersion = '2024.01';
    notes.push({
      ruleSet: 'volet-2024.01',
      severity: 'warning',
      kind: 'engine',
      location: '/ClinicalDocument/templateId',
      text: `CR-BIO 2023.01 was withdrawn by ANS: the document is checked against the 2024.01 volet`,
    });
  } else if (!ext && cdaRoot && hasPdfCopySection(cdaRoot)) {
    // No extension, but the FR-Document-PDF-copie section exists: it is mandatory in 2024.01 and
    // rejected by the 2021.01 volet, so this is a 2024.01 document (the ANS TSH examples are).
    voletVersion = '2024.01';
    notes.push({
      ruleSet: 'volet-2024.01',
      severity: 'info',
      kind: 'engine',
      location: '/ClinicalDocument/templateId',
      text: `templateId ${VOLET_TEMPLATE} has no extension; FR-Document-PDF-copie section present: checked against the 2024.01 volet`,
    });
  } else {
    voletVersion = '2021.01';
    if (ext && ext !== '2021.01') {
      notes.push({
        ruleSet: 'volet-2021.01',
        severity: 'warning',
        kind: 'engine',
        location: '/ClinicalDocument/templateId',
        text: `unknown CR-BIO volet version '${ext}': checked against the 2021.01 volet`,
      });
    }
  }
  return { xml, doc, level: 'N3', voletVersion, extracted, notes };
}

/** A section carrying templateId 1.2.250.1.213.1.1.2.243 (FR-Document-PDF-copie) anywhere in the body. */
function hasPdfCopySection(root: SxNode): boolean {
  return (
    findFirst(root, (e) => {
      if (e.localName !== 'section' || e.namespaceURI !== HL7) return false;
      return childElements(e, 'templateId').some((t) => t.getAttribute?.('root') === PDF_COPY_SECTION);
    }) !== null
  );
}

function childElements(el: SxNode, local: string): SxNode[] {
  const out: SxNode[] = [];
  const cn = el.childNodes;
  for (let i = 0; i < cn.length; i++) {
    const c = cn[i];
    if (c.nodeType === NODE.ELEMENT && c.localName === local && c.namespaceURI === HL7) out.push(c);
  }
  return out;
}

function findFirst(el: SxNode, pred: (e: SxNode) => boolean): SxNode | null {
  const queue: SxNode[] = [el];
  for (let qi = 0; qi < queue.length; qi++) {
    const e = queue[qi];
    if (pred(e)) return e;
    const cn = e.childNodes;
    for (let i = 0; i < cn.length; i++) if (cn[i].nodeType === NODE.ELEMENT) queue.push(cn[i]);
  }
  return null;
}
