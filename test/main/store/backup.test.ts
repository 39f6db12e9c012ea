// The rolling backup (main/store/backup.ts) on real files: the daily rule and retention under an
// injected clock, a backup equal to its source, a copy taken while a worker thread writes that is one
// consistent state, and a backup killed mid-way (a real SIGKILL) that never looks complete.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../../main/store';
import {
  backupDir,
  backupStamp,
  backupStore,
  BACKUP_INTERVAL_MS,
  listBackups,
  readBackupStatus,
  startBackup,
} from '../../../main/store/backup';
import { bytes, newRun, openAt, overwritePages, pagesOf, tempDir } from './helpers';

const HOUR = 60 * 60 * 1000;
const T0 = Date.UTC(2026, 11, 1, 9, 30, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A closed store with a few runs holding metrics, checkpoints and samples. */
function seeded(runs = 3, blob = 50_000): { path: string; dir: string } {
  const dir = tempDir();
  const path = join(dir, 'flow-studio.db');
  const store = RunStore.open(path);
  for (let r = 0; r < runs; r++) {
    const { id } = store.createRun(newRun(`run ${r}`));
    store.appendMetrics(
      id,
      Array.from({ length: 500 }, (_, s) => ({ step: s, name: 'loss', value: Math.exp(-s / 100) + r })),
    );
    for (const step of [100, 200, 300]) store.saveCheckpoint(id, { step, model: bytes(blob, step + r), optimizer: bytes(blob / 2, r) });
    store.addSample(id, { step: 300, kind: 'points', data: [[r, -r]] });
    store.addArtifact(id, { name: 'grid.png', mime: 'image/png', data: bytes(3000, r) });
  }
  store.close();
  return { path, dir };
}

/** Everything a run holds, blobs included, as comparable plain data. */
function contents(path: string): unknown {
  const store = RunStore.open(path, { access: 'read' });
  try {
    return store.listRuns({ order: 'oldest' }).map((r) => ({
      ...store.exportRun(r.id),
      exportedAt: 0,
      checkpoints: store.listCheckpoints(r.id).map((c) => {
        const full = store.checkpointAt(r.id, c.step);
        return {
          ...c,
          model: Buffer.from(full.model).toString('base64'),
          optimizer: full.optimizer && Buffer.from(full.optimizer).toString('base64'),
        };
      }),
      artifacts: store.listArtifacts(r.id).map((a) => Buffer.from(store.getArtifact(a.id).data).toString('base64')),
    }));
  } finally {
    store.close();
  }
}

describe('backupStore', () => {
  it('makes a backup equal to the store: one self-contained file that passes quick_check', async () => {
    const { path, dir } = seeded();
    const r = await backupStore(path, { now: () => T0 });
    expect(r.status).toBe('created');
    if (r.status !== 'created') return;
    expect(r.backup.path).toBe(join(dir, 'backups', `flow-studio-${backupStamp(T0)}.db`));
    expect(backupStamp(T0)).toBe('2026-12-01T09-30-00Z');
    expect(r.backup.createdAt).toBe(T0);
    expect(readdirSync(join(dir, 'backups')).sort()).toEqual(['.flow-studio-backup.json', 'flow-studio-2026-12-01T09-30-00Z.db']);
    const raw = new Database(r.backup.path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(raw.pragma('quick_check', { simple: true })).toBe('ok');
    raw.close();
    expect(contents(r.backup.path)).toEqual(contents(path));
    expect(readBackupStatus(path)).toEqual({ at: T0, ok: true, file: r.backup.path });
    expect(existsSync(join(dir, 'backups', 'flow-studio-2026-12-01T09-30-00Z.db-wal'))).toBe(false);
  });

  it("at most once a day, by the newest backup's name; keeps the newest 3", async () => {
    const { path, dir } = seeded(1);
    let now = T0;
    const clock = { now: () => now };
    expect((await backupStore(path, clock)).status).toBe('created');
    now = T0 + 23 * HOUR;
    const skipped = await backupStore(path, clock);
    expect(skipped).toMatchObject({ status: 'skipped', reason: 'recent', newest: { createdAt: T0 } });
    now = T0 + BACKUP_INTERVAL_MS;
    expect((await backupStore(path, clock)).status).toBe('created');
    // Days 2 to 5: a backup each day; only the three newest remain, the oldest removed first.
    const removed: string[] = [];
    for (let day = 2; day <= 5; day++) {
      now = T0 + day * BACKUP_INTERVAL_MS + HOUR;
      const r = await backupStore(path, clock);
      expect(r.status).toBe('created');
      if (r.status === 'created') removed.push(...r.removed);
    }
    expect(listBackups(path).map((b) => b.createdAt)).toEqual([5, 4, 3].map((d) => T0 + d * BACKUP_INTERVAL_MS + HOUR));
    expect(removed.map((p) => p.slice(dir.length + 1))).toEqual(
      [T0, T0 + BACKUP_INTERVAL_MS, T0 + 2 * BACKUP_INTERVAL_MS + HOUR].map((t) => join('backups', `flow-studio-${backupStamp(t)}.db`)),
    );
    // Files that are not this store's backups are never counted or removed.
    writeFileSync(join(dir, 'backups', 'notes.txt'), 'mine');
    writeFileSync(join(dir, 'backups', 'other-2030-01-01T00-00-00Z.db'), 'another store');
    now += BACKUP_INTERVAL_MS;
    await backupStore(path, { ...clock, keep: 2 });
    expect(
      readdirSync(join(dir, 'backups'))
        .filter((f) => !f.startsWith('flow-studio-'))
        .sort(),
    ).toEqual(['.flow-studio-backup.json', 'notes.txt', 'other-2030-01-01T00-00-00Z.db']);
    expect(listBackups(path)).toHaveLength(2);
  });

  it("a backup dated in the future (the clock went back) does not stop today's", async () => {
    const { path } = seeded(1);
    await backupStore(path, { now: () => T0 + 10 * BACKUP_INTERVAL_MS });
    const r = await backupStore(path, { now: () => T0 });
    expect(r.status).toBe('created');
    expect(listBackups(path)).toHaveLength(2);
  });

  it('skips a store that does not exist (nothing to back up, nothing created)', async () => {
    const dir = tempDir();
    expect(await backupStore(join(dir, 'flow-studio.db'))).toEqual({ status: 'skipped', reason: 'no-store', newest: null });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a damaged store fails the backup, naming it; older backups stay and the failure is recorded', async () => {
    const { path } = seeded(2);
    const good = await backupStore(path, { now: () => T0 });
    overwritePages(
      path,
      pagesOf(path, 'metrics')
        .filter((p) => p.pagetype === 'leaf')
        .map((p) => p.pageno),
    );
    await expect(backupStore(path, { now: () => T0 + 2 * BACKUP_INTERVAL_MS })).rejects.toThrow(/the store itself is probably damaged/);
    expect(listBackups(path).map((b) => b.path)).toEqual([good.status === 'created' ? good.backup.path : '']);
    expect(readdirSync(backupDir(path)).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(readBackupStatus(path)).toMatchObject({ at: T0 + 2 * BACKUP_INTERVAL_MS, ok: false, error: expect.stringContaining(path) });
  });

  it('cancelled: stops at the next step, leaves no file, keeps the older backups', async () => {
    const { path } = seeded(6, 200_000);
    await backupStore(path, { now: () => T0 });
    const controller = new AbortController();
    const pending = backupStore(path, { now: () => T0 + 2 * BACKUP_INTERVAL_MS, pagesPerStep: 4, signal: controller.signal });
    setImmediate(() => controller.abort());
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(readdirSync(backupDir(path)).sort()).toEqual(['.flow-studio-backup.json', `flow-studio-${backupStamp(T0)}.db`]);
    expect(readBackupStatus(path)).toMatchObject({ at: T0, ok: true }); // a cancel is not a failure
  });

  it('a backup whose process is SIGKILLed mid-copy leaves only a .partial file, which the next backup removes', async () => {
    const { path } = seeded(8, 400_000);
    const dir = backupDir(path);
    const child = spawn(
      process.execPath,
      [
        '--experimental-transform-types',
        '--disable-warning=ExperimentalWarning',
        join(import.meta.dirname, 'fixtures', 'backup-child.mjs'),
        path,
        '2',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    // Kill it once its partial file holds a good part of the copy.
    const deadline = Date.now() + 60_000;
    let partial: string | undefined;
    while (Date.now() < deadline) {
      partial = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.partial')) : undefined;
      if (partial && statSync(join(dir, partial)).size > 1_000_000) break;
      await sleep(5);
    }
    expect(partial, stderr).toBeDefined();
    child.kill('SIGKILL');
    await exited;
    expect(readdirSync(dir).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect(listBackups(path)).toEqual([]);
    const r = await backupStore(path);
    expect(r.status).toBe('created');
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('a backup taken while a worker thread writes is one consistent state of the store', async () => {
    const { path } = seeded(4, 200_000);
    const setup = openAt(path);
    const { id } = setup.createRun(newRun('being written'));
    setup.close();
    const worker = new Worker(join(import.meta.dirname, 'fixtures', 'metrics-writer.mjs'), {
      workerData: { dbPath: path, runId: id },
      execArgv: ['--experimental-transform-types', '--disable-warning=ExperimentalWarning'],
    });
    const messages: { started?: boolean; batches?: number }[] = [];
    const started = new Promise<void>((resolve, reject) => {
      worker.on('message', (m) => {
        messages.push(m);
        if (m.started) resolve();
      });
      worker.on('error', reject);
    });
    const finished = new Promise<number>((resolve) =>
      worker.on('message', (m: { batches?: number }) => m.batches !== undefined && resolve(m.batches)),
    );
    await started;
    // Small steps: the copy spans many turns of the event loop while the worker commits.
    const r = await backupStore(path, { pagesPerStep: 8 });
    worker.postMessage('stop');
    const batches = await finished;
    expect(r.status).toBe('created');
    if (r.status !== 'created') return;

    const backup = new Database(r.backup.path, { readonly: true });
    expect(backup.pragma('quick_check', { simple: true })).toBe('ok');
    const run = backup.prepare<unknown[], { step: number }>('SELECT step FROM runs WHERE id = ?').get(id)!;
    const steps = backup
      .prepare<unknown[], number>("SELECT step FROM metrics WHERE run_id = ? AND name = 'loss' ORDER BY step")
      .pluck()
      .all(id);
    const grads = backup.prepare<unknown[], number>("SELECT count(*) FROM metrics WHERE run_id = ? AND name = 'grad'").pluck().get(id);
    const ckpt = backup.prepare<unknown[], number | null>('SELECT max(step) FROM checkpoints WHERE run_id = ?').pluck().get(id) ?? null;
    backup.close();
    // Each batch wrote 50 steps of both metrics and the run's step in one transaction: a consistent
    // copy holds whole batches 0..k-1 and the run's step at the last of them. Every 20th batch then
    // saved a checkpoint in a transaction of its own, so the copy holds those written by then (the
    // one of batch k-1 itself may or may not be in).
    expect(steps.length % 50).toBe(0);
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => i));
    expect(grads).toBe(steps.length);
    const k = steps.length / 50;
    const lastCheckpoint = (batches: number) => (batches >= 20 ? Math.floor(batches / 20) * 1000 - 1 : null);
    expect(k % 20 === 0 ? [lastCheckpoint(k), lastCheckpoint(k - 1)] : [lastCheckpoint(k)]).toContain(ckpt);
    expect(run.step).toBe(Math.max(steps.length - 1, 0, ckpt ?? 0));
    // The worker really wrote during the copy: the store went on past the copy.
    console.log(`[store] the backup holds ${k} batches; the worker wrote ${batches} in all`);
    expect(batches).toBeGreaterThan(k);
    expect(k).toBeGreaterThanOrEqual(25); // so the copy holds a checkpoint too
    expect(messages.length).toBeGreaterThan(0);
  });
});

describe('startBackup (in a worker thread)', () => {
  it('reports the backup through done, without blocking this thread', async () => {
    const { path } = seeded(2);
    const task = startBackup(path);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const outcome = await task.done;
    clearInterval(timer);
    expect(outcome.status).toBe('created');
    expect(ticks).toBeGreaterThan(0);
    expect(listBackups(path)).toHaveLength(1);
    // The same day: skipped.
    expect((await startBackup(path).done).status).toBe('skipped');
  });

  it('a failure is an outcome, never a rejection', async () => {
    const dir = tempDir();
    const path = join(dir, 'flow-studio.db');
    writeFileSync(path, 'not a database');
    const outcome = await startBackup(path).done;
    expect(outcome).toMatchObject({ status: 'failed', error: expect.stringContaining(`${path} is not a Flow Studio run store`) });
  });
});
