import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { gmmOracle } from '../../../core/oracle/gmm';
import { condOT, cosine, linearVP, polynomial, subVP, vp, ve, type Scheduler } from '../../../core/path/scheduler';
import { ConfigError, ShapeError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import { EIGHT_GAUSSIANS, mixtureLogDensity, randomMixture, sampleMixture, type Mixture } from './reference';

const SCHEDULERS: [string, Scheduler][] = [
  ['condot', condOT()],
  ['condot(sigmaMin=0.05)', condOT(0.05)],
  ['cosine', cosine()],
  ['linear-vp', linearVP()],
  ['vp', vp()],
  ['sub-vp', subVP()],
  ['polynomial(2)', polynomial(2)],
  ['ve', ve(0.01, 10)],
];

const MIX3: Mixture = randomMixture(3, 2, 11);

/** Rows of a tensor as a float64 array. */
const host = (x: tf.Tensor): Float64Array => Float64Array.from(x.dataSync());

/** Points from p_t: alpha x1 + sigma x0 with x1 from the mixture (float64 host). */
function pathPoints(m: Mixture, s: Scheduler, t: number, n: number, seed: number): Float32Array {
  const d = m.means[0]!.length;
  const x1 = sampleMixture(m, n, seed);
  const rng = new Rng(seed + 1);
  const { alpha, sigma } = s.coeffs(t);
  return Float32Array.from(x1, (v) => alpha * v + sigma * rng.normal()).subarray(0, n * d);
}

/** Autodiff divergence: one gradient pass per dimension (independent of the closed form). */
function autodiffDivergence(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor2D): Float64Array {
  const [B, d] = x.shape;
  const out = new Float64Array(B);
  for (let i = 0; i < d; i++) {
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.slice(f(xx), [0, i], [B, 1])))(x);
    const gd = g.dataSync();
    for (let b = 0; b < B; b++) out[b]! += gd[b * d + i]!;
    g.dispose();
  }
  return out;
}

describe('gmmOracle: velocity against a Monte-Carlo posterior mean', () => {
  // E[x1 | x_t = x] by self-normalised importance sampling over mixture samples x1_i with weights
  // N(x; alpha x1_i, sigma^2 I); then u = alpha' E[x1|x] + sigma' (x - alpha E[x1|x]) / sigma.
  // The standard error of the SNIS mean (delta method) sets the tolerance.
  const N = 60_000;
  const x1 = sampleMixture(MIX3, N, 2024);
  for (const [name, s] of SCHEDULERS) {
    // VE keeps alpha = 1, so near t = 1 the kernel N(x; x1_i, sigma^2) (sigma = 0.03 at t = 0.85, 0.08 at 0.7) is
    // too narrow for a Monte-Carlo estimate; it is checked at smaller t.
    for (const t of s.spec.kind === 've' ? [0.1, 0.3, 0.5] : [0.2, 0.5, 0.85]) {
      it(`${name} at t=${t}`, () => {
        const { alpha, sigma, dAlpha, dSigma } = s.coeffs(t);
        const queries = pathPoints(MIX3, s, t, 4, 7);
        const oracle = gmmOracle(MIX3, s);
        const xq = tf.tensor2d(queries, [4, 2]);
        const u = oracle.velocity(xq, t);
        const uh = host(u);
        tf.dispose([xq, u]);
        const factor = dAlpha - (dSigma * alpha) / sigma; // du / dE[x1|x]
        for (let q = 0; q < 4; q++) {
          const x = [queries[2 * q]!, queries[2 * q + 1]!];
          const logw = new Float64Array(N);
          let mx = -Infinity;
          for (let i = 0; i < N; i++) {
            const r2 = (x[0]! - alpha * x1[2 * i]!) ** 2 + (x[1]! - alpha * x1[2 * i + 1]!) ** 2;
            logw[i] = -r2 / (2 * sigma * sigma);
            mx = Math.max(mx, logw[i]!);
          }
          let sw = 0;
          let sw2 = 0;
          const m = [0, 0];
          for (let i = 0; i < N; i++) {
            const w = Math.exp(logw[i]! - mx);
            logw[i] = w;
            sw += w;
            sw2 += w * w;
            m[0]! += w * x1[2 * i]!;
            m[1]! += w * x1[2 * i + 1]!;
          }
          m[0]! /= sw;
          m[1]! /= sw;
          expect((sw * sw) / sw2).toBeGreaterThan(200); // effective sample size: the estimate is meaningful
          for (let j = 0; j < 2; j++) {
            let v = 0;
            for (let i = 0; i < N; i++) v += logw[i]! ** 2 * (x1[2 * i + j]! - m[j]!) ** 2;
            const se = Math.sqrt(v) / sw;
            const mcU = dAlpha * m[j]! + (dSigma * (x[j]! - alpha * m[j]!)) / sigma;
            const err = Math.abs(uh[2 * q + j]! - mcU);
            expect(err, `query ${q} coord ${j}: oracle ${uh[2 * q + j]} MC ${mcU} se ${se * Math.abs(factor)}`).toBeLessThan(
              5 * se * Math.abs(factor) + 1e-4 * (1 + Math.abs(mcU)),
            );
          }
        }
      });
    }
  }
});

