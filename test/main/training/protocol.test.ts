// The supervisor <-> worker protocol with real worker threads and a real SQLite file: the event
// sequence of a run, pause / resume / cancel and what the store shows at each point, restarting a
// cancelled run from its checkpoint, sample-now, queueing, a simulated crash, and finished runs.
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerEvent } from '../../../main/training/protocol';
import { Harness, sleep, tinyMoons } from './helpers';

let h: Harness | null = null;
afterEach(async () => {
  await h?.dispose();
  h = null;
});

type Progress = Extract<WorkerEvent, { type: 'progress' }>;
const isType =
  <K extends WorkerEvent['type']>(type: K, runId: string, pred: (e: Extract<WorkerEvent, { type: K }>) => boolean = () => true) =>
  (e: WorkerEvent): e is Extract<WorkerEvent, { type: K }> =>
    e.type === type && e.runId === runId && pred(e as Extract<WorkerEvent, { type: K }>);

function expectSaneProgress(events: Progress[], totalSteps: number): void {
  expect(events.length).toBeGreaterThan(2);
  for (const [i, e] of events.entries()) {
    expect(e.totalSteps).toBe(totalSteps);
    expect(Number.isFinite(e.loss) && Number.isFinite(e.lossSmoothed)).toBe(true);
    expect(e.lr).toBeGreaterThan(0);
    expect(e.stepsPerSec).toBeGreaterThan(0);
    expect(e.etaSec).toBeGreaterThanOrEqual(0);
    if (i > 0) expect(e.step).toBeGreaterThan(events[i - 1]!.step);
  }
}

