/**
 * MLLP transport: byte frames in (MllpServer) and out (MllpClient). Knows nothing about HL7;
 * the channel layer decides what a frame means and builds the ACKs.
 */
export { FrameDecoder, encodeFrame, VT, FS, CR, DEFAULT_MAX_FRAME_BYTES, OVERSIZE_PREFIX_BYTES } from './framing';
export type { DecodedItem, FrameDecoderOptions } from './framing';
export { MllpConnection } from './connection';
export type { MllpConnectionOptions, MllpConnectionHooks } from './connection';
export { MllpServer } from './server';
export type { MllpServerOptions, MllpServerTlsOptions, MllpServerEvents } from './server';
export { MllpClient } from './client';
export type { MllpClientOptions, MllpClientTlsOptions } from './client';
export type { ConnectionInfo, FrameHandler, FrameReply, OversizeHook } from './types';
