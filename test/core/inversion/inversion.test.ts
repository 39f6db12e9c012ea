import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { gmmOracle } from '../../../core/oracle/gmm';
import { encode, decode } from '../../../core/inversion/encode';
import { slerp, lerp, interpolatePath } from '../../../core/inversion/interpolate';
import { energyDistance } from '../../../core/metrics/distances';
import { condOT, cosine, linearVP, type Scheduler } from '../../../core/path/scheduler';
import { ConfigError, ShapeError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import { EIGHT_GAUSSIANS, randomMixture, sampleMixture } from '../oracle/reference';

const host = (x: tf.Tensor): Float64Array => Float64Array.from(x.dataSync());
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => {
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
};
const mixtureTensor = (n: number, seed: number, mix = EIGHT_GAUSSIANS) =>
  tf.tensor2d(Float32Array.from(sampleMixture(mix, n, seed)), [n, mix.means[0]!.length]);
const normals = (shape: number[], seed: number) => tf.tensor(new Rng(seed).normals(shape.reduce((a, b) => a * b, 1)), shape);

describe('encode / decode along the PF-ODE (Gaussian-mixture oracle)', () => {
  const schedulers: [string, Scheduler][] = [
    ['condot', condOT()],
    ['cosine', cosine()],
    ['linear-vp', linearVP()],
  ];
  for (const [name, s] of schedulers) {
    it(`${name}: decode(encode(x)) recovers x (dopri5, tol 1e-6)`, () => {
      const oracle = gmmOracle(EIGHT_GAUSSIANS, s);
      const x = mixtureTensor(64, 1);
      const opts = { rtol: 1e-6, atol: 1e-6 };
      const z = encode(oracle.velocity, x, opts);
      const back = decode(oracle.velocity, z.x, opts);
      const err = maxAbsDiff(back.x, x);
      console.log(`[inversion] ${name}: round-trip max error ${err.toExponential(3)}, nfe encode ${z.nfe} decode ${back.nfe}`);
      expect(err).toBeLessThan(1e-4 * 5); // |x| ~ 5: ~1e-4 relative
      expect(z.times).toEqual([1, 0]);
      expect(back.times).toEqual([0, 1]);
      tf.dispose([x, z.x, back.x]);
    });
  }

  it('partial inversion to t0 = 0.5 then decoding from t0 recovers x, and the latent is distributed as p_0.5', () => {
    const s = condOT();
    const oracle = gmmOracle(EIGHT_GAUSSIANS, s);
    const x = mixtureTensor(300, 2);
    const z = encode(oracle.velocity, x, { t0: 0.5, rtol: 1e-6, atol: 1e-6 });
    const back = decode(oracle.velocity, z.x, { t0: 0.5, rtol: 1e-6, atol: 1e-6 });
    expect(maxAbsDiff(back.x, x)).toBeLessThan(5e-4);
    // x_0.5 = 0.5 x1 + 0.5 x0 drawn directly
    const { alpha, sigma } = s.coeffs(0.5);
    const direct = tf.tidy(() => tf.add(tf.mul(mixtureTensor(300, 3), alpha), tf.mul(normals([300, 2], 4), sigma)));
    const ed = energyDistance(z.x, direct);
    const base = energyDistance(
      tf.tidy(() => tf.add(tf.mul(mixtureTensor(300, 5), alpha), tf.mul(normals([300, 2], 6), sigma))),
      direct,
    );
    console.log(`[inversion] partial latent vs p_0.5: energy distance ${ed.toExponential(3)} (baseline ${base.toExponential(3)})`);
    expect(ed).toBeLessThan(0.05);
    tf.dispose([x, z.x, back.x, direct]);
  });

  it('encoding mixture samples gives latents with mean ~0 and std ~1 (condot, cosine)', () => {
    for (const s of [condOT(), cosine()]) {
      const oracle = gmmOracle(EIGHT_GAUSSIANS, s);
      const n = 2000;
      const x = mixtureTensor(n, 7);
      const z = encode(oracle.velocity, x, { rtol: 1e-5, atol: 1e-5 });
      const h = host(z.x);
      for (let j = 0; j < 2; j++) {
        let m = 0;
        let m2 = 0;
        for (let i = 0; i < n; i++) {
          m += h[2 * i + j]!;
          m2 += h[2 * i + j]! ** 2;
        }
        m /= n;
        const sd = Math.sqrt(m2 / n - m * m);
        expect(Math.abs(m)).toBeLessThan(4 / Math.sqrt(n)); // se of a mean of N(0, 1): 1 / sqrt(n)
        expect(Math.abs(sd - 1)).toBeLessThan(4 / Math.sqrt(2 * n)); // se of a std: 1 / sqrt(2n)
      }
      tf.dispose([x, z.x]);
    }
  });

  it('decoded noise matches the mixture: energy distance at the two-fresh-samples baseline', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, condOT());
    const n = 600;
    const noise = normals([n, 2], 11);
    const dec = decode(oracle.velocity, noise, { rtol: 1e-5, atol: 1e-5 });
    const fresh = mixtureTensor(n, 12);
    const ed = energyDistance(dec.x, fresh);
    const baselines = [13, 15, 17].map((s) => energyDistance(mixtureTensor(n, s), mixtureTensor(n, s + 1)));
    const worst = Math.max(...baselines.map(Math.abs));
    // negative control: 2 Euler steps leave visibly wrong samples, which the metric must see
    const coarse = decode(oracle.velocity, noise, { method: 'euler', steps: 2 });
    const edCoarse = energyDistance(coarse.x, fresh);
    console.log(
      `[inversion] decoded vs fresh: ED ${ed.toExponential(3)}, fresh-vs-fresh ${baselines.map((b) => b.toExponential(2)).join(', ')}, 2-step Euler ${edCoarse.toExponential(3)}`,
    );
    expect(ed).toBeLessThan(3 * worst + 0.01);
    expect(edCoarse).toBeGreaterThan(5 * Math.max(ed, worst));
    tf.dispose([noise, dec.x, fresh, coarse.x]);
  });

  it('image-shaped latents round-trip with a fixed-step solver, honest nfe, trajectories', () => {
    const mix = randomMixture(2, 12, 4);
    const oracle = gmmOracle(mix, cosine());
    const x = tf.reshape(mixtureTensor(8, 3, mix), [8, 2, 3, 2]);
    const z = encode(oracle.velocity, x, { method: 'rk4', steps: 50, returnTrajectory: true });
    expect(z.nfe).toBe(200);
    expect(z.steps).toBe(50);
    expect(z.trajectory).toHaveLength(51);
    expect(maxAbsDiff(z.trajectory![0]!, x)).toBe(0);
    expect(z.x.shape).toEqual([8, 2, 3, 2]);
    const back = decode(oracle.velocity, z.x, { method: 'rk4', steps: 50 });
    expect(maxAbsDiff(back.x, x)).toBeLessThan(1e-3);
    // an explicit grid (non-uniform) is taken as given
    const zg = encode(oracle.velocity, x, { method: 'heun', timeGrid: [1, 0.9, 0.5, 0.2, 0] });
    expect(zg.nfe).toBe(8);
    expect(zg.times).toEqual([1, 0.9, 0.5, 0.2, 0]);
    tf.dispose([x, z.x, back.x, zg.x, ...z.trajectory!]);
  });

  it('rejects bad grids and ends, naming the option', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, condOT());
    const x = tf.zeros([2, 2]);
    expect(() => encode(oracle.velocity, x, { timeGrid: [0, 1] })).toThrow(/timeGrid/);
    expect(() => decode(oracle.velocity, x, { timeGrid: [1, 0] })).toThrow(/timeGrid/);
    expect(() => encode(oracle.velocity, x, { t0: 0.7, t1: 0.5 })).toThrow(/t0/);
    expect(() => encode(oracle.velocity, x, { method: 'euler' })).toThrow(/steps/);
    expect(() => decode(oracle.velocity, x, { timeGrid: [0, 1], steps: 3 })).toThrow(ConfigError);
    x.dispose();
  });

  it('leaks no tensors over repeated encode / decode', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, condOT());
    const x = mixtureTensor(16, 1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const z = encode(oracle.velocity, x, { rtol: 1e-4, atol: 1e-4 });
      const b = decode(oracle.velocity, z.x, { method: 'midpoint', steps: 5, returnTrajectory: true });
      tf.dispose([z.x, b.x, ...b.trajectory!]);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('slerp, lerp, interpolatePath', () => {
  it('slerp returns the inputs at s = 0 and s = 1', () => {
    const a = normals([3, 5], 1);
    const b = normals([3, 5], 2);
    expect(maxAbsDiff(slerp(a, b, 0), a)).toBe(0);
    expect(maxAbsDiff(slerp(a, b, 1), b)).toBe(0);
    expect(maxAbsDiff(lerp(a, b, 0), a)).toBe(0);
    expect(maxAbsDiff(lerp(a, b, 1), b)).toBe(0);
  });

  it('follows the great circle: slerp(e1, e2, s) = (cos(s pi / 2), sin(s pi / 2))', () => {
    const e1 = tf.tensor2d([
      [1, 0],
      [2, 0],
    ]);
    const e2 = tf.tensor2d([
      [0, 1],
      [0, 2],
    ]);
    for (const s of [0.1, 0.5, 0.8]) {
      const r = host(slerp(e1, e2, s));
      expect(r[0]).toBeCloseTo(Math.cos((s * Math.PI) / 2), 6);
      expect(r[1]).toBeCloseTo(Math.sin((s * Math.PI) / 2), 6);
      expect(r[2]).toBeCloseTo(2 * Math.cos((s * Math.PI) / 2), 6);
    }
    // rank-1 input is one latent
    const v = host(slerp(tf.tensor1d([1, 0]), tf.tensor1d([0, 1]), 0.5));
    expect(v[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(v[1]).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('keeps Gaussian latents on the sqrt(d) shell in d = 784; lerp shrinks them to ~sqrt(d / 2)', () => {
    const d = 784;
    const B = 16;
    const a = normals([B, 28, 28, 1], 3);
    const b = normals([B, 28, 28, 1], 4);
    const norms = (x: tf.Tensor) => host(tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.reshape(x, [B, d])), 1))));
    for (const s of [0.25, 0.5, 0.75]) {
      const ns = norms(slerp(a, b, s));
      for (const n of ns) expect(Math.abs(n / Math.sqrt(d) - 1)).toBeLessThan(0.1);
    }
    const nl = norms(lerp(a, b, 0.5));
    for (const n of nl) expect(Math.abs(n / Math.sqrt(d / 2) - 1)).toBeLessThan(0.1);
  });

  it('falls back to lerp for nearly parallel and antiparallel rows (finite, no NaN)', () => {
    const a = tf.tensor2d([
      [1, 2, 3],
      [1, 2, 3],
      [0, 0, 0],
    ]);
    const b = tf.tensor2d([
      [1, 2, 3.0000001],
      [-1, -2, -3],
      [1, 0, 0],
    ]);
    const r = slerp(a, b, 0.3);
    const l = lerp(a, b, 0.3);
    expect(host(r).every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(r, l)).toBeLessThan(1e-6);
  });

  it('interpolatePath stacks nFrames frames from z0 to z1', () => {
    const a = normals([1, 784], 5);
    const b = normals([1, 784], 6);
    const path = interpolatePath(a, b, 7);
    expect(path.shape).toEqual([7, 1, 784]);
    const first = tf.reshape(tf.slice(path, [0, 0, 0], [1, 1, 784]), [1, 784]);
    const last = tf.reshape(tf.slice(path, [6, 0, 0], [1, 1, 784]), [1, 784]);
    expect(maxAbsDiff(first, a)).toBe(0);
    expect(maxAbsDiff(last, b)).toBe(0);
    const mid = tf.reshape(tf.slice(path, [3, 0, 0], [1, 1, 784]), [1, 784]);
    expect(maxAbsDiff(mid, slerp(a, b, 0.5))).toBe(0);
    const lin = interpolatePath(a, b, 3, 'lerp');
    expect(maxAbsDiff(tf.reshape(tf.slice(lin, [1, 0, 0], [1, 1, 784]), [1, 784]), lerp(a, b, 0.5))).toBe(0);
    expect(() => interpolatePath(a, b, 1)).toThrow(/nFrames/);
    expect(() => slerp(a, tf.zeros([2, 784]), 0.5)).toThrow(ShapeError);
  });

  it('leaks no tensors', () => {
    const a = normals([4, 10], 1);
    const b = normals([4, 10], 2);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose([slerp(a, b, 0.3), lerp(a, b, 0.3), interpolatePath(a, b, 5), interpolatePath(a, b, 4, 'lerp')]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
