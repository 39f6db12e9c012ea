// Inference split over threads (main/models/threaded.ts) with real worker threads: the split forward
// pass equals the whole-batch pass bit for bit (rows are independent and every kernel sums in the
// same order at any batch size), for an MLP and for a class-conditional U-Net with the "no label"
// row of classifier-free guidance; small batches and gradient tapes stay on the calling thread; the
// split policy keeps the faster way per batch size; a model a helper cannot load runs whole.
import { afterAll, describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { createModel, type ModelConfig, type VelocityModel } from '../../../core/model';
import { guidedField, sampleFromField } from '../../../core/train/sample';
import { condOT } from '../../../core/path/scheduler';
import { Rng } from '../../../core/util/random';
import {
  inferenceThreadError,
  inferenceThreads,
  MIN_ROWS,
  SplitPolicy,
  ThreadedModel,
  stopInferenceThreads,
} from '../../../main/models/threaded';

afterAll(async () => {
  await stopInferenceThreads();
});

/** A model with every weight drawn N(0, 1 / fan-in) (the zero-initialised layers too), seeded. */
function randomModel(config: ModelConfig, seed: number): VelocityModel {
  const m = createModel(config, seed);
  const rng = new Rng(seed + 100);
  for (const v of m.variables) {
    const fanIn = v.shape.length >= 2 ? v.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 4;
    v.assign(
      tf.tensor(
        rng.normals(v.size).map((z) => z / Math.sqrt(fanIn)),
        v.shape,
      ),
    );
  }
  return m;
}

const bits = (t: Tensor): Uint32Array => new Uint32Array(Float32Array.from(t.dataSync()).buffer);

const MLP: ModelConfig = { kind: 'mlp', dim: 2, width: 64, depth: 3, activation: 'silu', timeEmbedDim: 32, numClasses: 0 };
const UNET: ModelConfig = {
  kind: 'unet',
  size: 28,
  channels: 1,
  baseChannels: 8,
  channelMults: [1, 2],
  blocksPerLevel: 1,
  attention: true,
  groups: 4,
  timeEmbedDim: 16,
  numClasses: 10,
};

describe('ThreadedModel', () => {
  it('splits an MLP batch over 2 threads and returns the whole-batch result bit for bit', async () => {
    const inner = randomModel(MLP, 1);
    const m = new ThreadedModel(inner, 2, { adaptive: false });
    await m.warm();
    const rng = new Rng(7);
    const rows = 1001; // odd: the calling thread takes 501, the helper 500
    const x = tf.tensor2d(rng.normals(rows * 2), [rows, 2]);
    const t = tf.tensor1d(Float32Array.from({ length: rows }, () => rng.uniform()));
    const whole = inner.apply(x, t);
    const split = m.apply(x, t);
    expect(m.counts.split).toBe(1);
    expect(split.shape).toEqual([rows, 2]);
    expect(bits(split)).toEqual(bits(whole));
    // A second call reuses the loaded copy (no reload) and is still exact.
    const split2 = m.apply(x, t);
    expect(m.counts.split).toBe(2);
    expect(bits(split2)).toEqual(bits(whole));
    tf.dispose([x, t, whole, split, split2]);
    m.dispose();
  });

  it('splits a class-conditional U-Net batch (with the no-label row) exactly', async () => {
    const inner = randomModel(UNET, 2);
    const m = new ThreadedModel(inner, 2, { adaptive: false });
    await m.warm();
    const rng = new Rng(8);
    const rows = 5;
    const x = tf.tensor4d(rng.normals(rows * 28 * 28), [rows, 28, 28, 1]);
    const t = tf.tensor1d([0.05, 0.3, 0.5, 0.77, 0.99]);
    const labels = tf.tensor1d([3, 10, 0, 9, 10], 'int32'); // 10 = no label (CFG)
    const whole = inner.apply(x, t, labels);
    const split = m.apply(x, t, labels);
    expect(m.counts.split).toBe(1);
    expect(bits(split)).toEqual(bits(whole));
    tf.dispose([x, t, labels, whole, split]);
    m.dispose();
  });

  it('samples the same points with a split network as with the whole one (Euler, 1k points)', async () => {
    const inner = randomModel(MLP, 3);
    const m = new ThreadedModel(inner, 2, { adaptive: false });
    await m.warm();
    const opts = { n: 1000, shape: [2], seed: 5, solver: 'euler' as const, steps: 8 };
    const a = sampleFromField(guidedField(inner, 'velocity', condOT(), 0), opts);
    const b = sampleFromField(guidedField(m, 'velocity', condOT(), 0), opts);
    expect(m.counts.split).toBe(8);
    expect(bits(b.x)).toEqual(bits(a.x));
    tf.dispose([a.x, a.x0, b.x, b.x0]);
    m.dispose();
  });

  it('keeps small batches and gradient tapes on the calling thread', async () => {
    const inner = randomModel(MLP, 4);
    const m = new ThreadedModel(inner, 2, { adaptive: false });
    await m.warm();
    const small = MIN_ROWS.mlp! - 1;
    const x = tf.tensor2d(new Rng(9).normals(small * 2), [small, 2]);
    const t = tf.fill([small], 0.5);
    tf.dispose(m.apply(x, t));
    expect(m.counts).toEqual({ split: 0, whole: 1 });
    const big = MIN_ROWS.mlp! * 2;
    const xb = tf.tensor2d(new Rng(10).normals(big * 2), [big, 2]);
    const tb = tf.fill([big], 0.5);
    // d/dx sum(f(x)) through the wrapper equals it through the inner model: the taped call ran whole.
    const g1 = tf.grad((z: Tensor) => tf.sum(m.apply(z, tb)))(xb);
    const g0 = tf.grad((z: Tensor) => tf.sum(inner.apply(z, tb)))(xb);
    expect(m.counts.split).toBe(0);
    expect(bits(g1)).toEqual(bits(g0));
    tf.dispose([x, t, xb, tb, g1, g0]);
    m.dispose();
  });

  it('runs a model its helper cannot load whole, with the same numbers, and says why', async () => {
    const inner = randomModel(MLP, 6);
    // The helper rebuilds the model from its names; a wrong name makes its load fail.
    const bad: VelocityModel = {
      config: inner.config,
      variables: inner.variables,
      names: inner.names.map((n, i) => (i === 0 ? 'no/such/weight' : n)),
      apply: (x, t, l) => inner.apply(x, t, l),
      dispose: () => inner.dispose(),
    };
    const m = new ThreadedModel(bad, 2, { adaptive: false });
    await m.warm();
    const rows = 600;
    const x = tf.tensor2d(new Rng(11).normals(rows * 2), [rows, 2]);
    const t = tf.fill([rows], 0.25);
    const whole = inner.apply(x, t);
    const y = m.apply(x, t);
    expect(bits(y)).toEqual(bits(whole));
    expect(m.counts.split).toBe(0);
    expect(inferenceThreadError()).toMatch(/no\/such\/weight/);
    tf.dispose([x, t, whole, y]);
    m.dispose();
  });
});

describe('SplitPolicy', () => {
  it('tries both ways, keeps the faster per batch size, and probes the other way every PROBE_EVERY calls', () => {
    const p = new SplitPolicy();
    const n = SplitPolicy.PROBE_EVERY;
    expect(p.choose(1000)).toBe('split'); // nothing measured: try splitting
    p.record(1000, 'split', 9);
    expect(p.choose(1000)).toBe('whole'); // then the whole call once
    p.record(1000, 'whole', 7);
    // A busy machine: splitting measured slower, so calls run whole except one probe in n.
    const ways = Array.from({ length: 2 * n }, () => p.choose(1000));
    expect(ways.filter((w) => w === 'split').length).toBe(2);
    expect(ways.filter((w) => w === 'whole').length).toBe(2 * n - 2);
    // The machine frees up: probes measure 4 ms; the average crosses below 7 ms and splitting wins.
    for (let k = 0; k < 3; k++) p.record(1000, 'split', 4);
    const expected = 9 * 0.7 ** 3 + 4 * (1 - 0.7 ** 3); // the exponential average, ALPHA = 0.3
    expect(p.timings(1000)!.split).toBeCloseTo(expected, 12);
    expect(expected).toBeLessThan(7);
    expect(p.choose(1000)).toBe('split');
    // Other batch sizes learn on their own.
    expect(p.choose(64)).toBe('split');
    expect(new SplitPolicy(false).choose(1000)).toBe('split');
  });

  it('a ThreadedModel whose split is slower runs whole, with the same numbers', async () => {
    const inner = randomModel(MLP, 12);
    const m = new ThreadedModel(inner, 2);
    await m.warm();
    // Teach the policy that splitting this size costs more than it could ever save.
    m.policy.record(512, 'split', 1e6);
    m.policy.record(512, 'whole', 1);
    const x = tf.tensor2d(new Rng(13).normals(512 * 2), [512, 2]);
    const t = tf.fill([512], 0.5);
    const y = m.apply(x, t);
    const y0 = inner.apply(x, t);
    expect(m.counts).toEqual({ split: 0, whole: 1 });
    expect(bits(y)).toEqual(bits(y0));
    tf.dispose([x, t, y, y0]);
    m.dispose();
  });
});

describe('inferenceThreads', () => {
  it('reads FLOW_STUDIO_INFER_THREADS and names it when it is not a count', () => {
    expect(inferenceThreads('3')).toBe(3);
    expect(inferenceThreads('1')).toBe(1);
    expect(() => inferenceThreads('two')).toThrow(/FLOW_STUDIO_INFER_THREADS.*'two'/);
    expect(() => inferenceThreads('0')).toThrow(/FLOW_STUDIO_INFER_THREADS/);
  });
});
