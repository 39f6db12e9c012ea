import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import {
  energyDistance,
  medianHeuristic,
  mmdRbf,
  randomDirections,
  slicedWasserstein2,
  wasserstein2Squared1d,
} from '../../../core/metrics/distances';
import { DataError, ShapeError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';

function gauss(rng: Rng, n: number, d: number, shift: number[] = []): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) out[i * d + k] = rng.normal() + (shift[k] ?? 0);
  return out;
}

const dist = (a: Float64Array, i: number, b: Float64Array, j: number, d: number): number => {
  let s = 0;
  for (let k = 0; k < d; k++) s += (a[i * d + k]! - b[j * d + k]!) ** 2;
  return Math.sqrt(s);
};

/** Direct double loops over all ordered pairs (float64), the textbook definitions. */
function energyRef(x: Float64Array, y: Float64Array, d: number, unbiased: boolean): number {
  const n = x.length / d;
  const m = y.length / d;
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) xy += dist(x, i, y, j, d);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) xx += dist(x, i, x, j, d);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (i !== j) yy += dist(y, i, y, j, d);
  return (2 * xy) / (n * m) - xx / (unbiased ? n * (n - 1) : n * n) - yy / (unbiased ? m * (m - 1) : m * m);
}

function mmdRef(x: Float64Array, y: Float64Array, d: number, hs: number[], unbiased: boolean): number {
  const n = x.length / d;
  const m = y.length / d;
  const k = (r: number) => hs.reduce((s, h) => s + Math.exp(-(r * r) / (2 * h * h)), 0);
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) xy += k(dist(x, i, y, j, d));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (!unbiased || i !== j) xx += k(dist(x, i, x, j, d));
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (!unbiased || i !== j) yy += k(dist(y, i, y, j, d));
  return xx / (unbiased ? n * (n - 1) : n * n) + yy / (unbiased ? m * (m - 1) : m * m) - (2 * xy) / (n * m);
}

/** Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function Phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

describe('energyDistance', () => {
  it('equals the direct float64 double loop (U- and V-statistic), for every input type', () => {
    const rng = new Rng(1);
    for (const [n, m, d] of [
      [7, 9, 1],
      [30, 20, 3],
      [12, 12, 2],
    ] as const) {
      const x = gauss(rng, n, d);
      const y = gauss(rng, m, d, [0.7]);
      for (const unbiased of [true, false]) {
        const want = energyRef(x, y, d, unbiased);
        expect(energyDistance(x, y, { dim: d, unbiased })).toBeCloseTo(want, 12);
      }
      const xt = tf.tensor2d(Array.from(x), [n, d]);
      const rows = Array.from({ length: m }, (_, j) => Array.from(y.subarray(j * d, (j + 1) * d)));
      // float32 tensor input: agrees to float32 rounding of the points
      expect(energyDistance(xt, rows)).toBeCloseTo(energyRef(x, y, d, true), 5);
      xt.dispose();
    }
  });

  it('matches the closed form for N(0, 1) vs N(mu, 1) in 1D', () => {
    // X - Y ~ N(-mu, 2): E|X - Y| = (2 / sqrt(pi)) exp(-mu^2 / 4) + mu (2 Phi(mu / sqrt 2) - 1); E|X - X'| = 2 / sqrt(pi).
    const rng = new Rng(2);
    const n = 2500;
    for (const mu of [0, 0.5, 1, 2]) {
      const exy = (2 / Math.sqrt(Math.PI)) * Math.exp((-mu * mu) / 4) + mu * (2 * Phi(mu / Math.SQRT2) - 1);
      const want = 2 * exy - 4 / Math.sqrt(Math.PI);
      const got = energyDistance(gauss(rng, n, 1), gauss(rng, n, 1, [mu]), { dim: 1 });
      expect(Math.abs(got - want)).toBeLessThan(0.02 + 0.03 * want);
    }
  });

  it('is unbiased: averages to 0 over many small same-distribution samples (the V-statistic does not)', () => {
    const rng = new Rng(3);
    let u = 0;
    let v = 0;
    const trials = 2000;
    const vals: number[] = [];
    for (let t = 0; t < trials; t++) {
      const x = gauss(rng, 5, 2);
      const y = gauss(rng, 5, 2);
      const e = energyDistance(x, y);
      vals.push(e);
      u += e / trials;
      v += energyDistance(x, y, { unbiased: false }) / trials;
    }
    const sd = Math.sqrt(vals.reduce((s, e) => s + (e - u) ** 2, 0) / (trials - 1));
    expect(Math.abs(u)).toBeLessThan(4 * (sd / Math.sqrt(trials)));
    expect(v).toBeGreaterThan(20 * (sd / Math.sqrt(trials)));
    // and for large samples it is small
    expect(Math.abs(energyDistance(gauss(rng, 1500, 2), gauss(rng, 1500, 2)))).toBeLessThan(0.01);
  });

  it('validates its inputs', () => {
    expect(() => energyDistance(new Float64Array([1, 2]), new Float64Array([1, 2, 3, 4]))).toThrow(ShapeError);
    expect(() => energyDistance(new Float64Array([1, 2, 3]), new Float64Array([1, 2]))).toThrow(/whole number of rows/);
    expect(() =>
      energyDistance(
        [
          [0, 0],
          [1, NaN],
        ],
        [
          [0, 0],
          [1, 1],
        ],
      ),
    ).toThrow(DataError);
    expect(() =>
      energyDistance(
        [
          [0, 0],
          [1, NaN],
        ],
        [
          [0, 0],
          [1, 1],
        ],
      ),
    ).toThrow(/x\[1\]/);
    expect(() =>
      energyDistance(
        [
          [0, 0],
          [1, 1],
        ],
        [
          [0, 0, 0],
          [1, 1, 1],
        ],
      ),
    ).toThrow(ShapeError);
  });
});

describe('mmdRbf', () => {
  it('equals the direct double loop for one and several bandwidths, biased and unbiased', () => {
    const rng = new Rng(4);
    const x = gauss(rng, 25, 3);
    const y = gauss(rng, 18, 3, [0.5, -0.5]);
    for (const hs of [[1], [0.5, 1, 2]]) {
      for (const unbiased of [true, false]) {
        const r = mmdRbf(x, y, { dim: 3, bandwidth: hs, unbiased });
        expect(r.mmd2).toBeCloseTo(mmdRef(x, y, 3, hs, unbiased), 12);
        expect(r.bandwidths).toEqual(hs);
      }
    }
  });

  it('median heuristic = median of all pooled pairwise distances', () => {
    const rng = new Rng(5);
    for (const [n, m] of [
      [10, 11],
      [20, 20],
      [3, 1],
    ] as const) {
      const x = gauss(rng, n, 2);
      const y = gauss(rng, m, 2, [1]);
      const pooled = new Float64Array([...x, ...y]);
      const N = n + m;
      const ds: number[] = [];
      for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) ds.push(dist(pooled, i, pooled, j, 2));
      ds.sort((a, b) => a - b);
      const L = ds.length;
      const med = L % 2 ? ds[(L - 1) / 2]! : (ds[L / 2 - 1]! + ds[L / 2]!) / 2;
      // medians of squared distances, then the root: equal to the median distance for odd counts
      const sq = ds.map((v) => v * v);
      const medSq = L % 2 ? sq[(L - 1) / 2]! : (sq[L / 2 - 1]! + sq[L / 2]!) / 2;
      expect(medianHeuristic(x, y)).toBeCloseTo(Math.sqrt(medSq), 12);
      if (L % 2) expect(medianHeuristic(x, y)).toBeCloseTo(med, 12);
      const r = mmdRbf(x, y, { unbiased: false });
      expect(r.bandwidths).toEqual([medianHeuristic(x, y)]);
    }
  });

  it('matches the Gaussian closed form for N(0, I) vs N(mu, I)', () => {
    // E k(X, X') = (h^2 / (h^2 + 2))^(d/2);  E k(X, Y) = (h^2 / (h^2 + 2))^(d/2) exp(-|mu|^2 / (2 (h^2 + 2))).
    const rng = new Rng(6);
    const d = 2;
    const h = 1.5;
    const mu = [1, 0.5];
    const c = ((h * h) / (h * h + 2)) ** (d / 2);
    const want = 2 * c * (1 - Math.exp(-(mu[0]! ** 2 + mu[1]! ** 2) / (2 * (h * h + 2))));
    const got = mmdRbf(gauss(rng, 1500, d), gauss(rng, 1500, d, mu), { bandwidth: h }).mmd2;
    expect(Math.abs(got - want)).toBeLessThan(0.1 * want);
    const same = mmdRbf(gauss(rng, 1500, d), gauss(rng, 1500, d), { bandwidth: h }).mmd2;
    expect(Math.abs(same)).toBeLessThan(0.003);
  });

  it('validates bandwidths', () => {
    const x = [
      [0, 0],
      [1, 1],
    ];
    expect(() => mmdRbf(x, x, { bandwidth: 0 })).toThrow(/mmd\.bandwidth\[0\]/);
    expect(() => mmdRbf(x, x, { bandwidth: [] })).toThrow(/mmd\.bandwidth/);
    expect(() => mmdRbf([[0, 0]], x)).toThrow(/at least 2 points/);
  });
});

describe('slicedWasserstein2', () => {
  it('for Y = X + s e_1 equals s^2 times the mean of cos^2 over the same directions', () => {
    const rng = new Rng(7);
    const d = 3;
    const n = 200;
    const x = gauss(rng, n, d);
    const s = 1.7;
    const y = x.map((v, k) => (k % d === 0 ? v + s : v));
    const L = 64;
    const dirs = randomDirections(L, d, 11);
    let want = 0;
    for (let l = 0; l < L; l++) want += (s * dirs[l * d]!) ** 2 / L;
    const r = slicedWasserstein2(x, y, { dim: d, numDirections: L, seed: 11 });
    expect(r.squared).toBeCloseTo(want, 10);
    expect(r.distance).toBeCloseTo(Math.sqrt(want), 10);
    expect(r.perDirection.length).toBe(L);
    // explicit (unnormalised) directions give the same answer
    const scaled = dirs.map((v) => 3 * v);
    expect(slicedWasserstein2(x, y, { dim: d, directions: scaled }).squared).toBeCloseTo(want, 10);
    // deterministic default seed
    expect(slicedWasserstein2(x, y, { dim: d }).squared).toBe(slicedWasserstein2(x, y, { dim: d }).squared);
  });

  it('directions are unit vectors, deterministic in the seed', () => {
    const a = randomDirections(10, 4, 3);
    const b = randomDirections(10, 4, 3);
    expect(Array.from(a)).toEqual(Array.from(b));
    for (let l = 0; l < 10; l++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[l * 4 + k]! ** 2;
      expect(s).toBeCloseTo(1, 12);
    }
    expect(Array.from(randomDirections(10, 4, 4))).not.toEqual(Array.from(a));
  });

  it('1D W2^2 of unequal sizes equals matching after replicating each point (exact quantiles)', () => {
    const rng = new Rng(8);
    for (const [n, m] of [
      [3, 5],
      [4, 6],
      [7, 2],
      [1, 9],
    ] as const) {
      const a = Array.from({ length: n }, () => rng.normal());
      const b = Array.from({ length: m }, () => rng.normal() + 1);
      // replicate: a each m times, b each n times -> equal sizes n m, sorted matching
      const ra = a.flatMap((v) => new Array(m).fill(v)).sort((p, q) => p - q);
      const rb = b.flatMap((v) => new Array(n).fill(v)).sort((p, q) => p - q);
      let want = 0;
      for (let k = 0; k < n * m; k++) want += (ra[k]! - rb[k]!) ** 2 / (n * m);
      expect(wasserstein2Squared1d(a, b)).toBeCloseTo(want, 12);
    }
    expect(wasserstein2Squared1d([0, 1, 2], [0, 1, 2])).toBe(0);
    expect(wasserstein2Squared1d([3, 1, 2], [2, 3, 4])).toBeCloseTo(1, 14);
  });

  it('takes tensors without leaking, and unequal set sizes', () => {
    const x = tf.randomNormal([50, 2]);
    const y = tf.randomNormal([70, 2], 1);
    const before = tf.memory().numTensors;
    const r = slicedWasserstein2(x, y);
    energyDistance(x, y);
    mmdRbf(x, y);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.squared).toBeGreaterThan(0.3);
    tf.dispose([x, y]);
  });
});
