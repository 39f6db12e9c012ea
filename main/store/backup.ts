/**
 * Rolling backups of the run store: `<data folder>/backups/<name>-<UTC date-time>.db` (for the default
 * store, flow-studio-2026-12-03T14-50-12Z.db), at most one a day, the newest `keep` (3) kept.
 *
 * How a backup is made, and why:
 * - SQLite's online backup (better-sqlite3's db.backup) copies the file page by page while other
 *   connections keep writing. By itself it restarts whenever another connection commits between two
 *   steps, so under a training run that logs every second it would never finish; the source
 *   connection therefore holds one read transaction for the whole copy. In WAL mode that pins a
 *   consistent snapshot without blocking writers (they append to the WAL), and the copy is that
 *   snapshot. (Without WAL a held read lock would block writers, so the copy is made in one step.)
 * - The copy is written under a temporary name (`.<final name>.<pid>.partial`), switched to a
 *   self-contained rollback-journal file, checked with PRAGMA quick_check, fsynced, and only then
 *   renamed to its final name: a crash at any point leaves either no new backup or a complete,
 *   checked one, never a half one that looks complete. Partial files of dead processes are removed
 *   by the next backup.
 * - The daily rule and the retention read the time from the file names (UTC), not from mtimes,
 *   which copies and restores change. A backup dated in the future (the clock went back) does not
 *   stop today's.
 * - A backup that fails changes nothing else: older backups stay. Each attempt is recorded in
 *   `backups/.<name>-backup.json` for `flow-studio doctor`.
 *
 * startBackup runs backupStore in a worker thread, so neither copying nor checking a large store
 * stalls the thread that started it (the app's main process, the CLI), and it can be cancelled.
 */
import { Worker } from 'node:worker_threads';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, parse } from 'node:path';
import Database from 'better-sqlite3';
import { workerEntry } from '../runtime/resources';
import { StoreError, StoreFileError } from './errors';
import { adoptOwner, openStoreFile, quickCheck } from './open';
import { shellQuote } from './sqlite-errors';

/** Backups kept by default. */
export const BACKUPS_KEPT = 3;

/** The minimum age of the newest backup before another is made, by default (one day). */
export const BACKUP_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** Options of backupStore. */
export interface BackupOptions {
  /** Folder of the backups (default `backups` beside the store). */
  dir?: string;
  /** How many backups to keep, newest first (default 3; at least 1). */
  keep?: number;
  /** Skip when the newest backup is younger than this, in ms (default one day; 0 always backs up). */
  minIntervalMs?: number;
  /** The clock (ms since the epoch); tests pass a fake one. */
  now?: () => number;
  /** Aborting stops the copy at its next step; the partial file is removed. */
  signal?: AbortSignal;
  /** Pages copied per step (default 1024 = 4 MiB at SQLite's default page size). */
  pagesPerStep?: number;
}

/** A backup file. */
export interface BackupFile {
  path: string;
  /** When it was taken (from its name), ms since the epoch. */
  createdAt: number;
  bytes: number;
}

/** What backupStore did. */
export type BackupResult =
  | { status: 'created'; backup: BackupFile; removed: string[]; ms: number }
  | { status: 'skipped'; reason: 'recent' | 'no-store'; newest: BackupFile | null };

/** What a background backup ended with: a result, a failure (never thrown), or a cancellation. */
export type BackupOutcome = BackupResult | { status: 'failed'; error: string } | { status: 'cancelled' };

/** The last backup attempt, as recorded for doctor. */
export interface BackupStatus {
  at: number;
  ok: boolean;
  file?: string;
  error?: string;
}

/** The default backups folder of a store: `backups` beside it. */
export function backupDir(dbPath: string): string {
  return join(dirname(dbPath), 'backups');
}

