// Sample-quality metrics (core/metrics/quality.ts) against closed forms, direct double loops and
// brute force written here independently.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../core/util/random';
import { coverage, frechetDistance, frechetFromMoments, kid, moments, symmetricEigen, type Moments } from '../../../core/metrics/quality';
import { EIGHT_GAUSSIANS, sampleMixture } from '../oracle/reference';

/** A random symmetric d x d matrix (row-major). */
function randomSymmetric(d: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = i; j < d; j++) {
      const v = rng.normal();
      a[i * d + j] = v;
      a[j * d + i] = v;
    }
  return a;
}

/** n rows of N(mu, L L^T) with L lower triangular (row-major), float64. */
function gaussianRows(mu: number[], L: number[][], n: number, seed: number): Float64Array {
  const d = mu.length;
  const rng = new Rng(seed);
  const out = new Float64Array(n * d);
  const z = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) z[j] = rng.normal();
    for (let j = 0; j < d; j++) {
      let s = mu[j]!;
      for (let k = 0; k <= j; k++) s += L[j]![k]! * z[k]!;
      out[i * d + j] = s;
    }
  }
  return out;
}

const cov2 = (L: number[][]): number[] => {
  // L L^T for 2x2 lower-triangular L, row-major
  const [[a], [b, c]] = L as [[number], [number, number]];
  return [a * a, a * b, a * b, b * b + c * c];
};

describe('symmetricEigen', () => {
  for (const d of [1, 2, 5, 16, 40]) {
    it(`reconstructs A = V diag(w) V^T with orthonormal V (d = ${d})`, () => {
      const a = randomSymmetric(d, d);
      const { values, vectors: V } = symmetricEigen(a, d);
      let worst = 0;
      let orth = 0;
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++) {
          let r = 0;
          let o = 0;
          for (let k = 0; k < d; k++) {
            r += V[i * d + k]! * values[k]! * V[j * d + k]!;
            o += V[k * d + i]! * V[k * d + j]!;
          }
          worst = Math.max(worst, Math.abs(r - a[i * d + j]!));
          orth = Math.max(orth, Math.abs(o - (i === j ? 1 : 0)));
        }
      expect(worst).toBeLessThan(1e-10);
      expect(orth).toBeLessThan(1e-10);
    });
  }
});

describe('Frechet distance', () => {
  const m = (mean: number[], cov: number[]): Moments => ({
    mean: Float64Array.from(mean),
    cov: Float64Array.from(cov),
    d: mean.length,
    n: 2,
  });

  it('diagonal covariances: |dmu|^2 + sum (sqrt a_i - sqrt b_i)^2', () => {
    const a = m([1, 2, 3], [4, 0, 0, 0, 1, 0, 0, 0, 9]);
    const b = m([0, 2, 5], [1, 0, 0, 0, 1, 0, 0, 0, 0.25]);
    const want = 1 + 0 + 4 + (2 - 1) ** 2 + 0 + (3 - 0.5) ** 2;
    expect(frechetFromMoments(a, b)).toBeCloseTo(want, 10);
    expect(frechetFromMoments(a, a)).toBeCloseTo(0, 10);
  });

  it('2x2 covariances that do not commute: tr (S1 S2)^(1/2) = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2))', () => {
    const s1 = [2, 0.8, 0.8, 1];
    const s2 = [0.5, -0.3, -0.3, 3];
    const p = [s1[0]! * s2[0]! + s1[1]! * s2[2]!, 0, 0, s1[2]! * s2[1]! + s1[3]! * s2[3]!]; // diagonal of S1 S2
    const det = (s: number[]): number => s[0]! * s[3]! - s[1]! * s[2]!;
    const trSqrt = Math.sqrt(p[0]! + p[3]! + 2 * Math.sqrt(det(s1) * det(s2)));
    const want = 0.5 ** 2 + 1 + (s1[0]! + s1[3]! + s2[0]! + s2[3]!) - 2 * trSqrt;
    expect(frechetFromMoments(m([0.5, 1], s1), m([0, 0], s2))).toBeCloseTo(want, 10);
  });

  it('of samples converges to the closed form of their Gaussians (Monte Carlo, 40k rows)', () => {
    const L1 = [[1.5], [0.6, 0.8]];
    const L2 = [[0.7], [-0.4, 1.2]];
    const x = gaussianRows([0, 1], L1, 40_000, 1);
    const y = gaussianRows([1, 0], L2, 40_000, 2);
    const want = frechetFromMoments(m([0, 1], cov2(L1)), m([1, 0], cov2(L2)));
    const got = frechetDistance(x, y, 2);
    // The estimator's spread at n = 40k is ~0.02 here (its bias ~ d / n); 0.05 is ~2.5 of them.
    expect(Math.abs(got - want)).toBeLessThan(0.05);
    const mo = moments(x, 2);
    expect(mo.cov[1]).toBeCloseTo(cov2(L1)[1]!, 1);
  });
});

