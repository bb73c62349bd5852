/** Messages between the SQLite store and its writer thread (types only). */
import type { IntakeRow } from './sqlite-intake';

export interface WriterData {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  busyTimeoutMs: number;
}

/** A row without its bytes: they sit in the group's ArrayBuffer at these offsets. */
export type PackedRow = Omit<IntakeRow, 'raw' | 'ack'> & { rawAt: number; rawLength: number; ackAt: number; ackLength: number };

export interface GroupRequest {
  type: 'group';
  group: number;
  rows: PackedRow[];
  bytes: ArrayBuffer;
}

export interface PlainError {
  message: string;
  code?: string;
}

export type PackedOutcome = { dup: { id: string; ack: Uint8Array } | null } | { error: PlainError };

export type GroupReply =
  | { type: 'done'; group: number; outcomes: PackedOutcome[]; fatal?: undefined }
  | { type: 'done'; group: number; fatal: PlainError; outcomes?: undefined };
