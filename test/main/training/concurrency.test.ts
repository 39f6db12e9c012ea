// Two runs training at once (maxConcurrent 2) must not mix: each worker has its own tfjs backend and
// SQLite connection, so each run's stored loss curve must equal, bit for bit (same seed, same wasm
// kernels), the curve of the same config trained alone, and every event must carry its own run id.
import { afterAll, describe, expect, it } from 'vitest';
import type { WorkerEvent } from '../../../main/training/protocol';
import { Harness, tinyMoons } from './helpers';

const configA = tinyMoons({ seed: 11, train: { steps: 250, logEvery: 1, checkpointEvery: 100 } });
const configB = tinyMoons({
  seed: 23,
  data: { kind: 'toy2d', name: '8gaussians' },
  train: { steps: 300, logEvery: 1, checkpointEvery: 100 },
});

const harnesses: Harness[] = [];
afterAll(async () => {
  await Promise.all(harnesses.map((x) => x.dispose()));
});

describe('concurrent runs', () => {
  it('keep their metrics and events apart, and each equals the same config trained alone', async () => {
    const both = new Harness({ maxConcurrent: 2 });
    const alone = new Harness({ maxConcurrent: 1 });
    harnesses.push(both, alone);

    const a = both.run(configA, 'a');
    const b = both.run(configB, 'b');
    // Progress only every 5 ms, so both runs produce many events while they overlap.
    const [ra, rb] = await Promise.all([both.sup.start(a, { progressIntervalMs: 5 }), both.sup.start(b, { progressIntervalMs: 5 })]);
    expect(ra).toMatchObject({ runId: a, status: 'completed', step: 250 });
    expect(rb).toMatchObject({ runId: b, status: 'completed', step: 300 });

    // They did overlap: b started before a finished.
    const idx = (pred: (e: WorkerEvent) => boolean): number => both.events.findIndex(pred);
    expect(idx((e) => e.type === 'started' && e.runId === b)).toBeLessThan(idx((e) => e.type === 'finished' && e.runId === a));
    expect(idx((e) => e.type === 'progress' && e.runId === b)).toBeLessThan(idx((e) => e.type === 'finished' && e.runId === a));

    // Every event names its own run: totals, steps and checkpoints fit that run only.
    for (const [id, total] of [
      [a, 250],
      [b, 300],
    ] as const) {
      const progress = both.of(id, 'progress');
      expect(progress.length).toBeGreaterThan(3);
      expect(progress.every((e) => e.totalSteps === total)).toBe(true);
      expect(progress.map((e) => e.step)).toEqual([...progress.map((e) => e.step)].sort((x, y) => x - y));
      expect(both.of(id, 'checkpoint').map((e) => e.step)).toEqual(total === 250 ? [100, 200, 250] : [100, 200, 300]);
      expect(both.of(id, 'finished')).toHaveLength(1);
      expect(both.of(id, 'started')).toHaveLength(1);
    }
    expect(both.events.every((e) => e.runId === a || e.runId === b)).toBe(true);

    // The same configs alone, one after the other.
    const a1 = alone.run(configA, 'a alone');
    const b1 = alone.run(configB, 'b alone');
    await Promise.all([alone.sup.start(a1), alone.sup.start(b1)]);

    const la = both.losses(a);
    const lb = both.losses(b);
    expect(la.steps).toHaveLength(250);
    expect(lb.steps).toHaveLength(300);
    // Different data and seeds give different curves, so equality below is not trivial.
    expect(la.values.slice(0, 50)).not.toEqual(lb.values.slice(0, 50));
    expect(alone.losses(a1)).toEqual(la);
    expect(alone.losses(b1)).toEqual(lb);
    // The whole stored history agrees too: learning rate, gradient norms and the final quality number.
    for (const [x, y] of [
      [a, a1],
      [b, b1],
    ] as const) {
      const names = ['grad_norm', 'loss', 'lr'];
      expect(alone.store.getMetrics(y, names).map((s) => s.values)).toEqual(both.store.getMetrics(x, names).map((s) => s.values));
      expect(alone.store.getRun(y).summary!.energyDistance).toBe(both.store.getRun(x).summary!.energyDistance);
    }
  });
});