describe('gmmOracle: closed forms against autodiff and quadrature', () => {
  it('closed-form divergence equals the autodiff divergence (all schedulers, t in [0, 1])', () => {
    for (const [name, s] of SCHEDULERS) {
      for (const mix of [MIX3, EIGHT_GAUSSIANS, randomMixture(2, 3, 5)]) {
        const oracle = gmmOracle(mix, s);
        const d = mix.means[0]!.length;
        for (const t of [0, 0.1, 0.5, 0.9, 0.999, 1]) {
          const x = tf.tensor2d(pathPoints(mix, s, t, 16, 3), [16, d]);
          const closed = oracle.divergence(x, t);
          const ch = host(closed);
          const ad = autodiffDivergence((xx) => oracle.velocity(xx, t), x);
          for (let b = 0; b < 16; b++) {
            expect(Number.isFinite(ch[b]!), `${name} t=${t}`).toBe(true);
            expect(Math.abs(ch[b]! - ad[b]!), `${name} t=${t} row ${b}: ${ch[b]} vs ${ad[b]}`).toBeLessThan(2e-4 * (1 + Math.abs(ad[b]!)));
          }
          tf.dispose([x, closed]);
        }
      }
    }
  });

  it('score equals the autodiff gradient of logDensity', () => {
    for (const [name, s] of SCHEDULERS) {
      const oracle = gmmOracle(MIX3, s);
      for (const t of [0, 0.3, 0.7, 1]) {
        const x = tf.tensor2d(pathPoints(MIX3, s, t, 16, 9), [16, 2]);
        const sc = oracle.score(x, t);
        const g = tf.grad((xx: tf.Tensor) => tf.sum(oracle.logDensity(xx, t)))(x);
        const a = host(sc);
        const b = host(g);
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `${name} t=${t}`).toBeLessThan(1e-4 * (1 + Math.abs(b[i]!)));
        tf.dispose([x, sc, g]);
      }
    }
  });

  it("velocity agrees with the score through v = (a'/a) x + (a' s^2 / a - s s') score", () => {
    for (const [name, s] of SCHEDULERS) {
      const oracle = gmmOracle(MIX3, s);
      for (const t of [0.3, 0.7]) {
        const { alpha, sigma, dAlpha, dSigma } = s.coeffs(t);
        const x = tf.tensor2d(pathPoints(MIX3, s, t, 16, 4), [16, 2]);
        const v = host(oracle.velocity(x, t));
        const sc = host(oracle.score(x, t));
        const xh = host(x);
        for (let i = 0; i < v.length; i++) {
          const fromScore = (dAlpha / alpha) * xh[i]! + ((dAlpha * sigma * sigma) / alpha - sigma * dSigma) * sc[i]!;
          expect(Math.abs(v[i]! - fromScore), `${name} t=${t}`).toBeLessThan(1e-4 * (1 + Math.abs(fromScore)));
        }
        x.dispose();
      }
    }
  });

  it('logDensity at t=0 is log N(x; 0, sigma_0^2 I) when alpha_0 = 0', () => {
    for (const s of [condOT(), cosine(), linearVP(), polynomial(3)]) {
      const { alpha, sigma } = s.coeffs(0);
      expect(alpha).toBe(0);
      const oracle = gmmOracle(EIGHT_GAUSSIANS, s);
      const xs = pathPoints(EIGHT_GAUSSIANS, s, 0, 32, 1);
      const lp = host(oracle.logDensity(tf.tensor2d(xs, [32, 2]), 0));
      for (let b = 0; b < 32; b++) {
        const r2 = xs[2 * b]! ** 2 + xs[2 * b + 1]! ** 2;
        const ref = -Math.log(2 * Math.PI * sigma * sigma) - r2 / (2 * sigma * sigma);
        expect(Math.abs(lp[b]! - ref)).toBeLessThan(1e-5 * (1 + Math.abs(ref)));
      }
    }
  });

  it('logDensity matches the float64 marginal p_t = sum pi_k N(alpha mu_k, (alpha^2 s^2 + sigma^2) I)', () => {
    for (const [name, s] of SCHEDULERS) {
      const oracle = gmmOracle(EIGHT_GAUSSIANS, s);
      for (const t of [0, 0.5, 1]) {
        const { alpha, sigma } = s.coeffs(t);
        const xs = pathPoints(EIGHT_GAUSSIANS, s, t, 32, 2);
        const lp = host(oracle.logDensity(tf.tensor2d(xs, [32, 2]), t));
        const ref = mixtureLogDensity(EIGHT_GAUSSIANS, xs, alpha, sigma);
        for (let b = 0; b < 32; b++) expect(Math.abs(lp[b]! - ref[b]!), `${name} t=${t}`).toBeLessThan(1e-5 * (1 + Math.abs(ref[b]!)));
      }
    }
  });

  it('p_t integrates to 1 on a 2D grid (midpoint quadrature)', () => {
    for (const [name, s] of [
      ['condot', condOT()],
      ['vp', vp()],
      ['cosine', cosine()],
    ] as const) {
      const oracle = gmmOracle(EIGHT_GAUSSIANS, s);
      for (const t of [0, 0.5, 0.9, 1]) {
        const h = 0.04;
        const L = 9;
        const n = Math.round((2 * L) / h);
        const pts = new Float32Array(n * n * 2);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            pts[2 * (i * n + j)] = -L + (i + 0.5) * h;
            pts[2 * (i * n + j) + 1] = -L + (j + 0.5) * h;
          }
        const mass = tf.tidy(() => tf.sum(tf.exp(oracle.logDensity(tf.tensor2d(pts, [n * n, 2]), t))).dataSync()[0]! * h * h);
        expect(Math.abs(mass - 1), `${name} t=${t}: mass ${mass}`).toBeLessThan(2e-4);
      }
    }
  });
});

