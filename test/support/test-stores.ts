import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../engine/store/sqlite';
import { PgStore } from '../../engine/store/postgres';
import { dropTestSchema, testPgUrl, testSchemaName } from './pg';

/** A store a test file opens for itself, and how to remove what it left. */
export interface TestStore<S> {
  store: S;
  destroy(): Promise<void>;
}

/** An initialised SQLite store in a fresh temporary directory (`tag` names the directory). */
export async function openSqliteTestStore(tag: string): Promise<TestStore<SqliteStore>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), tag));
  const store = new SqliteStore({ path: path.join(dir, 's.db') });
  await store.init();
  return { store, destroy: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** An initialised PostgreSQL store in a fresh schema of the tests' server (test/support/pg.ts). */
export async function openPgTestStore(): Promise<TestStore<PgStore>> {
  const url = await testPgUrl();
  const schema = testSchemaName();
  const store = new PgStore({ connectionString: url, schema, poolSize: 3 });
  await store.init();
  return { store, destroy: () => dropTestSchema(url, schema) };
}
