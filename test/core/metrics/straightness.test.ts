import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { straightness } from '../../../core/metrics/straightness';
import { ConfigError, ShapeError } from '../../../core/errors';

/** States [K + 1][n * 2] of n paths x_i(t) = path(t, i) on the grid. */
function record(times: number[], n: number, path: (t: number, i: number) => [number, number]): Float32Array[] {
  return times.map((t) => {
    const s = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const [x, y] = path(t, i);
      s[2 * i] = x;
      s[2 * i + 1] = y;
    }
    return s;
  });
}

const uniform = (K: number) => Array.from({ length: K + 1 }, (_, k) => k / K);
const warped = (K: number) => Array.from({ length: K + 1 }, (_, k) => (k / K) ** 2);

describe('straightness', () => {
  it('is 0 for straight constant-speed paths, on any grid', () => {
    const line = (t: number, i: number): [number, number] => [i + t * (1 - 2 * i), -i + 3 * t];
    for (const times of [uniform(10), warped(13)]) {
      expect(straightness(record(times, 5, line), times)).toBeLessThan(1e-9);
    }
  });

  it('quarter circle: S = (2 K sin(pi / 4K))^2 - 2 on a uniform grid, -> pi^2/4 - 2', () => {
    // Chords of the unit circle have speed 2 K sin(pi / 4K); their mean velocity is x_1 - x_0, |x_1 - x_0|^2 = 2.
    for (const K of [1, 4, 50]) {
      const times = uniform(K);
      // n rotated copies: every path has the same S.
      const st = record(times, 3, (t, i) => [Math.cos((Math.PI * t) / 2 + i), Math.sin((Math.PI * t) / 2 + i)]);
      const want = (2 * K * Math.sin(Math.PI / (4 * K))) ** 2 - 2;
      expect(straightness(st, times)).toBeCloseTo(want, 4);
      expect(straightness(st, times, { weighting: 'uniform' })).toBeCloseTo(want, 4);
    }
    const K = 400;
    const st = record(uniform(K), 1, (t) => [Math.cos((Math.PI * t) / 2), Math.sin((Math.PI * t) / 2)]);
    expect(straightness(st, uniform(K))).toBeCloseTo(Math.PI ** 2 / 4 - 2, 4);
  });

  it('straight but accelerating x = t^2 c: |c|^2 (K^2 - 1) / (3 K^2) uniform, |c|^2 / 3 in the limit (dt weights)', () => {
    const c: [number, number] = [3, -4];
    const path = (t: number): [number, number] => [t * t * c[0], t * t * c[1]];
    for (const K of [1, 2, 7]) {
      const want = (25 * (K * K - 1)) / (3 * K * K);
      expect(straightness(record(uniform(K), 1, path), uniform(K))).toBeCloseTo(want, 4);
    }
    // non-uniform grid: dt weighting approximates the integral; uniform weighting does not
    const times = warped(300);
    const st = record(times, 1, path);
    expect(straightness(st, times)).toBeCloseTo(25 / 3, 2);
    expect(Math.abs(straightness(st, times, { weighting: 'uniform' }) - 25 / 3)).toBeGreaterThan(1);
  });

  it('accepts one tensor [K + 1, n, ...] or a list of tensors, backwards grids, without leaks', () => {
    const times = uniform(6);
    const states = record(times, 4, (t, i) => [Math.cos(t + i), Math.sin(2 * t) * i]);
    const want = straightness(states, times);
    const before = tf.memory().numTensors;
    const stacked = tf.tensor3d(
      states.flatMap((s) => Array.from(s)),
      [7, 4, 2],
    );
    const list = states.map((s) => tf.tensor2d(s, [4, 2]));
    const rank4 = tf.reshape(stacked, [7, 4, 1, 2]);
    expect(straightness(stacked, times)).toBeCloseTo(want, 10);
    expect(straightness(list, times)).toBeCloseTo(want, 10);
    expect(straightness(rank4, times)).toBeCloseTo(want, 10);
    // the same paths recorded from t = 1 back to t = 0
    expect(straightness([...states].reverse(), [...times].reverse())).toBeCloseTo(want, 10);
    tf.dispose([stacked, rank4, ...list]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates grid and shapes', () => {
    const st = record(uniform(2), 1, (t) => [t, t]);
    expect(() => straightness(st, [0, 1])).toThrow(ShapeError);
    expect(() => straightness(st, [0, 0.5, 0.5])).toThrow(ConfigError);
    expect(() => straightness(st, [0, 0.6, 0.5])).toThrow(/times\[2\]/);
    expect(() => straightness([st[0]!], [0])).toThrow(ShapeError);
    expect(() => straightness([st[0]!, new Float32Array(4)], [0, 1])).toThrow(ShapeError);
    expect(() => straightness(st, uniform(2), { weighting: 'x' as 'dt' })).toThrow(ConfigError);
  });
});
