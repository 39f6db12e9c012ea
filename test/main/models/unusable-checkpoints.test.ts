// Checkpoints that cannot be used: a blob damaged in the SQLite file (it no longer decodes) or
// weights holding NaN. Without an explicit step, sampling and resuming fall back to the previous kept
// checkpoint and say so; an explicit RUN_ID@STEP is refused, as is a run with nothing usable. Through
// the library (runModel), the real command line, the app's compute worker and real training workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../core/model/checkpoint';
import { resolveModel, runModel } from '../../../main/models/load';
import { TensorFormatError } from '../../../main/models/serialize';
import { NonFiniteCheckpointError } from '../../../main/models/state';
import { cli, jsonOf, show } from '../cli/helpers';
import { freshStudio } from '../studio/helpers';
import { corruptCheckpoint, createRun, forgeCheckpoint, Harness, tinyMoons } from '../training/helpers';

let h: Harness;
/** A completed 200-step run: checkpoints at 100, 150, 200 (the store keeps 3). */
let done = '';
beforeAll(async () => {
  h = new Harness({ maxConcurrent: 2 });
  done = h.run(tinyMoons({ train: { steps: 200, checkpointEvery: 50 } }), 'done');
  expect((await h.sup.start(done)).status).toBe('completed');
  expect(h.store.listCheckpoints(done).map((c) => c.step)).toEqual([100, 150, 200]);
}, 120_000);
afterAll(async () => {
  await h.dispose();
});

describe('sampling from a run whose newest checkpoint is unusable', () => {
  it('falls back to the previous one with a warning; RUN_ID@STEP of the damaged one is refused', async () => {
    corruptCheckpoint(h.dbPath, done, 200, 'ema');
    const m = runModel(h.store, done);
    try {
      expect(m.step).toBe(150);
      expect(m.label).toBe(`run ${done} step 150 (EMA)`);
      expect(m.warnings).toEqual([
        `checkpoint of run ${done} at step 200 EMA weights: not a Flow Studio tensor file; sampling from the checkpoint at step 150 instead`,
      ]);
    } finally {
      m.dispose();
    }
    expect(() => resolveModel(`${done}@200`, { store: h.store })).toThrow(TensorFormatError);
    const m150 = resolveModel(`${done}@150`, { store: h.store });
    expect(m150.warnings).toEqual([]);
    m150.dispose();

    // The command line: the sample comes from step 150, the warning is on stderr in text and JSON
    // mode alike and in the JSON document; the explicit step is bad input (exit 2).
    const r = await cli(['sample', '--model', done, '--n', '5', '--solver', 'euler', '--steps', '4', '--json'], { home: h.dir });
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{ model: { step: number; warnings: string[] }; samples: number[][] }>(r);
    expect(doc.model.step).toBe(150);
    expect(doc.model.warnings).toEqual([expect.stringContaining('at step 200')]);
    expect(doc.samples.flat().every(Number.isFinite)).toBe(true);
    expect(r.stderr).toContain(
      `warning: checkpoint of run ${done} at step 200 EMA weights: not a Flow Studio tensor file; sampling from the checkpoint at step 150 instead`,
    );
    const explicit = await cli(['sample', '--model', `${done}@200`, '--n', '5'], { home: h.dir });
    expect(explicit.code, show(explicit)).toBe(2);
    expect(explicit.stderr).toMatch(
      new RegExp(`--model ${done}@200: checkpoint of run ${done} at step 200 EMA weights: not a Flow Studio tensor file`),
    );
  });

  it('skips every unusable one (NaN weights too), and refuses when none is left', () => {
    const id = createRun(h.store, tinyMoons(), 'forged');
    forgeCheckpoint(h.store, id, 10, { value: 1 }); // finite
    const bad = forgeCheckpoint(h.store, id, 20, { tensor: 2, index: 5 });
    forgeCheckpoint(h.store, id, 30);
    corruptCheckpoint(h.dbPath, id, 30, 'ema');
    const m = runModel(h.store, id);
    try {
      expect(m.step).toBe(10);
      expect(m.warnings).toEqual([
        `checkpoint of run ${id} at step 30 EMA weights: not a Flow Studio tensor file; sampling from the checkpoint at step 10 instead`,
        expect.stringMatching(
          new RegExp(
            `^${bad}: holds NaN at index 5 of \\d+ in checkpoint of run ${id} at step 20; sampling from the checkpoint at step 10 instead$`,
          ),
        ),
      ]);
    } finally {
      m.dispose();
    }
    expect(() => runModel(h.store, id, 20)).toThrow(NonFiniteCheckpointError);
    expect(() => runModel(h.store, id, 20)).toThrow(`${bad}: holds NaN at index 5`);

    corruptCheckpoint(h.dbPath, id, 10, 'model'); // sampling reads the EMA: still usable
    expect(runModel(h.store, id).step).toBe(10);
    corruptCheckpoint(h.dbPath, id, 10, 'ema');
    expect(() => runModel(h.store, id)).toThrow(CheckpointError);
    expect(() => runModel(h.store, id)).toThrow(
      new RegExp(
        `^checkpoint: run ${id} has no usable checkpoint \\(3 kept, none decodes to finite weights\\): .*step 30.*; ${bad}: holds NaN.*; .*step 10`,
      ),
    );
  });
});

