/**
 * A run as the live view shows it: its detail, progress numbers, metric buffers and latest sample.
 * History comes from the host on open (getMetrics, latestSample), then training events extend it.
 * Events only append to buffers; the chart series are rebuilt at most 4 times a second, and only if
 * something changed, from decimated buffers, so a fast run cannot flood the UI.
 */
import { onScopeDispose, ref, shallowRef, watch, type Ref } from 'vue';
import type { RunDetail, RunEvent, RunStatus, SampleView, Series } from '../../../common/contract';
import { connection, studio } from '../bridge';
import { describeError } from '../lib/errors';
import { chartSeries, MetricBuffer, throttle, type XY } from '../lib/series';

const FLUSH_MS = 250;
const MAX_POINTS = 600;

export interface LiveNumbers {
  status: RunStatus | null;
  step: number;
  totalSteps: number | null;
  stepsPerSec: number | null;
  etaSec: number | null;
  loss: number | null;
  lr: number | null;
}

export function useLiveRun(runId: Ref<string | undefined>, smoothing: Ref<number>) {
  const detail = shallowRef<RunDetail | null>(null);
  const numbers = ref<LiveNumbers>({ status: null, step: 0, totalSteps: null, stepsPerSec: null, etaSec: null, loss: null, lr: null });
  const error = ref<string | null>(null);
  const sample = shallowRef<SampleView | null>(null);
  const loss = shallowRef<{ raw: XY[]; smoothed: XY[] }>({ raw: [], smoothed: [] });
  const lr = shallowRef<XY[]>([]);
  const lossBuf = new MetricBuffer();
  const lrBuf = new MetricBuffer();
  let drawn = { loss: -1, lr: -1, smoothing: -1 };
  let lastEvent = 0;
  let generation = 0;

  function flush(): void {
    if (lossBuf.version !== drawn.loss || smoothing.value !== drawn.smoothing)
      loss.value = chartSeries(lossBuf, smoothing.value, MAX_POINTS);
    if (lrBuf.version !== drawn.lr) lr.value = chartSeries(lrBuf, 0, MAX_POINTS).raw;
    drawn = { loss: lossBuf.version, lr: lrBuf.version, smoothing: smoothing.value };
  }
  const timer = setInterval(() => {
    if (typeof document === 'undefined' || !document.hidden) flush();
    void poll();
  }, FLUSH_MS);

  const refreshSample = throttle(async () => {
    const id = runId.value;
    if (!id) return;
    try {
      const s = await studio.latestSample({ id });
      if (id === runId.value) sample.value = s;
    } catch {
      // a sample being written while we ask: the next event brings it
    }
  }, 1000);

  async function refreshDetail(): Promise<void> {
    const id = runId.value;
    if (!id) return;
    const d = await studio.getRun({ id });
    if (id !== runId.value) return;
    detail.value = d;
    // A failed or diverged run says why (also when opened long after it ended).
    if (d.error && (d.status === 'failed' || d.status === 'diverged')) error.value = d.error;
    const n = numbers.value;
    n.status = d.status;
    n.step = Math.max(n.step, d.step);
    n.totalSteps = d.totalSteps ?? n.totalSteps;
    if (n.loss === null) n.loss = d.finalLoss;
  }

  // Live events carry one loss per progress tick (about 5 a second); the host stores one every
  // `logEvery` steps. While the run trains, fetch the stored points since the last fetch once a
  // second and merge them in, so the chart shows the full logged resolution. If events stop arriving
  // (a dropped socket, a host restart), the same poll refreshes the run's state.
  let polling = false;
  let lastPoll = 0;
  let storedUpTo = -1;
  async function poll(): Promise<void> {
    const s = numbers.value.status;
    const id = runId.value;
    if (polling || !id || !(s === 'running' || s === 'queued') || Date.now() - lastPoll < 1000) return;
    polling = true;
    lastPoll = Date.now();
    const gen = generation;
    try {
      if (Date.now() - lastEvent > 3000) await refreshDetail();
      const series = await studio.getMetrics({ id, names: ['loss', 'lr'], fromStep: storedUpTo + 1 });
      if (gen !== generation) return;
      mergeStored(series);
    } catch {
      // the next poll or event tells
    } finally {
      polling = false;
    }
  }
  function mergeStored(series: Series[]): void {
    for (const m of series) {
      const buf = m.name === 'loss' ? lossBuf : m.name === 'lr' ? lrBuf : null;
      if (!buf || m.steps.length === 0) continue;
      buf.merge(m.steps, m.values);
      storedUpTo = Math.max(storedUpTo, m.steps[m.steps.length - 1]!);
    }
  }

  async function open(id: string | undefined): Promise<void> {
    const gen = ++generation;
    lossBuf.clear();
    lrBuf.clear();
    detail.value = null;
    sample.value = null;
    error.value = null;
    storedUpTo = -1;
    numbers.value = { status: null, step: 0, totalSteps: null, stepsPerSec: null, etaSec: null, loss: null, lr: null };
    flush();
    if (!id) return;
    lastEvent = Date.now();
    try {
      const [, series, s] = await Promise.all([
        refreshDetail(),
        studio.getMetrics({ id, names: ['loss', 'lr'], maxPoints: 5000 }),
        studio.latestSample({ id }),
      ]);
      if (gen !== generation) return;
      mergeStored(series);
      sample.value = s;
      const lastLr = lrBuf.values.at(-1);
      if (numbers.value.lr === null && lastLr !== undefined) numbers.value.lr = lastLr;
      flush();
    } catch (err) {
      if (gen === generation) error.value = describeError(err);
    }
  }

  const off = studio.onRunEvent((e: RunEvent) => {
    if (e.runId !== runId.value) return;
    lastEvent = Date.now();
    const n = numbers.value;
    switch (e.type) {
      case 'started':
        n.status = 'running';
        n.totalSteps = e.totalSteps;
        n.step = Math.max(n.step, e.startStep);
        break;
      case 'progress':
        n.status = 'running';
        n.step = e.step;
        n.totalSteps = e.totalSteps;
        n.stepsPerSec = e.stepsPerSec;
        n.etaSec = e.etaSec;
        n.loss = e.loss;
        n.lr = e.lr;
        lossBuf.push(e.step, e.loss);
        lrBuf.push(e.step, e.lr);
        break;
      case 'sample':
        refreshSample();
        break;
      case 'paused':
        n.status = 'paused';
        n.stepsPerSec = null;
        n.etaSec = null;
        break;
      case 'resumed':
        n.status = 'running';
        break;
      case 'finished':
        n.status = e.status;
        n.step = Math.max(n.step, e.step);
        n.stepsPerSec = null;
        n.etaSec = null;
        if (e.error) error.value = e.error;
        void refreshDetail().catch(() => undefined);
        // The last logged points (the host flushes them as the run ends).
        setTimeout(() => {
          const id = runId.value;
          if (id === e.runId)
            void studio.getMetrics({ id, names: ['loss', 'lr'], fromStep: storedUpTo + 1 }).then(
              (m) => id === runId.value && mergeStored(m),
              () => undefined,
            );
        }, 300);
        refreshSample();
        break;
      case 'checkpoint':
        break;
    }
  });

  watch(runId, (id) => void open(id), { immediate: true });
  // Back from a lost connection: what the run did meanwhile comes from the store, not from events.
  const offReconnect = connection.onReconnect(() => {
    const id = runId.value;
    if (!id) return;
    void refreshDetail().catch(() => undefined);
    void studio.getMetrics({ id, names: ['loss', 'lr'], fromStep: storedUpTo + 1 }).then(
      (m) => id === runId.value && mergeStored(m),
      () => undefined,
    );
    refreshSample();
  });
  // Scope, not component, lifetime: the view's setup is a scope, and so is a test's effectScope().
  onScopeDispose(() => {
    clearInterval(timer);
    refreshSample.cancel();
    off();
    offReconnect();
  });

  return { detail, numbers, error, sample, loss, lr, refreshDetail, flush };
}