/** "2026-12-03T14-50-12Z": ISO 8601 UTC to the second, with '-' for ':' (not allowed on Windows). */
export function backupStamp(at: number): string {
  return `${new Date(at).toISOString().slice(0, 19).replace(/:/g, '-')}Z`;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function namePattern(dbPath: string): RegExp {
  return new RegExp(`^${escapeRegex(parse(dbPath).name)}-(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2})-(\\d{2})-(\\d{2})Z\\.db$`);
}

/** The store's backups in `dir` (default backupDir), newest first. Other files there are ignored. */
export function listBackups(dbPath: string, dir: string = backupDir(dbPath)): BackupFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const pattern = namePattern(dbPath);
  const found: BackupFile[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const path = join(dir, name);
    try {
      found.push({ path, createdAt: Date.UTC(y, mo - 1, d, h, mi, s), bytes: statSync(path).size });
    } catch {
      // removed meanwhile
    }
  }
  return found.sort((a, b) => b.createdAt - a.createdAt || b.path.localeCompare(a.path));
}

function statusFile(dbPath: string, dir: string): string {
  return join(dir, `.${parse(dbPath).name}-backup.json`);
}

/** The last recorded backup attempt, or null when none was recorded. */
export function readBackupStatus(dbPath: string, dir: string = backupDir(dbPath)): BackupStatus | null {
  try {
    return JSON.parse(readFileSync(statusFile(dbPath, dir), 'utf8')) as BackupStatus;
  } catch {
    return null;
  }
}