describe('a run through the supervisor', () => {
  it('reports started, progress, checkpoints; pauses (checkpoint, no progress), resumes, cancels, and restarts from its checkpoint', async () => {
    h = new Harness();
    const total = 1500;
    const id = h.run(tinyMoons({ train: { steps: total, checkpointEvery: 50 } }));
    const done = h.sup.start(id, { progressIntervalMs: 40 });

    const started = await h.waitFor(isType('started', id));
    expect(started).toMatchObject({ startStep: 0, resumedFrom: null, totalSteps: total });
    expect(started.backend.name).toBe('wasm');
    expect(h.store.getRun(id).status).toBe('running');

    // Pause once a periodic checkpoint has been written.
    await h.waitFor(isType('progress', id, (e) => e.step > 60));
    h.sup.pause(id);
    const paused = await h.waitFor(isType('paused', id));
    expect(h.of(id, 'checkpoint').map((e) => e.step)).toContain(50);
    const atPause = h.store.getRun(id);
    expect(atPause.status).toBe('paused');
    expect(atPause.step).toBe(paused.step);
    expect(h.store.latestCheckpoint(id)!.step).toBe(paused.step);
    expect(h.of(id, 'checkpoint').at(-1)!.step).toBe(paused.step);
    // Metrics logged so far were flushed with the pause checkpoint.
    expect(Math.max(...h.losses(id).steps)).toBe(paused.step - (paused.step % 5));

    // Nothing moves while paused.
    const eventsAtPause = h.events.length;
    await sleep(1000);
    expect(h.events.length).toBe(eventsAtPause);
    expect(h.store.getRun(id).step).toBe(paused.step);

    h.sup.resume(id);
    const resumed = await h.waitFor(isType('resumed', id));
    expect(resumed.step).toBe(paused.step);
    await h.waitFor(isType('progress', id, (e) => e.step > paused.step + 30));
    expect(h.store.getRun(id).status).toBe('running');

    // sample-now: a points sample is stored and announced.
    h.sup.sampleNow(id);
    const sample = await h.waitFor(isType('sample', id));
    expect(sample.kind).toBe('points');
    const stored = h.store.listSamples(id);
    expect(stored.map((s) => s.id)).toEqual([sample.sampleId]);
    expect(stored[0]!.step).toBe(sample.step);

    h.sup.cancel(id);
    const first = await done;
    expect(first.status).toBe('cancelled');
    expect(first.step).toBeGreaterThan(paused.step);
    expect(first.step).toBeLessThan(total);
    const finished = h.of(id, 'finished');
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ status: 'cancelled', step: first.step });
    expect(h.store.getRun(id).status).toBe('cancelled');
    expect(h.store.latestCheckpoint(id)!.step).toBe(first.step);
    expectSaneProgress(h.of(id, 'progress'), total);
    const lossesAtCancel = h.losses(id);
    expect(lossesAtCancel.steps.at(-1)).toBe(first.step - (first.step % 5));

    // Start it again: it continues from the cancel checkpoint, not from step 0.
    const eventsBefore = h.events.length;
    const second = await h.sup.start(id, { progressIntervalMs: 40 });
    expect(second.status).toBe('completed');
    expect(second.step).toBe(total);
    const again = h.events.slice(eventsBefore).filter((e) => e.runId === id);
    expect(again[0]).toMatchObject({ type: 'started', resumedFrom: first.step, startStep: first.step, totalSteps: total });
    const progress2 = again.filter((e): e is Progress => e.type === 'progress');
    expectSaneProgress(progress2, total);
    expect(progress2[0]!.step).toBeGreaterThan(first.step);
    expect(progress2.at(-1)!.step).toBe(total);
    expect(again.at(-1)).toMatchObject({ type: 'finished', status: 'completed', step: total });
    expect(again.filter((e) => e.type === 'checkpoint').at(-1)).toMatchObject({ step: total });

    const run = h.store.getRun(id);
    expect(run.status).toBe('completed');
    expect(run.step).toBe(total);
    expect(run.summary).toMatchObject({ steps: total, backend: 'wasm' });
    expect(Number.isFinite(run.summary!.energyDistance as number)).toBe(true);
    // One loss per logged step, every 5 steps from 5 to the end; the first session's values kept.
    const losses = h.losses(id);
    expect(losses.steps).toEqual(Array.from({ length: total / 5 }, (_, i) => 5 * (i + 1)));
    expect(losses.values.slice(0, lossesAtCancel.values.length)).toEqual(lossesAtCancel.values);
    expect(losses.values.every(Number.isFinite)).toBe(true);
  });

  it('queues beyond maxConcurrent, cancels a queued run, and refuses a duplicate start or controls for unknown runs', async () => {
    h = new Harness({ maxConcurrent: 1 });
    const a = h.run(tinyMoons({ train: { steps: 100 } }));
    const b = h.run(tinyMoons({ train: { steps: 100 } }));
    const c = h.run(tinyMoons({ train: { steps: 100 } }));
    const pa = h.sup.start(a);
    const pb = h.sup.start(b);
    const pc = h.sup.start(c);
    expect(() => h!.sup.start(a)).toThrow(/already queued or running/);
    expect(h.sup.status()).toEqual({ running: [a], queued: [b, c] });
    expect(() => h!.sup.pause(b)).toThrow(/not running/);
    h.sup.cancel(c);
    expect(await pc).toMatchObject({ runId: c, status: 'cancelled', step: 0 });
    expect(h.of(c)).toEqual([]);
    expect(h.store.getRun(c).status).toBe('cancelled'); // the store agrees with the supervisor
    const [ra, rb] = await Promise.all([pa, pb]);
    expect(ra.status).toBe('completed');
    expect(rb.status).toBe('completed');
    // b started only after a had finished.
    const order = h.events
      .filter((e) => e.type === 'started' || e.type === 'finished')
      .map((e) => `${e.type}:${e.runId === a ? 'a' : 'b'}`);
    expect(order).toEqual(['started:a', 'finished:a', 'started:b', 'finished:b']);
  });

  it('after a crash (worker gone mid-run) the run resumes from its last checkpoint and rewinds the metrics logged after it', async () => {
    h = new Harness();
    const id = h.run(tinyMoons({ train: { steps: 200, checkpointEvery: 50 } }));
    const crashed = await h.sup.start(id, { crashAfterStep: 130 });
    expect(crashed.status).toBe('failed');
    expect(crashed.error).toMatch(/exited with code 1/);
    // The supervisor records the lost worker; with a checkpoint the run is resumable ('paused').
    // Metrics went past the checkpoint, as after a real crash.
    const lost = h.store.getRun(id);
    expect(lost.status).toBe('paused');
    expect(lost.error).toMatch(/exited with code 1; resume from the last checkpoint/);
    expect(h.store.latestCheckpoint(id)!.step).toBe(100);
    expect(h.losses(id).steps.at(-1)).toBe(130);

    const eventsBefore = h.events.length;
    const r = await h.sup.start(id);
    expect(r).toMatchObject({ status: 'completed', step: 200 });
    expect(h.events[eventsBefore]).toMatchObject({ type: 'started', resumedFrom: 100, startStep: 100 });
    expect(h.losses(id).steps).toEqual(Array.from({ length: 40 }, (_, i) => 5 * (i + 1)));
  });

  it('refuses to train a completed run further and leaves its records alone', async () => {
    h = new Harness();
    const id = h.run(tinyMoons({ train: { steps: 60, checkpointEvery: 25, sampleEvery: 30 } }));
    expect((await h.sup.start(id)).status).toBe('completed');
    // Samples at 30 and 60 only: the final sample is not taken twice at step 60.
    expect(h.store.listSamples(id).map((s) => s.step)).toEqual([30, 60]);
    const before = { run: h.store.getRun(id), losses: h.losses(id), checkpoints: h.store.listCheckpoints(id) };
    const again = await h.sup.start(id);
    expect(again.status).toBe('failed');
    expect(again.error).toMatch(/is completed; a finished run cannot train further/);
    expect(h.store.getRun(id)).toEqual(before.run);
    expect(h.losses(id)).toEqual(before.losses);
    expect(h.store.listCheckpoints(id)).toEqual(before.checkpoints);
  });
});
