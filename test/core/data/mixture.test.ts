import { describe, it, expect } from 'vitest';
import { mixtureMoments, sampleGaussianMixture, validateGaussianMixture, type GaussianMixture } from '../../../core/data/mixture';
import { ConfigError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';

const g3: GaussianMixture = {
  weights: [2, 1, 1],
  means: [
    [0, 0, 1],
    [3, -1, 0],
    [-2, 2, 2],
  ],
  stds: [0.5, 1, 2],
};

describe('validateGaussianMixture', () => {
  it('normalises weights and returns a deep copy', () => {
    const v = validateGaussianMixture(g3);
    expect(v.weights).toEqual([0.5, 0.25, 0.25]);
    expect(v.means).toEqual(g3.means);
    expect(v.means[0]).not.toBe(g3.means[0]);
    expect(g3.weights).toEqual([2, 1, 1]);
  });

  it('names the faulty field', () => {
    const bad = (patch: Partial<GaussianMixture>, field: RegExp) => {
      const f = () => validateGaussianMixture({ ...g3, ...patch });
      expect(f).toThrow(ConfigError);
      expect(f).toThrow(field);
    };
    bad({ weights: [1, -1, 1] }, /^gmm\.weights\[1\]:/);
    bad({ weights: [0, 0, 0] }, /^gmm\.weights:/);
    bad({ weights: [1, 1] }, /^gmm\.means:/);
    bad({ stds: [1, 0, 1] }, /^gmm\.stds\[1\]:/);
    bad({ stds: [1, 1] }, /^gmm\.stds:/);
    bad(
      {
        means: [
          [0, 0, 1],
          [3, -1, 0],
          [-2, 2, 2],
          [1, 1, 1],
        ]
          .slice(0, 3)
          .map((m, k) => (k === 2 ? [1, 2] : m)),
      },
      /^gmm\.means\[2\]:/,
    );
    bad(
      {
        means: [
          [0, 0, 1],
          [3, Infinity, 0],
          [-2, 2, 2],
        ],
      },
      /^gmm\.means\[1\]\[1\]:/,
    );
    bad({ weights: [] }, /^gmm\.weights:/);
    expect(() => validateGaussianMixture({ ...g3, weights: [1, NaN, 1] }, 'oracle.mixture')).toThrow(/^oracle\.mixture\.weights\[1\]:/);
    expect(() => validateGaussianMixture(g3, 'gmm', { normalize: false })).toThrow(/sum to 1/);
    expect(validateGaussianMixture({ ...g3, weights: [0.5, 0.25, 0.2500000001] }, 'gmm', { normalize: false }).weights.length).toBe(3);
  });
});

describe('sampleGaussianMixture', () => {
  it('matches the closed-form moments in 3D and is seeded', () => {
    const n = 60_000;
    const s = sampleGaussianMixture(g3, n, 1);
    expect(s.dim).toBe(3);
    const { mean, cov } = mixtureMoments(g3);
    // closed form by hand: mean = 0.5 mu0 + 0.25 mu1 + 0.25 mu2
    expect(mean).toEqual([0.25, 0.25, 1]);
    const m = [0, 0, 0];
    for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) m[j]! += s.points[3 * i + j]! / n;
    const c = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < 3; a++)
        for (let b = 0; b < 3; b++) c[3 * a + b]! += ((s.points[3 * i + a]! - m[a]!) * (s.points[3 * i + b]! - m[b]!)) / (n - 1);
    }
    for (let j = 0; j < 3; j++) expect(Math.abs(m[j]! - mean[j]!)).toBeLessThan(5 * Math.sqrt(cov[j]![j]! / n));
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) expect(Math.abs(c[3 * a + b]! - cov[a]![b]!)).toBeLessThan(0.06 * Math.sqrt(cov[a]![a]! * cov[b]![b]!));
    const again = sampleGaussianMixture(g3, 10, 1);
    expect(Array.from(again.points)).toEqual(Array.from(s.points.subarray(0, 30)));
    const rng = new Rng(1);
    expect(Array.from(sampleGaussianMixture(g3, 10, rng).points)).toEqual(Array.from(again.points));
    // zero-weight components are never drawn
    const z = sampleGaussianMixture({ weights: [0, 1], means: [[100], [0]], stds: [1, 1] }, 1000, 2);
    expect(z.components.every((k) => k === 1)).toBe(true);
  });
});
