import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import {
  DATASETS_2D,
  eightGaussians,
  mixtureOf2d,
  sample2d,
  sample2dLabeled,
  sample2dTensor,
  type Dataset2DName,
} from '../../../core/data/toy2d';
import { mixtureMoments } from '../../../core/data/mixture';
import { ConfigError, DataError } from '../../../core/errors';

const ALL: Dataset2DName[] = DATASETS_2D.map((d) => d.name);
const needs = (name: Dataset2DName) =>
  name === 'gmm'
    ? {
        mixture: {
          weights: [1, 3],
          means: [
            [0, 0],
            [2, 1],
          ],
          stds: [0.5, 0.25],
        },
      }
    : name === 'points'
      ? {
          points: [
            [0, 0],
            [1, 2],
            [-3, 1],
          ],
        }
      : {};

/** numpy.linspace in float64, written independently of the generator. */
function linspaceRef(a: number, b: number, num: number): number[] {
  if (num === 1) return [a];
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? b : a + (i * (b - a)) / (num - 1)));
}

function meanCov(p: Float32Array): { mean: [number, number]; cov: [number, number, number] } {
  const n = p.length / 2;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += p[2 * i]!;
    my += p[2 * i + 1]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = p[2 * i]! - mx;
    const dy = p[2 * i + 1]! - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  return { mean: [mx, my], cov: [sxx / (n - 1), syy / (n - 1), sxy / (n - 1)] };
}

