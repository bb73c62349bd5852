/**
 * What SqliteStore.init() opens for the store's parts: the main thread's connection and each
 * part's statements, prepared there once. close() drops it; the parts reach it through the
 * store, which refuses once closed or before init().
 */
import type Database from 'better-sqlite3';
import { prepareMessageStatements, type MessageStatements } from './sqlite-messages';
import { prepareSearchStatements, type SearchStatements } from './sqlite-search';
import { prepareStatsStatements, type StatsStatements } from './sqlite-stats';
import { prepareRetentionStatements, type RetentionStatements } from './sqlite-retention';
import { prepareReportStatements, type ReportStatements } from './sqlite-reports';

export interface SqliteHandle {
  readonly db: Database.Database;
  readonly messages: MessageStatements;
  readonly search: SearchStatements;
  readonly stats: StatsStatements;
  readonly retention: RetentionStatements;
  readonly reports: ReportStatements;
}

export function prepareHandle(db: Database.Database): SqliteHandle {
  return {
    db,
    messages: prepareMessageStatements(db),
    search: prepareSearchStatements(db),
    stats: prepareStatsStatements(db),
    retention: prepareRetentionStatements(db),
    reports: prepareReportStatements(db),
  };
}
