// Data-parallel arithmetic in one thread: the split of a batch into shards, the weighted combination
// of shard gradients, and the trainer's two halves of a step (shardGradients, applyGradients).
// Several trainers in one thread stand in for replicas; main/training/parallel.ts runs them on threads
// (test/main/training/parallel.test.ts).
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { ConfigError } from '../../../core/errors';
import { toy2dSource } from '../../../core/data/source';
import { combineShards, shardRows } from '../../../core/train/shard';
import type { TrainSpec } from '../../../core/train/config';
import type { Trainer, TrainStepResult } from '../../../core/train/trainer';
import { disposeAll, eightGaussiansSpec, snapshot, trainerFor } from './helpers';

/** One data-parallel step over in-thread replicas: shards, combine in order, every replica applies. */
function parallelStep(replicas: readonly Trainer[]): TrainStepResult[] {
  const K = replicas.length;
  const parts = replicas.map((r, k) => {
    const grads = new Float32Array(r.parameterCount);
    const s = r.shardGradients(k, K, grads);
    return { grads, rows: s.rows, loss: s.loss, cost: s.couplingCost };
  });
  return replicas.map((r) => {
    const g = new Float32Array(r.parameterCount);
    const loss = combineShards(parts, g);
    return r.applyGradients(g, loss, parts[0]!.cost);
  });
}

const bits = (xs: readonly Float32Array[]): number[][] => xs.map((x) => Array.from(new Uint32Array(x.buffer.slice(0))));

