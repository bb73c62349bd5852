/**
 * The RPPS / MSSanté directory on the PostgreSQL store (PgStore delegates here); the same
 * generations as sqlite-directory.ts: rows carry the id of the load that wrote them, the current
 * generation of each kind is switched in the transaction that finishes a load, the old one is
 * deleted afterwards in chunks. Batches go as one INSERT … SELECT FROM unnest(arrays).
 */
import type { PoolClient } from 'pg';
import type { DirectoryBatch, DirectoryKind, DirectoryLoad, DirectoryLoadCounts, DirectoryLookup } from './directory-types';
import type { PgContext } from './pg-context';
import { nationalIdCandidates } from './directory-common';

const LEASE = 'directory';
const DELETE_CHUNK = 10_000;

function names(schema: string) {
  const q = `"${schema}"`;
  return {
    loads: `${q}.directory_loads`, current: `${q}.directory_current`, lease: `${q}.directory_lease`,
    persons: `${q}.directory_persons`, activities: `${q}.directory_activities`, mailboxes: `${q}.directory_mailboxes`,
  };
}

/** The directory's tables, created by PgStore.init() (pg-schema.ts) in its transaction. */
export async function applyDirectorySchema(c: PoolClient, schema: string): Promise<void> {
  const t = names(schema);
  await c.query(`
    CREATE TABLE IF NOT EXISTS ${t.loads} (
      id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL, state TEXT NOT NULL,
      lines BIGINT NOT NULL DEFAULT 0, rejected BIGINT NOT NULL DEFAULT 0, inactivated BIGINT NOT NULL DEFAULT 0,
      started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, error TEXT);
    CREATE TABLE IF NOT EXISTS ${t.current} (kind TEXT PRIMARY KEY, load_id BIGINT NOT NULL);
    CREATE TABLE IF NOT EXISTS ${t.lease} (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL);
    CREATE TABLE IF NOT EXISTS ${t.persons} (
      gen BIGINT NOT NULL, id_nat TEXT NOT NULL, id_type TEXT NOT NULL, pp_id TEXT NOT NULL, civility TEXT NOT NULL,
      last_name TEXT NOT NULL, first_name TEXT NOT NULL, profession_code TEXT NOT NULL, profession_label TEXT NOT NULL,
      inactive_since TIMESTAMPTZ, PRIMARY KEY (gen, id_nat));
    CREATE TABLE IF NOT EXISTS ${t.activities} (
      id BIGSERIAL PRIMARY KEY, gen BIGINT NOT NULL, id_nat TEXT NOT NULL, savoir_faire_code TEXT NOT NULL, savoir_faire_label TEXT NOT NULL,
      structure_name TEXT NOT NULL, siret TEXT NOT NULL, finess TEXT NOT NULL, city TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS directory_activities_person ON ${t.activities} (gen, id_nat);
    CREATE TABLE IF NOT EXISTS ${t.mailboxes} (
      gen BIGINT NOT NULL, address TEXT NOT NULL, bal_type TEXT NOT NULL, id_nat TEXT NOT NULL, pp_id TEXT NOT NULL,
      structure_id TEXT NOT NULL, structure_name TEXT NOT NULL, service TEXT NOT NULL, PRIMARY KEY (gen, address, id_nat));
    CREATE INDEX IF NOT EXISTS directory_mailboxes_person ON ${t.mailboxes} (gen, id_nat);`);
}

interface LoadRow {
  id: string; kind: DirectoryKind; file: string; state: DirectoryLoad['state']; lines: string; rejected: string; inactivated: string;
  started_at: Date; finished_at: Date | null; error: string | null;
}

function loadOf(r: LoadRow): DirectoryLoad {
  return {
    id: Number(r.id), kind: r.kind, file: r.file, state: r.state, lines: Number(r.lines), rejected: Number(r.rejected), inactivated: Number(r.inactivated), startedAt: r.started_at,
    ...(r.finished_at ? { finishedAt: r.finished_at } : {}), ...(r.error !== null ? { error: r.error } : {}),
  };
}

/** Column arrays of a batch, for unnest(). */
function columns<T>(rows: readonly T[], pick: ((r: T) => string)[]): string[][] {
  return pick.map((f) => rows.map(f));
}

export class PgDirectory {
  private readonly t: ReturnType<typeof names>;

  constructor(private readonly pg: PgContext) {
    this.t = names(pg.schema);
  }

