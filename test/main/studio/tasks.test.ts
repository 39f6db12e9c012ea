/**
 * Long work through the contract, on a real store, real training and compute workers: "sample now"
 * with a taskId streams progress and can be cancelled mid-solve (cancelTask); estimateTraining times
 * real training steps of a config on the host's backend; the archive export has every part.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzipSync } from 'fflate';
import { tinyMoons } from '../training/helpers';
import { freshStudio } from './helpers';
import type { RunDetail, TaskEvent } from '../../../common/contract';

let studio: ReturnType<typeof freshStudio>;
const tasks: TaskEvent[] = [];
let run: RunDetail;
beforeAll(async () => {
  studio = freshStudio();
  studio.service.onEvent((stream, e) => stream === 'task' && tasks.push(e as TaskEvent));
  run = await studio.call('createRun', { config: tinyMoons({ train: { steps: 40, sampleEvery: 20, sampleCount: 100 } }), name: 'tasks' });
  await studio.nextEvent((e) => e.runId === run.id && e.type === 'finished', 120_000);
}, 150_000);
afterAll(async () => {
  await studio.dispose();
});

describe('sample now as a task', () => {
  it('streams progress under its taskId up to fraction 1', async () => {
    const r = await studio.call('sampleNow', { id: run.id, taskId: 'sample-1', solver: 'rk4', steps: 40, n: 200 });
    expect(r.nfe).toBe(160);
    const mine = tasks.filter((t) => t.taskId === 'sample-1');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.at(-1)).toMatchObject({ fraction: 1, stage: 'sampling', nfe: 160 });
    for (let k = 1; k < mine.length; k++) expect(mine[k]!.fraction).toBeGreaterThanOrEqual(mine[k - 1]!.fraction);
  });

  it('cancelTask stops a long solve, which then reports cancelled', async () => {
    // Many fixed steps over many points: long enough to be cancelled after its first progress event.
    const pending = studio.service.call('sampleNow', { id: run.id, taskId: 'sample-2', solver: 'euler', steps: 1000, n: 4096 });
    await new Promise<void>((resolve) => {
      const off = studio.service.onEvent((s, e) => s === 'task' && (e as TaskEvent).taskId === 'sample-2' && (off(), resolve()));
    });
    expect(await studio.call('cancelTask', { taskId: 'sample-2' })).toEqual({ cancelled: true });
    expect(await pending).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(tasks.filter((t) => t.taskId === 'sample-2').at(-1)!.fraction).toBeLessThan(1);
    // The worker is free again: the next request is answered.
    expect((await studio.call('sampleNow', { id: run.id, solver: 'euler', steps: 2, n: 10 })).nfe).toBe(2);
  }, 120_000);

  it('refuses steps and n the schema refuses, in words', async () => {
    const steps = await studio.service.call('sampleNow', { id: run.id, steps: -5 });
    expect(steps).toMatchObject({ ok: false, error: { code: 'invalid', field: 'steps', message: 'Steps must be at least 1' } });
    const n = await studio.service.call('sampleNow', { id: run.id, n: 0 });
    expect(n).toMatchObject({ ok: false, error: { code: 'invalid', field: 'n', message: 'Number of samples must be at least 1' } });
  });
});

describe('estimateTraining', () => {
  it('times real steps of the config and extrapolates to train.steps', async () => {
    const config = tinyMoons({ train: { steps: 5000 } });
    const e = await studio.call('estimateTraining', { config });
    expect(e.measuredSteps).toBeGreaterThanOrEqual(2);
    expect(e.secondsPerStep).toBeGreaterThan(0);
    expect(e.steps).toBe(5000);
    expect(e.seconds).toBeCloseTo(e.secondsPerStep * 5000, 6);
    expect(e.backend).toBe('wasm');
  }, 60_000);

  it('refuses a config the schema refuses, by field', async () => {
    const bad = await studio.service.call('estimateTraining', { config: tinyMoons({ optim: { lr: -1 } }) });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid' } });
    if (!bad.ok) expect(bad.error.issues?.map((i) => i.field)).toContain('optim.lr');
  });
});

describe('exportArchive', () => {
  it('one zip with the config, weights, metrics, samples and trajectories of the run', async () => {
    const f = await studio.call('exportArchive', { id: run.id });
    expect(f.mime).toBe('application/zip');
    expect(f.name).toBe('tasks.zip');
    const files = unzipSync(new Uint8Array(Buffer.from(f.base64, 'base64')));
    expect(Object.keys(files).sort()).toEqual(
      ['README.txt', 'config.json', 'metrics.csv', 'model.json', 'samples.csv', 'samples.png', 'trajectories.csv', 'model.safetensors']
        .map((n) => `tasks/${n}`)
        .sort(),
    );
    expect(JSON.parse(new TextDecoder().decode(files['tasks/config.json']))).toEqual((await studio.call('getRun', { id: run.id })).config);
  }, 60_000);
});
