// Resume equals straight: N steps in one go, and the same run cancelled part way and started again,
// store identical metrics. The checkpoint carries everything a step depends on: weights, Adam
// moments and step, EMA weights and the trainer's random-stream position (its key and step count).
import { afterAll, describe, expect, it } from 'vitest';
import { Harness, tinyMoons } from './helpers';

let h: Harness | null = null;
afterAll(async () => {
  await h?.dispose();
});

describe('resume', () => {
  it('train N straight == train k, cancel, resume to N (bit for bit on one backend)', async () => {
    h = new Harness({ maxConcurrent: 2 });
    const total = 400;
    // checkpointEvery is the run's length, so the only mid-run checkpoint is the cancel's.
    const config = tinyMoons({ seed: 5, train: { steps: total, logEvery: 1, checkpointEvery: total } });
    const straight = h.run(config, 'straight');
    const split = h.run(config, 'split');
    const straightDone = h.sup.start(straight);

    const first = h.sup.start(split, { progressIntervalMs: 20 });
    await h.waitFor((e) => e.type === 'progress' && e.runId === split && e.step >= 120);
    h.sup.cancel(split);
    const cancelled = await first;
    expect(cancelled.status).toBe('cancelled');
    const k = cancelled.step;
    expect(k).toBeGreaterThanOrEqual(120);
    expect(k).toBeLessThan(total);
    expect(h.store.listCheckpoints(split).map((c) => c.step)).toEqual([k]);

    const resumed = await h.sup.start(split);
    expect(resumed).toMatchObject({ status: 'completed', step: total });
    expect(h.of(split, 'started').at(-1)).toMatchObject({ resumedFrom: k, startStep: k });
    expect((await straightDone).status).toBe('completed');

    const names = ['grad_norm', 'loss', 'lr'];
    const a = h.store.getMetrics(straight, names);
    const b = h.store.getMetrics(split, names);
    expect(a[1]!.steps).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(b.map((s) => s.steps)).toEqual(a.map((s) => s.steps));
    expect(b.map((s) => s.values)).toEqual(a.map((s) => s.values));
    // The EMA weights came through too: the final samples (from the EMA) are the same.
    expect(h.store.getRun(split).summary!.energyDistance).toBe(h.store.getRun(straight).summary!.energyDistance);
    // And the final checkpoints hold the same bytes.
    const ca = h.store.latestCheckpoint(straight)!;
    const cb = h.store.latestCheckpoint(split)!;
    expect(Buffer.compare(ca.model, cb.model)).toBe(0);
    expect(Buffer.compare(ca.ema!, cb.ema!)).toBe(0);
    expect(Buffer.compare(ca.optimizer!, cb.optimizer!)).toBe(0);
  });
});
