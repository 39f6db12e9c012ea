/**
 * Stored and streamed records as the contract shows them (common/contract.ts): JSON-safe (NaN and
 * infinities become null), and only what a view uses. Shared by the service's handlers and the
 * export of a run's files.
 */
import type { RunEvent, SampleView, Series } from '../../common/contract';
import type { RunStore } from '../store';
import type { WorkerEvent } from '../training/protocol';

export function toSeries(s: { name: string; steps: number[]; values: number[] }): Series {
  return { name: s.name, steps: s.steps, values: s.values.map((v) => (Number.isFinite(v) ? v : null)) };
}

export function sampleView(store: RunStore, sampleId: number): SampleView {
  const s = store.getSample(sampleId);
  if (s.kind === 'image-grid' && s.data instanceof Uint8Array) {
    const labels = (s.meta as { labels?: number[] }).labels;
    return { kind: 'image-grid', step: s.step, png: Buffer.from(s.data).toString('base64'), ...(labels ? { labels } : {}) };
  }
  return { kind: 'points', step: s.step, points: s.data as number[][] };
}

/** WorkerEvent -> RunEvent: JSON-safe (NaN/inf as null), and only what a live view uses. */
export function toRunEvent(e: WorkerEvent): RunEvent | null {
  const num = (v: number) => (Number.isFinite(v) ? v : null);
  switch (e.type) {
    case 'started':
      return {
        type: 'started',
        runId: e.runId,
        totalSteps: e.totalSteps,
        startStep: e.startStep,
        backend: e.backend.name,
        ...(e.threads ? { threads: e.threads } : {}),
      };
    case 'progress':
      return {
        type: 'progress',
        runId: e.runId,
        step: e.step,
        totalSteps: e.totalSteps,
        loss: num(e.loss),
        lossSmoothed: num(e.lossSmoothed),
        lr: e.lr,
        stepsPerSec: e.stepsPerSec,
        etaSec: num(e.etaSec),
      };
    case 'finished':
      return { type: 'finished', runId: e.runId, status: e.status, step: e.step, ...(e.error ? { error: e.error } : {}) };
    default:
      return e;
  }
}
