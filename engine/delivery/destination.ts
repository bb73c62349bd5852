import type { Message } from '../hl7';

/** What a destination receives: the (possibly transformed) message, already serialised. */
export interface OutboundMessage {
  /** Store id of the inbound message. */
  id: string;
  /** MSH-10 of the outbound message (kept from the inbound one unless the transform changed it). */
  controlId: string;
  message: Message;
}

/**
 * A place messages go. `deliver` resolves once the effect is done and durable, or throws a
 * PasserelleError whose retry class tells the queue what to do. Delivering the same message
 * twice must have one effect (file: same name; MLLP: same MSH-10 for the peer to dedupe).
 */
export interface Destination {
  readonly name: string;
  /** Resolves to a short, patient-free detail kept with the delivery (file name, ACK code). */
  deliver(out: OutboundMessage): Promise<string>;
  /** Starts what the destination runs on its own (its outbound queues), before the channel consumes. */
  start?(): Promise<void>;
  /** Stops within `drainDeadlineMs`; then close() releases the rest. */
  stop?(drainDeadlineMs: number): Promise<void>;
  close(): Promise<void>;
}
