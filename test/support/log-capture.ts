/** A real winston logger that keeps every record (level, message, metadata) for assertions. */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../engine/runtime/logger';

export interface LogRecord {
  level: string;
  message: string;
  [key: string]: unknown;
}

export function capturingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: LogRecord, _enc, cb) {
      records.push({ ...info });
      cb();
    },
  });
  const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  return { logger, records };
}