describe('KID', () => {
  /** The unbiased polynomial-kernel MMD^2 by a direct double loop over all pairs. */
  function direct(x: Float64Array, y: Float64Array, d: number): number {
    const n = x.length / d;
    const mm = y.length / d;
    const k = (a: Float64Array, i: number, b: Float64Array, j: number): number => {
      let s = 0;
      for (let c = 0; c < d; c++) s += a[i * d + c]! * b[j * d + c]!;
      return (s / d + 1) ** 3;
    };
    let xx = 0;
    let yy = 0;
    let xy = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) xx += k(x, i, x, j);
    for (let i = 0; i < mm; i++) for (let j = 0; j < mm; j++) if (i !== j) yy += k(y, i, y, j);
    for (let i = 0; i < n; i++) for (let j = 0; j < mm; j++) xy += k(x, i, y, j);
    return xx / (n * (n - 1)) + yy / (mm * (mm - 1)) - (2 * xy) / (n * mm);
  }

  it('one subset of every row equals the direct double loop', () => {
    const x = gaussianRows([0, 0, 0], [[1], [0, 1], [0, 0, 1]], 60, 3);
    const y = gaussianRows([0.5, 0, -0.5], [[1], [0.3, 1], [0, 0, 0.5]], 60, 4);
    const r = kid(x, y, { dim: 3, subsets: 1, subsetSize: 60 });
    expect(r.mean).toBeCloseTo(direct(x, y, 3), 10);
  });

  it('is unbiased: ~0 between samples of one distribution, clearly positive after a shift', () => {
    const L = [[1], [0.5, 1]];
    const same: number[] = [];
    for (let s = 0; s < 30; s++)
      same.push(kid(gaussianRows([0, 0], L, 100, 10 + s), gaussianRows([0, 0], L, 100, 100 + s), { subsets: 1 }).mean);
    const mean = same.reduce((a, b) => a + b, 0) / same.length;
    const sd = Math.sqrt(same.reduce((a, b) => a + (b - mean) ** 2, 0) / (same.length - 1));
    expect(Math.abs(mean)).toBeLessThan((3.5 * sd) / Math.sqrt(same.length));
    const shifted = kid(gaussianRows([0, 0], L, 500, 1), gaussianRows([1, 0], L, 500, 2), { subsets: 5, subsetSize: 200 });
    expect(shifted.mean).toBeGreaterThan((10 * shifted.std) / Math.sqrt(5));
  });
});

describe('coverage and density', () => {
  /** Brute force: sort every real point's distances to the others; count fake points inside. */
  function brute(real: Float64Array, fake: Float64Array, k: number): { coverage: number; density: number } {
    const d = 2;
    const n = real.length / d;
    const mm = fake.length / d;
    const dist = (a: Float64Array, i: number, b: Float64Array, j: number): number =>
      Math.hypot(a[i * d]! - b[j * d]!, a[i * d + 1]! - b[j * d + 1]!);
    let covered = 0;
    let inside = 0;
    for (let i = 0; i < n; i++) {
      const others: number[] = [];
      for (let j = 0; j < n; j++) if (j !== i) others.push(dist(real, i, real, j));
      others.sort((a, b) => a - b);
      const r = others[k - 1]!;
      let hit = 0;
      for (let j = 0; j < mm; j++) if (dist(real, i, fake, j) <= r) hit++;
      if (hit) covered++;
      inside += hit;
    }
    return { coverage: covered / n, density: inside / (k * mm) };
  }

  it('equals brute force', () => {
    const real = sampleMixture(EIGHT_GAUSSIANS, 300, 1);
    const fake = sampleMixture(EIGHT_GAUSSIANS, 200, 2).map((v) => v * 1.1);
    const want = brute(real, fake, 5);
    const got = coverage(real, fake, { k: 5 });
    expect(got.coverage).toBeCloseTo(want.coverage, 12);
    expect(got.density).toBeCloseTo(want.density, 12);
  });

  it('fresh samples of the data cover it; samples of one of the 8 modes cover ~1/8', () => {
    const real = sampleMixture(EIGHT_GAUSSIANS, 1000, 3);
    const fresh = coverage(real, sampleMixture(EIGHT_GAUSSIANS, 1000, 4));
    // Naeem et al.: with k = 5 and equal sizes, coverage of the same distribution is ~0.97 (1 - 2^-k).
    expect(fresh.coverage).toBeGreaterThan(0.93);
    expect(Math.abs(fresh.density - 1)).toBeLessThan(0.15);
    const oneMode = { weights: [1], means: [EIGHT_GAUSSIANS.means[0]!], stds: [0.3] };
    const collapsed = coverage(real, sampleMixture(oneMode, 1000, 5));
    expect(Math.abs(collapsed.coverage - 1 / 8)).toBeLessThan(0.04);
  });
});