describe('a forged checkpoint with a NaN weight', () => {
  it('is refused by `sample` with exit 2, naming the run, the step and the tensor; nothing is written', async () => {
    const id = createRun(h.store, tinyMoons(), 'nan');
    const bad = forgeCheckpoint(h.store, id, 40, { tensor: 1, index: 3 });
    const before = JSON.stringify([h.store.getRun(id), h.store.listCheckpoints(id), h.store.listSamples(id)]);
    for (const spec of [id, `${id}@40`]) {
      const r = await cli(['sample', '--model', spec, '--n', '5'], { home: h.dir });
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toContain(`${bad}: holds NaN at index 3`);
      expect(r.stderr).toContain(`checkpoint of run ${id} at step 40`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
    expect(JSON.stringify([h.store.getRun(id), h.store.listCheckpoints(id), h.store.listSamples(id)])).toBe(before);
  });

  it("is refused by the app's compute worker, and a damaged newest one falls back there too", async () => {
    const studio = freshStudio();
    try {
      const store = studio.service.store;
      const id = createRun(store, tinyMoons(), 'nan');
      const bad = forgeCheckpoint(store, id, 40, { tensor: 1, index: 3 });
      const env = await studio.service.call('sampleNow', { id, n: 8, solver: 'euler', steps: 2 });
      expect(env.ok).toBe(false);
      if (!env.ok) {
        expect(env.error.message).toContain(`${bad}: holds NaN at index 3`);
        expect(env.error.message).toContain(`checkpoint of run ${id} at step 40`);
      }

      const ok = createRun(store, tinyMoons(), 'two');
      forgeCheckpoint(store, ok, 10, { value: 0.5 });
      forgeCheckpoint(store, ok, 20, { value: 0.5 });
      corruptCheckpoint(studio.dir + '/flow-studio.db', ok, 20, 'ema');
      const r = await studio.call('sampleNow', { id: ok, n: 8, solver: 'euler', steps: 2 });
      expect(r.step).toBe(10);
      expect(r.sample.kind === 'points' && r.sample.points.flat().every(Number.isFinite)).toBe(true);
    } finally {
      await studio.dispose();
    }
  });
});

describe('resuming a run whose newest checkpoint is unusable', () => {
  it('falls back to the previous one, rewinds to it and trains on to the same result as straight', async () => {
    const total = 400;
    const config = tinyMoons({ seed: 9, train: { steps: total, logEvery: 1, checkpointEvery: 50 } });
    const straight = h.run(config, 'straight');
    const split = h.run(config, 'split');
    const straightDone = h.sup.start(straight);

    const first = h.sup.start(split, { progressIntervalMs: 20 });
    await h.waitFor((e) => e.type === 'progress' && e.runId === split && e.step >= 220);
    h.sup.cancel(split);
    const cancelled = await first;
    expect(cancelled.status).toBe('cancelled');
    const k = cancelled.step;
    const kept = h.store.listCheckpoints(split).map((c) => c.step);
    expect(kept.at(-1)).toBe(k);
    const previous = kept.at(-2)!;
    expect(previous).toBe(50 * Math.floor((k - 1) / 50));

    corruptCheckpoint(h.dbPath, split, k, 'optimizer');
    const resumed = await h.sup.start(split);
    expect(resumed).toMatchObject({ status: 'completed', step: total });
    expect(h.of(split, 'started').at(-1)).toMatchObject({
      resumedFrom: previous,
      startStep: previous,
      warnings: [
        `checkpoint of run ${split} at step ${k}: not a Flow Studio tensor file; resuming from the checkpoint at step ${previous} instead`,
      ],
    });
    expect((await straightDone).status).toBe('completed');

    // Rewound to `previous`: the steps after it were trained again, once, exactly as straight.
    const names = ['grad_norm', 'loss', 'lr'];
    const a = h.store.getMetrics(straight, names);
    const b = h.store.getMetrics(split, names);
    expect(b[1]!.steps).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(b.map((s) => s.values)).toEqual(a.map((s) => s.values));
    const ca = h.store.latestCheckpoint(straight)!;
    const cb = h.store.latestCheckpoint(split)!;
    expect(Buffer.compare(ca.ema!, cb.ema!)).toBe(0);
  });
});