  async directoryBeginLoad(kind: DirectoryKind, file: string): Promise<number> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<{ id: string }>(`INSERT INTO ${this.t.loads} (kind, file, state, started_at) VALUES ($1, $2, 'loading', now()) RETURNING id`, [kind, file]);
    const id = Number(r.rows[0]!.id);
    await this.pg.pool.query(`UPDATE ${this.t.loads} SET state = 'failed', error = 'not finished (process stopped)' WHERE state = 'loading' AND id < $1`, [id]);
    const gens = await this.pg.pool.query<{ id: string }>(`SELECT id FROM ${this.t.loads} WHERE state <> 'loading' AND id NOT IN (SELECT load_id FROM ${this.t.current})`);
    for (const g of gens.rows) await this.dropGeneration(Number(g.id));
    return id;
  }

  async directoryPutBatch(loadId: number, batch: DirectoryBatch): Promise<void> {
    this.pg.checkReady();
    const t = this.t;
    await this.pg.inTransaction(async (c) => {
      const p = batch.persons ?? [];
      if (p.length > 0) {
        await c.query(
          `INSERT INTO ${t.persons} (gen, id_nat, id_type, pp_id, civility, last_name, first_name, profession_code, profession_label)
           SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) ON CONFLICT DO NOTHING`,
          [loadId, ...columns(p, [(x) => x.idNat, (x) => x.idType, (x) => x.ppId, (x) => x.civility, (x) => x.lastName, (x) => x.firstName, (x) => x.professionCode, (x) => x.professionLabel])],
        );
      }
      const a = batch.activities ?? [];
      if (a.length > 0) {
        await c.query(
          `INSERT INTO ${t.activities} (gen, id_nat, savoir_faire_code, savoir_faire_label, structure_name, siret, finess, city)
           SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
          [loadId, ...columns(a, [(x) => x.idNat, (x) => x.savoirFaireCode, (x) => x.savoirFaireLabel, (x) => x.structureName, (x) => x.siret, (x) => x.finess, (x) => x.city])],
        );
      }
      const m = batch.mailboxes ?? [];
      if (m.length > 0) {
        await c.query(
          `INSERT INTO ${t.mailboxes} (gen, address, bal_type, id_nat, pp_id, structure_id, structure_name, service)
           SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) ON CONFLICT DO NOTHING`,
          [loadId, ...columns(m, [(x) => x.address, (x) => x.balType, (x) => x.idNat, (x) => x.ppId, (x) => x.structureId, (x) => x.structureName, (x) => x.service])],
        );
      }
    });
  }

  async directoryFinishLoad(loadId: number, counts: DirectoryLoadCounts): Promise<DirectoryLoad> {
    this.pg.checkReady();
    const t = this.t;
    const previous = await this.pg.inTransaction(async (c) => {
      // One finisher at a time per kind: the switch reads the current generation then replaces it.
      const row = (await c.query<LoadRow>(`SELECT * FROM ${t.loads} WHERE id = $1 FOR UPDATE`, [loadId])).rows[0];
      if (!row || row.state !== 'loading') throw new Error(`directory load ${loadId} is not loading`);
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`passerelle.directory:${this.pg.schema}:${row.kind}`]);
      const cur = (await c.query<{ load_id: string }>(`SELECT load_id FROM ${t.current} WHERE kind = $1`, [row.kind])).rows[0];
      const prev = cur ? Number(cur.load_id) : undefined;
      let inactivated = 0;
      if (prev !== undefined && row.kind === 'persons') {
        const r = await c.query(
          `INSERT INTO ${t.persons} (gen, id_nat, id_type, pp_id, civility, last_name, first_name, profession_code, profession_label, inactive_since)
           SELECT $1, p.id_nat, p.id_type, p.pp_id, p.civility, p.last_name, p.first_name, p.profession_code, p.profession_label, COALESCE(p.inactive_since, now())
             FROM ${t.persons} p WHERE p.gen = $2 AND NOT EXISTS (SELECT 1 FROM ${t.persons} n WHERE n.gen = $1 AND n.id_nat = p.id_nat)`,
          [loadId, prev],
        );
        if ((r.rowCount ?? 0) > 0) {
          // Gone at this load (now() is the transaction's start); the others went at an earlier one.
          const gone = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.persons} WHERE gen = $1 AND inactive_since = now()`, [loadId]);
          inactivated = Number(gone.rows[0]!.n);
          await c.query(
            `INSERT INTO ${t.activities} (gen, id_nat, savoir_faire_code, savoir_faire_label, structure_name, siret, finess, city)
             SELECT $1, a.id_nat, a.savoir_faire_code, a.savoir_faire_label, a.structure_name, a.siret, a.finess, a.city
               FROM ${t.activities} a WHERE a.gen = $2 AND a.id_nat IN (SELECT id_nat FROM ${t.persons} WHERE gen = $1 AND inactive_since IS NOT NULL) ORDER BY a.id`,
            [loadId, prev],
          );
        }
      }
      await c.query(`INSERT INTO ${t.current} (kind, load_id) VALUES ($1, $2) ON CONFLICT (kind) DO UPDATE SET load_id = excluded.load_id`, [row.kind, loadId]);
      await c.query(`UPDATE ${t.loads} SET state = 'done', lines = $2, rejected = $3, inactivated = $4, finished_at = now() WHERE id = $1`, [loadId, counts.lines, counts.rejected, inactivated]);
      return prev;
    });
    if (previous !== undefined) await this.dropGeneration(previous);
    const r = await this.pg.pool.query<LoadRow>(`SELECT * FROM ${t.loads} WHERE id = $1`, [loadId]);
    return loadOf(r.rows[0]!);
  }

  async directoryFailLoad(loadId: number, error: string, counts: DirectoryLoadCounts): Promise<void> {
    this.pg.checkReady();
    await this.pg.pool.query(`UPDATE ${this.t.loads} SET state = 'failed', lines = $2, rejected = $3, finished_at = now(), error = $4 WHERE id = $1`, [loadId, counts.lines, counts.rejected, error.slice(0, 2000)]);
    await this.dropGeneration(loadId);
  }

  async directoryLoads(limit: number): Promise<DirectoryLoad[]> {
    this.pg.checkReady();
    const r = await this.pg.pool.query<LoadRow>(`SELECT * FROM ${this.t.loads} ORDER BY id DESC LIMIT $1`, [limit]);
    return r.rows.map(loadOf);
  }

  async directoryLookup(id: string): Promise<DirectoryLookup> {
    this.pg.checkReady();
    const t = this.t;
    const out: DirectoryLookup = { mailboxes: [] };
    const cur = await this.pg.pool.query<{ kind: DirectoryKind; load_id: string; finished_at: Date }>(
      `SELECT c.kind, c.load_id, l.finished_at FROM ${t.current} c JOIN ${t.loads} l ON l.id = c.load_id`,
    );
    for (const c of cur.rows) out[c.kind] = { loadId: Number(c.load_id), finishedAt: c.finished_at };
    for (const idNat of nationalIdCandidates(id)) {
      if (out.persons && !out.entry) {
        const p = (await this.pg.pool.query(`SELECT * FROM ${t.persons} WHERE gen = $1 AND id_nat = $2`, [out.persons.loadId, idNat])).rows[0];
        if (p) {
          const acts = await this.pg.pool.query(`SELECT * FROM ${t.activities} WHERE gen = $1 AND id_nat = $2 ORDER BY id`, [out.persons.loadId, idNat]);
          out.entry = {
            idNat: p.id_nat, idType: p.id_type, ppId: p.pp_id, civility: p.civility, lastName: p.last_name, firstName: p.first_name, professionCode: p.profession_code, professionLabel: p.profession_label,
            ...(p.inactive_since ? { inactiveSince: p.inactive_since as Date } : {}),
            activities: acts.rows.map((a) => ({ idNat: a.id_nat, savoirFaireCode: a.savoir_faire_code, savoirFaireLabel: a.savoir_faire_label, structureName: a.structure_name, siret: a.siret, finess: a.finess, city: a.city })),
          };
        }
      }
      if (out.mssante && out.mailboxes.length === 0) {
        const m = await this.pg.pool.query(`SELECT * FROM ${t.mailboxes} WHERE gen = $1 AND id_nat = $2 ORDER BY address`, [out.mssante.loadId, idNat]);
        out.mailboxes = m.rows.map((x) => ({ address: x.address, balType: x.bal_type, idNat: x.id_nat, ppId: x.pp_id, structureId: x.structure_id, structureName: x.structure_name, service: x.service }));
      }
    }
    return out;
  }

  async directoryLease(holder: string, ttlMs: number): Promise<boolean> {
    this.pg.checkReady();
    const r = await this.pg.pool.query(
      `INSERT INTO ${this.t.lease} AS l (name, holder, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at WHERE l.expires_at < now() OR l.holder = $2`,
      [LEASE, holder, ttlMs],
    );
    return r.rowCount === 1;
  }

  async directoryReleaseLease(holder: string): Promise<void> {
    this.pg.checkReady();
    await this.pg.pool.query(`DELETE FROM ${this.t.lease} WHERE name = $1 AND holder = $2`, [LEASE, holder]);
  }

  private async dropGeneration(gen: number): Promise<void> {
    const t = this.t;
    for (const [table, key] of [[t.persons, 'ctid'], [t.activities, 'ctid'], [t.mailboxes, 'ctid']] as const) {
      for (;;) {
        const r = await this.pg.pool.query(`DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE gen = $1 LIMIT ${DELETE_CHUNK})`, [gen]);
        if ((r.rowCount ?? 0) < DELETE_CHUNK) break;
      }
    }
  }
}
