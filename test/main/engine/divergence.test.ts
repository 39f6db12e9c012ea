// Divergence: an absurd learning rate without clipping drives the loss to Infinity/NaN. The run ends
// 'diverged', its latest checkpoint is the last good one (finite weights, written before the bad
// step), the stored loss shows the non-finite value, and the run cannot be restarted over its record.
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { blobsToState } from '../../../main/engine/state';
import { Harness, tinyMoons } from './helpers';

let h: Harness | null = null;
afterAll(async () => {
  await h?.dispose();
});

describe('divergence', () => {
  it("lr 1e6 without clipping ends 'diverged' and keeps the last good checkpoint", async () => {
    h = new Harness();
    const id = h.run(
      tinyMoons({
        optim: { lr: 1e6, gradClip: 0, warmupSteps: 0, schedule: 'constant' },
        train: { steps: 200, logEvery: 1, checkpointEvery: 1 },
      }),
    );
    const r = await h.sup.start(id);
    expect(r.status).toBe('diverged');
    expect(r.error).toMatch(/^loss became .* at step \d+; the last good checkpoint is kept$/);
    const badStep = r.step + 1; // r.step is the last completed step
    expect(r.error).toContain(`at step ${badStep}`);
    expect(badStep).toBeLessThan(20);

    const run = h.store.getRun(id);
    expect(run.status).toBe('diverged');
    expect(run.error).toBe(r.error);
    expect(h.of(id, 'finished')).toEqual([expect.objectContaining({ status: 'diverged', step: r.step })]);

    // The stored loss ends with the non-finite value at the bad step.
    const loss = h.losses(id);
    expect(loss.steps.at(-1)).toBe(badStep);
    expect(Number.isFinite(loss.values.at(-1))).toBe(false);
    expect(loss.values.slice(0, -1).every(Number.isFinite)).toBe(true);
    // The gradient norm of the bad step is stored beside it (a gradient can overflow before the loss).
    const grad = h.store.getMetrics(id, ['grad_norm'])[0]!;
    expect(grad.steps.at(-1)).toBe(badStep);
    expect(Number.isFinite(grad.values.at(-1))).toBe(false);

    // The latest checkpoint is from before the bad step, and every tensor in it is finite.
    const ckpt = h.store.latestCheckpoint(id)!;
    expect(ckpt.step).toBe(r.step);
    expect(h.of(id, 'checkpoint').at(-1)!.step).toBe(r.step);
    const state = blobsToState(ckpt, 'diverged run');
    try {
      expect(state.size).toBeGreaterThan(0);
      for (const [name, t] of state) {
        const values = t.dataSync();
        expect(values.every((v) => Number.isFinite(v)), name).toBe(true);
      }
    } finally {
      tf.dispose([...state.values()]);
    }

    // diverged is final: another start is refused and the record stays as it was.
    const again = await h.sup.start(id);
    expect(again.status).toBe('failed');
    expect(again.error).toMatch(/is diverged/);
    expect(h.store.getRun(id).status).toBe('diverged');
    expect(h.losses(id)).toEqual(loss);
  });
});
