import { describe, expect, it } from 'vitest';
import { StoreInputError } from '../../../main/store';
import { newRun, openTemp } from './helpers';

describe('appendMetrics / getMetrics', () => {
  it('round-trips values, including NaN and ±Infinity, as one series per name in step order', () => {
    const { store } = openTemp({ now: () => 5000 });
    const { id } = store.createRun(newRun());
    expect(
      store.appendMetrics(id, [
        { step: 2, name: 'loss', value: 0.5, wallTime: 1002 },
        { step: 1, name: 'loss', value: 1, wallTime: 1001 },
        { step: 3, name: 'loss', value: NaN, wallTime: 1003 },
        { step: 1, name: 'grad_norm', value: Infinity },
        { step: 2, name: 'grad_norm', value: -Infinity },
      ]),
    ).toBe(5);
    expect(store.getMetrics(id)).toEqual([
      { name: 'grad_norm', steps: [1, 2], values: [Infinity, -Infinity], wallTimes: [5000, 5000] },
      { name: 'loss', steps: [1, 2, 3], values: [1, 0.5, NaN], wallTimes: [1001, 1002, 1003] },
    ]);
    expect(store.getRun(id).step).toBe(3);
    expect(store.metricNames(id)).toEqual(['grad_norm', 'loss']);
  });

  it('replaces the value at an existing (name, step) and never moves the run step back', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    store.appendMetrics(id, [{ step: 10, name: 'loss', value: 1 }]);
    store.appendMetrics(id, [
      { step: 10, name: 'loss', value: 2 },
      { step: 4, name: 'loss', value: 3 },
    ]);
    expect(store.getMetrics(id, ['loss'])[0]).toMatchObject({ steps: [4, 10], values: [3, 2] });
    expect(store.getRun(id).step).toBe(10);
  });

  it('a bad row anywhere in a batch writes nothing and names the row', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    const rows = Array.from({ length: 8 }, (_, i) => ({ step: i, name: 'loss', value: i }));
    const bad = [...rows.slice(0, 5), { step: -1, name: 'loss', value: 0 }, ...rows.slice(5)];
    expect(() => store.appendMetrics(id, bad)).toThrow(new StoreInputError('metrics[5].step', 'must be a non-negative integer; got -1'));
    expect(() => store.appendMetrics(id, [{ step: 1, name: '', value: 1 }])).toThrow(/metrics\[0\]\.name/);
    expect(() => store.appendMetrics(id, [{ step: 1, name: 'x', value: '1' as never }])).toThrow(/metrics\[0\]\.value: must be a number/);
    expect(() => store.appendMetrics(id, [{ step: 1.5, name: 'x', value: 1 }])).toThrow(/metrics\[0\]\.step/);
    expect(store.getMetrics(id)).toEqual([]);
    expect(store.getRun(id).step).toBe(0);
  });

  it('filters by names (in the order asked, empty when never logged) and by step range', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    store.appendMetrics(
      id,
      Array.from({ length: 20 }, (_, i) => [
        { step: i + 1, name: 'loss', value: i },
        { step: i + 1, name: 'lr', value: 0.1 },
      ]).flat(),
    );
    const series = store.getMetrics(id, ['lr', 'fid', 'loss'], { fromStep: 15, toStep: 17 });
    expect(series.map((s) => [s.name, s.steps])).toEqual([
      ['lr', [15, 16, 17]],
      ['fid', []],
      ['loss', [15, 16, 17]],
    ]);
    expect(() => store.getMetrics(id, null, { everyNth: 2, maxPoints: 10 })).toThrow(/everyNth or maxPoints, not both/);
    expect(() => store.getMetrics(id, null, { maxPoints: 1 })).toThrow(/maxPoints: must be an integer >= 2/);
  });

  it('everyNth keeps points 0, n, 2n ... of each series', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    store.appendMetrics(
      id,
      Array.from({ length: 100 }, (_, i) => ({ step: (i + 1) * 5, name: 'loss', value: i })),
    );
    const [loss] = store.getMetrics(id, ['loss'], { everyNth: 10 });
    expect(loss?.steps).toEqual([5, 55, 105, 155, 205, 255, 305, 355, 405, 455]);
    // Decimation applies within the selected range (what a live chart polling "since step s" needs).
    expect(store.getMetrics(id, ['loss'], { fromStep: 400, everyNth: 4 })[0]?.steps).toEqual([400, 420, 440, 460, 480, 500]);
  });

  it('maxPoints: everything when it fits, else the first point at or after evenly spaced step targets', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    // Series m1 ... m60, series mN holding N points at steps 0, 3, 6 ...: one run, many lengths.
    const rows = [];
    for (let n = 1; n <= 60; n++) for (let i = 0; i < n; i++) rows.push({ step: 3 * i, name: `m${n}`, value: i });
    store.appendMetrics(id, rows);
    for (let max = 2; max <= 12; max++) {
      const series = store.getMetrics(id, null, { maxPoints: max });
      expect(series).toHaveLength(60);
      for (const s of series) {
        const n = Number(s.name.slice(1));
        const steps = Array.from({ length: n }, (_, i) => 3 * i);
        let expected = steps;
        if (n > max) {
          // The definition, computed independently: targets over [first, last], next point at or after.
          const last = steps.at(-1)!;
          const picks = Array.from({ length: max }, (_, k) => steps.find((x) => x >= (last * k) / (max - 1))!);
          expected = [...new Set(picks)];
        }
        expect(s.steps, `${s.name} maxPoints ${max}`).toEqual(expected);
        expect(s.steps.length).toBeLessThanOrEqual(max);
        expect(s.steps[0]).toBe(0);
        expect(s.steps.at(-1)).toBe(3 * (n - 1)); // the latest point is always shown
        expect(s.values).toEqual(s.steps.map((x) => x / 3)); // values travel with their steps
      }
    }
  });

  it('maxPoints on an irregular series keeps all when they fit, and never exceeds the cap', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    const steps = [0, 1, 2, 1000, 1001, 5000];
    store.appendMetrics(
      id,
      steps.map((step) => ({ step, name: 'fid', value: step })),
    );
    expect(store.getMetrics(id, ['fid'], { maxPoints: 6 })[0]?.steps).toEqual(steps);
    // Targets 0, 1666.7, 3333.3, 5000 -> 0, 5000, 5000, 5000: duplicates dropped.
    expect(store.getMetrics(id, ['fid'], { maxPoints: 4 })[0]?.steps).toEqual([0, 5000]);
    expect(store.getMetrics(id, ['fid'], { maxPoints: 2, fromStep: 1 })[0]?.steps).toEqual([1, 5000]);
  });

  it('reads a long run through the index: decimated and incremental reads stay fast', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    for (let b = 0; b < 10; b++) {
      store.appendMetrics(
        id,
        Array.from({ length: 20_000 }, (_, i) => ({ step: b * 10_000 + (i >> 1), name: i % 2 ? 'lr' : 'loss', value: i })),
      );
    }
    const time = <T>(fn: () => T): [T, number] => {
      const t = performance.now();
      const out = fn();
      return [out, performance.now() - t];
    };
    const [decimated, decimatedMs] = time(() => store.getMetrics(id, null, { maxPoints: 500 }));
    const [recent, recentMs] = time(() => store.getMetrics(id, ['loss'], { fromStep: 99_900 }));
    const [names, namesMs] = time(() => store.metricNames(id));
    console.info(
      `[store] 200k rows: maxPoints 500 over 2 series ${decimatedMs.toFixed(1)} ms, ` +
        `last 100 steps ${recentMs.toFixed(2)} ms, metric names ${namesMs.toFixed(2)} ms`,
    );
    expect(decimated.map((s) => [s.name, s.steps.length, s.steps[0], s.steps.at(-1)])).toEqual([
      ['loss', 500, 0, 99_999],
      ['lr', 500, 0, 99_999],
    ]);
    expect(recent[0]?.steps).toHaveLength(100);
    expect(names).toEqual(['loss', 'lr']);
    // Generous bounds for shared cores; a full scan of 200k rows would take ~10x longer than these.
    expect(decimatedMs).toBeLessThan(150);
    expect(recentMs).toBeLessThan(20);
  });

  it('write throughput: 10k rows in one batch, in 100 batches, and one row per transaction', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    const rows = (offset: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ step: offset + Math.floor(i / 2), name: i % 2 ? 'lr' : 'loss', value: Math.random() }));
    const time = (fn: () => void) => {
      const t = performance.now();
      fn();
      return performance.now() - t;
    };
    const oneBatch = time(() => store.appendMetrics(id, rows(0, 10_000)));
    const hundredBatches = time(() => {
      for (let b = 0; b < 100; b++) store.appendMetrics(id, rows(10_000 + b * 50, 100));
    });
    const perRow = time(() => {
      for (let i = 0; i < 10_000; i++) store.appendMetrics(id, rows(20_000 + Math.floor(i / 2), 1));
    });
    console.info(
      `[store] 10k metric rows: 1 batch ${oneBatch.toFixed(0)} ms, 100 batches of 100 ${hundredBatches.toFixed(0)} ms, ` +
        `10k single-row transactions ${perRow.toFixed(0)} ms`,
    );
    expect(store.getMetrics(id, ['loss'])[0]?.steps.length).toBe(5000 + 5000 + 5000);
    // Loose bound (shared CI cores): batching must keep 10k rows well under a second.
    expect(oneBatch).toBeLessThan(1500);
  });
});
