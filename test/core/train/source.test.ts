// Data sources: seeded, stateless draws; labels; validation that names the field.
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { ConfigError, DataError, ShapeError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import { eightGaussians } from '../../../core/data/toy2d';
import {
  arraySource,
  dataSourceFromSpec,
  gaussianSource,
  gmmSource,
  isPairedSource,
  pairedArraySource,
  pointsSource,
  toy2dSource,
} from '../../../core/data/source';

function read(x: tf.Tensor): Float32Array {
  const v = x.dataSync() as Float32Array;
  x.dispose();
  return v;
}

describe('data sources', () => {
  it('gaussianSource: N(0, scale^2 I) of the per-sample shape, reproducible from the Rng state', () => {
    const src = gaussianSource([4, 4, 1], 2);
    const b = src.sample(2000, new Rng(5));
    expect(b.x.shape).toEqual([2000, 4, 4, 1]);
    expect(b.labels).toBeUndefined();
    const v = read(b.x);
    let s = 0;
    let s2 = 0;
    for (const x of v) {
      s += x;
      s2 += x * x;
    }
    const n = v.length;
    expect(Math.abs(s / n)).toBeLessThan((4 * 2) / Math.sqrt(n));
    expect(s2 / n).toBeCloseTo(4, 0); // variance scale^2 = 4 within ~2%
    const again = read(src.sample(2000, new Rng(5)).x);
    expect(again).toEqual(v);
    expect(src.numClasses).toBe(0);
  });

  it('toy2dSource: labelled points, numClasses from the dataset, successive draws differ', () => {
    const src = toy2dSource('moons');
    expect(src.shape).toEqual([2]);
    expect(src.numClasses).toBe(2);
    const rng = new Rng(1);
    const a = src.sample(64, rng);
    const b = src.sample(64, rng);
    expect(a.labels!.length).toBe(64);
    expect(new Set(a.labels)).toEqual(new Set([0, 1]));
    expect(read(a.x)).not.toEqual(read(b.x));
    tf.dispose(b.x);
    expect(toy2dSource('8gaussians').numClasses).toBe(8);
    expect(
      toy2dSource('gmm', {
        mixture: {
          weights: [1, 1, 1],
          means: [
            [0, 0],
            [1, 1],
            [2, 2],
          ],
          stds: [1, 1, 1],
        },
      }).numClasses,
    ).toBe(3);
    expect(() => toy2dSource('gmm')).toThrow(ConfigError);
  });

  it('gmmSource: component labels and the mixture mean', () => {
    const src = gmmSource(eightGaussians());
    expect(src.numClasses).toBe(8);
    const { x, labels } = src.sample(4000, new Rng(2));
    const v = read(x);
    let mx = 0;
    let my = 0;
    for (let i = 0; i < 4000; i++) {
      mx += v[2 * i]!;
      my += v[2 * i + 1]!;
      // Each point is near the mean of its component (5 (cos, sin)(k pi / 4), std 0.3).
      const k = labels![i]!;
      const d = Math.hypot(v[2 * i]! - 5 * Math.cos((k * Math.PI) / 4), v[2 * i + 1]! - 5 * Math.sin((k * Math.PI) / 4));
      expect(d).toBeLessThan(2);
    }
    // Mixture mean 0; per-coordinate std of the sample mean ~ sqrt(12.5 / 4000) = 0.056.
    expect(Math.abs(mx / 4000)).toBeLessThan(0.25);
    expect(Math.abs(my / 4000)).toBeLessThan(0.25);
  });

  it('pointsSource and arraySource resample stored rows with replacement (labels travel with rows)', () => {
    const pts = [
      [0, 1],
      [2, 3],
      [4, 5],
    ];
    const v = read(pointsSource(pts).sample(50, new Rng(3)).x);
    for (let i = 0; i < 50; i++) expect(pts.some((p) => p[0] === v[2 * i] && p[1] === v[2 * i + 1])).toBe(true);

    // Rows of shape [2, 2]; the label of row r is r, and each row's values are 10 r + (0..3).
    const data = Float32Array.from({ length: 4 * 5 }, (_, k) => 10 * Math.floor(k / 4) + (k % 4));
    const src = arraySource(data, [2, 2], Int32Array.from([0, 1, 2, 3, 4]), 5);
    expect(src.size).toBe(5);
    const b = src.sample(20, new Rng(4));
    expect(b.x.shape).toEqual([20, 2, 2]);
    const xs = read(b.x);
    for (let i = 0; i < 20; i++) expect(xs[4 * i]).toBe(10 * b.labels![i]!);
  });

  it('validation names the field or row', () => {
    expect(() => arraySource(new Float32Array(5), [2])).toThrow(ShapeError);
    expect(() => arraySource(Float32Array.from([0, NaN]), [1])).toThrow(/row 1/);
    expect(() => arraySource(Float32Array.from([0, 1]), [1], Int32Array.from([0, 3]), 2)).toThrow(DataError);
    expect(() => arraySource(Float32Array.from([0, 1]), [0])).toThrow(/data.shape\[0\]/);
    expect(() => pointsSource([[0, 0], [1]])).toThrow(/data.points\[1\]/);
    expect(() => gaussianSource([2], -1)).toThrow(/source.scale/);
    try {
      dataSourceFromSpec({ kind: 'mnist' });
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).field).toBe('data.kind');
    }
  });

  it('dataSourceFromSpec builds the in-core kinds', () => {
    expect(dataSourceFromSpec({ kind: 'toy2d', name: 'circles', noise: 0.01 }).numClasses).toBe(2);
    expect(dataSourceFromSpec({ kind: 'gmm', gmm: { weights: [1], means: [[0, 0, 0]], stds: [1] } }).shape).toEqual([3]);
    expect(dataSourceFromSpec({ kind: 'points', points: [[1, 2]] }).shape).toEqual([2]);
  });

  it('pairedArraySource keeps each pair together', () => {
    const n = 7;
    const x0 = Float32Array.from({ length: 2 * n }, (_, k) => k);
    const x1 = Float32Array.from({ length: 2 * n }, (_, k) => 100 + k);
    const src = pairedArraySource(x0, x1, [2]);
    expect(isPairedSource(src)).toBe(true);
    expect(isPairedSource(gaussianSource([2]))).toBe(false);
    const { x0: a, x1: b } = src.samplePairs(30, new Rng(9));
    const va = read(a);
    const vb = read(b);
    for (let i = 0; i < 60; i++) expect(vb[i]! - va[i]!).toBe(100);
  });
});
