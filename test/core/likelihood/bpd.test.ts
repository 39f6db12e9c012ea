import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { bitsPerDim, dequantize } from '../../../core/likelihood/bpd';
import { ConfigError, DataError } from '../../../core/errors';

describe('bitsPerDim', () => {
  it('matches a hand float64 computation: -logp / (d ln 2) + bits - log2(range)', () => {
    const d = 32 * 32 * 3;
    const logp = -4321.0625;
    expect(bitsPerDim(logp, d)).toBeCloseTo(4321.0625 / (d * 0.6931471805599453) + 7, 12); // [-1, 1]: +7
    expect(bitsPerDim(logp, d, { range: 1 })).toBeCloseTo(4321.0625 / (d * 0.6931471805599453) + 8, 12); // [0, 1]: +8
    expect(bitsPerDim(logp, d, { bits: 5, range: 4 })).toBeCloseTo(4321.0625 / (d * 0.6931471805599453) + 3, 12);
    const many = bitsPerDim([logp, 0, 100], d);
    expect(many).toBeInstanceOf(Float64Array);
    expect(Array.from(many)).toEqual([bitsPerDim(logp, d), 7, -100 / (d * Math.LN2) + 7]);
  });

  it('gives exactly 8 bits for uniform 8-bit data under the uniform density on [-1, 1]^d', () => {
    // log p_y = -d log 2 on [-1, 1]^d; the discrete data (uniform on 256^d values) has 8 bits/dim.
    const d = 10;
    expect(bitsPerDim(-d * Math.log(2), d)).toBeCloseTo(8, 12);
  });

  it('rejects bad arguments naming the field', () => {
    expect(() => bitsPerDim(-1, 0)).toThrow(/^d:/);
    expect(() => bitsPerDim(-1, 2, { range: 0 })).toThrow(/range/);
    expect(() => bitsPerDim(-1, 2, { bits: 0 })).toThrow(ConfigError);
  });
});

describe('dequantize', () => {
  it('puts each value uniformly inside its own bin of the target interval, reproducibly', () => {
    const n = 20_000;
    const raw = tf.tensor1d(
      Int32Array.from({ length: n }, (_, i) => i % 256),
      'int32',
    );
    const y = dequantize(raw, { seed: 3 });
    const h = y.dataSync();
    expect(y.dtype).toBe('float32');
    const width = 2 / 256;
    let fracSum = 0;
    for (let i = 0; i < n; i++) {
      const pos = (h[i]! + 1) / width; // in [x, x + 1)
      expect(pos).toBeGreaterThan((i % 256) - 1e-4);
      expect(pos).toBeLessThan((i % 256) + 1 + 1e-4);
      fracSum += pos - (i % 256);
    }
    expect(Math.abs(fracSum / n - 0.5)).toBeLessThan(0.01); // U[0, 1) noise has mean 1/2
    expect(Array.from(dequantize(raw, { seed: 3 }).dataSync())).toEqual(Array.from(h));
    expect(Array.from(dequantize(raw, { seed: 4 }).dataSync())).not.toEqual(Array.from(h));
    const unit = dequantize(tf.tensor2d([[0, 255]]), { seed: 1, low: 0, high: 1 });
    expect(unit.shape).toEqual([1, 2]);
    const [a, b] = unit.dataSync();
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(1 / 256);
    expect(b).toBeGreaterThanOrEqual(255 / 256);
    expect(b).toBeLessThanOrEqual(1);
  });

  it('rejects values that are not integers of the bit depth', () => {
    expect(() => dequantize(tf.tensor1d([0, 256]), { seed: 0 })).toThrow(DataError);
    expect(() => dequantize(tf.tensor1d([1.5]), { seed: 0 })).toThrow(/x\[0\]/);
    expect(() => dequantize(tf.tensor1d([-1]), { seed: 0 })).toThrow(DataError);
    expect(() => dequantize(tf.tensor1d([8]), { seed: 0, bits: 3 })).toThrow(/bits = 3/);
    expect(() => dequantize(tf.tensor1d([1]), { seed: 0, low: 1, high: 1 })).toThrow(ConfigError);
  });
});
