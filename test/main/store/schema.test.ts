import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  APPLICATION_ID,
  migrate,
  MIGRATIONS,
  RunStore,
  SCHEMA_VERSION,
  SchemaError,
  StoreError,
  type Migration,
} from '../../../main/store';
import { newRun, openAt, tempDir } from './helpers';

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const tables = (db: Database.Database) =>
  db
    .prepare<unknown[], string>(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .pluck()
    .all();

describe('opening and migrating the real schema', () => {
  it('creates every table in a new file, marked with the schema version and application id', () => {
    const path = join(tempDir(), 'nested', 'folder', 'runs.db'); // missing folders are created
    const store = openAt(path);
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(store.journalMode).toBe('wal');
    store.close();

    const db = new Database(path);
    expect(tables(db)).toEqual(['artifacts', 'checkpoints', 'metrics', 'runs', 'samples']);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    // journal_mode=WAL is persistent (stored in the file header).
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('reopening a current file applies nothing and keeps the data', () => {
    const path = join(tempDir(), 'runs.db');
    const first = openAt(path);
    const run = first.createRun(newRun());
    first.close();

    const db = new Database(path);
    expect(migrate(db)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    db.close();
    expect(openAt(path).getRun(run.id).name).toBe('moons-condot');
  });

  it('sets the connection PRAGMAs (foreign keys on, synchronous NORMAL, busy timeout)', () => {
    const path = join(tempDir(), 'runs.db');
    const store = openAt(path, { busyTimeoutMs: 1234 });
    // Read through the private connection: these are per-connection settings, invisible from outside.
    const db = (store as unknown as { db: Database.Database }).db;
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // 1 = NORMAL
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
  });
});

// The real schema has one migration, so "an older file" is exercised with a synthetic list: same
// migrator, three versions, the file created at version 1 first.
describe('migrate (synthetic migrations)', () => {
  const v1: Migration = {
    version: 1,
    name: 'notes table',
    up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL) STRICT'),
  };
  const v2: Migration = {
    version: 2,
    name: 'notes.title',
    up: (db) => db.exec(`ALTER TABLE notes ADD COLUMN title TEXT NOT NULL DEFAULT 'untitled'`),
  };
  const v3: Migration = {
    version: 3,
    name: 'rebuild notes with a CHECK',
    // The 12-step table rebuild SQLite recommends for changes ALTER TABLE cannot make.
    up: (db) =>
      db.exec(`
        CREATE TABLE notes_new (id INTEGER PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL CHECK (length(text) > 0)) STRICT;
        INSERT INTO notes_new (id, title, text) SELECT id, title, text FROM notes;
        DROP TABLE notes;
        ALTER TABLE notes_new RENAME TO notes;`),
  };

  function fileAtV1(): string {
    const path = join(tempDir(), 'old.db');
    const db = new Database(path);
    expect(migrate(db, [v1])).toEqual({ from: 0, to: 1, applied: ['notes table'] });
    db.prepare('INSERT INTO notes (text) VALUES (?)').run('kept across migrations');
    db.close();
    return path;
  }

  it('brings a version-1 file to version 3 in order, keeping its rows', () => {
    const db = new Database(fileAtV1());
    expect(migrate(db, [v1, v2, v3])).toEqual({ from: 1, to: 3, applied: ['notes.title', 'rebuild notes with a CHECK'] });
    expect(db.prepare('SELECT id, title, text FROM notes').all()).toEqual([{ id: 1, title: 'untitled', text: 'kept across migrations' }]);
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    db.close();
  });

  it('rolls back a failing migration completely and keeps the previous version', () => {
    const path = fileAtV1();
    const bad: Migration = {
      version: 2,
      name: 'half done',
      up: (db) => {
        db.exec('CREATE TABLE half (x INTEGER) STRICT');
        db.exec('ALTER TABLE notes ADD COLUMN title TEXT');
        throw new Error('disk on fire');
      },
    };
    const db = new Database(path);
    expect(() => migrate(db, [v1, bad, v3])).toThrow(/migration 2 \('half done'\) failed: disk on fire/);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(tables(db)).toEqual(['notes']);
    expect(db.prepare('SELECT * FROM notes').all()).toEqual([{ id: 1, text: 'kept across migrations' }]);
    db.close();
  });

  it('refuses a migration that leaves dangling foreign keys', () => {
    const db = new Database(join(tempDir(), 'fk.db'));
    const parents: Migration = { version: 1, name: 'p', up: (d) => d.exec('CREATE TABLE p (id INTEGER PRIMARY KEY)') };
    const orphan: Migration = {
      version: 2,
      name: 'orphan rows',
      up: (d) => d.exec('CREATE TABLE c (p_id INTEGER REFERENCES p (id)); INSERT INTO c VALUES (7);'),
    };
    expect(() => migrate(db, [parents, orphan])).toThrow(/left 1 dangling foreign keys/);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    db.close();
  });

  it('rejects a list whose versions are not 1, 2, 3 ...', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [v1, v3])).toThrow(StoreError);
    expect(() => migrate(db, [v1, v3])).toThrow(/has version 3; expected 2/);
    db.close();
  });

  it('the real migration list is numbered 1..n', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });
});