describe('moons', () => {
  it('with noise 0 lies exactly on the scaled, shifted semicircles (labels tell which)', () => {
    for (const n of [1, 2, 7, 100, 101]) {
      const { points, labels } = sample2dLabeled('moons', n, 3, { noise: 0 });
      for (let i = 0; i < n; i++) {
        const u = (points[2 * i]! + 1) / 3; // undo x -> 3x - 1
        const v = (points[2 * i + 1]! + 1) / 3;
        if (labels[i] === 0) {
          expect(Math.hypot(u, v)).toBeCloseTo(1, 5);
          expect(v).toBeGreaterThanOrEqual(-1e-6);
        } else {
          expect(Math.hypot(u - 1, v - 0.5)).toBeCloseTo(1, 5);
          expect(v - 0.5).toBeLessThanOrEqual(1e-6);
        }
      }
    }
  });

  it('without shuffling reproduces make_moons point by point', () => {
    const n = 11;
    const { points, labels } = sample2dLabeled('moons', n, 0, { noise: 0, shuffle: false });
    const so = linspaceRef(0, Math.PI, 5);
    const si = linspaceRef(0, Math.PI, 6);
    const want = [...so.flatMap((s) => [Math.cos(s), Math.sin(s)]), ...si.flatMap((s) => [1 - Math.cos(s), 1 - Math.sin(s) - 0.5])].map(
      (v) => 3 * v - 1,
    );
    want.forEach((w, k) => expect(points[k]).toBeCloseTo(w, 6));
    expect(Array.from(labels)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  });

  it('balances the classes: n // 2 outer, the rest inner', () => {
    for (const n of [10, 11, 1001]) {
      const { labels } = sample2dLabeled('moons', n, 1);
      const outer = labels.filter((l) => l === 0).length;
      expect(outer).toBe(Math.floor(n / 2));
      expect(n - outer).toBe(n - Math.floor(n / 2));
    }
  });

  it('has the noiseless mean (float64 reference) and noise std 3 * 0.2', () => {
    const n = 20_000;
    const nOut = n / 2;
    const so = linspaceRef(0, Math.PI, nOut);
    const si = linspaceRef(0, Math.PI, n - nOut);
    let rx = 0;
    let ry = 0;
    so.forEach((s) => {
      rx += Math.cos(s);
      ry += Math.sin(s);
    });
    si.forEach((s) => {
      rx += 1 - Math.cos(s);
      ry += 1 - Math.sin(s) - 0.5;
    });
    const ref = [3 * (rx / n) - 1, 3 * (ry / n) - 1];
    // Large-n limit: (3 * 0.5 - 1, 3 * 0.25 - 1) exactly.
    expect(ref[0]).toBeCloseTo(0.5, 3);
    expect(ref[1]).toBeCloseTo(-0.25, 3);
    const noisy = sample2d('moons', n, 5);
    const { mean } = meanCov(noisy);
    const se = 0.6 / Math.sqrt(n);
    expect(Math.abs(mean[0] - ref[0]!)).toBeLessThan(5 * se);
    expect(Math.abs(mean[1] - ref[1]!)).toBeLessThan(5 * se);
    // Residuals against the noiseless points (same seed and shuffle, noise off) are N(0, 0.6^2).
    const a = sample2d('moons', n, 5, { shuffle: false });
    const b = sample2d('moons', n, 5, { shuffle: false, noise: 0 });
    let ss = 0;
    for (let k = 0; k < a.length; k++) ss += (a[k]! - b[k]!) ** 2;
    expect(Math.sqrt(ss / a.length)).toBeCloseTo(0.6, 1);
    expect(Math.abs(Math.sqrt(ss / a.length) - 0.6)).toBeLessThan(0.01);
  });
});

describe('8gaussians', () => {
  it('sample mean and covariance match the mixture closed form', () => {
    const gmm = eightGaussians();
    expect(gmm.means[2]![0]).toBeCloseTo(0, 12);
    expect(gmm.means[2]![1]).toBeCloseTo(5, 12);
    const { mean, cov } = mixtureMoments(gmm);
    // 8 equally spaced means on a circle of radius 5: E x = 0, Cov = (25 / 2 + 0.3^2) I.
    expect(Math.abs(mean[0]!)).toBeLessThan(1e-12);
    expect(cov[0]![0]).toBeCloseTo(12.5 + 0.09, 12);
    expect(cov[0]![1]).toBeCloseTo(0, 12);
    const n = 40_000;
    const { points, labels } = sample2dLabeled('8gaussians', n, 9);
    const s = meanCov(points);
    const se = Math.sqrt(12.59 / n);
    expect(Math.abs(s.mean[0])).toBeLessThan(5 * se);
    expect(Math.abs(s.mean[1])).toBeLessThan(5 * se);
    expect(s.cov[0] / 12.59).toBeCloseTo(1, 1);
    expect(Math.abs(s.cov[0] / 12.59 - 1)).toBeLessThan(0.03);
    expect(Math.abs(s.cov[1] / 12.59 - 1)).toBeLessThan(0.03);
    expect(Math.abs(s.cov[2])).toBeLessThan(0.3);
    // labels are components: each point is near its own mean
    for (let i = 0; i < 200; i++) {
      const m = gmm.means[labels[i]!]!;
      expect(Math.hypot(points[2 * i]! - m[0]!, points[2 * i + 1]! - m[1]!)).toBeLessThan(0.3 * 6);
    }
    const counts = new Array(8).fill(0);
    for (const l of labels) counts[l]++;
    for (const c of counts) expect(Math.abs(c / n - 1 / 8)).toBeLessThan(0.01);
  });
});

describe('other datasets', () => {
  it('circles: radii 3 and 1.5 with noise 0, balanced labels', () => {
    const { points, labels } = sample2dLabeled('circles', 501, 2, { noise: 0 });
    for (let i = 0; i < 501; i++) {
      const r = Math.hypot(points[2 * i]!, points[2 * i + 1]!);
      expect(r).toBeCloseTo(labels[i] === 0 ? 3 : 1.5, 5);
    }
    expect(labels.filter((l) => l === 0).length).toBe(250);
  });

  it('checkerboard: every point on a dark square inside [-4, 4]^2, squares equally likely', () => {
    const n = 16_000;
    const p = sample2d('checkerboard', n, 4);
    const counts = new Map<string, number>();
    for (let k = 0; k < n; k++) {
      const x = p[2 * k]!;
      const y = p[2 * k + 1]!;
      expect(Math.abs(x)).toBeLessThanOrEqual(4);
      expect(Math.abs(y)).toBeLessThanOrEqual(4);
      const i = Math.floor((x + 4) / 2);
      const j = Math.floor((y + 4) / 2);
      expect((i + j) % 2).toBe(0);
      counts.set(`${i},${j}`, (counts.get(`${i},${j}`) ?? 0) + 1);
    }
    expect(counts.size).toBe(8);
    for (const c of counts.values()) expect(Math.abs(c / n - 1 / 8)).toBeLessThan(0.015);
  });

  it('2spirals: with noise 0 each point is on its arm r = theta / 3', () => {
    const { points, labels } = sample2dLabeled('2spirals', 400, 6, { noise: 0 });
    expect(labels.filter((l) => l === 0).length).toBe(200);
    for (let i = 0; i < 400; i++) {
      const s = labels[i] === 0 ? 1 : -1;
      const x = s * points[2 * i]!;
      const y = s * points[2 * i + 1]!;
      const theta = 3 * Math.hypot(x, y);
      expect(theta).toBeLessThanOrEqual(3 * Math.PI + 1e-4);
      // (x, y) = (-theta cos theta, theta sin theta) / 3
      expect(x).toBeCloseTo((-theta * Math.cos(theta)) / 3, 4);
      expect(y).toBeCloseTo((theta * Math.sin(theta)) / 3, 4);
    }
  });

  it('swissroll: with noise 0 the points follow t (cos t, sin t) / 5, t in [1.5 pi, 4.5 pi]', () => {
    const p = sample2d('swissroll', 300, 7, { noise: 0 });
    for (let i = 0; i < 300; i++) {
      const x = 5 * p[2 * i]!;
      const y = 5 * p[2 * i + 1]!;
      const t = Math.hypot(x, y);
      expect(t).toBeGreaterThanOrEqual(1.5 * Math.PI - 1e-4);
      expect(t).toBeLessThanOrEqual(4.5 * Math.PI + 1e-4);
      expect(x).toBeCloseTo(t * Math.cos(t), 3);
      expect(y).toBeCloseTo(t * Math.sin(t), 3);
    }
    const noisy = sample2d('swissroll', 5000, 7);
    expect(noisy.every((v) => Math.abs(v) < 4.5)).toBe(true);
  });

  it('gmm: samples the user mixture; labels are components in proportion to the weights', () => {
    const n = 8000;
    const { points, labels } = sample2dLabeled('gmm', n, 8, needs('gmm'));
    const frac = labels.filter((l) => l === 1).length / n;
    expect(Math.abs(frac - 0.75)).toBeLessThan(0.02);
    const s = meanCov(points);
    const { mean } = mixtureMoments(needs('gmm').mixture!);
    expect(Math.abs(s.mean[0] - mean[0]!)).toBeLessThan(0.05);
    expect(() => sample2d('gmm', 5, 1)).toThrow(ConfigError);
    expect(() => sample2d('gmm', 5, 1, { mixture: { weights: [1], means: [[0, 0, 0]], stds: [1] } })).toThrow(/gmm\.means\[0\]/);
    expect(() =>
      sample2d('gmm', 5, 1, {
        mixture: {
          weights: [1, 1],
          means: [
            [0, 0],
            [0, NaN],
          ],
          stds: [1, 1],
        },
      }),
    ).toThrow(/gmm\.means\[1\]\[1\]/);
  });

  it('points: resamples the given points with replacement; validates them, naming the index', () => {
    const set = needs('points').points!;
    const p = sample2d('points', 300, 1, { points: set });
    const seen = new Set<string>();
    for (let k = 0; k < 300; k++) {
      const key = `${p[2 * k]},${p[2 * k + 1]}`;
      expect(set.map((q) => `${q[0]},${q[1]}`)).toContain(key);
      seen.add(key);
    }
    expect(seen.size).toBe(3);
    expect(sample2d('points', 4, 1, { points: new Float32Array([1, 2, 3, 4]) }).length).toBe(8);
    expect(() => sample2d('points', 4, 1, { points: [] })).toThrow(DataError);
    expect(() => sample2d('points', 4, 1, { points: [] })).toThrow(/empty/);
    expect(() =>
      sample2d('points', 4, 1, {
        points: [
          [0, 0],
          [1, NaN],
        ],
      }),
    ).toThrow(/points\[1\]\[1\]/);
    expect(() =>
      sample2d('points', 4, 1, {
        points: [
          [0, 0],
          [1, 2, 3],
        ],
      }),
    ).toThrow(/points\[1\] must have 2 coordinates/);
    expect(() => sample2d('points', 4, 1, { points: [0, 1, Infinity, 3] })).toThrow(/points\[1\]\[0\]/);
    expect(() => sample2d('points', 4, 1, { points: [0, 1, 2] })).toThrow(DataError);
    expect(() =>
      sample2d('points', 4, 1, {
        points: [
          [0, 0],
          [1, '2' as unknown as number],
        ],
      }),
    ).toThrow(/points\[1\]\[1\]/);
    expect(() => sample2d('points', 4, 1)).toThrow(ConfigError);
  });
});

describe('all datasets', () => {
  it('are deterministic in the seed, differ across seeds, and have the right shapes', () => {
    for (const name of ALL) {
      const opts = needs(name);
      const a = sample2dLabeled(name, 257, 42, opts);
      const b = sample2dLabeled(name, 257, 42, opts);
      const c = sample2dLabeled(name, 257, 43, opts);
      expect(a.points.length).toBe(514);
      expect(a.labels.length).toBe(257);
      expect(Array.from(a.points)).toEqual(Array.from(b.points));
      expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
      expect(Array.from(a.points)).not.toEqual(Array.from(c.points));
      expect(
        a.points.every((v) => Number.isFinite(v) && Math.abs(v) < 7),
        name,
      ).toBe(true);
      expect(sample2d(name, 0, 1, opts).length).toBe(0);
    }
  });

  it('sample2dTensor returns a [n, 2] tensor with the same values and nothing else', () => {
    const before = tf.memory().numTensors;
    const t = sample2dTensor('moons', 64, 3);
    expect(t.shape).toEqual([64, 2]);
    expect(Array.from(t.dataSync())).toEqual(Array.from(sample2d('moons', 64, 3)));
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('metadata: unique names, exact oracles exactly for the mixtures', () => {
    expect(new Set(ALL).size).toBe(ALL.length);
    for (const d of DATASETS_2D) {
      const g = mixtureOf2d(d.name, needs(d.name));
      expect(g !== null).toBe(d.exactOracle);
      expect(d.label.length).toBeGreaterThan(0);
    }
    expect(mixtureOf2d('gmm', needs('gmm'))!.weights).toEqual([0.25, 0.75]);
    expect(DATASETS_2D.find((d) => d.name === '8gaussians')!.exactOracle).toBe(true);
  });

  it('rejects bad names, sizes and options', () => {
    expect(() => sample2d('nope' as Dataset2DName, 3, 1)).toThrow(/dataset/);
    expect(() => sample2d('moons', -1, 1)).toThrow(/^n:/);
    expect(() => sample2d('moons', 2.5, 1)).toThrow(ConfigError);
    expect(() => sample2d('moons', 2, 1.5)).toThrow(/seed/);
    expect(() => sample2d('moons', 2, 1, { noise: -1 })).toThrow(/noise/);
    expect(() => sample2d('circles', 2, 1, { factor: 1 })).toThrow(/factor/);
  });
});
