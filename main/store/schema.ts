/**
 * Schema and migrations.
 *
 * The schema version lives in SQLite's header field `user_version` (PRAGMA user_version), which is
 * written inside the same transaction as the migration's DDL: a crash mid-migration leaves the old
 * schema and the old version, never a mix. `application_id` marks the file as Flow Studio's, so the
 * store refuses to "migrate" some other program's database that a user pointed it at.
 *
 * To change the schema, append a migration with the next version; never edit a released one (an
 * older file must reach the same schema as a new one).
 */
import type Database from 'better-sqlite3';
import { SchemaError, StoreError } from './errors';

/** 'FSTD' (Flow STuDio) in the database header's application_id field. */
export const APPLICATION_ID = 0x46535444;

/** One schema step. `up` runs inside a transaction with foreign_keys off (see migrate). */
export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

/**
 * Version 1: the initial schema.
 *
 * Design notes (why, not what):
 * - STRICT tables: SQLite otherwise accepts any type in any column; here a non-integer step or a
 *   string loss is an error at the boundary instead of a surprise in a chart.
 * - Times are INTEGER milliseconds since the epoch (wall_time is REAL: sub-ms precision is free).
 * - metrics is WITHOUT ROWID with primary key (run_id, name, step): the key is the one index every
 *   read uses (a run's series by name, in step order), so the table is stored in that order and no
 *   second copy of each row exists as a separate index. Re-logging a step (a resumed run re-doing steps
 *   after its last checkpoint) replaces the value. `value` is nullable because SQLite stores NaN as
 *   NULL; the store maps NULL back to NaN so a diverged loss stays visible.
 * - checkpoints/samples/artifacts keep their blobs in the LAST columns and their sizes in INTEGER
 *   columns before them: SQLite reads a row's columns in order, so listing metadata never walks a
 *   multi-megabyte blob's overflow pages. AUTOINCREMENT ids are never reused, so a stale id held by
 *   the UI cannot silently name a different checkpoint.
 * - checkpoints has UNIQUE (run_id, step): one checkpoint per step (saving the same step again replaces
 *   it), and the index serves "latest checkpoint of a run" and the cascade on run delete.
 * - parent_run_id uses ON DELETE SET NULL: deleting a reflow parent keeps its children's data.
 * - owner_host/owner_pid record which process set a run running, so a later start can tell a run
 *   orphaned by a crash from one another live process (the CLI, say) is training right now.
 */
const V1_INITIAL = `
CREATE TABLE runs (
  id              TEXT PRIMARY KEY NOT NULL,
  name            TEXT NOT NULL CHECK (length(name) > 0),
  config          TEXT NOT NULL CHECK (json_valid(config) AND json_type(config) = 'object'),
  status          TEXT NOT NULL
                  CHECK (status IN ('queued', 'running', 'paused', 'completed', 'cancelled', 'failed', 'diverged')),
  backend         TEXT NOT NULL,
  backend_version TEXT,
  seed            INTEGER,
  created_at      INTEGER NOT NULL,
  started_at      INTEGER,
  finished_at     INTEGER,
  updated_at      INTEGER NOT NULL,
  parent_run_id   TEXT REFERENCES runs (id) ON DELETE SET NULL,
  step            INTEGER NOT NULL DEFAULT 0 CHECK (step >= 0),
  error           TEXT,
  summary         TEXT CHECK (summary IS NULL OR (json_valid(summary) AND json_type(summary) = 'object')),
  owner_host      TEXT,
  owner_pid       INTEGER
) STRICT;
CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;

CREATE TABLE metrics (
  run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step      INTEGER NOT NULL CHECK (step >= 0),
  name      TEXT NOT NULL,
  value     REAL,
  wall_time REAL NOT NULL,
  PRIMARY KEY (run_id, name, step)
) STRICT, WITHOUT ROWID;

CREATE TABLE checkpoints (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step            INTEGER NOT NULL CHECK (step >= 0),
  created_at      INTEGER NOT NULL,
  is_ema_included INTEGER NOT NULL CHECK (is_ema_included IN (0, 1)),
  model_bytes     INTEGER NOT NULL,
  optimizer_bytes INTEGER,
  ema_bytes       INTEGER,
  meta            TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),
  model           BLOB NOT NULL,
  optimizer       BLOB,
  ema             BLOB,
  UNIQUE (run_id, step),
  CHECK (is_ema_included = (ema IS NOT NULL))
) STRICT;

CREATE TABLE samples (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step       INTEGER NOT NULL CHECK (step >= 0),
  kind       TEXT NOT NULL CHECK (kind IN ('points', 'image-grid', 'trajectory')),
  encoding   TEXT NOT NULL CHECK (encoding IN ('bytes', 'json')),
  bytes      INTEGER NOT NULL,
  meta       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),
  created_at INTEGER NOT NULL,
  -- BLOB when encoding = 'bytes', JSON text when 'json'
  data       ANY NOT NULL,
  CHECK ((encoding = 'bytes') = (typeof(data) = 'blob'))
) STRICT;
CREATE INDEX samples_by_run ON samples (run_id, kind, step);

CREATE TABLE artifacts (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  name       TEXT NOT NULL CHECK (length(name) > 0),
  mime       TEXT NOT NULL,
  bytes      INTEGER NOT NULL,
  meta       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),
  created_at INTEGER NOT NULL,
  data       BLOB NOT NULL
) STRICT;
CREATE INDEX artifacts_by_run ON artifacts (run_id, created_at);
`;

