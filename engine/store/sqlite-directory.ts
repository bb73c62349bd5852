/**
 * The RPPS / MSSanté directory on the SQLite store (SqliteStore delegates here; engine/directory
 * loads it). Every row carries the generation (`gen` = the id of the load that wrote it); the
 * current generation of each kind is one row of `directory_current`, switched in the
 * transaction that finishes a load. The old generation is deleted afterwards in small chunks,
 * so intake never waits long for the write lock.
 */
import type Database from 'better-sqlite3';
import type { DirectoryActivity, DirectoryBatch, DirectoryKind, DirectoryLoad, DirectoryLoadCounts, DirectoryLookup, DirectoryMailbox, DirectoryPerson } from './directory-types';
import { nationalIdCandidates } from './directory-common';

export const DIRECTORY_SCHEMA = `
CREATE TABLE IF NOT EXISTS directory_loads (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind        TEXT    NOT NULL,
  file        TEXT    NOT NULL,
  state       TEXT    NOT NULL,
  lines       INTEGER NOT NULL DEFAULT 0,
  rejected    INTEGER NOT NULL DEFAULT 0,
  inactivated INTEGER NOT NULL DEFAULT 0,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  error       TEXT
);
CREATE TABLE IF NOT EXISTS directory_current (kind TEXT PRIMARY KEY, load_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS directory_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS directory_persons (
  gen INTEGER NOT NULL, id_nat TEXT NOT NULL, id_type TEXT NOT NULL, pp_id TEXT NOT NULL, civility TEXT NOT NULL,
  last_name TEXT NOT NULL, first_name TEXT NOT NULL, profession_code TEXT NOT NULL, profession_label TEXT NOT NULL,
  inactive_since INTEGER,
  PRIMARY KEY (gen, id_nat)
);
CREATE TABLE IF NOT EXISTS directory_activities (
  gen INTEGER NOT NULL, id_nat TEXT NOT NULL, savoir_faire_code TEXT NOT NULL, savoir_faire_label TEXT NOT NULL,
  structure_name TEXT NOT NULL, siret TEXT NOT NULL, finess TEXT NOT NULL, city TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS directory_activities_person ON directory_activities (gen, id_nat);
CREATE TABLE IF NOT EXISTS directory_mailboxes (
  gen INTEGER NOT NULL, address TEXT NOT NULL, bal_type TEXT NOT NULL, id_nat TEXT NOT NULL, pp_id TEXT NOT NULL,
  structure_id TEXT NOT NULL, structure_name TEXT NOT NULL, service TEXT NOT NULL,
  PRIMARY KEY (gen, address, id_nat)
);
CREATE INDEX IF NOT EXISTS directory_mailboxes_person ON directory_mailboxes (gen, id_nat);
`;

const LEASE = 'directory';
const DELETE_CHUNK = 5000;
const TABLES = ['directory_persons', 'directory_activities', 'directory_mailboxes'] as const;

interface LoadRow {
  id: number; kind: DirectoryKind; file: string; state: DirectoryLoad['state']; lines: number; rejected: number; inactivated: number;
  started_at: number; finished_at: number | null; error: string | null;
}
interface PersonRow {
  id_nat: string; id_type: string; pp_id: string; civility: string; last_name: string; first_name: string; profession_code: string; profession_label: string; inactive_since: number | null;
}
interface ActivityRow { id_nat: string; savoir_faire_code: string; savoir_faire_label: string; structure_name: string; siret: string; finess: string; city: string }
interface MailboxRow { address: string; bal_type: string; id_nat: string; pp_id: string; structure_id: string; structure_name: string; service: string }

export function loadOf(r: LoadRow): DirectoryLoad {
  return {
    id: r.id, kind: r.kind, file: r.file, state: r.state, lines: r.lines, rejected: r.rejected, inactivated: r.inactivated, startedAt: new Date(r.started_at),
    ...(r.finished_at !== null ? { finishedAt: new Date(r.finished_at) } : {}), ...(r.error !== null ? { error: r.error } : {}),
  };
}

