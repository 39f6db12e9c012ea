/**
 * The live view's data layer against a fake host: history on open, events appended, chart series
 * rebuilt at a bounded rate, other runs' events ignored, stored metrics merged while training.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope, nextTick, ref } from 'vue';
import type { RunDetail, RunEvent, Series } from '../../common/contract';

const listeners = new Set<(e: RunEvent) => void>();
const calls: { method: string; req: unknown }[] = [];
let stored: Series[] = [];

const detail = (over: Partial<RunDetail> = {}): RunDetail => ({
  id: 'r1',
  name: 'moons',
  dataset: 'moons',
  path: 'affine/condot',
  status: 'running',
  step: 20,
  totalSteps: 1000,
  finalLoss: 1.5,
  backend: 'wasm',
  createdAt: 0,
  updatedAt: 0,
  parentRunId: null,
  config: {},
  seed: 0,
  startedAt: 0,
  finishedAt: null,
  error: null,
  summary: null,
  shape: [2],
  numClasses: 0,
  hasOracle: false,
  live: true,
  owner: null,
  interrupted: false,
  ...over,
});

vi.mock('../../renderer/src/bridge', () => ({
  hostKind: 'web',
  // The web bridge's connection state; this fake host never drops.
  connection: { onReconnect: () => () => undefined },
  studio: {
    getRun: async (req: unknown) => (calls.push({ method: 'getRun', req }), detail()),
    getMetrics: async (req: { fromStep?: number }) => {
      calls.push({ method: 'getMetrics', req });
      const from = req.fromStep ?? 0;
      return stored.map((s) => {
        const keep = s.steps.map((st, i) => [st, s.values[i]] as const).filter(([st]) => st >= from);
        return { name: s.name, steps: keep.map((k) => k[0]), values: keep.map((k) => k[1]!) };
      });
    },
    latestSample: async (req: unknown) => (calls.push({ method: 'latestSample', req }), { kind: 'points', step: 10, points: [[0, 0]] }),
    onRunEvent: (l: (e: RunEvent) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  },
}));

const { useLiveRun } = await import('../../renderer/src/composables/useLiveRun');

const emit = (e: RunEvent) => listeners.forEach((l) => l(e));
const progress = (step: number, loss: number, runId = 'r1'): RunEvent => ({
  type: 'progress',
  runId,
  step,
  totalSteps: 1000,
  loss,
  lossSmoothed: loss,
  lr: 1e-3,
  stepsPerSec: 50,
  etaSec: (1000 - step) / 50,
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await nextTick();
}

describe('useLiveRun', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
    calls.length = 0;
    listeners.clear();
    stored = [
      { name: 'loss', steps: [10, 20], values: [2, 1.5] },
      { name: 'lr', steps: [10, 20], values: [1e-3, 1e-3] },
    ];
  });
  afterEach(() => vi.useRealTimers());

  it('loads the history, then appends events at a bounded rate', async () => {
    const scope = effectScope();
    const id = ref<string | undefined>('r1');
    const live = scope.run(() => useLiveRun(id, ref(0)))!;
    await settle();
    expect(live.numbers.value.status).toBe('running');
    expect(live.loss.value.raw.map((p) => p.x)).toEqual([10, 20]);
    expect(live.sample.value?.kind).toBe('points');

    // A burst of events: numbers update at once, the chart series only at the next tick of the loop.
    for (let s = 21; s <= 120; s++) emit(progress(s, 1 / s));
    expect(live.numbers.value.step).toBe(120);
    expect(live.numbers.value.etaSec).toBeCloseTo(17.6);
    expect(live.loss.value.raw).toHaveLength(2);
    const before = live.loss.value;
    vi.advanceTimersByTime(260);
    expect(live.loss.value).not.toBe(before);
    expect(live.loss.value.raw.at(-1)).toEqual({ x: 120, y: 1 / 120 });
    // Nothing new: the series object is not rebuilt (no chart redraw).
    const same = live.loss.value;
    vi.advanceTimersByTime(1000);
    await settle();
    expect(live.loss.value).toBe(same);

    // Another run's events change nothing.
    emit(progress(500, 9, 'other'));
    expect(live.numbers.value.step).toBe(120);

    emit({ type: 'paused', runId: 'r1', step: 120 });
    expect(live.numbers.value.status).toBe('paused');
    expect(live.numbers.value.etaSec).toBeNull();
    scope.stop();
    expect(listeners.size).toBe(0);
  });

  it('keeps the drawn series bounded for long runs', async () => {
    stored = [];
    const scope = effectScope();
    const live = scope.run(() => useLiveRun(ref<string | undefined>('r1'), ref(0.9)))!;
    await settle();
    for (let s = 1; s <= 30_000; s++) emit(progress(s, 1 + Math.sin(s)));
    vi.advanceTimersByTime(260);
    expect(live.loss.value.raw.length).toBeLessThanOrEqual(600);
    expect(live.loss.value.smoothed.length).toBeLessThanOrEqual(600);
    expect(live.loss.value.raw.at(-1)!.x).toBe(30_000);
    scope.stop();
  });

  it('merges the stored metrics logged between progress events while training', async () => {
    const scope = effectScope();
    const live = scope.run(() => useLiveRun(ref<string | undefined>('r1'), ref(0)))!;
    await settle();
    emit(progress(40, 1.2));
    stored = [{ name: 'loss', steps: [10, 20, 25, 30, 35, 40], values: [2, 1.5, 1.45, 1.4, 1.3, 1.2] }];
    vi.advanceTimersByTime(1300);
    await settle();
    vi.advanceTimersByTime(260);
    expect(live.loss.value.raw.map((p) => p.x)).toEqual([10, 20, 25, 30, 35, 40]);
    // Each poll asks only for what is newer than the stored points it has.
    const polls = calls
      .filter((c) => c.method === 'getMetrics' && (c.req as { fromStep?: number }).fromStep !== undefined)
      .map((c) => (c.req as { fromStep: number }).fromStep);
    expect(polls[0]).toBe(21);
    expect(polls.slice(1).every((f) => f === 41)).toBe(true);
    scope.stop();
  });

  it('switching runs starts from that run alone', async () => {
    const scope = effectScope();
    const id = ref<string | undefined>('r1');
    const live = scope.run(() => useLiveRun(id, ref(0)))!;
    await settle();
    emit(progress(50, 1));
    id.value = undefined;
    await settle();
    expect(live.numbers.value.step).toBe(0);
    expect(live.loss.value.raw).toEqual([]);
    scope.stop();
  });
});
