// Crash safety with real processes: a child trains a fake run through the REAL RunStore (loaded by
// fixtures/load-store.mjs; vitest cannot hand its TypeScript transform to a forked child, and a plain-JS
// copy of the write loop would test the copy) and is SIGKILLed at a random moment, several times over
// the same file. After each kill a fresh connection must find a sound file whose latest checkpoint is
// whole and agrees with the run's step, with every metrics batch either fully present or absent.
//
// What this does not cover: power loss / OS crash. SIGKILL loses nothing SQLite handed to the OS, so it
// tests atomicity (transactions, WAL recovery), not fsync ordering; synchronous=NORMAL vs FULL only
// matters for the latter (see RunStore.open and saveCheckpoint).
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../../main/store';
import { newRun, openAt, tempDir } from './helpers';

const WRITER = join(import.meta.dirname, 'fixtures', 'crash-writer.mjs');
const TRIALS = 6;
const BLOB_BYTES = 384 * 1024; // model and optimizer each: a commit takes long enough to be hit mid-way
const KEEP = 3;

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Trial {
  delayMs: number;
  fromStep: number;
  toStep: number;
  checkpointStep: number | null;
  walLeft: boolean;
}

async function runChildUntilKilled(path: string, runId: string, delayMs: number, watcher: RunStore) {
  const child = fork(WRITER, [path, runId, String(BLOB_BYTES), String(KEEP)], {
    execArgv: ['--experimental-transform-types', '--disable-warning=ExperimentalWarning'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let timer: NodeJS.Timeout | undefined;
  const ready = await Promise.race([
    new Promise<{ step: number }>((resolve) => child.on('message', (m) => resolve(m as { step: number }))),
    exited.then((e) => {
      throw new Error(`writer exited early (code ${e.code}, signal ${e.signal}):\n${stderr}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`writer never became ready:\n${stderr}`)), 30_000);
    }),
  ])
    .catch((err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    })
    .finally(() => clearTimeout(timer));
  try {
    // Meanwhile read as the UI would: WAL readers must never be blocked or see a half-written batch.
    const until = performance.now() + delayMs;
    while (performance.now() < until) {
      const [loss] = watcher.getMetrics(runId, ['loss'], { fromStep: Math.max(0, watcher.getRun(runId).step - 50) });
      if (loss && loss.steps.length > 0) expect(loss.steps.at(-1)! % 10).toBe(0); // batches end on multiples of 10
      await sleep(3);
    }
  } finally {
    child.kill('SIGKILL'); // also when an assertion above failed: never leave a writer behind
  }
  const exit = await exited; // reaped: its pid is no longer alive for markInterruptedRuns
  expect(exit.signal, stderr).toBe('SIGKILL');
  return { pid: child.pid!, fromStep: ready.step };
}

describe('crash safety (SIGKILL of a writing process)', () => {
  it(`survives ${TRIALS} kills at random moments: sound file, whole checkpoints, whole batches, resumable`, async () => {
    const path = join(tempDir(), 'runs.db');
    const watcher = openAt(path, { keepCheckpoints: KEEP });
    const runId = watcher.createRun(newRun('crash-test')).id;
    const trials: Trial[] = [];

    for (let t = 0; t < TRIALS; t++) {
      const delayMs = Math.round(40 + Math.random() * 360);
      const { pid, fromStep } = await runChildUntilKilled(path, runId, delayMs, watcher);
      const walLeft = existsSync(`${path}-wal`);

      const store = RunStore.open(path, { keepCheckpoints: KEEP }); // a fresh connection, as after a restart
      try {
        const context = `trial ${t} (killed after ${delayMs} ms)`;
        expect(store.integrityCheck(), context).toEqual({ ok: true, integrity: ['ok'], foreignKeyProblems: [] });

        const run = store.getRun(runId);
        expect(run.status, context).toBe('running');
        expect(run.ownerPid, context).toBe(pid);

        // Every metrics batch is all there or not at all: steps 1..run.step, contiguous, for both names.
        const series = store.getMetrics(runId, ['loss', 'lr']);
        for (const s of series) {
          expect(s.steps.length, `${context} ${s.name}`).toBe(run.step);
          expect(
            s.steps.every((step, i) => step === i + 1),
            `${context} ${s.name}`,
          ).toBe(true);
        }
        expect(series[0]!.values.every((v, i) => v === 1 / (i + 1))).toBe(true);

        // The latest checkpoint is whole (hashes match, header step matches) and agrees with run.step:
        // the run is at most one metrics batch past it (batch committed, checkpoint not yet).
        const latest = store.latestCheckpoint(runId);
        if (latest) {
          expect(sha(latest.model), context).toBe(latest.meta.model);
          expect(sha(latest.optimizer!), context).toBe(latest.meta.optimizer);
          expect(new DataView(latest.model.buffer, latest.model.byteOffset).getUint32(0, true)).toBe(latest.step);
          expect([0, 10], context).toContain(run.step - latest.step);
          const steps = store.listCheckpoints(runId).map((c) => c.step);
          expect(steps.length).toBeLessThanOrEqual(KEEP);
          expect(steps.at(-1)).toBe(latest.step);
          for (const c of store.listCheckpoints(runId)) {
            const full = store.checkpointAt(runId, c.step);
            expect(sha(full.model), `${context} checkpoint ${c.step}`).toBe(full.meta.model);
          }
        } else {
          expect(run.step, context).toBeLessThanOrEqual(10);
        }

        // Recovery after the crash: the orphaned run becomes resumable (or failed, with no checkpoint).
        const marked = store.markInterruptedRuns();
        expect(marked[latest ? 'paused' : 'failed'], context).toEqual([runId]);
        if (!latest) store.setStatus(runId, 'queued'); // retry: the next child starts it again

        trials.push({ delayMs, fromStep, toStep: run.step, checkpointStep: latest?.step ?? null, walLeft });
      } finally {
        store.close();
      }
    }

    console.info('[store] crash trials', trials);
    // The kills landed while work was happening, not only before the first write.
    expect(trials.filter((t) => t.toStep > t.fromStep).length).toBeGreaterThanOrEqual(TRIALS / 2);
    expect(watcher.integrityCheck().ok).toBe(true);
  });
});
