// Shared test helpers: every test gets a fresh folder under the OS temp dir with a real SQLite file.
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach } from 'vitest';
import { RunStore, type RunStoreOptions } from '../../../main/store';

const dirs: string[] = [];
const stores: RunStore[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A new empty folder, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flow-studio-store-'));
  dirs.push(dir);
  return dir;
}

/** A run store on a new file in a new folder, closed after the test. */
export function openTemp(options?: RunStoreOptions): { store: RunStore; path: string } {
  const path = join(tempDir(), 'runs.db');
  const store = RunStore.open(path, options);
  stores.push(store);
  return { store, path };
}

/** Opens `path` and closes it after the test. */
export function openAt(path: string, options?: RunStoreOptions): RunStore {
  const store = RunStore.open(path, options);
  stores.push(store);
  return store;
}

/** A minimal valid createRun input. */
export function newRun(name = 'moons-condot', extra: Record<string, unknown> = {}) {
  return {
    name,
    config: { dataset: { name: 'moons', n: 2000 }, path: { kind: 'affine', scheduler: { kind: 'condot' } }, lr: 1e-3 },
    backend: 'wasm',
    backendVersion: '4.22.0',
    seed: 42,
    ...extra,
  };
}

/** Bytes 0, 1, 2 ... (mod 256) of length n. */
export function bytes(n: number, offset = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i + offset) % 256);
}

/** sha256 of a file's bytes: equal before and after means the file was not touched. */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The files in a folder, sorted: equal before and after means nothing was created or removed. */
export function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

/**
 * The pages of a table or index (SQLite's dbstat view), in b-tree order: `path` sorts leaves from the
 * smallest key to the largest. Opens and closes a normal connection (which leaves the file as it was).
 */
export function pagesOf(dbPath: string, name: string): { pageno: number; pagetype: string; path: string }[] {
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    return db
      .prepare<unknown[], { pageno: number; pagetype: string; path: string }>(
        'SELECT pageno, pagetype, path FROM dbstat WHERE name = ? ORDER BY path',
      )
      .all(name);
  } finally {
    db.close();
  }
}

/** The bytes of one page (pages are numbered from 1). */
export function readPage(dbPath: string, page: number, pageSize = 4096): Buffer {
  const fd = openSync(dbPath, 'r');
  try {
    const buf = Buffer.alloc(pageSize);
    readSync(fd, buf, 0, pageSize, (page - 1) * pageSize);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** Overwrites whole pages with a fixed junk pattern, as a failing disk or a stray writer would. */
export function overwritePages(dbPath: string, pages: readonly number[], pageSize = 4096): void {
  const junk = Buffer.alloc(pageSize);
  for (let i = 0; i < pageSize; i++) junk[i] = (i * 7919 + 13) & 255;
  const fd = openSync(dbPath, 'r+');
  try {
    for (const p of pages) writeSync(fd, junk, 0, pageSize, (p - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

/** True when this process runs as root, for whom file modes do not stop anything. */
export const IS_ROOT = process.getuid?.() === 0;
/** The unprivileged user (nobody) that root hands files to in tests. */
export const NOBODY = { uid: 65534, gid: 65534 };

/**
 * Makes `path` a file this process must not write: another user's file for root (whom modes do not
 * stop; the store then avoids writing it on its own), read-only (0444) for anybody else.
 */
export function makeNotOurs(path: string): void {
  if (IS_ROOT) chownSync(path, NOBODY.uid, NOBODY.gid);
  else chmodSync(path, 0o444);
}
