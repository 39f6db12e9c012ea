// The fused Adam kernel (core/kernels/adam.ts) against the optimiser's per-op tensor path (the same
// float32 operations; the clip factor comes from a float64 instead of a float32 norm, hence a few ULP), and the
// gradient sum of squares against float64.
import { describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import type { OptimSpec } from '../../../core/train/config';
import { Optimizer } from '../../../core/train/optim';
import { adamKernelActive, sumSquares, useAdamKernel } from '../../../core/kernels/adam';

const BASE: OptimSpec = {
  kind: 'adam',
  lr: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  warmupSteps: 2,
  schedule: 'cosine',
  minLrRatio: 0.1,
  gradClip: 0,
  emaDecay: 0.99,
};

// Sizes with tails that are not multiples of 4 (the kernel's vector width).
const SHAPES = [[3, 5], [5], [7, 2], [2]];

/** Runs `steps` updates with fixed pseudo-random gradients; returns weights, state and step infos. */
function run(spec: OptimSpec, fused: boolean, steps: number, flat: boolean): { values: Float32Array[]; infos: unknown[] } {
  const prev = useAdamKernel(fused);
  try {
    const rng = new Rng(1);
    const vars = SHAPES.map((s, i) =>
      tf.variable(tf.tensor(rng.normals(s.reduce((a, b) => a * b, 1)), s), true, `adam-test-${fused}-${flat}-${i}-${Math.random()}`),
    );
    const opt = new Optimizer(
      vars,
      SHAPES.map((_, i) => `p${i}`),
      spec,
      10,
    );
    const infos: unknown[] = [];
    for (let k = 0; k < steps; k++) {
      const grads = SHAPES.map((s) => tf.tensor(rng.normals(s.reduce((a, b) => a * b, 1)), s));
      if (flat) {
        const g = tf.concat(grads.map((x) => tf.reshape(x, [-1])));
        infos.push(opt.applyFlat(g));
        g.dispose();
      } else infos.push(opt.apply(grads));
      tf.dispose(grads);
    }
    const state = opt.getState();
    const values = [...vars.map((v) => v.dataSync() as Float32Array), ...[...state.values()].map((t) => t.dataSync() as Float32Array)];
    tf.dispose([...state.values()]);
    opt.dispose();
    tf.dispose(vars);
    return { values, infos };
  } finally {
    useAdamKernel(prev);
  }
}

describe('fused Adam kernel', () => {
  const specs: Array<[string, Partial<OptimSpec>]> = [
    ['adam', {}],
    ['adam + L2 + clipping', { weightDecay: 0.1, gradClip: 0.5 }],
    ['adamw + clipping', { kind: 'adamw', weightDecay: 0.05, gradClip: 1 }],
    ['adam, EMA decay 0', { emaDecay: 0 }],
  ];
  for (const [name, over] of specs) {
    it(`gives the per-op path's weights, moments and EMA (${name})`, () => {
      if (!adamKernelActive()) return; // only the wasm backend has the kernel
      const spec = { ...BASE, ...over };
      for (const flat of [false, true]) {
        const a = run(spec, true, 4, flat);
        const b = run(spec, false, 4, flat);
        a.values.forEach((x, i) => {
          for (let j = 0; j < x.length; j++)
            expect(Math.abs(x[j]! - b.values[i]![j]!), `tensor ${i} [${j}] flat ${flat}`).toBeLessThanOrEqual(
              1e-6 * Math.max(1, Math.abs(b.values[i]![j]!)),
            );
        });
        a.infos.forEach((info, k) => {
          const r = b.infos[k] as { gradNorm: number; clip: number; lr: number; applied: boolean };
          const q = info as typeof r;
          expect(q.applied).toBe(r.applied);
          expect(q.lr).toBe(r.lr);
          expect(Math.abs(q.gradNorm - r.gradNorm)).toBeLessThan(1e-5 * r.gradNorm);
          expect(Math.abs(q.clip - r.clip)).toBeLessThan(1e-5);
        });
      }
    });
  }

  it('skips a non-finite gradient like the per-op path', () => {
    if (!adamKernelActive()) return;
    const v = tf.variable(tf.tensor([1, 2, 3]), true, `adam-nan-${Math.random()}`);
    const opt = new Optimizer([v], ['p'], BASE, 10);
    const g = tf.tensor([0, NaN, 1]);
    const info = opt.apply([g]);
    expect(info.applied).toBe(false);
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3]);
    expect(opt.step).toBe(0);
    tf.dispose([g, v]);
    opt.dispose();
  });

  it('sums squares in float64 over several tensors', () => {
    if (!adamKernelActive()) return;
    const rng = new Rng(4);
    const parts = [rng.normals(1001), rng.normals(3), rng.normals(64)];
    let ref = 0;
    for (const p of parts) for (const x of p) ref += x * x;
    const ts: Tensor[] = parts.map((p) => tf.tensor(p));
    const before = tf.memory().numTensors;
    const s = sumSquares(ts);
    expect(tf.memory().numTensors).toBe(before);
    expect(Math.abs(s - ref)).toBeLessThan(1e-6 * ref);
    tf.dispose(ts);
  });
});