describe('files this code must not migrate are refused and left untouched', () => {
  function expectRefusedUntouched(path: string, reason: 'too-new' | 'foreign', message: RegExp) {
    const before = sha(path);
    let error: unknown;
    try {
      RunStore.open(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SchemaError);
    expect((error as SchemaError).reason).toBe(reason);
    expect((error as SchemaError).message).toMatch(message);
    expect(sha(path)).toBe(before);
    // Nothing left beside it either (the connection was closed, WAL files cleaned up or never made).
    expect(existsSync(`${path}-wal`)).toBe(false);
  }

  it('a file from a newer release (rollback-journal mode)', () => {
    const path = join(tempDir(), 'future.db');
    const db = new Database(path);
    db.exec('CREATE TABLE runs (id TEXT PRIMARY KEY, shiny_new_column BLOB)');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    expectRefusedUntouched(path, 'too-new', new RegExp(`schema version ${SCHEMA_VERSION + 5}.*up to version ${SCHEMA_VERSION}`));
  });

  it('a file from a newer release already in WAL mode', () => {
    const path = join(tempDir(), 'future-wal.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE runs (id TEXT PRIMARY KEY)');
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expectRefusedUntouched(path, 'too-new', /newer release/);
  });

  it("another application's database (tables, no version)", () => {
    const path = join(tempDir(), 'other.db');
    const db = new Database(path);
    db.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)');
    db.close();
    expectRefusedUntouched(path, 'foreign', /not .*Flow Studio|no Flow Studio schema version/);
  });

  it('a database stamped with a different application id', () => {
    const path = join(tempDir(), 'other-app.db');
    const db = new Database(path);
    db.pragma('application_id = 12345');
    db.pragma('user_version = 1');
    db.close();
    expectRefusedUntouched(path, 'foreign', /not a Flow Studio database \(application_id 0x3039\)/);
  });
});

describe('migration 2: the owner lease', () => {
  /** A store as release 1 wrote it: schema 1, one run left 'running' by pid `pid`, one queued. */
  function v1File(pid: number): { path: string; running: string; queued: string } {
    const path = join(tempDir(), 'v1.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    migrate(db, MIGRATIONS.slice(0, 1));
    const insert = db.prepare(
      `INSERT INTO runs (id, name, config, status, backend, created_at, updated_at, owner_host, owner_pid) VALUES (?, ?, '{}', ?, 'wasm', 1, 1, ?, ?)`,
    );
    insert.run('01V1RUNNING00000', 'left running', 'running', 'localhost-of-v1', pid);
    insert.run('01V1QUEUED000000', 'queued', 'queued', null, null);
    db.close();
    return { path, running: '01V1RUNNING00000', queued: '01V1QUEUED000000' };
  }

  it("brings a version-1 store to the lease schema, keeping a running row's owner as a legacy lease", () => {
    const { path, running, queued } = v1File(4242);
    const store = openAt(path);
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
    // Another host with no heartbeat on record: nothing proves it gone, so it is not taken over.
    expect(store.getRun(running)).toMatchObject({
      status: 'running',
      ownerPid: 4242,
      owner: { host: 'localhost-of-v1', pid: 4242, heartbeatAt: null, alive: true },
    });
    expect(() => store.renameRun(running, 'x')).toThrow(/being trained by process 4242 on localhost-of-v1/);
    expect(store.getRun(queued)).toMatchObject({ status: 'queued', owner: null, interrupted: false });
  });

  it('a reader that may write the file upgrades a version-1 store once, and reads it', () => {
    const { path, queued } = v1File(4242);
    const reader = RunStore.open(path, { access: 'read' });
    try {
      expect(reader.schemaVersion).toBe(SCHEMA_VERSION);
      expect(reader.listRuns().map((r) => r.id)).toContain(queued);
    } finally {
      reader.close();
    }
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });
});
