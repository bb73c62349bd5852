/** A logger that keeps its records in memory, for tests that assert what operators see. */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../engine/ops/logger';

export interface LogRecord {
  level: string;
  message: string;
  [key: string]: unknown;
}

export function captureLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: LogRecord, _enc, done) {
      records.push({ ...info });
      done();
    },
  });
  const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  return { logger, records };
}
