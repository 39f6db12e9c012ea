/**
 * The contract handlers (main/studio/service.ts) on a real SQLite file, real training workers and the
 * real compute worker: validation with field names, nothing stored for bad input, a run trained end
 * to end with events, sampling with trajectories, the vector field against the closed-form mixture
 * velocity, exports that decode back to what is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { tinyMoons } from '../training/helpers';
import { freshStudio } from './helpers';
import type { RunDetail } from '../../../common/contract';
import { tf } from '../../../core/tf';
import { integrateField } from '../../../core/solver/sample';
import { runModel } from '../../../main/models/load';
import { energyDistance } from '../../../core/metrics/distances';

let studio: ReturnType<typeof freshStudio>;
beforeAll(() => {
  studio = freshStudio();
});
afterAll(async () => {
  await studio.dispose();
});

describe('requests are validated by the contract schemas', () => {
  it('an unknown method and a malformed payload name what is wrong', async () => {
    const unknown = await studio.service.call('dropTables', {});
    expect(unknown).toMatchObject({ ok: false, error: { code: 'not-found' } });
    const bad = await studio.service.call('renameRun', { id: 'x', name: '' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid', field: 'name' } });
    const extra = await studio.service.call('getRun', { id: 'x', sql: 'drop' });
    expect(extra.ok).toBe(false);
  });

  it('validateConfig returns the schema issues by field, createRun refuses and stores nothing', async () => {
    const before = (await studio.call('listRuns', {})).length;
    const v = await studio.call('validateConfig', { config: tinyMoons({ optim: { lr: -1 } }) });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.issues.map((i) => i.field)).toContain('optim.lr');
    const env = await studio.service.call('createRun', { config: { ...tinyMoons(), data: { kind: 'toy2d', name: 'moonz' } } });
    expect(env).toMatchObject({ ok: false, error: { code: 'invalid', field: 'data.name' } });
    if (!env.ok) expect(env.error.issues?.[0]?.message).toContain('moons');
    // A config that parses but whose image folder does not exist fails the preflight, by field.
    const folder = await studio.service.call('createRun', {
      config: { ...tinyMoons(), data: { kind: 'images', folder: '/nonexistent/faces', size: 28, channels: 1 }, model: { kind: 'unet' } },
    });
    expect(folder.ok).toBe(false);
    if (!folder.ok)
      expect(folder.error).toMatchObject({ code: 'invalid', field: 'data.folder', message: expect.stringContaining('/nonexistent/faces') });
    // Reflow from a run that is not in this data folder is refused before anything is stored.
    const reflow = await studio.service.call('createRun', { config: { ...tinyMoons(), reflow: { from: '01NOSUCHRUN' } } });
    expect(reflow).toMatchObject({ ok: false, error: { code: 'invalid', field: 'reflow.from' } });
    expect((await studio.call('listRuns', {})).length).toBe(before);
  });

  it('presets load and each one validates', async () => {
    const presets = await studio.call('listPresets', {});
    expect(presets.map((p) => p.name)).toEqual(expect.arrayContaining(['moons', '8gaussians', 'mnist']));
    for (const p of presets) expect((await studio.call('validateConfig', { config: p.config })).ok, p.name).toBe(true);
  });
});

describe('a run through the contract', () => {
  let run: RunDetail;
  beforeAll(async () => {
    run = await studio.call('createRun', {
      config: tinyMoons({ train: { steps: 150, sampleEvery: 50, sampleCount: 200 } }),
      name: 'svc moons',
    });
    await studio.nextEvent((e) => e.runId === run.id && e.type === 'finished', 120_000);
  }, 150_000);

  it('trains to completion with started, progress, sample and finished events', async () => {
    const types = new Set(studio.events.filter((e) => e.runId === run.id).map((e) => e.type));
    expect([...types]).toEqual(expect.arrayContaining(['started', 'progress', 'sample', 'checkpoint', 'finished']));
    const detail = await studio.call('getRun', { id: run.id });
    expect(detail).toMatchObject({ status: 'completed', step: 150, totalSteps: 150, shape: [2], live: false });
    expect(detail.finalLoss).toBeGreaterThan(0);
    const rows = await studio.call('listRuns', {});
    expect(rows.find((r) => r.id === run.id)).toMatchObject({ name: 'svc moons', dataset: 'moons', status: 'completed' });
  });

  it('metrics come back decimated, the last point kept', async () => {
    const all = await studio.call('getMetrics', { id: run.id, names: ['loss'] });
    const few = await studio.call('getMetrics', { id: run.id, names: ['loss'], maxPoints: 5 });
    expect(all[0]!.steps.length).toBe(150 / 5);
    expect(few[0]!.steps.length).toBeLessThanOrEqual(5);
    expect(few[0]!.steps.at(-1)).toBe(150);
    expect(few[0]!.values.at(-1)).toBe(all[0]!.values.at(-1));
  });

  it('latestSample is the last stored sample; sampleNow integrates with trajectories that start at noise', async () => {
    const latest = await studio.call('latestSample', { id: run.id });
    expect(latest?.kind).toBe('points');
    const r = await studio.call('sampleNow', { id: run.id, n: 300, solver: 'euler', steps: 8, trajectories: 12 });
    expect(r).toMatchObject({ solver: 'euler', steps: 8, nfe: 8 });
    expect(r.sample.kind === 'points' && r.sample.points.length).toBe(300);
    expect(r.trajectories!.paths.length).toBe(12);
    expect(r.trajectories!.times).toEqual(Array.from({ length: 9 }, (_, k) => expect.closeTo(k / 8, 6)));
    // The path's last state is the returned sample, its first the noise (std ~1 over 12 x 2 values).
    const pts = r.sample.kind === 'points' ? r.sample.points : [];
    r.trajectories!.paths.forEach((p, i) => expect(p.at(-1)).toEqual(pts[i]));
    const starts = r.trajectories!.paths.flatMap((p) => p[0]!);
    const sd = Math.sqrt(starts.reduce((s, v) => s + v * v, 0) / starts.length);
    expect(sd).toBeGreaterThan(0.4);
    expect(sd).toBeLessThan(1.8);
    expect(r.straightness).toBeGreaterThanOrEqual(0);
  });

  it('sampleNow takes every sampler, its settings and another scheduler (issue 14)', async () => {
    const sde = await studio.call('sampleNow', { id: run.id, n: 200, solver: 'sde', steps: 20, noise: 0.5 });
    expect(sde).toMatchObject({ solver: 'sde', steps: 20, nfe: 20 });
    const dpm = await studio.call('sampleNow', { id: run.id, n: 200, solver: 'dpm++2m', steps: 10, grid: 'logsnr' });
    expect(dpm).toMatchObject({ solver: 'dpm++2m', steps: 10, nfe: 10 });
    // The same run under cosine: the same network carried exactly to the other path, so its samples
    // follow the model's own distribution (the one under its condot path) up to solver error.
    const cos = await studio.call('sampleNow', { id: run.id, n: 400, solver: 'heun', steps: 20, scheduler: { kind: 'cosine' } });
    const own = await studio.call('sampleNow', { id: run.id, n: 400, solver: 'heun', steps: 20 });
    const pts = (r: typeof cos): number[][] => (r.sample.kind === 'points' ? r.sample.points : []);
    const noise = Array.from({ length: 400 }, (_, i) => [Math.sin(i * 12.9898) * 2, Math.cos(i * 78.233) * 2]);
    const edSame = energyDistance(pts(cos), pts(own));
    console.log(`cosine vs own: ${edSame.toFixed(4)}; own vs spread points: ${energyDistance(pts(own), noise).toFixed(4)}`);
    expect(edSame).toBeLessThan(0.05);
    expect(energyDistance(pts(own), noise)).toBeGreaterThan(4 * edSame + 0.05);
    const bad = await studio.service.call('sampleNow', { id: run.id, solver: 'magic' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid', field: 'solver' } });
  });

  it('sampleQuality: energy distance per sampler at each NFE budget; more NFE does not hurt the ODE samplers', async () => {
    const q = await studio.call('sampleQuality', { id: run.id, solvers: ['euler', 'dpm++2m', 'heun'], nfes: [4, 16], n: 200 });
    expect(q).toMatchObject({ metric: 'energy distance', n: 200, step: 150 });
    expect(q.points.map((p) => [p.solver, p.steps, p.nfe])).toEqual([
      ['euler', 4, 4],
      ['euler', 16, 16],
      ['dpm++2m', 4, 4],
      ['dpm++2m', 16, 16],
      ['heun', 2, 4],
      ['heun', 8, 16],
    ]);
    for (const p of q.points) expect(p.value).toBeGreaterThan(-0.05);
    // Euler at 16 steps is closer to the model's own ODE solution than at 4 (the same noise and weights).
    expect(q.points[1]!.value!).toBeLessThan(q.points[0]!.value!);
    const dopri = await studio.service.call('sampleQuality', { id: run.id, solvers: ['dopri5'] });
    expect(dopri).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });

  it('invertPoints maps data points to noise along the PF-ODE; integrating forward returns them', async () => {
    const pts: [number, number][] = [
      [0.5, 0.2],
      [-0.8, 0.6],
      [1.6, -0.3],
    ];
    const inv = await studio.call('invertPoints', { id: run.id, points: pts, solver: 'rk4', steps: 40 });
    expect(inv.times[0]).toBeCloseTo(1, 9);
    expect(inv.times.at(-1)).toBeCloseTo(0, 9);
    inv.paths.forEach((p, i) => {
      expect(p[0]![0]).toBeCloseTo(pts[i]![0], 5);
      expect(p.at(-1)).toEqual(inv.latents[i]);
    });
    inv.latents.forEach(([a, b], i) => expect(inv.logPrior[i]).toBeCloseTo(-(a! * a! + b! * b!) / 2 - Math.log(2 * Math.PI), 9));
    // Forward from the latents with the same weights (core's solver, called here directly).
    const model = runModel(studio.service.store, run.id);
    try {
      const z = tf.tensor2d(inv.latents);
      const r = integrateField(model.field(0), z, { method: 'rk4', steps: 40 });
      const back = r.x.arraySync() as number[][];
      back.forEach((p, i) => {
        expect(Math.abs(p[0]! - pts[i]![0])).toBeLessThan(2e-3);
        expect(Math.abs(p[1]! - pts[i]![1])).toBeLessThan(2e-3);
      });
      tf.dispose([z, r.x]);
    } finally {
      model.dispose();
    }
  });

  it('rename, compare, export (files decode to what is stored), delete', async () => {
    const other = await studio.call('createRun', { config: tinyMoons({ train: { steps: 60 } }), name: 'second' });
    await studio.nextEvent((e) => e.runId === other.id && e.type === 'finished', 120_000);
    expect((await studio.call('renameRun', { id: run.id, name: 'renamed' })).name).toBe('renamed');
    const cmp = await studio.call('compareRuns', { ids: [run.id, other.id] });
    expect(cmp.runs.map((r) => r.id)).toEqual([run.id, other.id]);
    expect(cmp.loss[0]!.steps.at(-1)).toBe(150);
    expect(cmp.loss[1]!.steps.at(-1)).toBe(60);
    expect(cmp.metrics.find((m) => m.name === 'steps')?.values).toEqual([150, 60]);
    const names = cmp.metrics.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).not.toContain('finalLoss');

    const files = await studio.call('exportRun', { id: run.id });
    const byKind = (suffix: string) => files.find((f) => f.name.includes(suffix))!;
    const config = JSON.parse(Buffer.from(byKind('-config.json').base64, 'base64').toString('utf8'));
    expect(config).toEqual((await studio.call('getRun', { id: run.id })).config);
    const png = PNG.sync.read(Buffer.from(byKind('-samples-').base64, 'base64'));
    expect(png.width).toBe(512);
    const csv = Buffer.from(byKind('-trajectories-').base64, 'base64').toString('utf8').trim().split('\n');
    expect(csv[0]).toBe('particle,k,t,x,y');
    expect(csv.length - 1).toBe(256 * (4 + 1)); // 256 particles x (euler 4 steps + 1) states
    const metrics = Buffer.from(byKind('-metrics.csv').base64, 'base64').toString('utf8').trim().split('\n');
    expect(metrics.filter((l) => l.includes(',loss,')).length).toBe(150 / 5);
    const model = JSON.parse(Buffer.from(byKind('-model-').base64, 'base64').toString('utf8'));
    expect(model).toMatchObject({ format: 'flow-studio-model', step: 150, weights: 'ema' });
    expect(Buffer.from(studio.service.store.latestCheckpoint(run.id)!.ema!).equals(Buffer.from(model.blob, 'base64'))).toBe(true);

    await studio.call('deleteRun', { id: other.id });
    expect(await studio.service.call('getRun', { id: other.id })).toMatchObject({ ok: false, error: { code: 'not-found' } });
  }, 150_000);
});

describe('the vector field beside the analytic oracle', () => {
  it('oracle velocities equal the closed form of a Gaussian mixture under condot (float64)', async () => {
    const gmm = {
      weights: [0.3, 0.7],
      means: [
        [-2, 0],
        [1.5, 1],
      ],
      stds: [0.3, 0.5],
    };
    const run = await studio.call('createRun', { config: tinyMoons({ data: { kind: 'gmm', gmm }, train: { steps: 40 } }), name: 'gmm' });
    expect(run.hasOracle).toBe(true);
    await studio.nextEvent((e) => e.runId === run.id && e.type === 'finished', 120_000);
    const t = 0.6;
    const f = await studio.call('vectorField', { id: run.id, t, grid: 6, bounds: [-3, 3, -2, 2] });
    expect(f.points.length).toBe(36);
    // x_t = t x1 + (1 - t) x0, x0 ~ N(0, I): p(x_t | k) = N(t mu_k, (t^2 s_k^2 + (1-t)^2) I),
    // E[x1 | x_t, k] = mu_k + t s_k^2 / (t^2 s_k^2 + (1-t)^2) (x - t mu_k), v = (E[x1 | x_t] - x) / (1 - t).
    for (const [i, [x, y]] of f.points.entries()) {
      const logw = gmm.weights.map((w, k) => {
        const v = t * t * gmm.stds[k]! ** 2 + (1 - t) ** 2;
        const d2 = (x! - t * gmm.means[k]![0]!) ** 2 + (y! - t * gmm.means[k]![1]!) ** 2;
        return Math.log(w) - Math.log(v) - d2 / (2 * v);
      });
      const m = Math.max(...logw);
      const r = logw.map((l) => Math.exp(l - m));
      const z = r.reduce((a, b) => a + b, 0);
      const ex = [0, 1].map((a) =>
        gmm.weights.reduce((s, _w, k) => {
          const s2 = gmm.stds[k]! ** 2;
          const mu = gmm.means[k]![a]!;
          const xa = a === 0 ? x! : y!;
          return s + (r[k]! / z) * (mu + ((t * s2) / (t * t * s2 + (1 - t) ** 2)) * (xa - t * mu));
        }, 0),
      );
      const want = [(ex[0]! - x!) / (1 - t), (ex[1]! - y!) / (1 - t)];
      expect(f.oracle![i]![0]).toBeCloseTo(want[0]!, 3);
      expect(f.oracle![i]![1]).toBeCloseTo(want[1]!, 3);
      expect(f.error![i]).toBeCloseTo(Math.hypot(f.learned[i]![0]! - f.oracle![i]![0]!, f.learned[i]![1]! - f.oracle![i]![1]!), 6);
    }
    expect(f.relError).toBeGreaterThan(0);
    // Moons has no oracle; images have no 2D field.
    const rows = await studio.call('listRuns', {});
    const moons = rows.find((r) => r.dataset === 'moons')!;
    const plain = await studio.call('vectorField', { id: moons.id, t: 0.5, grid: 4 });
    expect(plain.oracle).toBeUndefined();
  }, 150_000);
});

describe('pause, resume and cancel a live run', () => {
  it('pauses at a checkpoint, resumes, cancels; sampleNow of a running run uses a fresh checkpoint', async () => {
    const run = await studio.call('createRun', {
      config: tinyMoons({ train: { steps: 100_000, checkpointEvery: 100_000, logEvery: 5 } }),
      name: 'long',
    });
    await studio.nextEvent((e) => e.runId === run.id && e.type === 'progress' && e.step >= 20);
    // No scheduled checkpoint exists yet: sampleNow must ask the worker for one.
    expect(studio.service.store.latestCheckpoint(run.id)).toBeNull();
    const s = await studio.call('sampleNow', { id: run.id, n: 50, steps: 4, solver: 'euler' });
    expect(s.step).toBeGreaterThanOrEqual(20);
    await studio.call('pauseRun', { id: run.id });
    const paused = await studio.nextEvent((e) => e.runId === run.id && e.type === 'paused');
    expect((await studio.call('getRun', { id: run.id })).status).toBe('paused');
    // Deleting a live run is refused, nothing is lost.
    expect(await studio.service.call('deleteRun', { id: run.id })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    await studio.call('resumeRun', { id: run.id });
    await studio.nextEvent((e) => e.runId === run.id && e.type === 'progress' && e.step > (paused as { step: number }).step + 10);
    await studio.call('cancelRun', { id: run.id });
    const fin = await studio.nextEvent((e) => e.runId === run.id && e.type === 'finished');
    expect(fin).toMatchObject({ status: 'cancelled' });
    const d = await studio.call('getRun', { id: run.id });
    expect(d.status).toBe('cancelled');
    expect(studio.service.store.latestCheckpoint(run.id)!.step).toBe(d.step);
  }, 150_000);
});
