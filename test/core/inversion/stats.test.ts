// Latent statistics and reconstruction error against closed forms: the normal CDF at tabulated
// points, the KS statistic of tiny samples by hand, Kolmogorov's distribution at its textbook
// quantiles, moments of a large seeded Gaussian sample, PSNR of a known error.
import { describe, expect, it } from 'vitest';
import { ksPValue, ksStatistic, latentStats, normalCdf, reconstructionError } from '../../../core/inversion/stats';
import { Rng } from '../../../core/util/random';
import { ShapeError } from '../../../core/errors';

describe('normalCdf', () => {
  it('matches tabulated values of Phi to 1e-7', () => {
    // Phi(x) from the standard normal table (float64 values of 0.5 erfc(-x / sqrt 2)).
    const table: [number, number][] = [
      [0, 0.5],
      [1, 0.8413447460685429],
      [-1, 0.15865525393145707],
      [1.959963984540054, 0.975],
      [-2.5758293035489004, 0.005],
      [3, 0.9986501019683699],
      [-6, 9.865876450376946e-10],
    ];
    for (const [x, p] of table) expect(Math.abs(normalCdf(x) - p)).toBeLessThan(1.2e-7 * Math.max(p, 1e-3));
  });
});

describe('ksStatistic / ksPValue', () => {
  it('one value at the median gives D = 1/2; two values by hand', () => {
    expect(ksStatistic([0])).toBeCloseTo(0.5, 7);
    // Uniform CDF on [0, 1]: sample {0.2, 0.9}: max(0.5 - 0.2, 0.2 - 0, 1 - 0.9, 0.9 - 0.5) = 0.4
    expect(ksStatistic([0.9, 0.2], (x) => Math.min(1, Math.max(0, x)))).toBeCloseTo(0.4, 12);
  });

  it("Kolmogorov's distribution: lambda = 1.358 -> p = 0.05, 1.628 -> 0.01 (large n)", () => {
    const n = 1e8;
    expect(ksPValue(1.358 / Math.sqrt(n), n)).toBeCloseTo(0.05, 3);
    expect(ksPValue(1.628 / Math.sqrt(n), n)).toBeCloseTo(0.01, 3);
    expect(ksPValue(0, n)).toBe(1);
  });
});

describe('latentStats', () => {
  it('a seeded N(0, 1) sample of 200k entries: moments within 5 standard errors, KS not rejected', () => {
    const d = 200_000;
    const z = new Rng(7).normals(d);
    const s = latentStats(z);
    const se = 1 / Math.sqrt(d);
    expect(s.d).toBe(d);
    expect(Math.abs(s.mean)).toBeLessThan(5 * se);
    expect(Math.abs(s.std - 1)).toBeLessThan(5 * se * Math.SQRT1_2);
    expect(Math.abs(s.normRatio - 1)).toBeLessThan(5 * se);
    expect(Math.abs(s.skewness)).toBeLessThan(5 * Math.sqrt(6 / d));
    expect(Math.abs(s.excessKurtosis)).toBeLessThan(5 * Math.sqrt(24 / d));
    expect(s.ks).toBeLessThan(1.628 / Math.sqrt(d));
    expect(s.ksPValue).toBeGreaterThan(0.01);
  });

  it('a shifted, scaled sample is refused by KS and shows its moments', () => {
    const z = Float64Array.from(new Rng(3).normals(10_000), (v) => 0.5 + 2 * v);
    const s = latentStats(z);
    expect(s.mean).toBeCloseTo(0.5, 1);
    expect(s.std).toBeCloseTo(2, 1);
    expect(s.ksPValue).toBeLessThan(1e-6);
    expect(() => latentStats([])).toThrow(ShapeError);
  });
});

describe('reconstructionError', () => {
  it('PSNR = 10 log10(R^2 / MSE): an error of 0.1 everywhere on data in [-1, 1] is 26.02 dB', () => {
    const x = new Float32Array(100);
    const y = new Float32Array(100).fill(0.1);
    const e = reconstructionError(x, y);
    expect(e.mse).toBeCloseTo(0.01, 8);
    expect(e.psnr).toBeCloseTo(10 * Math.log10(4 / 0.01), 5);
    expect(e.maxAbsError).toBeCloseTo(0.1, 7);
    // 8-bit convention: the same relative error on 0..255 with R = 255 gives the same PSNR.
    expect(
      reconstructionError(
        x,
        Float32Array.from(y, (v) => v * 127.5),
        255,
      ).psnr,
    ).toBeCloseTo(e.psnr, 5);
    expect(reconstructionError([1, 2], [1, 2]).psnr).toBe(Infinity);
    expect(() => reconstructionError([1], [1, 2])).toThrow(/reconstruction has 2 values/);
  });
});
