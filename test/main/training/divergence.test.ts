// Divergence: an absurd learning rate without clipping drives the loss (or, first, the weights) to
// Infinity/NaN. The run ends 'diverged', no checkpoint with a non-finite value is ever written, the
// stored error says honestly whether a finite checkpoint is left and at which step, and the run
// cannot be restarted over its record. Real worker threads and a real SQLite file (Harness).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { runModel } from '../../../main/models/load';
import { blobsToState, firstNonFinite, NonFiniteCheckpointError, stateToBlobs } from '../../../main/models/state';
import { Harness, tinyMoons } from './helpers';

let h: Harness;
beforeAll(() => {
  h = new Harness({ maxConcurrent: 2 });
});
afterAll(async () => {
  await h.dispose();
});

/** Every tensor of every kept checkpoint of the run decodes to finite values. */
function allCheckpointsFinite(id: string): void {
  for (const info of h.store.listCheckpoints(id)) {
    const state = blobsToState(h.store.checkpointAt(id, info.step), `step ${info.step}`); // throws on NaN
    try {
      expect(state.size).toBeGreaterThan(0);
      for (const [name, t] of state) expect(Array.from(t.dataSync()).every(Number.isFinite), name).toBe(true);
    } finally {
      tf.dispose([...state.values()]);
    }
  }
}

describe('divergence', () => {
  it("lr 1e6 without clipping ends 'diverged'; the message names the last finite checkpoint, which samples", async () => {
    const id = h.run(
      tinyMoons({
        optim: { lr: 1e6, gradClip: 0, warmupSteps: 0, schedule: 'constant' },
        train: { steps: 200, logEvery: 1, checkpointEvery: 1 },
      }),
    );
    const r = await h.sup.start(id);
    expect(r.status).toBe('diverged');
    const badStep = r.step + 1; // r.step is the last completed step
    expect(badStep).toBeLessThan(20);
    // checkpointEvery 1: the last finite checkpoint is the last completed step's.
    expect(r.error).toMatch(
      new RegExp(
        `^loss became \\S+ \\(gradient norm \\S+\\) at step ${badStep}; the last finite checkpoint is at step ${r.step} \\(sample from it\\)$`,
      ),
    );

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

    // The latest checkpoint is from before the bad step, and every tensor of every kept one is finite.
    expect(h.store.latestCheckpoint(id)!.step).toBe(r.step);
    expect(h.of(id, 'checkpoint').at(-1)!.step).toBe(r.step);
    allCheckpointsFinite(id);
    // ... and it is what sampling loads, without a warning.
    const m = runModel(h.store, id);
    try {
      expect(m).toMatchObject({ step: r.step, warnings: [] });
    } finally {
      m.dispose();
    }

    // diverged is final: another start is refused and the record stays as it was.
    const again = await h.sup.start(id);
    expect(again.status).toBe('failed');
    expect(again.error).toMatch(/is diverged/);
    expect(h.store.getRun(id).status).toBe('diverged');
    expect(h.losses(id)).toEqual(loss);
  });

  it('a loss that diverges before the first checkpoint: the message says the run has no usable weights', async () => {
    const id = h.run(
      tinyMoons({
        optim: { lr: 1e6, gradClip: 0, warmupSteps: 0, schedule: 'constant' },
        train: { steps: 200, logEvery: 1, checkpointEvery: 100 },
      }),
    );
    const r = await h.sup.start(id);
    expect(r.status).toBe('diverged');
    expect(r.step).toBeLessThan(100);
    expect(r.error).toMatch(
      /^loss became \S+ \(gradient norm \S+\) at step \d+; no checkpoint had been written yet, so this run has no usable weights$/,
    );
    expect(h.store.listCheckpoints(id)).toEqual([]);
    expect(() => runModel(h.store, id)).toThrow(/has no checkpoint yet \(status diverged/);
  });

  it('weights that go non-finite while the loss is finite end the run at the checkpoint, which is not written', async () => {
    // lr 1e39 is finite for the schema but Infinity in float32: the first update turns the weights
    // into Infinity/NaN after a finite loss. checkpointEvery 1 checks them at once.
    const id = h.run(
      tinyMoons({
        optim: { lr: 1e39, gradClip: 0, warmupSteps: 0, schedule: 'constant' },
        train: { steps: 200, logEvery: 1, checkpointEvery: 1 },
      }),
    );
    const r = await h.sup.start(id);
    expect(r.status).toBe('diverged');
    expect(r.step).toBe(1);
    expect(r.error).toMatch(
      /^the weights became non-finite by step 1 while the loss stayed finite \(model\/mlp\/\S+: holds (NaN|-?Infinity) at index \d+ of \d+ in the trainer state at step 1\); no checkpoint had been written yet, so this run has no usable weights$/,
    );
    expect(h.store.getRun(id)).toMatchObject({ status: 'diverged', error: r.error });
    expect(h.store.listCheckpoints(id)).toEqual([]);
    expect(h.of(id, 'checkpoint')).toEqual([]);
    // The loss of step 1 was finite and is stored: nothing in the curve showed it.
    const loss = h.losses(id);
    expect(loss.steps).toEqual([1]);
    expect(Number.isFinite(loss.values[0])).toBe(true);
  });
});

describe('the finiteness check', () => {
  it('firstNonFinite finds the first NaN or ±Infinity like a plain scan, at any position', () => {
    const rng = new Rng(11);
    for (const n of [0, 1, 3, 4095, 4096, 4097, 20_000]) {
      const a = Float32Array.from(rng.normals(n));
      expect(firstNonFinite(a)).toBe(-1);
      for (const bad of [NaN, Infinity, -Infinity]) {
        if (n === 0) continue;
        const b = a.slice();
        const at = [rng.int(n), rng.int(n)].sort((x, y) => x - y);
        b[at[1]!] = bad;
        b[at[0]!] = bad;
        expect(firstNonFinite(b)).toBe(Array.from(b).findIndex((v) => !Number.isFinite(v)));
      }
      // Huge finite values are finite (x * 0 stays 0).
      const big = new Float32Array(n).fill(3.4e38);
      expect(firstNonFinite(big)).toBe(-1);
    }
  });

  it('stateToBlobs refuses a state with a non-finite moment, naming the tensor', () => {
    const state = new Map([
      ['model/w', tf.tensor1d([1, 2, 3])],
      ['optim/ema/w', tf.tensor1d([1, 2, 3])],
      ['optim/m/w', tf.tensor1d([0, Infinity, 0])],
      ['trainer/rng', tf.tensor1d([7, 3], 'int32')],
    ]);
    try {
      expect(() => stateToBlobs(state, 'the trainer state at step 3')).toThrow(
        new NonFiniteCheckpointError('optim/m/w', 1, Infinity, 3, 'the trainer state at step 3'),
      );
      expect(() => stateToBlobs(state)).toThrow('optim/m/w: holds Infinity at index 1 of 3 in the trainer state');
    } finally {
      tf.dispose([...state.values()]);
    }
  });
});
