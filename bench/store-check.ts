/**
 * What checking, opening, backing up and recovering the run store costs on a large store: the price
 * of PRAGMA quick_check on every open is why readers check only the runs table (main/store/open.ts).
 *
 *   node --experimental-transform-types --disable-warning=ExperimentalWarning --import ./scripts/ts-hooks.mjs \
 *     bench/store-check.ts [--mb 1000] [--dir DIR] [--keep]
 *
 * Builds a store of about --mb megabytes in DIR (default a temporary folder): runs with 3 checkpoints
 * each (1 MiB of model and 2 MiB of optimizer bytes, as Adam keeps two moments) and 10k metric
 * values. Then times each operation warm (file in the page cache) and cold (its pages dropped with
 * posix_fadvise DONTNEED, through python3 when present). Prints one JSON document on stdout.
 *
 * A measurement, not a test: the numbers depend on the disk, the page cache and the machine's load.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { RunStore } from '../main/store';
import { backupStore } from '../main/store/backup';
import { openSnapshot, quickCheck } from '../main/store/open';
import { recoverStore } from '../main/store/recover';
import { log, round } from './lib';

function arg(name: string, fallback: string | null): string | null {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const mb = Number(arg('mb', '1000'));
const dir = arg('dir', null) ?? mkdtempSync(join(tmpdir(), 'flow-studio-store-check-'));
const keep = process.argv.includes('--keep');
const path = join(dir, 'flow-studio.db');

/** Drops the file's pages from the OS page cache; false when it cannot (no python3). */
function evict(file: string): boolean {
  const r = spawnSync('python3', [
    '-c',
    `import os\nfd = os.open(${JSON.stringify(file)}, os.O_RDONLY)\nos.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)`,
  ]);
  return r.status === 0;
}

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return round(performance.now() - t0, 1);
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return round(performance.now() - t0, 1);
}

function build(): void {
  const store = RunStore.open(path, { verify: false });
  const model = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
  const optimizer = new Uint8Array(2 << 20).map((_, i) => (i * 40503) >>> 8);
  const runs = Math.max(1, Math.round(mb / 9.2));
  for (let r = 0; r < runs; r++) {
    const { id } = store.createRun({ name: `run ${r}`, config: { r }, backend: 'wasm' });
    const rows = [];
    for (let s = 0; s < 5000; s++)
      rows.push({ step: s, name: 'loss', value: Math.exp(-s / 1000) }, { step: s, name: 'grad_norm', value: 1 + s / 5000 });
    store.appendMetrics(id, rows);
    for (const step of [1000, 2000, 3000]) store.saveCheckpoint(id, { step, model, optimizer });
  }
  store.close();
}

log(`building a ${mb} MB store in ${dir}`);
const loadBefore = loadavg().map((x) => round(x, 2));
build();
const bytes = statSync(path).size;
const canEvict = evict(path);
const results: Record<string, { warmMs: number; coldMs: number | null }> = {};

/** Times `fn` cold (pages dropped) then warm (right after). */
async function measure(name: string, fn: () => unknown | Promise<unknown>): Promise<void> {
  let coldMs: number | null = null;
  if (canEvict) {
    evict(path);
    coldMs = await timeAsync(async () => fn());
  }
  await fn(); // warm the cache
  const warmMs = await timeAsync(async () => fn());
  results[name] = { warmMs, coldMs };
  log(`${name}: warm ${warmMs} ms${coldMs !== null ? `, cold ${coldMs} ms` : ''}`);
}

const raw = (f: (db: Database.Database) => unknown) => () => {
  const db = new Database(path, { fileMustExist: true });
  try {
    f(db);
  } finally {
    db.close();
  }
};

await measure(
  'PRAGMA quick_check (every page)',
  raw((db) => quickCheck(db)),
);
await measure(
  'PRAGMA integrity_check (every page, indexes too)',
  raw((db) => db.pragma('integrity_check')),
);
await measure(
  'PRAGMA quick_check(runs) + quick_check(sqlite_schema)',
  raw((db) => (quickCheck(db, 'sqlite_schema'), quickCheck(db, 'runs'))),
);
await measure("RunStore.open access 'write' (full check) + close", () => RunStore.open(path).close());
await measure("RunStore.open access 'read' (runs table check) + listRuns + close", () => {
  const s = RunStore.open(path, { access: 'read' });
  s.listRuns();
  s.close();
});
await measure('a snapshot copy (what a reader of a store it may not write pays)', () => openSnapshot(path, 5000).release());
const backupDir = join(dir, 'backups');
const backupMs = await timeAsync(() => backupStore(path, { dir: backupDir, minIntervalMs: 0 }));
log(`backupStore (copy, check, fsync): ${backupMs} ms`);
rmSync(backupDir, { recursive: true, force: true });
const target = join(dir, 'recovered.db');
const recoverMs = time(() => recoverStore(path, { target }));
log(`recoverStore (every row of an undamaged store): ${recoverMs} ms`);
rmSync(target, { force: true });

const doc = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadBefore, loadAfter: loadavg().map((x) => round(x, 2)) },
  store: { bytes, mb: round(bytes / 1e6, 0) },
  coldMeasured: canEvict,
  results,
  backupMs,
  recoverMs,
};
process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
if (!keep && !arg('dir', null)) rmSync(dir, { recursive: true, force: true });
