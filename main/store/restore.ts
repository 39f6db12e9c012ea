/**
 * Restoring a backup over the run store, keeping the current file.
 *
 * Renaming or replacing a SQLite file that another process has open corrupts it (that process keeps
 * writing into the old inode, and its -wal file name now belongs to the new file), so a restore:
 * 1. checks the backup completely (PRAGMA quick_check, a Flow Studio store this release can read);
 * 2. takes an exclusive lock on the store (locking_mode = EXCLUSIVE, BEGIN EXCLUSIVE). Every open
 *    connection holds a lock on a WAL database, so this fails at once when any process (the app, a
 *    training, another command) has it open: the restore is refused, nothing changed;
 * 3. while holding that lock, copies the store and its -wal file aside, to
 *    `<name>.before-restore-<stamp>.db[-wal]` (a copy, so nothing is renamed under anyone);
 * 4. releases the lock and writes the backup into the store through SQLite's backup API, which takes
 *    the store's write lock and is safe even against a process that opened it in between;
 * 5. opens the result as a store (migrating an older backup) and checks it.
 * A store file that is not a database at all (so no SQLite process can be using it) is instead
 * renamed aside and replaced by a copy of the backup, unless -wal/-shm files beside it say it may be
 * open.
 */
import { copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, parse } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError, StoreFileError } from './errors';
import { adoptOwner, openStoreFile, quickCheck } from './open';
import { backupStamp } from './backup';
import { RunStore } from './store';
import { sqliteCode } from './sqlite-errors';

/** What restoreBackup did. */
export interface RestoreReport {
  store: string;
  backup: string;
  /** Where the previous store was kept (and its -wal, when it had one). */
  keptAs: string[];
  runs: number;
}

/** `<dir>/<name>.before-restore-<stamp>.db` for a store at `<dir>/<name>.db`. */
export function asidePath(dbPath: string, at: number): string {
  return join(dirname(dbPath), `${parse(dbPath).name}.before-restore-${backupStamp(at)}.db`);
}

/** Checks a backup file completely. @throws StoreFileError / SchemaError naming it */
export function verifyBackup(backup: string): void {
  const { db, release } = openStoreFile(backup, { access: 'read', verify: true, create: false, busyTimeoutMs: 5000 });
  try {
    const problems = quickCheck(db);
    if (problems.length > 0)
      throw new StoreFileError('damaged', backup, `${backup} is damaged (${problems.slice(0, 3).join('; ')}); choose another backup`, {
        problems,
      });
  } finally {
    release();
  }
}

/**
 * Restores `backup` over the store at `dbPath` (see the file comment).
 * @throws StoreError when another process has the store open (nothing changed), StoreFileError /
 *   SchemaError when the backup is unusable.
 */
export async function restoreBackup(dbPath: string, backup: string, options: { now?: () => number } = {}): Promise<RestoreReport> {
  const at = (options.now ?? Date.now)();
  verifyBackup(backup);
  const aside = asidePath(dbPath, at);
  if (existsSync(aside)) throw new StoreError(`${aside} already exists; try again in a second`);
  const keptAs: string[] = [];

  if (existsSync(dbPath)) {
    let lock: Database.Database | null = null;
    try {
      lock = new Database(dbPath, { fileMustExist: true, timeout: 0 });
      lock.pragma('locking_mode = EXCLUSIVE');
      lock.exec('BEGIN EXCLUSIVE');
    } catch (e) {
      lock?.close();
      lock = null;
      const code = sqliteCode(e);
      if (code?.startsWith('SQLITE_BUSY') || code?.startsWith('SQLITE_LOCKED')) {
        throw new StoreError(
          `${dbPath} is open in another process (the app, a training or another command); close it and try again. Nothing was changed`,
        );
      }
      if (code !== 'SQLITE_NOTADB') throw e;
    }
    if (lock) {
      try {
        copyFileSync(dbPath, aside);
        keptAs.push(aside);
        if (existsSync(`${dbPath}-wal`) && statSync(`${dbPath}-wal`).size > 0) {
          copyFileSync(`${dbPath}-wal`, `${aside}-wal`);
          keptAs.push(`${aside}-wal`);
        }
        for (const f of keptAs) adoptOwner(f, dbPath);
        lock.exec('ROLLBACK');
      } finally {
        lock.close();
      }
      const source = new Database(backup, { readonly: true, fileMustExist: true });
      try {
        await source.backup(dbPath);
      } finally {
        source.close();
      }
    } else {
      // Not a database: no SQLite connection can be using it, unless its -wal/-shm say otherwise.
      if (existsSync(`${dbPath}-wal`) || existsSync(`${dbPath}-shm`)) {
        throw new StoreError(
          `${dbPath} is not a readable database but has -wal/-shm files beside it, so a process may have it open; close every Flow Studio process and try again. Nothing was changed`,
        );
      }
      renameSync(dbPath, aside);
      keptAs.push(aside);
      copyInPlace(backup, dbPath);
    }
  } else {
    copyInPlace(backup, dbPath);
  }

  const store = RunStore.open(dbPath);
  try {
    return { store: dbPath, backup, keptAs, runs: store.listRuns().length };
  } finally {
    store.close();
  }
}

/** Copies `from` to `to` through a temporary name, so `to` is never a half copy. */
function copyInPlace(from: string, to: string): void {
  const tmp = `${to}.restoring`;
  try {
    copyFileSync(from, tmp);
    adoptOwner(tmp, dirname(to));
    renameSync(tmp, to);
  } finally {
    rmSync(tmp, { force: true });
  }
}
