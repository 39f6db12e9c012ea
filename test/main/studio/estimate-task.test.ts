/**
 * estimateTask through the contract, on a real store with real training and compute workers: the
 * evaluation count it predicts equals the NFE the sample then reports (every fixed-step method, a
 * velocity model and an eps model that ends with a denoising step), dopri5's is a stated typical range
 * until this model has been sampled with dopri5 and then that run's NFE, and the predicted seconds are
 * within a factor of 3 of the measured time of a fixed-step sample (loose: the machine is shared).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyMoons } from '../training/helpers';
import { freshStudio } from './helpers';
import type { RunDetail } from '../../../common/contract';
import type { ClassSwapResult, InterpolateResult, InvertResult, LatentImage } from '../../../common/latent';
import { FIXED_STEP_METHODS } from '../../../core/catalog';

let studio: ReturnType<typeof freshStudio>;
let velocity: RunDetail;
let eps: RunDetail;
beforeAll(async () => {
  studio = freshStudio();
  velocity = await studio.call('createRun', { config: tinyMoons({ train: { steps: 30 } }), name: 'velocity' });
  await studio.nextEvent((e) => e.runId === velocity.id && e.type === 'finished', 120_000);
  eps = await studio.call('createRun', { config: tinyMoons({ prediction: 'eps', train: { steps: 30 } }), name: 'eps' });
  await studio.nextEvent((e) => e.runId === eps.id && e.type === 'finished', 120_000);
}, 260_000);
afterAll(async () => {
  await studio.dispose();
});

describe('estimateTask: sample', () => {
  it('counts the evaluations every fixed-step method then makes, with and without a denoising end', async () => {
    for (const run of [velocity, eps])
      for (const solver of FIXED_STEP_METHODS)
        for (const steps of [1, 3, 8]) {
          const e = await studio.call('estimateTask', { kind: 'sample', id: run.id, solver, steps, n: 50 });
          const r = await studio.call('sampleNow', { id: run.id, solver, steps, n: 50 });
          expect(e.basis).toBe('counted');
          expect(e.nfe, `${run.name} ${solver} ${steps}`).toEqual([r.nfe, r.nfe]);
          expect(e.seconds[0]).toBeCloseTo(e.nfe[0] * e.secondsPerEvaluation, 9);
        }
  }, 120_000);

  it("gives dopri5 a typical range first, then this model's last dopri5 NFE", async () => {
    const first = await studio.call('estimateTask', { kind: 'sample', id: velocity.id, solver: 'dopri5', n: 50 });
    expect(first.basis).toBe('typical');
    expect(first.nfe[1]).toBeGreaterThan(first.nfe[0]);
    const r = await studio.call('sampleNow', { id: velocity.id, solver: 'dopri5', n: 50 });
    const next = await studio.call('estimateTask', { kind: 'sample', id: velocity.id, solver: 'dopri5', n: 50 });
    expect(next).toMatchObject({ basis: 'measured', nfe: [r.nfe, r.nfe] });
  }, 60_000);

  it('times the model once per batch size and predicts a fixed-step sample within a factor of 3', async () => {
    const req = { kind: 'sample' as const, id: velocity.id, solver: 'rk4' as const, steps: 60, n: 4000 };
    const e = await studio.call('estimateTask', req);
    expect(e.timedNow).toBe(true);
    expect(e.batch).toBe(4000);
    expect((await studio.call('estimateTask', req)).timedNow).toBe(false);
    const r = await studio.call('sampleNow', { id: velocity.id, solver: 'rk4', steps: 60, n: 4000 });
    expect(r.nfe).toBe(e.nfe[0]);
    const ratio = e.seconds[0] / r.seconds;
    expect(ratio, `estimated ${e.seconds[0]} s, took ${r.seconds} s`).toBeGreaterThan(1 / 3);
    expect(ratio, `estimated ${e.seconds[0]} s, took ${r.seconds} s`).toBeLessThan(3);
  }, 60_000);

  it('refuses an unknown run by field', async () => {
    const bad = await studio.service.call('estimateTask', { kind: 'sample', id: 'nope' });
    expect(bad).toMatchObject({ ok: false });
  });
});

describe('estimateTask: latent tools on the shipped MNIST model', () => {
  it('counts the evaluations invert, interpolate and class-swap then report, and prices bits/dim higher', async () => {
    const model = 'shipped:mnist';
    const pick = async (classId: number) =>
      (await studio.call('latentRun', { model, task: { op: 'pick', source: { kind: 'dataset', classId, index: 0 } } })) as LatentImage;
    const [a, b] = [await pick(3), await pick(7)];
    const solver = { method: 'heun' as const, steps: 3 };

    const inv = await studio.call('estimateTask', { kind: 'latent', model, op: 'invert', images: 1, solver });
    const invRun = (await studio.call('latentRun', { model, task: { op: 'invert', request: { images: [a], solver } } })) as InvertResult;
    expect(inv.basis).toBe('counted');
    expect(inv.nfe).toEqual([invRun.encode.nfe + invRun.decode.nfe, invRun.encode.nfe + invRun.decode.nfe]);

    const frames = 3;
    const itp = await studio.call('estimateTask', { kind: 'latent', model, op: 'interpolate', images: 2, frames, solver });
    const itpRun = (await studio.call('latentRun', {
      model,
      task: { op: 'interpolate', request: { a, b, frames, solver, classLabel: null } },
    })) as InterpolateResult;
    expect(itp.nfe[0]).toBe(itpRun.encode.nfe + itpRun.decode.nfe);

    const cs = await studio.call('estimateTask', { kind: 'latent', model, op: 'class-swap', images: 1, solver });
    const csRun = (await studio.call('latentRun', {
      model,
      task: { op: 'class-swap', request: { images: [a], toClass: 5, solver } },
    })) as ClassSwapResult;
    expect(cs.nfe[0]).toBe(csRun.encode.nfe + csRun.decode.nfe);

    // bits/dim with a fixed-step solver: counted, and each evaluation adds a backward pass per probe.
    const bpd = await studio.call('estimateTask', {
      kind: 'latent',
      model,
      op: 'invert',
      images: 1,
      solver,
      bitsPerDim: { probes: 2, repeats: 1 },
    });
    expect(bpd.basis).toBe('typical'); // bits/dim solves with dopri5 unless the inversion does
    expect(bpd.seconds[0]).toBeGreaterThan(inv.seconds[0]);
  }, 120_000);
});
