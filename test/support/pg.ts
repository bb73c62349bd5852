import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

/**
 * The PostgreSQL the tests use: PASSERELLE_TEST_PG_URL, else our machines' trust-auth server,
 * else the role scripts/test-prereqs.sh creates on a fresh Debian. Tests make their own schema.
 */
const CANDIDATES = [
  process.env.PASSERELLE_TEST_PG_URL,
  'postgres://postgres@127.0.0.1:5432/test',
  'postgres://passerelle:passerelle@127.0.0.1:5432/passerelle',
].filter((u): u is string => !!u);

let found: Promise<string> | undefined;

export function testPgUrl(): Promise<string> {
  found ??= (async () => {
    const errors: string[] = [];
    for (const url of CANDIDATES) {
      const c = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      try {
        await c.connect();
        await c.query('select 1');
        return url;
      } catch (e) {
        errors.push(`${url.replace(/:[^:@/]+@/, ':***@')}: ${(e as Error).message}`);
      } finally {
        await c.end().catch(() => undefined);
      }
    }
    throw new Error(`no PostgreSQL for the tests (run scripts/test-prereqs.sh or set PASSERELLE_TEST_PG_URL):\n${errors.join('\n')}`);
  })();
  return found;
}

/** A fresh schema name for one test file's store. */
export function testSchemaName(): string {
  return `psl_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/** Drops a test schema and everything in it. */
export async function dropTestSchema(url: string, schema: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}