function prepare(db: Database.Database) {
  return {
    begin: db.prepare<[string, string, number]>(`INSERT INTO directory_loads (kind, file, state, started_at) VALUES (?, ?, 'loading', ?)`),
    person: db.prepare<[number, string, string, string, string, string, string, string, string]>(
      `INSERT OR IGNORE INTO directory_persons (gen, id_nat, id_type, pp_id, civility, last_name, first_name, profession_code, profession_label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    activity: db.prepare<[number, string, string, string, string, string, string, string]>(
      `INSERT INTO directory_activities (gen, id_nat, savoir_faire_code, savoir_faire_label, structure_name, siret, finess, city) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    mailbox: db.prepare<[number, string, string, string, string, string, string, string]>(
      `INSERT OR IGNORE INTO directory_mailboxes (gen, address, bal_type, id_nat, pp_id, structure_id, structure_name, service) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    load: db.prepare<[number], LoadRow>('SELECT * FROM directory_loads WHERE id = ?'),
    loads: db.prepare<[number], LoadRow>('SELECT * FROM directory_loads ORDER BY id DESC LIMIT ?'),
    current: db.prepare<[], { kind: DirectoryKind; load_id: number; finished_at: number }>(
      'SELECT c.kind, c.load_id, l.finished_at FROM directory_current c JOIN directory_loads l ON l.id = c.load_id',
    ),
    currentOf: db.prepare<[string], { load_id: number }>('SELECT load_id FROM directory_current WHERE kind = ?'),
    setCurrent: db.prepare<[string, number]>('INSERT INTO directory_current (kind, load_id) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET load_id = excluded.load_id'),
    carryPersons: db.prepare<[number, number, number, number]>(
      `INSERT INTO directory_persons (gen, id_nat, id_type, pp_id, civility, last_name, first_name, profession_code, profession_label, inactive_since)
       SELECT ?, p.id_nat, p.id_type, p.pp_id, p.civility, p.last_name, p.first_name, p.profession_code, p.profession_label, COALESCE(p.inactive_since, ?)
         FROM directory_persons p WHERE p.gen = ? AND NOT EXISTS (SELECT 1 FROM directory_persons n WHERE n.gen = ? AND n.id_nat = p.id_nat)`,
    ),
    carryActivities: db.prepare<[number, number, number]>(
      `INSERT INTO directory_activities (gen, id_nat, savoir_faire_code, savoir_faire_label, structure_name, siret, finess, city)
       SELECT ?, a.id_nat, a.savoir_faire_code, a.savoir_faire_label, a.structure_name, a.siret, a.finess, a.city
         FROM directory_activities a WHERE a.gen = ? AND a.id_nat IN (SELECT id_nat FROM directory_persons WHERE gen = ? AND inactive_since IS NOT NULL)`,
    ),
    // Carried today: those this load found gone (the others went at an earlier load).
    goneNow: db.prepare<[number, number], { n: number }>('SELECT count(*) AS n FROM directory_persons WHERE gen = ? AND inactive_since = ?'),
    finish: db.prepare<[string, number, number, number, number, string | null, number]>(
      'UPDATE directory_loads SET state = ?, lines = ?, rejected = ?, inactivated = ?, finished_at = ?, error = ? WHERE id = ?',
    ),
    // Generations that may still have rows: every load neither current nor loading (each delete is an indexed range).
    gens: db.prepare<[], { gen: number }>(`SELECT id AS gen FROM directory_loads WHERE state <> 'loading' AND id NOT IN (SELECT load_id FROM directory_current)`),
    abandoned: db.prepare<[number]>(`UPDATE directory_loads SET state = 'failed', error = 'not finished (process stopped)' WHERE state = 'loading' AND id < ?`),
    deleteChunk: Object.fromEntries(
      TABLES.map((t) => [t, db.prepare<[number, number]>(`DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE gen = ? LIMIT ?)`)]),
    ) as Record<(typeof TABLES)[number], Database.Statement<[number, number]>>,
    personGet: db.prepare<[number, string], PersonRow>('SELECT * FROM directory_persons WHERE gen = ? AND id_nat = ?'),
    activitiesOf: db.prepare<[number, string], ActivityRow>('SELECT * FROM directory_activities WHERE gen = ? AND id_nat = ? ORDER BY rowid'),
    mailboxesOf: db.prepare<[number, string], MailboxRow>('SELECT * FROM directory_mailboxes WHERE gen = ? AND id_nat = ? ORDER BY address'),
    lease: db.prepare<[string, string, number, number, string]>(
      `INSERT INTO directory_lease (name, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE directory_lease.expires_at < ? OR directory_lease.holder = ?`,
    ),
    release: db.prepare<[string, string]>('DELETE FROM directory_lease WHERE name = ? AND holder = ?'),
  };
}

type Statements = ReturnType<typeof prepare>;

export class SqliteDirectory {
  private prepared: { db: Database.Database; s: Statements } | undefined;

  constructor(private readonly database: () => Database.Database) {}

  private s(): Statements {
    const db = this.database();
    if (this.prepared?.db !== db) this.prepared = { db, s: prepare(db) };
    return this.prepared.s;
  }

  async directoryBeginLoad(kind: DirectoryKind, file: string): Promise<number> {
    const s = this.s();
    const id = Number(s.begin.run(kind, file, Date.now()).lastInsertRowid);
    // Loads left `loading` by a process that stopped: failed, and their rows go.
    s.abandoned.run(id);
    for (const { gen } of s.gens.all()) if (gen !== id) await this.dropGeneration(gen);
    return id;
  }

  async directoryPutBatch(loadId: number, batch: DirectoryBatch): Promise<void> {
    const s = this.s();
    this.database().transaction(() => {
      for (const p of batch.persons ?? []) s.person.run(loadId, p.idNat, p.idType, p.ppId, p.civility, p.lastName, p.firstName, p.professionCode, p.professionLabel);
      for (const a of batch.activities ?? []) s.activity.run(loadId, a.idNat, a.savoirFaireCode, a.savoirFaireLabel, a.structureName, a.siret, a.finess, a.city);
      for (const m of batch.mailboxes ?? []) s.mailbox.run(loadId, m.address, m.balType, m.idNat, m.ppId, m.structureId, m.structureName, m.service);
    }).immediate();
  }

  async directoryFinishLoad(loadId: number, counts: DirectoryLoadCounts): Promise<DirectoryLoad> {
    const s = this.s();
    const now = Date.now();
    const row = s.load.get(loadId);
    if (!row || row.state !== 'loading') throw new Error(`directory load ${loadId} is not loading`);
    const previous = this.database().transaction(() => {
      const prev = s.currentOf.get(row.kind)?.load_id;
      let inactivated = 0;
      if (prev !== undefined && row.kind === 'persons') {
        if (s.carryPersons.run(loadId, now, prev, loadId).changes > 0) {
          s.carryActivities.run(loadId, prev, loadId);
          inactivated = s.goneNow.get(loadId, now)!.n;
        }
      }
      s.setCurrent.run(row.kind, loadId);
      s.finish.run('done', counts.lines, counts.rejected, inactivated, now, null, loadId);
      return prev;
    }).immediate();
    if (previous !== undefined) await this.dropGeneration(previous);
    return loadOf(s.load.get(loadId)!);
  }

  async directoryFailLoad(loadId: number, error: string, counts: DirectoryLoadCounts): Promise<void> {
    const s = this.s();
    s.finish.run('failed', counts.lines, counts.rejected, 0, Date.now(), error.slice(0, 2000), loadId);
    await this.dropGeneration(loadId);
  }

  async directoryLoads(limit: number): Promise<DirectoryLoad[]> {
    return this.s().loads.all(limit).map(loadOf);
  }

  async directoryLookup(id: string): Promise<DirectoryLookup> {
    const s = this.s();
    const out: DirectoryLookup = { mailboxes: [] };
    for (const c of s.current.all()) out[c.kind] = { loadId: c.load_id, finishedAt: new Date(c.finished_at) };
    for (const idNat of nationalIdCandidates(id)) {
      if (out.persons && !out.entry) {
        const p = s.personGet.get(out.persons.loadId, idNat);
        if (p) out.entry = { ...personOf(p), activities: s.activitiesOf.all(out.persons.loadId, idNat).map(activityOf) };
      }
      if (out.mssante && out.mailboxes.length === 0) out.mailboxes = s.mailboxesOf.all(out.mssante.loadId, idNat).map(mailboxOf);
    }
    return out;
  }

  async directoryLease(holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    return this.s().lease.run(LEASE, holder, now + ttlMs, now, holder).changes === 1;
  }

  async directoryReleaseLease(holder: string): Promise<void> {
    this.s().release.run(LEASE, holder);
  }

  /** Deletes one generation's rows, a chunk per transaction, yielding between chunks. */
  private async dropGeneration(gen: number): Promise<void> {
    for (const t of TABLES) {
      while (this.s().deleteChunk[t].run(gen, DELETE_CHUNK).changes === DELETE_CHUNK) await new Promise((r) => setImmediate(r));
    }
  }
}

function personOf(p: PersonRow): DirectoryPerson & { inactiveSince?: Date } {
  return {
    idNat: p.id_nat, idType: p.id_type, ppId: p.pp_id, civility: p.civility, lastName: p.last_name, firstName: p.first_name, professionCode: p.profession_code, professionLabel: p.profession_label,
    ...(p.inactive_since !== null ? { inactiveSince: new Date(p.inactive_since) } : {}),
  };
}

function activityOf(a: ActivityRow): DirectoryActivity {
  return { idNat: a.id_nat, savoirFaireCode: a.savoir_faire_code, savoirFaireLabel: a.savoir_faire_label, structureName: a.structure_name, siret: a.siret, finess: a.finess, city: a.city };
}

function mailboxOf(m: MailboxRow): DirectoryMailbox {
  return { address: m.address, balType: m.bal_type, idNat: m.id_nat, ppId: m.pp_id, structureId: m.structure_id, structureName: m.structure_name, service: m.service };
}
