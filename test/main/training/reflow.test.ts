// Reflow as a pipeline: a finished run's EMA model generates (noise, sample) pairs and a new run
// trains on them; the new flow must be straighter (Liu et al.: reflow straightens trajectories).
import { describe, expect, it } from 'vitest';
import { Supervisor } from '../../../main/training/supervisor';
import { createRun, freshStore, preset } from './helpers';

describe('reflow run', () => {
  it('trains on the parent model pairs and reports straightness before > after', async () => {
    const { dbPath, store } = freshStore();
    const base = preset('8gaussians');
    base.coupling = { kind: 'independent' };
    base.train = { steps: 300, batchSize: 256, checkpointEvery: 300, logEvery: 50, sampleEvery: 0, sampleCount: 100 };
    const parentId = createRun(store, base, 'parent');
    const sup = new Supervisor({ dbPath });
    expect((await sup.start(parentId)).status).toBe('completed');

    const child = { ...base, reflow: { from: parentId, pairs: 2048, solver: 'rk4' as const, steps: 20 } };
    const childId = createRun(store, child, 'reflow');
    const r = await sup.start(childId);
    expect(r.status, r.error).toBe('completed');
    const before = Number(r.summary.straightnessBefore);
    const after = Number(r.summary.straightnessAfter);
    // Independent-coupling CFM on 8 gaussians has strongly curved paths (S of order 1); one reflow
    // on model pairs removes most of the curvature.
    expect(before).toBeGreaterThan(0.5);
    expect(after).toBeLessThan(before / 2);
    // And it still models the data: energy distance of its samples to fresh data stays small.
    expect(Number(r.summary.energyDistance)).toBeLessThan(0.5);
    // ... and reaches the 8 modes: most data points have a sample in their 5-NN ball.
    expect(Number(r.summary.coverage)).toBeGreaterThan(0.5);
    expect(Number(r.summary.coverage)).toBeLessThanOrEqual(1);
    store.close();
  });

  it('refuses a reflow from a run of another data shape, naming reflow.from', async () => {
    const { dbPath, store } = freshStore();
    const base = preset('moons');
    base.train = { steps: 20, batchSize: 64, checkpointEvery: 20, logEvery: 10, sampleEvery: 0, sampleCount: 10 };
    base.optim = { ...(base.optim as object), warmupSteps: 10 }; // the preset's 50 must fit in the 20 steps
    const parentId = createRun(store, base, 'parent');
    const sup = new Supervisor({ dbPath });
    await sup.start(parentId);
    const child = {
      ...base,
      data: { kind: 'gmm' as const, gmm: { weights: [1], means: [[0, 0, 0]], stds: [1] } },
      reflow: { from: parentId },
    };
    const id = createRun(store, child, 'bad');
    const r = await sup.start(id);
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/reflow\.from/);
    expect(store.getRun(parentId).status).toBe('completed'); // nothing stored is lost
    store.close();
  });
});
