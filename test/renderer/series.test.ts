import { describe, expect, it } from 'vitest';
import { decimate, MetricBuffer, positive, smooth, throttle } from '../../renderer/src/lib/series';

describe('decimate', () => {
  it('returns small series unchanged, minus non-finite values', () => {
    expect(decimate([1, 2, 3], [0.5, null, Number.NaN], 10)).toEqual([{ x: 1, y: 0.5 }]);
  });

  it('bounds the point count and keeps spikes, first and last', () => {
    const n = 100_000;
    const xs = Array.from({ length: n }, (_, i) => i);
    const ys = xs.map((i) => (i === 54_321 ? 100 : Math.sin(i / 1000)));
    const d = decimate(xs, ys, 400);
    expect(d.length).toBeLessThanOrEqual(400);
    expect(d[0]).toEqual({ x: 0, y: 0 });
    expect(d.at(-1)).toEqual({ x: n - 1, y: ys[n - 1] });
    expect(d.some((p) => p.y === 100)).toBe(true);
    for (let i = 1; i < d.length; i++) expect(d[i]!.x).toBeGreaterThan(d[i - 1]!.x);
  });
});

describe('smooth', () => {
  it('starts at the first value (bias corrected) and converges to a constant', () => {
    const s = smooth([2, 2, 2, 2], 0.9);
    for (const v of s) expect(v).toBeCloseTo(2, 12);
  });

  it('is the EMA with its normalisation, skipping nulls', () => {
    const s = smooth([1, null, 3], 0.5);
    expect(s[0]).toBeCloseTo(1);
    expect(s[1]).toBeNull();
    // acc = 0.5*0.5 + 0.5*3 = 1.75, / (1 - 0.25) = 2.333
    expect(s[2]).toBeCloseTo(1.75 / 0.75);
  });

  it('weight 0 is the raw series', () => {
    expect(smooth([3, 1, 2], 0)).toEqual([3, 1, 2]);
  });

  it('positive drops points a log axis cannot show', () => {
    expect(
      positive([
        { x: 1, y: 0 },
        { x: 2, y: -1 },
        { x: 3, y: 0.1 },
      ]),
    ).toEqual([{ x: 3, y: 0.1 }]);
  });
});

describe('MetricBuffer', () => {
  it('ignores steps that do not increase', () => {
    const b = new MetricBuffer();
    expect(b.push(10, 1)).toBe(true);
    expect(b.push(10, 2)).toBe(false);
    expect(b.push(5, 2)).toBe(false);
    expect(b.steps).toEqual([10]);
  });

  it('stays bounded and keeps recent points exactly', () => {
    const b = new MetricBuffer(1000);
    for (let i = 1; i <= 50_000; i++) b.push(i, 1 / i);
    expect(b.length).toBeLessThanOrEqual(1000);
    expect(b.steps.at(-1)).toBe(50_000);
    expect(b.steps.slice(-100)).toEqual(Array.from({ length: 100 }, (_, i) => 49_901 + i));
    for (let i = 1; i < b.length; i++) expect(b.steps[i]!).toBeGreaterThan(b.steps[i - 1]!);
  });

  it('merge interleaves stored points with event points, incoming wins on equal steps', () => {
    const b = new MetricBuffer();
    b.push(7, 0.7);
    b.push(13, 1.3);
    b.merge([5, 10, 13, 15], [0.5, 1, 9, 1.5]);
    expect(b.steps).toEqual([5, 7, 10, 13, 15]);
    expect(b.values).toEqual([0.5, 0.7, 1, 9, 1.5]);
    b.merge([20, 25], [2, 2.5]);
    expect(b.steps.at(-1)).toBe(25);
    const v = b.version;
    b.merge([], []);
    expect(b.version).toBe(v);
  });

  it('load keeps events that arrived after the stored history', () => {
    const b = new MetricBuffer();
    b.push(30, 3);
    b.push(40, 4);
    b.load([10, 20, 30], [1, 2, 3]);
    expect(b.steps).toEqual([10, 20, 30, 40]);
    expect(b.values).toEqual([1, 2, 3, 4]);
  });
});

describe('throttle', () => {
  it('runs at once, then once more after the interval with the latest state', () => {
    let t = 0;
    const queued: (() => void)[] = [];
    let calls = 0;
    const f = throttle(
      () => calls++,
      250,
      () => t,
      (cb) => queued.push(cb),
    );
    f();
    expect(calls).toBe(1);
    t = 10;
    f();
    f();
    f();
    expect(calls).toBe(1);
    expect(queued).toHaveLength(1);
    t = 250;
    queued.shift()!();
    expect(calls).toBe(2);
    f.cancel();
    t = 1000;
    f();
    expect(calls).toBe(2);
  });
});
