/**
 * Public API of engine/lab: the report model, HL7 → report, INS rules and the mapping files.
 * engine/lab imports only engine/hl7, engine/errors and engine/config helpers.
 */
export type * from './report';
export type * from './profile';
export { reportFromMessage } from './from-hl7';
export type { ReportOptions } from './from-hl7';
export { INS_C_OID, INS_OIDS, isQualifiedIdentity, isValidIns, nirKey, qualifyIns } from './ins';
export type { InsDecision, QualifyOptions, ReceivedIns } from './ins';
export { chapterFor, defaultMappingFile, loadChapterMap, loadUnitMap, ucumFor } from './mappings';
export type { ChapterMap, Transcoding, UnitMap } from './mappings';
export { ORGANISM_CODES, groupIsolates } from './isolates';
export { hl7Lines, hl7Text } from './hl7-text';
export { parseRange } from './values';
export { fromWireJson, toWireJson } from './wire-json';
