/**
 * Opening a run store file safely: find out what the file is before anything writes to it, and pick
 * a connection that writes nothing when the caller only reads.
 *
 * Order of checks (each refuses with a StoreFileError naming the file and what to do):
 * 1. the path: a folder -> 'folder'; a folder on the way we may not enter -> 'permission'; absent ->
 *    'missing' for readers, created (with its folders) for writers;
 * 2. the first 16 bytes: "SQLite format 3\0", or an empty file (SQLite's way of saying "new
 *    database"); anything else -> 'not-a-database', without SQLite ever opening it;
 * 3. for writers, write permission on the file and on its folder (SQLite creates the -wal and -shm
 *    files beside it) -> 'read-only';
 * 4. on the opened connection, before any statement that writes: assertCompatible (schema.ts), then
 *    PRAGMA quick_check -> 'damaged' with the first problems. SQLITE_NOTADB / SQLITE_CORRUPT met on the
 *    way mean the same.
 *
 * How much quick_check reads depends on the access. It reads every page of the file, which on a large
 * store costs seconds per gigabyte (bench/store-check.ts measures it), too much for every `runs list`.
 * - 'write': the whole file. A write into a damaged file can spread the damage (a broken free list
 *   hands out a page that is still in use), so nothing writes before every page was checked.
 * - 'read': sqlite_schema and the runs table only (every read starts there). Reading cannot spread
 *   damage, SQLite checks the structure of every page it reads as quick_check would (more closely with
 *   cell_size_check on), and a damaged page met later fails that read with SQLITE_CORRUPT, which the
 *   store reports as 'damaged' naming the file: a reader gets nothing from a page the full check would
 *   have flagged; it learns of the damage when it reaches it. Workers of a host that already verified
 *   the file pass verify: false.
 *
 * Connections for readers ('read'):
 * - the process may write the file and its folder (and is not root looking at another user's file):
 *   a normal connection, used only to read. SQLite removes its -wal/-shm files when the last
 *   connection closes, as for any connection.
 * - otherwise, when the -wal and -shm files exist (another process has the store open, or left them):
 *   a readonly connection; it creates no file (a readonly connection creates missing -wal/-shm files
 *   and leaves them behind, which is why it is not used when they are absent).
 * - otherwise a snapshot: a private copy of the file (and of its WAL, if that holds frames) in a new
 *   folder under the temporary folder, removed on close (openSnapshot). It costs a copy of the file,
 *   and is what makes a read-only folder, a read-only medium or another user's store readable
 *   without a trace beside it.
 * A store whose schema is older than this code's needs migrating before this code can read it. A
 * reader that may write the file upgrades it once, as a writer would (after checking every page);
 * one that may not reads it through a snapshot, migrating the copy. An empty file (a new store) is
 * never given a schema by a reader.
 *
 * Root: a writer running as root on another user's store works, and every file it creates (the store,
 * its folders, backups) is given to that user. SQLite itself gives the -wal and -shm files it creates
 * as root to the owner of the database file.
 */
import {
  accessSync,
  chownSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StoreFileError, StoreRuntimeError } from './errors';
import { assertCompatible, SCHEMA_VERSION } from './schema';
import { notADatabaseError, permissionError, readOnlyError, translateSqliteError, whoAmI, damagedError } from './sqlite-errors';

/** What a RunStore is opened for: 'write' (the default) may change the file; 'read' does not (but for upgrading an older store it may write, once). */
export type StoreAccess = 'write' | 'read';

/** How the open store reaches the file; see the file comment. */
export type StoreConnection = 'read-write' | 'read-only' | 'snapshot';

/** The first 16 bytes of every SQLite database file. */
export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Problems quick_check reports at most (it stops after this many). */
const MAX_PROBLEMS = 10;

export interface OpenFileOptions {
  access: StoreAccess;
  /** Run PRAGMA quick_check (on every page for 'write', on the runs table for 'read'). */
  verify: boolean;
  /** For 'write': create the file (and its folders) when absent. Readers never create. */
  create: boolean;
  busyTimeoutMs: number;
}

