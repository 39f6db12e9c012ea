// Runs with train.engine 'pytorch', supervised as tfjs runs are: the real Supervisor, a real training
// worker thread, a real Python child process (the interpreter findTorchPython finds; skipped with the
// reason printed when there is none), a real SQLite file. What must hold:
//   - events, metrics, checkpoints, samples and the final status land in the store as for a tfjs run;
//     checkpoints are safetensors blobs the tfjs samplers load;
//   - pause, sample-now, resume, cancel act on the Python process, and a run started again resumes
//     from its last stored checkpoint, continuing its step count;
//   - a Python process killed with SIGKILL ends the run 'failed' with its last checkpoint intact,
//     and the run resumes from it;
//   - no usable Python: refused before a run record exists (createRun's preflight), and a run whose
//     Python disappeared fails with a message naming what is missing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors';
import { createRun as createRunUseCase } from '../../../main/app/runs';
import { tensorFormatOf } from '../../../main/models/serialize';
import { resolveModel } from '../../../main/models/load';
import { findTorchPython } from '../../../main/runtime/python';
import { engineJobDir } from '../../../main/training/torch-job';
import type { TorchBackendInfo, WorkerEvent } from '../../../main/training/protocol';
import { Harness, tinyMoons, type Patch } from './helpers';

let reason: string | null = 'not probed';
beforeAll(async () => {
  const found = await findTorchPython();
  reason = found.ok ? null : found.reason;
  if (reason) console.log(`[skip] PyTorch engine runs: ${reason}`);
}, 120_000);

const harnesses: Harness[] = [];
afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.dispose()));
});

function harness(): Harness {
  const h = new Harness({ backend: 'cpu' });
  harnesses.push(h);
  return h;
}

/** tinyMoons on the PyTorch engine. */
const torchMoons = (patch: Patch = {}) =>
  tinyMoons({ ...patch, train: { engine: 'pytorch', ...((patch.train as object | undefined) ?? {}) } });

type Ev<K extends WorkerEvent['type']> = Extract<WorkerEvent, { type: K }>;
const isStarted = (e: WorkerEvent): e is Ev<'started'> => e.type === 'started';
/** A predicate for the run's event of `type` that also satisfies `pred`. */
function event<K extends WorkerEvent['type']>(runId: string, type: K, pred: (e: Ev<K>) => boolean = () => true) {
  return (e: WorkerEvent): e is Ev<K> => e.runId === runId && e.type === type && pred(e as Ev<K>);
}