describe('shardRows', () => {
  it('splits a batch into contiguous shards that differ by at most one row', () => {
    for (const [B, K] of [
      [256, 2],
      [256, 3],
      [7, 4],
      [1, 2],
      [2048, 5],
    ] as const) {
      const ranges = Array.from({ length: K }, (_, k) => shardRows(B, k, K));
      expect(ranges[0]!.lo).toBe(0);
      expect(ranges.at(-1)!.hi).toBe(B);
      ranges.forEach((r, k) => k > 0 && expect(r.lo).toBe(ranges[k - 1]!.hi));
      const sizes = ranges.map((r) => r.hi - r.lo);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(shardRows(1, 0, 2)).toEqual({ lo: 0, hi: 0 });
    expect(() => shardRows(8, 2, 2)).toThrow(ConfigError);
    expect(() => shardRows(8, 0, 0)).toThrow(ConfigError);
  });
});

describe('combineShards', () => {
  it('is the row-weighted mean of gradients and losses; empty shards are skipped; one shard is copied exactly', () => {
    const g0 = Float32Array.from([1, 2, 3]);
    const g1 = Float32Array.from([4, 5, 6]);
    const out = new Float32Array(3);
    // Rows 1 and 3: weights 1/4 and 3/4.
    const loss = combineShards(
      [
        { grads: g0, rows: 1, loss: 2 },
        { grads: g1, rows: 3, loss: 6 },
      ],
      out,
    );
    expect(loss).toBeCloseTo(0.25 * 2 + 0.75 * 6, 12);
    expect(Array.from(out)).toEqual([0.25 * 1 + 0.75 * 4, 0.25 * 2 + 0.75 * 5, 0.25 * 3 + 0.75 * 6].map(Math.fround));
    // An empty shard's (garbage) values are not read.
    const junk = Float32Array.from([NaN, NaN, NaN]);
    const odd = Float32Array.from([0.1, -1e-7, 3e30]);
    expect(
      combineShards(
        [
          { grads: odd, rows: 5, loss: 1.5 },
          { grads: junk, rows: 0, loss: NaN },
        ],
        out,
      ),
    ).toBe(1.5);
    expect(Array.from(out)).toEqual(Array.from(odd));
    // Three shards: the general loop.
    const three = combineShards(
      [
        { grads: g0, rows: 1, loss: 1 },
        { grads: g1, rows: 1, loss: 2 },
        { grads: g1, rows: 2, loss: 3 },
      ],
      out,
    );
    expect(three).toBeCloseTo(0.25 + 0.5 + 1.5, 12);
    expect(out[0]).toBeCloseTo(0.25 * 1 + 0.25 * 4 + 0.5 * 4, 6);
    expect(() => combineShards([{ grads: g0, rows: 0, loss: 0 }], out)).toThrow(ConfigError);
    expect(() => combineShards([{ grads: new Float32Array(2), rows: 1, loss: 0 }], out)).toThrow(ConfigError);
  });
});

describe('Trainer.shardGradients / applyGradients', () => {
  // Sinkhorn coupling (the whole batch is coupled by every shard), logit-normal times, AdamW with
  // warmup, cosine schedule and clipping: every part of a step takes part.
  const spec = (): TrainSpec =>
    eightGaussiansSpec({
      model: { kind: 'mlp', width: 64, depth: 2 },
      optim: { kind: 'adamw', lr: 2e-3, weightDecay: 0.01, warmupSteps: 5, schedule: 'cosine', gradClip: 1, emaDecay: 0.9 },
      coupling: { kind: 'sinkhorn', reg: 0.1 },
      time: { distribution: 'logit-normal' },
      train: { steps: 40, batchSize: 96 },
    });
  const target = toy2dSource('8gaussians');

  it('one shard of one, then applyGradients, is step() bit for bit', () => {
    const a = trainerFor(spec(), target, 1);
    const b = trainerFor(spec(), target, 1);
    const g = new Float32Array(b.parameterCount);
    expect(b.parameterCount).toBe(b.model.variables.reduce((n, v) => n + v.size, 0));
    for (let i = 0; i < 12; i++) {
      const ra = a.step();
      const s = b.shardGradients(0, 1, g);
      expect(s).toMatchObject({ step: i, rows: 96 });
      const rb = b.applyGradients(g, s.loss, s.couplingCost);
      expect(rb).toEqual(ra);
    }
    expect(bits(snapshot(b))).toEqual(bits(snapshot(a)));
    disposeAll(a);
    disposeAll(b);
  });

  it('K in-thread replicas stay identical and follow the single-thread curve to float32 rounding', () => {
    for (const K of [2, 3]) {
      const single = trainerFor(spec(), target, 1);
      const replicas = Array.from({ length: K }, () => trainerFor(spec(), target, 1));
      const before = tf.memory().numTensors;
      let maxRel = 0;
      for (let i = 0; i < 30; i++) {
        const r1 = single.step();
        const rs = parallelStep(replicas);
        // Every replica reports the same result (same combined gradient, same state).
        rs.forEach((r) => expect(r).toEqual(rs[0]));
        expect(rs[0]).toMatchObject({ step: i + 1, diverged: false, lr: r1.lr });
        expect(rs[0]!.couplingCost).toBe(r1.couplingCost);
        maxRel = Math.max(
          maxRel,
          Math.abs(rs[0]!.loss - r1.loss) / Math.abs(r1.loss),
          Math.abs(rs[0]!.gradNorm - r1.gradNorm) / r1.gradNorm,
        );
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(maxRel).toBeLessThan(1e-4);
      expect(maxRel).toBeGreaterThan(0); // not trivially the same computation
      const w0 = bits(snapshot(replicas[0]!));
      for (const r of replicas.slice(1)) expect(bits(snapshot(r))).toEqual(w0);
      // Optimiser state and EMA too.
      const s0 = replicas[0]!.getState();
      for (const r of replicas.slice(1)) {
        const s = r.getState();
        for (const [k, t] of s0) expect(Array.from(s.get(k)!.dataSync())).toEqual(Array.from(t.dataSync()));
        tf.dispose([...s.values()]);
      }
      tf.dispose([...s0.values()]);
      [single, ...replicas].forEach(disposeAll);
    }
  });

  it('slices labels and loss weights with the rows (conditional model, min-SNR weighting)', () => {
    const cond = (): TrainSpec =>
      eightGaussiansSpec({
        model: { kind: 'mlp', width: 32, depth: 2 },
        conditional: true,
        labelDropout: 0.2,
        prediction: 'eps',
        time: { weighting: 'snr-clipped' },
        train: { steps: 10, batchSize: 64 },
      });
    const single = trainerFor(cond(), target, 2);
    const replicas = [trainerFor(cond(), target, 2), trainerFor(cond(), target, 2)];
    for (let i = 0; i < 8; i++) {
      const r1 = single.step();
      const [a, b] = parallelStep(replicas);
      expect(a).toEqual(b);
      expect(Math.abs(a!.loss - r1.loss) / r1.loss).toBeLessThan(1e-5);
    }
    [single, ...replicas].forEach(disposeAll);
  });

  it('more shards than rows: the empty shards contribute nothing', () => {
    const tiny = (): TrainSpec => eightGaussiansSpec({ model: { kind: 'mlp', width: 16, depth: 1 }, train: { steps: 5, batchSize: 2 } });
    const single = trainerFor(tiny(), target, 3);
    const replicas = [0, 1, 2].map(() => trainerFor(tiny(), target, 3));
    // B = 2, K = 3: rows [0, 0), [0, 1), [1, 2).
    const g = new Float32Array(replicas[0]!.parameterCount).fill(7);
    expect(replicas[0]!.shardGradients(0, 3, g)).toMatchObject({ rows: 0, loss: 0 });
    expect(g.every((x) => x === 0)).toBe(true);
    const r1 = single.step();
    const [a] = parallelStep(replicas);
    expect(Math.abs(a!.loss - r1.loss) / r1.loss).toBeLessThan(1e-5);
    [single, ...replicas].forEach(disposeAll);
  });

  it('a non-finite loss or gradient changes nothing and reports divergence', () => {
    const tr = trainerFor(spec(), target, 1);
    tr.step();
    const w = bits(snapshot(tr));
    const g = new Float32Array(tr.parameterCount);
    const s = tr.shardGradients(0, 1, g);
    expect(tr.applyGradients(g, NaN)).toMatchObject({ step: 2, diverged: true });
    const bad = g.slice();
    bad[5] = Infinity;
    expect(tr.applyGradients(bad, s.loss)).toMatchObject({ step: 2, diverged: true, gradNorm: Infinity });
    expect(tr.stepCount).toBe(1);
    expect(bits(snapshot(tr))).toEqual(w);
    expect(() => tr.applyGradients(new Float32Array(3), 1)).toThrow(/needs \d+ values/);
    expect(() => tr.shardGradients(0, 1, new Float32Array(3))).toThrow(/needs \d+ values/);
    disposeAll(tr);
  });
});
