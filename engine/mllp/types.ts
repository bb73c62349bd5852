/**
 * Types shared by the MLLP server and its connections. Nothing here knows about HL7.
 */

/** Who is on the other end of an inbound connection. */
export interface ConnectionInfo {
  /** Unique within the process (`mllp-<n>`); stable for the life of the connection. */
  id: string;
  remoteAddress: string;
  remotePort: number;
  /** True when the connection came through TLS. */
  tls: boolean;
  /** Subject of the verified client certificate (mutual TLS), as `CN=…, O=…`. */
  peerCertificateSubject?: string;
}

/**
 * Called once per received frame. Resolves to the response payload (the server adds the
 * framing) or `null` for no response. A rejection closes that connection without a response,
 * so the sender resends: never resolve before the frame is safe (durably stored).
 */
export type FrameHandler = (payload: Buffer, conn: ConnectionInfo) => Promise<Buffer | null | FrameReply>;

/** A response after which the connection is closed (a sender the handler sheds, e.g. a NAK flood). */
export interface FrameReply {
  response: Buffer | null;
  close: true;
}

/**
 * Called when a frame passes the maximum size; `prefix` is the first ≤ 4 KB of its payload.
 * Returns the response to write before the connection closes (a channel passes a NAK built from
 * MSH), or `null`.
 */
export type OversizeHook = (prefix: Buffer, conn: ConnectionInfo) => Buffer | null;
