/**
 * SQLite's errors in the user's words. SQLite says "database disk image is malformed" or "database
 * is locked" without saying which file or what to do; the store's errors start with the file's path,
 * say what happened, and (for problems with the file itself) what the user can do about it.
 *
 * translateSqliteError maps one error; translateStoreErrors wraps every method of a class (RunStore)
 * so that no SQLite error leaves the store untranslated, including methods added later.
 */
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreFileError, StoreRuntimeError } from './errors';

/** A path as a shell argument: bare when it is plain, else single-quoted. */
export function shellQuote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/** "this user (alice, uid 1000)", for permission messages; the name is left out when unknown. */
export function whoAmI(): string {
  const uid = process.getuid?.();
  if (uid === undefined) return 'this user';
  let name: string | null = null;
  try {
    name = userInfo().username;
  } catch {
    // a uid without a passwd entry (containers, nobody) has no name
  }
  return `this user (${name ? `${name}, ` : ''}uid ${uid})`;
}

/** What to do with a damaged store: the doctor command that copies out what can be read. */
export function recoverHint(path: string): string {
  return `run 'flow-studio doctor --recover --db ${shellQuote(path)}' to copy what can still be read into a new store beside it (the damaged file is kept as it is)`;
}

/** The error for a file that fails PRAGMA quick_check (or whose pages SQLite finds damaged). */
export function damagedError(path: string, problems: readonly string[], cause?: unknown): StoreFileError {
  const first = problems.slice(0, 3).join('; ');
  const more = problems.length > 3 ? ` (${problems.length - 3} more listed by 'flow-studio doctor')` : '';
  return new StoreFileError(
    'damaged',
    path,
    `${path} is damaged: ${first}${more}. It was left unchanged; ${recoverHint(path)}, or restore a backup (see 'flow-studio doctor')`,
    { problems, ...(cause !== undefined ? { cause } : {}) },
  );
}

/** The error for a file that is not a SQLite database at all. */
export function notADatabaseError(path: string, why: string, cause?: unknown): StoreFileError {
  return new StoreFileError(
    'not-a-database',
    path,
    `${path} is not a Flow Studio run store: ${why}. It was left unchanged; point --db (or FLOW_STUDIO_HOME) at a run store, ` +
      `or move this file away to start a new store there`,
    cause !== undefined ? { cause } : {},
  );
}

/** The error for a store this process may read but must not change. */
export function readOnlyError(path: string, what: string, cause?: unknown): StoreFileError {
  return new StoreFileError(
    'read-only',
    path,
    `${path}: ${what}, so this command cannot change the run store. Commands that only read it (runs list, sample ...) still work; ` +
      `to train or change runs, give ${whoAmI()} write access, or copy the file to a writable folder and pass --db COPY`,
    cause !== undefined ? { cause } : {},
  );
}

/** The error for a file or folder this process may not read. */
export function permissionError(path: string, what: string, cause?: unknown): StoreFileError {
  return new StoreFileError(
    'permission',
    path,
    `${path}: permission denied: ${what}. Fix the permissions (ls -ld), or run as the user who owns the run store`,
    cause !== undefined ? { cause } : {},
  );
}

/** The SQLite code of an error thrown by better-sqlite3, or null for any other error. */
export function sqliteCode(e: unknown): string | null {
  return e instanceof Database.SqliteError && typeof e.code === 'string' ? e.code : null;
}

/**
 * The store error for `e` when it is a SQLite error, else `e` itself (the store's own errors and
 * plain bugs pass through unchanged).
 *
 * Mapping: CORRUPT -> damaged, NOTADB -> not-a-database, READONLY_DBMOVED -> missing (the file was
 * moved or deleted while open), other READONLY -> read-only, PERM/AUTH -> permission: these are
 * StoreFileErrors (a problem with the file the user can act on). FULL -> disk-full, BUSY/LOCKED ->
 * busy, IOERR/CANTOPEN -> io, anything else -> sqlite: StoreRuntimeErrors.
 */
export function translateSqliteError(e: unknown, path: string, busyTimeoutMs: number): unknown {
  const code = sqliteCode(e);
  if (code === null) return e;
  const detail = `${code}: ${(e as Error).message}`;
  if (code.startsWith('SQLITE_CORRUPT')) return damagedError(path, [`SQLite found a damaged page while reading it (${detail})`], e);
  if (code === 'SQLITE_NOTADB')
    return notADatabaseError(
      path,
      `SQLite cannot read it as a database (${detail}); if it was a run store, its header is damaged: ${recoverHint(path)}`,
      e,
    );
  if (code === 'SQLITE_READONLY_DBMOVED') {
    return new StoreFileError(
      'missing',
      path,
      `${path} was moved or deleted while Flow Studio had it open (${code}); nothing more was written. Put it back, or restart to open the file now at that path`,
      { cause: e },
    );
  }
  if (code.startsWith('SQLITE_READONLY'))
    return readOnlyError(path, `the file or its folder ${dirname(path)} cannot be written by ${whoAmI()} (${code})`, e);
  if (code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') return permissionError(path, `${whoAmI()} may not do this (${code})`, e);
  if (code === 'SQLITE_FULL') {
    return new StoreRuntimeError(
      'disk-full',
      path,
      code,
      `${path}: the disk is full: SQLite could not grow the file or its journal (${code}). Nothing of this change was saved; free space on the drive holding ${dirname(path)} and try again`,
      e,
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreRuntimeError(
      'busy',
      path,
      code,
      `${path}: the database is locked by another process (waited ${busyTimeoutMs} ms, ${code}): another Flow Studio process is writing to it or holds a long transaction. Nothing of this change was saved; try again when it is done`,
      e,
    );
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN') {
    return new StoreRuntimeError(
      'io',
      path,
      code,
      `${path}: the operating system failed a read or write of the file or its journal (${detail}): the drive may be failing, full or disconnected. Nothing of this change was saved; check the drive, then run 'flow-studio doctor --db ${shellQuote(path)}'`,
      e,
    );
  }
  return new StoreRuntimeError('sqlite', path, code, `${path}: SQLite error ${detail}`, e);
}

/**
 * Makes every method and getter of `cls` translate the SQLite errors it throws (translateSqliteError),
 * using the instance's `path` and `busyTimeoutMs`. Errors already translated pass through unchanged,
 * so a method calling another is translated once.
 */
export function translateStoreErrors<T extends { readonly path: string; readonly busyTimeoutMs: number }>(cls: { prototype: T }): void {
  const proto = cls.prototype as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, name)!;
    const wrap = (fn: (...args: unknown[]) => unknown) =>
      function (this: T, ...args: unknown[]): unknown {
        try {
          return fn.apply(this, args);
        } catch (e) {
          throw translateSqliteError(e, this.path, this.busyTimeoutMs);
        }
      };
    if (typeof d.value === 'function')
      Object.defineProperty(proto, name, { ...d, value: wrap(d.value as (...args: unknown[]) => unknown) });
    else if (d.get) Object.defineProperty(proto, name, { ...d, get: wrap(d.get) });
  }
}