export interface OpenedFile extends Released {
  connection: StoreConnection;
  /** True when this call created the file. */
  created: boolean;
  /** True when the caller must migrate the file (a reader upgrading an older store it may write). */
  migrate: boolean;
}

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** True when this process may write `path` (file or folder). Root passes unless the medium is read-only. */
export function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when the process runs as root (effective uid 0; never on Windows). */
export function isRoot(): boolean {
  return process.geteuid?.() === 0;
}

/**
 * When running as root, gives `created` to the owner of `like` (a file or folder owned by a regular
 * user), so that `sudo flow-studio ...` on a user's data folder leaves nothing that user cannot
 * change or delete. Best effort: a filesystem without owners (FAT) just keeps root's.
 */
export function adoptOwner(created: string, like: string): void {
  if (!isRoot()) return;
  try {
    const owner = statSync(like);
    if (owner.uid !== 0) chownSync(created, owner.uid, owner.gid);
  } catch {
    // nothing to adopt from, or a filesystem without ownership
  }
}

/** The first folder on the way to `path` this process may not enter, or null. */
function blockedFolder(path: string): string | null {
  const parts: string[] = [];
  for (let d = dirname(resolve(path)); ; d = dirname(d)) {
    parts.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of parts) {
    try {
      accessSync(d, constants.X_OK);
    } catch (e) {
      if (errnoOf(e) === 'EACCES' || errnoOf(e) === 'EPERM') return d;
      return null;
    }
  }
  return null;
}

/** The error for a path with no file (readers, and writers told not to create). */
export function missingError(path: string): StoreFileError {
  return new StoreFileError(
    'missing',
    path,
    `there is no run store at ${path} (train a run first, or point --db / FLOW_STUDIO_HOME at one)`,
  );
}