describe('a run on the PyTorch engine', () => {
  it('is supervised like a tfjs run: events, metrics, checkpoints, samples and the summary are stored', async (ctx) => {
    if (reason) return ctx.skip();
    const h = harness();
    const id = h.run(torchMoons({ train: { steps: 60, checkpointEvery: 20, logEvery: 5, sampleEvery: 30, sampleCount: 64 } }));
    const r = await h.sup.start(id, { progressIntervalMs: 0 });
    expect(r, r.error).toMatchObject({ status: 'completed', step: 60 });

    const started = h.of(id, 'started')[0]!;
    const backend = started.backend as TorchBackendInfo;
    expect(backend).toMatchObject({ name: 'pytorch', device: 'cpu', world: 1 });
    expect(backend.pid).toBeGreaterThan(0);
    expect(started).toMatchObject({ resumedFrom: null, startStep: 0, totalSteps: 60 });
    expect(h.of(id, 'progress').at(-1)).toMatchObject({ step: 60, totalSteps: 60 });
    expect(h.of(id, 'checkpoint').map((e) => e.step)).toEqual([20, 40, 60]);
    expect(h.of(id, 'sample').map((e) => [e.step, e.kind])).toEqual([
      [30, 'points'],
      [60, 'points'],
    ]);
    expect(Number.isFinite(r.summary.energyDistance)).toBe(true);
    expect(r.summary).toMatchObject({ steps: 60, backend: 'pytorch', device: 'cpu', world: 1 });

    const run = h.store.getRun(id);
    expect(run).toMatchObject({ status: 'completed', step: 60, backend: 'pytorch', owner: null });
    expect(run.summary).toMatchObject({ steps: 60, backend: 'pytorch' });
    expect(h.losses(id).steps).toEqual(Array.from({ length: 12 }, (_, i) => 5 * (i + 1)));
    expect(h.losses(id).values.every(Number.isFinite)).toBe(true);
    expect(
      h.store
        .getMetrics(id)
        .map((m) => m.name)
        .sort(),
    ).toEqual(['grad_norm', 'loss', 'lr']);
    const ckpts = h.store.listCheckpoints(id);
    expect(ckpts.map((c) => c.step)).toEqual([20, 40, 60]);
    expect(ckpts[2]!.meta).toMatchObject({ engine: 'pytorch', shape: [2], numClasses: 0, modelConfig: { kind: 'mlp', dim: 2 } });
    const last = h.store.latestCheckpoint(id)!;
    for (const part of [last.model, last.ema!, last.optimizer!]) expect(tensorFormatOf(part)).toBe('safetensors');
    const samples = h.store.listSamples(id);
    expect(samples.map((s) => [s.step, s.kind])).toEqual([
      [30, 'points'],
      [60, 'points'],
    ]);
    const points = h.store.getSample(samples[1]!.id).data as number[][];
    expect(points).toHaveLength(64);
    expect(points.every((p) => p.length === 2 && p.every(Number.isFinite))).toBe(true);
    // The tfjs samplers load the weights PyTorch trained.
    const m = resolveModel(id, { store: h.store });
    expect(m.label).toBe(`run ${id} step 60 (EMA)`);
    m.dispose();
    // The job folder (data, checkpoint and sample files) is gone: the store holds the run.
    expect(existsSync(engineJobDir(h.dbPath, id))).toBe(false);
  }, 240_000);

  it('pauses, samples now, resumes and cancels the Python process; started again, it resumes from its last checkpoint', async (ctx) => {
    if (reason) return ctx.skip();
    const h = harness();
    const id = h.run(torchMoons({ train: { steps: 20000, checkpointEvery: 10000, logEvery: 1 } }));
    const first = h.sup.start(id, { progressIntervalMs: 0 });
    await h.waitFor(event(id, 'progress'));
    h.sup.pause(id);
    const paused = await h.waitFor(event(id, 'paused'));
    expect(h.store.getRun(id).status).toBe('paused');
    // Pausing checkpoints (stored before the 'paused' event).
    expect(h.store.latestCheckpoint(id)!.step).toBe(paused.step);
    h.sup.sampleNow(id);
    h.sup.resume(id);
    const resumed = await h.waitFor(event(id, 'resumed'));
    expect(resumed.step).toBe(paused.step); // nothing trained while paused
    expect(h.store.getRun(id).status).toBe('running');
    const sample = await h.waitFor(event(id, 'sample'));
    expect(sample.step).toBe(paused.step);
    await h.waitFor(event(id, 'progress', (e) => e.step > paused.step + 5));
    h.sup.cancel(id);
    const end = await first;
    expect(end.status).toBe('cancelled');
    expect(h.store.getRun(id)).toMatchObject({ status: 'cancelled', owner: null });
    const cancelledAt = end.step;
    expect(h.store.latestCheckpoint(id)!.step).toBe(cancelledAt);

    const again = await h.sup.start(id, { stepsOverride: cancelledAt + 15, progressIntervalMs: 0 });
    expect(again, again.error).toMatchObject({ status: 'completed', step: cancelledAt + 15 });
    expect(h.of(id, 'started').at(-1)).toMatchObject({ resumedFrom: cancelledAt, startStep: cancelledAt });
    // One loss per step, 1 .. the end: the resumed part continues the count, nothing twice.
    expect(h.losses(id).steps).toEqual(Array.from({ length: cancelledAt + 15 }, (_, i) => i + 1));
  }, 240_000);

  it('a Python process killed with SIGKILL fails the run with its last checkpoint intact; the run resumes from it', async (ctx) => {
    if (reason) return ctx.skip();
    const h = harness();
    const id = h.run(torchMoons({ train: { steps: 20000, checkpointEvery: 25, logEvery: 5 } }));
    const first = h.sup.start(id, { progressIntervalMs: 0 });
    const started = await h.waitFor(isStarted);
    await h.waitFor(event(id, 'checkpoint', (e) => e.step >= 50));
    process.kill((started.backend as TorchBackendInfo).pid, 'SIGKILL');
    const end = await first;
    expect(end.status).toBe('failed');
    const kept = h.store.latestCheckpoint(id)!.step;
    expect(kept).toBeGreaterThanOrEqual(50);
    expect(end.error).toMatch(
      new RegExp(
        `^the PyTorch engine \\(pid \\d+\\) was killed by SIGKILL before finishing; its last checkpoint \\(step ${kept}\\) is intact`,
      ),
    );
    expect(h.store.getRun(id)).toMatchObject({ status: 'failed', owner: null });

    const again = await h.sup.start(id, { stepsOverride: kept + 10, progressIntervalMs: 0 });
    expect(again, again.error).toMatchObject({ status: 'completed', step: kept + 10 });
    expect(h.of(id, 'started').at(-1)).toMatchObject({ resumedFrom: kept, startStep: kept });
    // Rewound to the checkpoint: the losses logged after it by the killed process are gone.
    const steps = h.losses(id).steps;
    expect(steps).toEqual([...new Set(steps)].sort((a, b) => a - b));
    expect(steps.at(-1)).toBe(kept + 10);
  }, 240_000);
});

describe('without a usable Python', () => {
  it('createRun refuses a PyTorch run before storing anything, naming what is missing', async () => {
    const h = harness();
    const before = process.env.FLOW_STUDIO_PYTHON;
    process.env.FLOW_STUDIO_PYTHON = join(h.dir, 'no-such-python');
    try {
      const err = await createRunUseCase(h.store, torchMoons()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe('train.engine');
      expect((err as Error).message).toMatch(/FLOW_STUDIO_PYTHON=.*no-such-python cannot run the PyTorch engine: .*not found/);
      expect(h.store.listRuns()).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.FLOW_STUDIO_PYTHON;
      else process.env.FLOW_STUDIO_PYTHON = before;
    }
  });

  it('a stored run whose Python is gone fails at start with that reason, and nothing else changes', async () => {
    const h = harness();
    const id = h.run(torchMoons());
    const before = process.env.FLOW_STUDIO_PYTHON;
    process.env.FLOW_STUDIO_PYTHON = join(h.dir, 'no-such-python');
    try {
      const r = await h.sup.start(id);
      expect(r.status).toBe('failed');
      expect(r.error).toMatch(/^the PyTorch engine \(train\.engine 'pytorch'\) cannot start: FLOW_STUDIO_PYTHON=.* not found/);
      expect(h.store.getRun(id)).toMatchObject({ status: 'failed', step: 0 });
      expect(h.store.listCheckpoints(id)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.FLOW_STUDIO_PYTHON;
      else process.env.FLOW_STUDIO_PYTHON = before;
    }
  });
});