function writeStatus(dbPath: string, dir: string, status: BackupStatus): void {
  try {
    const file = statusFile(dbPath, dir);
    writeFileSync(file, `${JSON.stringify(status)}\n`);
    adoptOwner(file, dbPath);
  } catch {
    // the folder is gone or read-only; the caller reports the failure itself
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes partial files left by backups whose process is gone (same host: the pid is in the name). */
function removeStalePartials(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /^\..*\.(\d+)\.([^.]+)\.partial$/.exec(name);
    if (m && m[2] === hostname().replace(/[^\w-]/g, '_') && !isAlive(Number(m[1]))) rmSync(join(dir, name), { force: true });
  }
}

function fsyncPath(path: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // a folder cannot be opened for fsync on Windows; the rename is still atomic
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

class Aborted extends Error {}

/**
 * Makes one backup of the store at `dbPath` unless the newest is younger than `minIntervalMs`; see
 * the file comment. Resolves with what it did.
 * @throws StoreFileError / StoreError (the store cannot be read, the copy fails its check, the folder
 *   cannot be written); an AbortError-named Error when aborted. Older backups are never touched then.
 */
export async function backupStore(dbPath: string, options: BackupOptions = {}): Promise<BackupResult> {
  const now = options.now ?? Date.now;
  const dir = options.dir ?? backupDir(dbPath);
  const keep = options.keep ?? BACKUPS_KEPT;
  if (!Number.isInteger(keep) || keep < 1) throw new StoreError(`backup keep: must be an integer >= 1; got ${keep}`);
  const interval = options.minIntervalMs ?? BACKUP_INTERVAL_MS;
  const started = now();
  try {
    statSync(dbPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'skipped', reason: 'no-store', newest: null };
    throw e;
  }
  const newest = listBackups(dbPath, dir)[0] ?? null;
  if (newest && started - newest.createdAt >= 0 && started - newest.createdAt < interval)
    return { status: 'skipped', reason: 'recent', newest };

  const final = join(dir, `${parse(dbPath).name}-${backupStamp(started)}.db`);
  const partial = join(dir, `.${basename(final)}.${process.pid}.${hostname().replace(/[^\w-]/g, '_')}.partial`);
  try {
    try {
      mkdirSync(dir, { recursive: true });
      adoptOwner(dir, dbPath);
      removeStalePartials(dir);
    } catch (e) {
      throw new StoreError(`cannot write backups of ${dbPath} into ${dir}: ${(e as Error).message}`);
    }
    await copyVerified(dbPath, partial, options);
    fsyncPath(partial);
    renameSync(partial, final);
    fsyncPath(dir);
    adoptOwner(final, dbPath);
    const backup: BackupFile = { path: final, createdAt: Math.floor(started / 1000) * 1000, bytes: statSync(final).size };
    const removed: string[] = [];
    for (const old of listBackups(dbPath, dir)
      .filter((b) => b.path !== final)
      .slice(keep - 1)) {
      rmSync(old.path, { force: true });
      removed.push(old.path);
    }
    writeStatus(dbPath, dir, { at: started, ok: true, file: final });
    return { status: 'created', backup, removed, ms: now() - started };
  } catch (e) {
    rmSync(partial, { force: true });
    if (!(e instanceof Aborted)) writeStatus(dbPath, dir, { at: started, ok: false, error: (e as Error).message });
    if (e instanceof Aborted) throw Object.assign(new Error(`backup of ${dbPath} cancelled`), { name: 'AbortError' });
    throw e;
  }
}

/** Copies the store into `target` (a new file) and checks the copy. */
async function copyVerified(dbPath: string, target: string, options: BackupOptions): Promise<void> {
  const { db, release } = openStoreFile(dbPath, { access: 'read', verify: false, create: false, busyTimeoutMs: 5000 });
  try {
    const wal = String(db.pragma('journal_mode', { simple: true })) === 'wal';
    const rate = wal ? (options.pagesPerStep ?? 1024) : -1;
    if (wal) {
      // Pin one snapshot for the whole copy (see the file comment).
      db.exec('BEGIN');
      db.prepare('SELECT count(*) FROM sqlite_schema').get();
    }
    await db.backup(target, {
      progress: () => {
        if (options.signal?.aborted) throw new Aborted();
        return rate;
      },
    });
    if (options.signal?.aborted) throw new Aborted();
  } finally {
    if (db.inTransaction) db.exec('COMMIT');
    release();
  }
  const copy = new Database(target);
  try {
    // A backup is one self-contained file: no -wal beside it, whoever opens it later.
    copy.pragma('journal_mode = DELETE');
    const problems = quickCheck(copy);
    if (problems.length > 0) {
      throw new StoreFileError(
        'damaged',
        dbPath,
        `the backup copy of ${dbPath} fails PRAGMA quick_check (${problems.slice(0, 3).join('; ')}): the store itself is probably damaged; ` +
          `no backup was made and the older ones were kept. Run 'flow-studio doctor --db ${shellQuote(dbPath)}'`,
        { problems },
      );
    }
  } finally {
    copy.close();
  }
}

/** A backup running in a worker thread. `done` never rejects. */
export interface BackgroundBackup {
  readonly done: Promise<BackupOutcome>;
  /** Stops the copy at its next step (the partial file is removed); `done` then says 'cancelled'. */
  cancel(): void;
}

/** Options that can cross into the worker (no functions, no signal). */
export type WorkerBackupOptions = Omit<BackupOptions, 'now' | 'signal'>;

/**
 * Starts backupStore in a worker thread (see the file comment) and returns at once. A failure is
 * reported through `done`, never thrown: a backup must not stop the app or a training.
 */
export function startBackup(dbPath: string, options: WorkerBackupOptions = {}): BackgroundBackup {
  const entry = workerEntry('backup');
  let worker: Worker;
  try {
    worker = new Worker(entry.url, { workerData: { dbPath, options }, execArgv: entry.execArgv });
  } catch (e) {
    return { done: Promise.resolve({ status: 'failed', error: `could not start the backup: ${(e as Error).message}` }), cancel: () => {} };
  }
  let outcome: BackupOutcome | null = null;
  const done = new Promise<BackupOutcome>((resolve) => {
    worker.on('message', (m: BackupOutcome) => (outcome = m));
    worker.on('error', (e) => (outcome ??= { status: 'failed', error: e.message }));
    worker.on('exit', (code) => resolve(outcome ?? { status: 'failed', error: `the backup worker exited with code ${code}` }));
  });
  return { done, cancel: () => worker.postMessage('cancel') };
}