/** stat of the store path, or null when there is none. @throws StoreFileError (permission, missing) */
function statStore(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT') return null;
    if (code === 'EACCES' || code === 'EPERM') {
      const folder = blockedFolder(path) ?? dirname(path);
      throw permissionError(path, `${whoAmI()} cannot open the folder ${folder}, so it cannot tell whether a run store is there`, e);
    }
    if (code === 'ENOTDIR') {
      throw new StoreFileError(
        'missing',
        path,
        `${path}: a part of this path is a file, not a folder; point --db (or FLOW_STUDIO_HOME) at a folder that holds the run store`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** Creates `dir` and missing parents; as root, each new folder gets its parent's owner. */
function ensureFolder(path: string, dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  try {
    for (const d of missing) {
      mkdirSync(d);
      adoptOwner(d, dirname(d));
    }
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'EACCES' || code === 'EPERM') throw permissionError(path, `${whoAmI()} cannot create the folder ${dir}`, e);
    if (code === 'EROFS') throw readOnlyError(path, `the folder ${dir} cannot be created on a read-only filesystem`, e);
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      throw new StoreFileError(
        'missing',
        path,
        `${path}: cannot create the folder ${dir}: a file is in the way; point --db (or FLOW_STUDIO_HOME) elsewhere`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** Up to the first 100 bytes (the SQLite header) of the file. @throws StoreFileError (permission) */
function readHeader(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if (errnoOf(e) === 'EACCES' || errnoOf(e) === 'EPERM') throw permissionError(path, `${whoAmI()} cannot read the file`, e);
    throw e;
  }
  try {
    const buf = Buffer.alloc(100);
    return buf.subarray(0, readSync(fd, buf, 0, 100, 0));
  } finally {
    closeSync(fd);
  }
}

/** Whether the header's first 16 bytes are SQLite's magic string. */
function isSqliteHeader(header: Buffer): boolean {
  return header.length >= SQLITE_MAGIC.length && header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC);
}

function connect(path: string, options: Database.Options, busyTimeoutMs: number): Database.Database {
  try {
    return new Database(path, { ...options, timeout: busyTimeoutMs });
  } catch (e) {
    throw translateSqliteError(e, path, busyTimeoutMs);
  }
}

/** Problems PRAGMA quick_check reports (empty when it says 'ok'), for the whole file or one table. */
export function quickCheck(db: Database.Database, table?: string): string[] {
  const sql = table ? `PRAGMA quick_check("${table.replace(/"/g, '""')}")` : `PRAGMA quick_check(${MAX_PROBLEMS})`;
  const rows = db.prepare<unknown[], string>(sql).pluck().all();
  if (rows.length === 1 && rows[0] === 'ok') return [];
  // A row may hold several problems, one per line, under a "*** in database main ***" heading.
  return nameTrees(
    db,
    rows.flatMap((r) => r.split('\n')).filter((line) => line.trim() !== '' && !line.startsWith('*** in database')),
  );
}

/** "Tree 5 page 896: ..." names a b-tree by its root page: adds which table or index that is. */
export function nameTrees(db: Database.Database, problems: string[]): string[] {
  let roots = new Map<number, string>();
  try {
    roots = new Map(
      db
        .prepare<unknown[], { rootpage: number; name: string }>('SELECT rootpage, name FROM sqlite_schema WHERE rootpage > 0')
        .all()
        .map((r) => [r.rootpage, r.name]),
    );
  } catch {
    // the schema itself is unreadable: keep the page numbers
  }
  return problems.map((p) =>
    p.replace(/^Tree (\d+) /, (m, root: string) => (roots.has(Number(root)) ? `Tree ${root} (${roots.get(Number(root))}) ` : m)),
  );
}

/** The checks on an opened connection, before anything writes. See the file comment. */
function check(db: Database.Database, path: string, options: OpenFileOptions, full: boolean): void {
  db.pragma('cell_size_check = ON');
  assertCompatible(db, SCHEMA_VERSION, path);
  if (!options.verify) return;
  let problems: string[];
  if (full) {
    problems = quickCheck(db);
  } else {
    problems = quickCheck(db, 'sqlite_schema');
    const hasRuns = db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'runs'`).get() !== undefined;
    if (problems.length === 0 && hasRuns) problems = quickCheck(db, 'runs');
  }
  if (problems.length > 0) throw damagedError(path, problems);
}

interface FileState {
  size: number;
  mtimeMs: number;
  ino: number;
  walSize: number | null;
}

function fileState(path: string): FileState {
  const st = statSync(path);
  let walSize: number | null = null;
  try {
    walSize = statSync(`${path}-wal`).size;
  } catch {
    // no WAL file
  }
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, walSize };
}

const sameState = (a: FileState, b: FileState): boolean =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.walSize === b.walSize;

/** Folders of private snapshot copies: `flow-studio-snapshot-<pid>-XXXXXX` in the temporary folder. */
const SNAPSHOT_PREFIX = 'flow-studio-snapshot-';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
}

/**
 * Removes snapshot copies left by processes that died before closing them (a SIGKILL). Only copies
 * older than an hour: a pid from another pid namespace sharing the temporary folder may look dead.
 */
function removeStaleSnapshots(): void {
  try {
    for (const name of readdirSync(tmpdir())) {
      const m = /^flow-studio-snapshot-(\d+)-/.exec(name);
      if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
      const dir = join(tmpdir(), name);
      if (Date.now() - statSync(dir).mtimeMs > 60 * 60 * 1000) rmSync(dir, { recursive: true, force: true });
    }
  } catch {
    // another user's copy, or one removed meanwhile: not ours to clean
  }
}

/** A database connection and how to let it go (close it and remove what it needed). */
export interface Released {
  db: Database.Database;
  release(): void;
}

/**
 * A private snapshot of the store (see the file comment): the file, and its -wal when that holds
 * frames, copied into a new folder under the temporary folder and opened there as a normal database
 * (SQLite replays the WAL into the copy; a reader that migrates migrates the copy). `release` closes
 * it and removes the folder. The copy is made while nothing changes the file: its size, mtime, inode
 * and WAL size must be the same before and after, else it is copied again (a writer was
 * checkpointing), up to three times.
 *
 * Why a copy on disk rather than `new Database(buffer)`: an in-memory database costs twice the file's
 * size in fresh memory (the read buffer, and SQLite's own copy), and first-touching that memory is
 * slow on some virtual machines (bench/store-check.ts); the kernel copies a file without it.
 */
export function openSnapshot(path: string, busyTimeoutMs: number): Released {
  removeStaleSnapshots();
  for (let attempt = 1; ; attempt++) {
    const before = fileState(path);
    const dir = mkdtempSync(join(tmpdir(), `${SNAPSHOT_PREFIX}${process.pid}-`));
    const remove = () => rmSync(dir, { recursive: true, force: true });
    try {
      const copy = join(dir, basename(path));
      copyFileSync(path, copy);
      if (before.walSize) copyFileSync(`${path}-wal`, `${copy}-wal`);
      if (sameState(before, fileState(path))) {
        const db = connect(copy, { fileMustExist: true }, busyTimeoutMs);
        return {
          db,
          release: () => {
            try {
              db.close();
            } finally {
              remove();
            }
          },
        };
      }
    } catch (e) {
      remove();
      throw translateSqliteError(e, path, busyTimeoutMs);
    }
    remove();
    if (attempt === 3) {
      throw new StoreRuntimeError(
        'busy',
        path,
        'SQLITE_BUSY',
        `${path}: the file kept changing while it was copied (another process is writing to it); try again`,
      );
    }
  }
}

/**
 * Opens the run store file at `path` for `options.access` after the checks in the file comment.
 * The caller owns the connection (and sets its PRAGMAs, migrates when writing).
 * @throws StoreFileError, SchemaError, StoreRuntimeError
 */
export function openStoreFile(path: string, options: OpenFileOptions): OpenedFile {
  const { access, busyTimeoutMs } = options;
  const dir = dirname(path);
  const st = statStore(path);
  if (st === null) {
    if (access === 'read' || !options.create) throw missingError(path);
    ensureFolder(path, dir);
    if (!canWrite(dir)) throw readOnlyError(path, `its folder ${dir} is read-only for ${whoAmI()}, so no run store can be created there`);
    const db = connect(path, {}, busyTimeoutMs);
    adoptOwner(path, dir);
    return { db, release: () => db.close(), connection: 'read-write', created: true, migrate: true };
  }
  if (st.isDirectory()) {
    throw new StoreFileError(
      'folder',
      path,
      `${path} is a folder, not a run store file: give the file, e.g. --db ${join(path, 'flow-studio.db')}, or set FLOW_STUDIO_HOME=${path}`,
    );
  }
  if (!st.isFile()) throw notADatabaseError(path, 'it is not a regular file');
  const header = readHeader(path);
  const empty = header.length === 0;
  if (!empty && !isSqliteHeader(header)) {
    throw notADatabaseError(
      path,
      header.length < SQLITE_MAGIC.length
        ? `it is only ${st.size} bytes long`
        : `its first bytes are not the SQLite header "SQLite format 3"`,
    );
  }

  let db: Database.Database;
  let release = (): void => {
    db.close();
  };
  let connection: StoreConnection;
  if (access === 'write') {
    if (!canWrite(path)) throw readOnlyError(path, `the file is read-only for ${whoAmI()}`);
    if (!canWrite(dir))
      throw readOnlyError(
        path,
        `its folder ${dir} is read-only for ${whoAmI()} (SQLite writes its journal, ${basename(path)}-wal, beside the file)`,
      );
    db = connect(path, { fileMustExist: true }, busyTimeoutMs);
    connection = 'read-write';
  } else if (!empty && canWrite(path) && canWrite(dir) && !(isRoot() && st.uid !== 0)) {
    db = connect(path, { fileMustExist: true }, busyTimeoutMs);
    connection = 'read-write';
  } else if (!empty && existsSync(`${path}-wal`) && existsSync(`${path}-shm`)) {
    db = connect(path, { readonly: true, fileMustExist: true }, busyTimeoutMs);
    connection = 'read-only';
  } else {
    ({ db, release } = openSnapshot(path, busyTimeoutMs));
    connection = 'snapshot';
  }
  try {
    check(db, path, options, access === 'write');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (access === 'read' && connection !== 'snapshot' && version < SCHEMA_VERSION) {
      if (connection === 'read-write' && version > 0) {
        // An older store this process may write: upgrade it once, checked like a writer's.
        const problems = options.verify ? quickCheck(db) : [];
        if (problems.length > 0) throw damagedError(path, problems);
        return { db, release, connection, created: false, migrate: true };
      }
      release();
      ({ db, release } = openSnapshot(path, busyTimeoutMs));
      connection = 'snapshot';
      check(db, path, { ...options, verify: false }, false);
    }
    return { db, release, connection, created: false, migrate: access === 'write' || connection === 'snapshot' };
  } catch (e) {
    release();
    throw translateSqliteError(e, path, busyTimeoutMs);
  }
}