/**
 * Version 2: the owner lease (main/store/owner.ts). owner_host/owner_pid alone could not tell a
 * crashed owner from a live one that shares a pid (worker threads of the web host) or from a later
 * process that reused the pid; the boot id, the process start time and a per-process nonce can, and
 * the heartbeat covers owners on other hosts. A lease is held when owner_nonce is not NULL.
 */
const V2_OWNER_LEASE = `
ALTER TABLE runs ADD COLUMN owner_boot TEXT;
ALTER TABLE runs ADD COLUMN owner_started INTEGER;
ALTER TABLE runs ADD COLUMN owner_nonce TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_at INTEGER;
`;

/** Every migration, in order. The last one's version is the schema version this code writes. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    up(db) {
      db.exec(V1_INITIAL);
      db.pragma(`application_id = ${APPLICATION_ID}`);
    },
  },
  {
    version: 2,
    name: 'owner lease',
    up(db) {
      db.exec(V2_OWNER_LEASE);
      // A v1 row left 'running' keeps its host and pid: the lease rules judge it by those alone.
      db.exec(`UPDATE runs SET owner_nonce = '' WHERE owner_pid IS NOT NULL`);
    },
  },
];

/** The schema version of a database this code fully migrated. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Result of migrate. */
export interface MigrationResult {
  from: number;
  to: number;
  /** Names of the migrations applied, in order (empty when the file was already current). */
  applied: string[];
}

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Refuses, without writing anything, a file this code must not migrate: one with a schema version
 * above `latest` (written by a newer Flow Studio; migrating "down" would lose data) or one that is
 * another application's database. Only reads the header and sqlite_schema, so the file's bytes stay
 * as they were. `name` is the file named in messages (a store read through a snapshot copy passes its
 * file's path).
 */
export function assertCompatible(db: Database.Database, latest: number = SCHEMA_VERSION, name: string = db.name): void {
  const version = userVersion(db);
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== 0 && appId !== APPLICATION_ID) {
    throw new SchemaError(
      'foreign',
      name,
      `${name} is not a Flow Studio database (application_id 0x${(appId >>> 0).toString(16)}); it was left unchanged`,
    );
  }
  if (version > latest) {
    throw new SchemaError(
      'too-new',
      name,
      `${name} has schema version ${version}, but this Flow Studio understands up to version ${latest}: ` +
        'it was written by a newer release. Update Flow Studio to open it; the file was left unchanged.',
    );
  }
  if (version === 0) {
    // A fresh file has no tables. Tables without our version mean somebody else's database.
    const objects = db.prepare<unknown[], number>(`SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'`).pluck().get() ?? 0;
    if (objects > 0) {
      throw new SchemaError(
        'foreign',
        name,
        `${name} already holds ${objects} tables/indexes but no Flow Studio schema version; it was left unchanged`,
      );
    }
  }
}

/**
 * Brings the database to the last migration's version, one transaction per migration.
 *
 * Foreign-key enforcement is switched off while migrating (it cannot change inside a transaction),
 * because a future migration that rebuilds a table (SQLite's way to alter a column) would otherwise
 * cascade-delete child rows when it drops the old table; `PRAGMA foreign_key_check` must come back
 * empty before each migration commits. Each transaction is BEGIN IMMEDIATE and re-reads the version,
 * so two processes opening an old file at once apply each migration exactly once.
 *
 * @throws SchemaError when the file is newer than `migrations` (nothing is written).
 * @throws StoreError when a migration fails; that migration is rolled back, earlier ones stay applied.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): MigrationResult {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new StoreError(`migration ${i} ('${m.name}') has version ${m.version}; expected ${i + 1}`);
  });
  const latest = migrations.length;
  assertCompatible(db, latest);
  const from = userVersion(db);
  const applied: string[] = [];
  if (from === latest) return { from, to: from, applied };

  const fkWasOn = (db.pragma('foreign_keys', { simple: true }) as number) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    for (const m of migrations.slice(from)) {
      const apply = db.transaction(() => {
        if (userVersion(db) !== m.version - 1) return false; // another connection got here first
        try {
          m.up(db);
        } catch (err) {
          throw new StoreError(`migration ${m.version} ('${m.name}') failed: ${(err as Error).message}`);
        }
        const dangling = db.prepare('PRAGMA foreign_key_check').all();
        if (dangling.length > 0) {
          throw new StoreError(`migration ${m.version} ('${m.name}') left ${dangling.length} dangling foreign keys`);
        }
        db.pragma(`user_version = ${m.version}`);
        return true;
      });
      if (apply.immediate()) applied.push(m.name);
    }
  } finally {
    if (fkWasOn) db.pragma('foreign_keys = ON');
  }
  return { from, to: userVersion(db), applied };
}
