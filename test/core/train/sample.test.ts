// Fields from models: guidance formula, prediction conversion, shape adaptation; seeded sampling.
import { describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { createModel } from '../../../core/model';
import type { ModelConfig, VelocityModel } from '../../../core/model/types';
import { convertPrediction } from '../../../core/path/convert';
import { cosine, condOT, ve } from '../../../core/path/scheduler';
import { guidedField, modelPredictor, sampleFromField } from '../../../core/train/sample';

/**
 * A stand-in network with a known output: pred(x, t, label) = x * (label + 1) + t, label = 3 is
 * "no label" (numClasses = 3). Counts forward passes and batch sizes.
 */
function fakeModel(numClasses: number): VelocityModel & { calls: number[] } {
  const config = { kind: 'mlp', dim: 2, width: 1, depth: 1, activation: 'silu', timeEmbedDim: 0, numClasses } as ModelConfig;
  const calls: number[] = [];
  return {
    config,
    variables: [],
    names: [],
    calls,
    apply(x: Tensor, t: Tensor, labels?: Tensor): Tensor {
      calls.push(x.shape[0]!);
      return tf.tidy(() => {
        const scale = labels ? tf.reshape(tf.add(tf.cast(labels, 'float32'), 1), [-1, 1]) : tf.scalar(1);
        return tf.add(tf.mul(x, scale), tf.reshape(t, [-1, 1]));
      });
    },
    dispose: () => undefined,
  };
}

describe('guidedField', () => {
  it('v = (1 + w) v_cond - w v_uncond in one doubled forward pass', () => {
    const m = fakeModel(3);
    const w = 1.5;
    const field = guidedField(m, 'velocity', condOT(), w);
    const x = tf.tensor2d([1, 2, 3, 4, -1, 0.5], [3, 2]);
    const labels = tf.tensor1d([0, 1, 2], 'int32');
    const v = field(x, 0.25, labels).arraySync() as number[][];
    expect(m.calls).toEqual([6]);
    const xs = [
      [1, 2],
      [3, 4],
      [-1, 0.5],
    ];
    xs.forEach((row, i) =>
      row.forEach((xi, j) => {
        const cond = xi * (i + 1) + 0.25;
        const uncond = xi * 4 + 0.25;
        expect(v[i]![j]).toBeCloseTo((1 + w) * cond - w * uncond, 5);
      }),
    );
    // Without labels: the unconditional field (label 3), one pass of the plain batch.
    const u = field(x, 0.25).arraySync() as number[][];
    expect(m.calls).toEqual([6, 3]);
    expect(u[0]![1]).toBeCloseTo(2 * 4 + 0.25, 5);
    // w = 0: the conditional field alone.
    const c = guidedField(m, 'velocity', condOT(), 0)(x, 0.25, labels).arraySync() as number[][];
    expect(c[2]![0]).toBeCloseTo(-1 * 3 + 0.25, 5);
    tf.dispose([x, labels]);
  });

  it('guiding an eps model then converting equals converting each branch then guiding', () => {
    const m = fakeModel(3);
    const s = cosine();
    const w = 2;
    const t = 0.4;
    const x = tf.tensor2d(new Rng(1).normals(8), [4, 2]);
    const labels = tf.tensor1d([0, 1, 2, 1], 'int32');
    const guided = guidedField(m, 'eps', s, w)(x, t, labels);
    const tt = tf.fill([4], t);
    const vc = convertPrediction(m.apply(x, tt, labels), x, 'eps', 'velocity', s.coeffs(t), t);
    const vu = convertPrediction(m.apply(x, tt, tf.fill([4], 3, 'int32')), x, 'eps', 'velocity', s.coeffs(t), t);
    const ref = tf.sub(tf.mul(vc, 1 + w), tf.mul(vu, w));
    const a = guided.dataSync();
    const b = ref.dataSync();
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 4));
    // The conversion is singular at t = 0 for eps; the field takes its limit there (core/path/model.ts,
    // checked against the exact GMM model in test/core/path/model.test.ts), finite instead of Inf.
    const atZero = guidedField(m, 'eps', s, w)(x, 0, labels);
    expect(Array.from(atZero.dataSync()).every(Number.isFinite)).toBe(true);
    atZero.dispose();
    tf.dispose([x, labels, guided, tt, vc, vu, ref]);
  });

  it('an MLP sees multi-axis samples flattened and returns them in their shape', () => {
    const model = createModel({ kind: 'mlp', dim: 12, width: 8, depth: 1, activation: 'tanh', timeEmbedDim: 4, numClasses: 0 }, 1);
    const x = tf.tensor4d(new Rng(2).normals(24), [2, 2, 3, 2]);
    const t = tf.tensor1d([0.1, 0.9]);
    const y = modelPredictor(model)(x, t);
    expect(y.shape).toEqual([2, 2, 3, 2]);
    const flat = model.apply(tf.reshape(x, [2, 12]), t);
    expect(y.dataSync()).toEqual(flat.dataSync());
    tf.dispose([x, t, y, flat]);
    model.dispose();
  });
});

describe('sampleFromField', () => {
  it('draws scale * N(0, I) from the seed and integrates exactly `steps` steps', () => {
    // dx/dt = 1 - x from x0: x(1) = 1 + (x0 - 1) e^{-1}.
    const field = (x: Tensor): Tensor => tf.sub(1, x);
    const r = sampleFromField(field, {
      n: 5,
      shape: [3],
      seed: 7,
      solver: 'rk4',
      steps: 10,
      scheduler: ve(0.01, 2),
      returnTrajectory: true,
    });
    const z = new Rng(7).normals(15);
    const x0 = r.x0.dataSync();
    z.forEach((v, i) => expect(x0[i]).toBeCloseTo(2 * v, 5)); // VE source scale sigma_0 = sigma_max = 2
    expect(r.steps).toBe(10);
    expect(r.nfe).toBe(40);
    expect(r.trajectory!.length).toBe(11);
    const x1 = r.x.dataSync();
    x0.forEach((v, i) => expect(x1[i]).toBeCloseTo(1 + (v - 1) * Math.exp(-1), 5));
    tf.dispose([r.x, r.x0, ...r.trajectory!]);
  });

  it('starts from given points, over a sub-interval', () => {
    const from = tf.tensor2d([0, 1, 2, 3], [2, 2]);
    const r = sampleFromField((x) => tf.onesLike(x), { n: 2, shape: [2], seed: 0, solver: 'euler', steps: 3, t0: 0.25, t1: 0.75, from });
    [0.5, 1.5, 2.5, 3.5].forEach((v, i) => expect(r.x.dataSync()[i]).toBeCloseTo(v, 6));
    expect(r.x0.dataSync()).toEqual(from.dataSync());
    expect(() => sampleFromField((x) => x.clone(), { n: 3, shape: [2], seed: 0, from })).toThrow(/from must have shape/);
    tf.dispose([from, r.x, r.x0]);
  });
});
