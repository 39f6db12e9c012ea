// kill -9 of `flow-studio train` at random moments, then `train --resume` to the end. The store must
// stay sound after every kill, and the resumed run must be the run that was asked for: completed at
// its configured step count, with each metric logged exactly once per logged step, and the metrics
// the killed processes wrote after their last checkpoint replaced (rewound), not kept.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../../main/store';
import { cli, collect, freshHome, jsonOf, killGroup, show, startCli, writeJson } from './helpers';

// Sized for speed: this MLP trains at ~1700 steps/s on one wasm thread here, so the run must last
// well beyond the kills (each up to ~2 s into a resume) and checkpoints must be a second or more
// apart, or a resume finishes (or checkpoints) before a kill lands where it is meant to.
const TOTAL = 20_000;
const LOG_EVERY = 10;
const CHECKPOINT_EVERY = 2000;
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));
/**
 * The untargeted kills, each at a different random moment: one counted from the start of the
 * process (it may land in Node's startup, the run lookup or the rewind), two counted from when the
 * resumed worker has the run 'running' again (training, metrics flushes, checkpoint commits).
 */
const RANDOM_KILLS: { after: 'spawn' | 'running'; ms: number }[] = [
  { after: 'spawn', ms: rand(300, 2000) },
  { after: 'running', ms: rand(0, 700) },
  { after: 'running', ms: rand(700, 2000) },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Kill {
  trial: string;
  at: number;
  checkpointStep: number | null;
  runStep: number;
  status: string;
  ownerPid: number | null;
}

/** Opens the file on a fresh connection, checks it, and returns what a resume will start from. */
function inspect(dbPath: string, runId: string, trial: string): Kill {
  const store = RunStore.open(dbPath);
  try {
    const report = store.integrityCheck();
    expect(report.integrity, `integrity after ${trial}`).toEqual(['ok']);
    expect(report.ok, `foreign keys after ${trial}: ${report.foreignKeyProblems.join('; ')}`).toBe(true);
    const run = store.getRun(runId);
    return {
      trial,
      at: Date.now(),
      checkpointStep: store.latestCheckpoint(runId)?.step ?? null,
      runStep: run.step,
      status: run.status,
      ownerPid: run.ownerPid,
    };
  } finally {
    store.close();
  }
}

/** Polls the store until `ready` holds, up to `timeoutMs`. */
async function until(dbPath: string, ready: (s: RunStore) => boolean, timeoutMs: number, what: string): Promise<void> {
  const watcher = RunStore.open(dbPath);
  try {
    const end = Date.now() + timeoutMs;
    while (!ready(watcher)) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  } finally {
    watcher.close();
  }
}

describe('kill -9 during train, then train --resume', () => {
  it(`leaves a sound store after 5 kills and resumes to step ${TOTAL} with rewound metrics`, async () => {
    const home = freshHome();
    const dbPath = join(home, 'flow-studio.db');
    RunStore.open(dbPath).close(); // the file exists before anyone polls it
    const config = writeJson(home, 'crash.json', {
      name: 'crash',
      data: { kind: 'toy2d', name: 'moons' },
      model: { kind: 'mlp', width: 64, depth: 2 },
      train: { steps: TOTAL, batchSize: 128, checkpointEvery: CHECKPOINT_EVERY, logEvery: LOG_EVERY, sampleEvery: 0 },
    });
    const kills: Kill[] = [];
    const killAndInspect = async (child: ReturnType<typeof startCli>, runId: string, trial: string) => {
      const done = collect(child);
      killGroup(child, 'SIGKILL');
      const r = await done;
      expect(r.signal, `${trial}: ${show(r)}`).toBe('SIGKILL');
      kills.push(inspect(dbPath, runId, trial));
    };

    // Trial 1: killed as soon as the worker has taken the run (status 'running', set just before the
    // first step), long before the first checkpoint, so the resume restarts at 0. Waiting for the
    // first metrics instead raced the first checkpoint on a fast machine (metrics flush once a second).
    const first = startCli(['train', '--config', config, '--json'], { home });
    let runId = '';
    await until(
      dbPath,
      (s) => {
        const run = s.listRuns()[0];
        if (run) runId = run.id;
        return run !== undefined && run.status === 'running';
      },
      60_000,
      'the run to start training',
    );
    await killAndInspect(first, runId, 'kill before the first checkpoint');
    expect(kills[0]!.checkpointStep).toBeNull();

    // Trials 2-4: killed at random moments of a resume (startup, rewind, training, checkpointing).
    for (const k of RANDOM_KILLS) {
      const stale = kills.at(-1)!.ownerPid; // the dead process still named as owner
      const child = startCli(['train', '--resume', runId, '--json'], { home });
      if (k.after === 'running') {
        await until(
          dbPath,
          (s) => {
            const run = s.getRun(runId);
            return run.status === 'running' && run.ownerPid !== stale;
          },
          60_000,
          'the resumed run to be running',
        );
      }
      await sleep(k.ms);
      await killAndInspect(child, runId, `kill ${k.ms} ms after ${k.after === 'spawn' ? 'the start' : 'training resumed'}`);
    }

    // Trial 5: killed while metrics past the latest checkpoint are stored (the rewind case).
    const last = startCli(['train', '--resume', runId, '--json'], { home });
    await until(
      dbPath,
      (s) => {
        const ckpt = s.listCheckpoints(runId).at(-1);
        return ckpt !== undefined && s.getRun(runId).step > ckpt.step;
      },
      60_000,
      'metrics past a checkpoint',
    );
    await killAndInspect(last, runId, 'kill with metrics past the checkpoint');
    const rewindCase = kills.at(-1)!;
    expect(rewindCase.runStep).toBeGreaterThan(rewindCase.checkpointStep!);
    expect(rewindCase.status).toBe('running'); // as a dead process leaves it; --resume recovers it

    // The final resume runs to the end.
    const r = await cli(['train', '--resume', runId, '--json'], { home, timeoutMs: 150_000 });
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{ status: string; step: number; totalSteps: number; resumedFrom: number | null }>(r);
    expect(doc).toMatchObject({ status: 'completed', step: TOTAL, totalSteps: TOTAL });

    const store = RunStore.open(dbPath);
    try {
      expect(store.integrityCheck().ok).toBe(true);
      const run = store.getRun(runId);
      expect(run.status).toBe('completed');
      expect(run.step).toBe(TOTAL);
      expect(store.latestCheckpoint(runId)?.step).toBe(TOTAL);
      const [loss] = store.getMetrics(runId, ['loss']);
      // Every logged step exactly once: no duplicates from replayed steps, no gaps from lost ones.
      expect(loss!.steps).toEqual(Array.from({ length: TOTAL / LOG_EVERY }, (_, i) => (i + 1) * LOG_EVERY));
      expect(loss!.values.every(Number.isFinite)).toBe(true);
      // Rewound: whatever a killed process logged after its last checkpoint was rewritten later.
      for (const k of kills) {
        const from = k.checkpointStep ?? 0;
        loss!.steps.forEach((step, i) => {
          if (step > from) expect(loss!.wallTimes[i]!, `${k.trial}: step ${step} (checkpoint ${from})`).toBeGreaterThan(k.at);
        });
      }
    } finally {
      store.close();
    }
    console.log(
      `kills: ${kills.map((k) => `${k.trial} -> checkpoint ${k.checkpointStep ?? 'none'}, step ${k.runStep}, ${k.status}`).join('; ')}`,
    );
  }, 170_000);

  it('Ctrl+C (SIGINT) stops after a checkpoint with status cancelled (exit 130); --resume finishes the run', async () => {
    const home = freshHome();
    const dbPath = join(home, 'flow-studio.db');
    RunStore.open(dbPath).close();
    const steps = 20_000; // long enough (~12 s here) that Ctrl+C lands mid-run, after the first metrics flush
    const config = writeJson(home, 'sigint.json', {
      data: { kind: 'toy2d', name: 'moons' },
      model: { kind: 'mlp', width: 64, depth: 2 },
      train: { steps, batchSize: 128, checkpointEvery: 5000, logEvery: LOG_EVERY, sampleEvery: 0 },
    });
    const child = startCli(['train', '--config', config, '--json'], { home });
    const done = collect(child);
    let runId = '';
    await until(
      dbPath,
      (s) => {
        const run = s.listRuns()[0];
        if (run) runId = run.id;
        return run !== undefined && run.step > 0;
      },
      60_000,
      'training to start',
    );
    killGroup(child, 'SIGINT'); // what a terminal's Ctrl+C does: the whole foreground group
    const r = await done;
    expect(r.code, show(r)).toBe(130);
    const doc = jsonOf<{ status: string; step: number }>(r);
    expect(doc.status).toBe('cancelled');
    expect(doc.step).toBeLessThan(steps);

    const store = RunStore.open(dbPath);
    try {
      const run = store.getRun(runId);
      expect(run.status).toBe('cancelled');
      expect(store.latestCheckpoint(runId)?.step).toBe(doc.step); // checkpointed where it stopped
    } finally {
      store.close();
    }

    const resumed = await cli(['train', '--resume', runId, '--json'], { home, timeoutMs: 120_000 });
    expect(resumed.code, show(resumed)).toBe(0);
    expect(jsonOf(resumed)).toMatchObject({ status: 'completed', step: steps, resumedFrom: doc.step });
  }, 150_000);
});