describe('gmmOracle: ends, shapes, samples, validation', () => {
  it("is finite at t=0 and t=1 for every scheduler, including VP (sigma' infinite at t=1)", () => {
    for (const [name, s] of SCHEDULERS) {
      const oracle = gmmOracle(EIGHT_GAUSSIANS, s);
      for (const t of [0, 1]) {
        const x = tf.tensor2d(pathPoints(EIGHT_GAUSSIANS, s, t, 8, 5), [8, 2]);
        for (const out of [oracle.velocity(x, t), oracle.score(x, t), oracle.divergence(x, t), oracle.logDensity(x, t)]) {
          expect(host(out).every(Number.isFinite), `${name} t=${t}`).toBe(true);
          out.dispose();
        }
        x.dispose();
      }
    }
  });

  it('VP at t=1 is the limit of t -> 1', () => {
    const oracle = gmmOracle(MIX3, vp());
    const x = tf.tensor2d(pathPoints(MIX3, vp(), 1, 8, 5), [8, 2]);
    const a = host(oracle.velocity(x, 1));
    const b = host(oracle.velocity(x, 1 - 1e-7));
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(a[i]!)));
    x.dispose();
  });

  it('one component under CondOT at t=1: c = 1, so u_1(x) = mu + (x - mu) = x', () => {
    const oracle = gmmOracle({ weights: [1], means: [[1, -2]], stds: [0.5] }, condOT());
    const x = tf.tensor2d([
      [0.3, 0.4],
      [1, -2],
    ]);
    const u = host(oracle.velocity(x, 1));
    host(x).forEach((v, i) => expect(u[i]).toBeCloseTo(v, 6));
    x.dispose();
  });

  it('handles image-shaped x [B, H, W, C] as flattened rows', () => {
    const mix = randomMixture(3, 12, 8);
    const oracle = gmmOracle(mix, cosine());
    const flat = tf.tensor2d(pathPoints(mix, cosine(), 0.6, 5, 3), [5, 12]);
    const img = tf.reshape(flat, [5, 2, 3, 2]);
    const vImg = oracle.velocity(img, 0.6);
    expect(vImg.shape).toEqual([5, 2, 3, 2]);
    expect(Array.from(vImg.dataSync())).toEqual(Array.from(oracle.velocity(flat, 0.6).dataSync()));
    expect(oracle.score(img, 0.6).shape).toEqual([5, 2, 3, 2]);
    expect(oracle.divergence(img, 0.6).shape).toEqual([5]);
    expect(oracle.logDensity(img, 0.6).shape).toEqual([5]);
    expect(oracle.sample(4, 1, [2, 3, 2]).shape).toEqual([4, 2, 3, 2]);
    expect(() => oracle.velocity(tf.zeros([5, 11]), 0.5)).toThrow(ShapeError);
  });

  it('samples the mixture, reproducibly from a seed', () => {
    const oracle = gmmOracle(MIX3, condOT());
    const a = host(oracle.sample(20_000, 42));
    expect(Array.from(host(oracle.sample(50, 42)))).toEqual(Array.from(a.subarray(0, 100)));
    const mean = [0, 1].map((j) => MIX3.weights.reduce((acc, w, k) => acc + w * MIX3.means[k]![j]!, 0));
    for (let j = 0; j < 2; j++) {
      let m = 0;
      for (let i = 0; i < 20_000; i++) m += a[2 * i + j]!;
      expect(Math.abs(m / 20_000 - mean[j]!)).toBeLessThan(0.06);
    }
    // The sample's average log-density is close to the mixture's negative entropy estimated independently.
    const ref = mixtureLogDensity(MIX3, sampleMixture(MIX3, 20_000, 3));
    const own = mixtureLogDensity(MIX3, a);
    const avg = (v: Float64Array) => v.reduce((x, y) => x + y, 0) / v.length;
    expect(Math.abs(avg(ref) - avg(own))).toBeLessThan(0.05);
  });

  it('a zero-weight component changes nothing (log 0 = -Infinity is handled by the softmax)', () => {
    const withZero = gmmOracle(
      {
        weights: [0.3, 0, 0.7],
        means: [
          [1, 1],
          [9, 9],
          [-2, 0],
        ],
        stds: [0.5, 0.2, 1],
      },
      cosine(),
    );
    const without = gmmOracle(
      {
        weights: [0.3, 0.7],
        means: [
          [1, 1],
          [-2, 0],
        ],
        stds: [0.5, 1],
      },
      cosine(),
    );
    const x = tf.tensor2d([
      [0.5, 0.2],
      [8.9, 9.1],
      [-1, 0],
    ]);
    for (const t of [0, 0.5, 1]) {
      const a = [withZero.velocity(x, t), withZero.logDensity(x, t), withZero.divergence(x, t), withZero.score(x, t)].map(host);
      const b = [without.velocity(x, t), without.logDensity(x, t), without.divergence(x, t), without.score(x, t)].map(host);
      a.forEach((arr, q) => arr.forEach((v, i) => expect(v).toBeCloseTo(b[q]![i]!, 4)));
    }
    x.dispose();
  });

  it('rejects invalid mixtures and times with errors that name the field', () => {
    expect(() => gmmOracle({ weights: [1, 1], means: [[0, 0]], stds: [1, 1] }, condOT())).toThrow(/gmm\.means/);
    expect(() => gmmOracle({ weights: [1], means: [[0, 0]], stds: [0] }, condOT())).toThrow(/gmm\.stds\[0\]/);
    expect(() => gmmOracle({ weights: [-1], means: [[0, 0]], stds: [1] }, condOT())).toThrow(ConfigError);
    expect(() => gmmOracle({ weights: [1, 1], means: [[0, 0], [1]], stds: [1, 1] }, condOT())).toThrow(/gmm\.means\[1\]/);
    const oracle = gmmOracle(MIX3, condOT());
    expect(() => oracle.velocity(tf.zeros([2, 2]), 1.5)).toThrow(/t/);
    // polynomial n < 1 has alpha' = infinity at t = 0: no finite velocity there
    expect(() => gmmOracle(MIX3, polynomial(0.5)).velocity(tf.zeros([2, 2]), 0)).toThrow(ConfigError);
  });

  it('leaks no tensors', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, vp());
    const x = tf.tensor2d(pathPoints(EIGHT_GAUSSIANS, vp(), 0.5, 8, 5), [8, 2]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.dispose([oracle.velocity(x, 0.5), oracle.score(x, 0.5), oracle.divergence(x, 1), oracle.logDensity(x, 0)]);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
