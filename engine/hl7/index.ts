/**
 * Public API of the HL7 v2 library. It imports nothing outside engine/hl7 except Node
 * built-ins and iconv-lite, so it can be lifted out as a package.
 */
export { Hl7Error, HL70357, isHl7Error } from './errors';
export type { ErrLocation, Hl7ErrorCode } from './errors';
export { DEFAULT_DELIMITERS, delimitersFrom, encodingCharacters } from './delimiters';
export type { Delimiters } from './delimiters';
export { escape, unescape } from './escape';
export { charsetForMsh18, decode, encode, msh18For, readMsh18 } from './charset';
export type { Charset, Decoded, DecodeOptions, EncodeOptions } from './charset';
export { parseFieldPath, parsePath } from './path';
export type { Hl7Path } from './path';
export { Message } from './message';
export type { Segment } from './message';
export { segmentLeaves } from './leaves';
export type { ValueLeaf } from './leaves';
export { splitBatch } from './batch';
export type { BatchSplit } from './batch';
export { composite, generateControlId, hl7Timestamp, MessageBuilder } from './builder';
export type { MessageBuilderOptions } from './builder';
export { ackCodeFor, ackModeOf, buildAck, buildAckText, formatErl, legacyErrLayout, nakFromRaw, shouldSendAck } from './ack';
export type { AckCode, AckOptions, ErrDetail, Outcome } from './ack';
export { accept } from './acceptance';
export type { Acceptance, AcceptanceProfile } from './acceptance';
export { answerFor, buildOrderResponseText, orderGroups, orderMessageType, placerOf } from './order-response';
export type { OrderAnswer, OrderGroup } from './order-response';
