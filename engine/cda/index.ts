/** engine/cda: CR-BIO documents (CDA R2 N3 and N1) from the typed lab report. */
export { buildN3, documentMetadata, n3TemplateIds } from './n3';
export type { N3Options, N3Metadata } from './n3';
export { buildN1, N1_TEMPLATE_IDS } from './n1';
export { n3Ids, n1Ids, isValidOid, hashArc } from './ids';
export { interpretationOf, genderOf, PROFESSIONAL_ONLY_COMMENT_TYPES } from './vocab';
