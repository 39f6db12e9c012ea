// Every scheduler of the schema x every trained prediction type: a small MLP trains on 8gaussians,
// samples to within a stated energy distance of fresh data, and inverts (data -> latent -> data)
// through its probability-flow ODE.
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { energyDistance } from '../../../core/metrics/distances';
import { toy2dSource } from '../../../core/data/source';
import { decode, encode } from '../../../core/inversion/encode';
import { PREDICTION_TYPES } from '../../../core/catalog';
import { disposeAll, eightGaussiansSpec, trainerFor } from './helpers';

const SCHEDULERS: Record<string, unknown>[] = [
  { kind: 'condot' },
  { kind: 'cosine' },
  { kind: 'linear-vp' },
  { kind: 'vp' },
  { kind: 'vp', betaMax: 5 },
  { kind: 'sub-vp' },
  { kind: 've', sigmaMax: 20 },
];
/** The stated bound: an untrained model's samples (the noise) sit at 4 to 400 from the data. */
const MAX_ENERGY_DISTANCE = 0.25;
const STEPS = 300;

describe('each scheduler x prediction type trains, samples and inverts', () => {
  const target = toy2dSource('8gaussians');
  const fresh = target.sample(500, new Rng(997)).x;
  for (const scheduler of SCHEDULERS) {
    const name = Object.entries(scheduler)
      .map(([k, v]) => (k === 'kind' ? v : `${k}=${v}`))
      .join(' ');
    it(`${name}`, () => {
      const lines: string[] = [];
      for (const prediction of PREDICTION_TYPES) {
        const spec = eightGaussiansSpec({
          prediction,
          path: { kind: 'affine', scheduler },
          model: { kind: 'mlp', width: 128, depth: 3 },
          train: { steps: STEPS, batchSize: 256 },
          sampling: { solver: 'heun', steps: 25 },
        });
        const tr = trainerFor(spec, target);
        for (let i = 0; i < STEPS; i++) expect(tr.step().diverged).toBe(false);
        const s = tr.sample({ n: 500, seed: 6 });
        const ed = energyDistance(s.x, fresh);
        // Inversion round trip of data points through the EMA field.
        const field = tr.emaField();
        const z = encode(field, fresh, { method: 'rk4', steps: 40 });
        const back = decode(field, z.x, { method: 'rk4', steps: 40, t1: z.times[0]! });
        const err = tf.tidy(() => tf.max(tf.abs(tf.sub(back.x, fresh))).dataSync()[0]!);
        const zStd = tf.tidy(() => Math.sqrt(tf.mean(tf.square(z.x)).dataSync()[0]!));
        lines.push(
          `${prediction}: energy distance ${ed.toFixed(4)}, round trip ${err.toExponential(1)} (nfe ${z.nfe}+${back.nfe}), latent std ${zStd.toFixed(2)}`,
        );
        expect(ed, `${name} ${prediction}`).toBeLessThan(MAX_ENERGY_DISTANCE);
        expect(Number.isFinite(zStd)).toBe(true);
        // The round trip is asserted for velocity models. A non-velocity model's PF-ODE is stiff near
        // the end where its conversion divides by sigma (x1) or alpha (eps, score): classic RK at 40
        // steps does not invert it to this precision (an exponential integrator would; not built yet).
        if (prediction === 'velocity') expect(err, `${name} ${prediction} round trip`).toBeLessThan(0.05);
        tf.dispose([s.x, s.x0, z.x, back.x]);
        disposeAll(tr);
      }
      console.log(`${name}:\n  ${lines.join('\n  ')}`);
    });
  }
});

describe('DPM-Solver++(2M) at 10 NFE beats Heun at 10 NFE on a trained model', () => {
  const target = toy2dSource('8gaussians');
  const fresh = target.sample(800, new Rng(996)).x;
  for (const [name, scheduler, prediction] of [
    ['condot velocity', { kind: 'condot' }, 'velocity'],
    ['vp eps', { kind: 'vp' }, 'eps'],
  ] as const) {
    it(name, () => {
      const spec = eightGaussiansSpec({
        prediction,
        path: { kind: 'affine', scheduler },
        model: { kind: 'mlp', width: 128, depth: 3 },
        train: { steps: STEPS, batchSize: 256 },
      });
      const tr = trainerFor(spec, target);
      for (let i = 0; i < STEPS; i++) tr.step();
      const heun = tr.sample({ n: 800, seed: 8, solver: 'heun', steps: 5 });
      const dpm = tr.sample({ n: 800, seed: 8, solver: 'dpm++2m', steps: 10 });
      const fine = tr.sample({ n: 800, seed: 8, solver: 'dpm++2m', steps: 100 });
      const [eh, ed, ef] = [heun, dpm, fine].map((s) => energyDistance(s.x, fresh));
      console.log(
        `${name}: heun ${heun.nfe} NFE ${eh!.toFixed(4)}, dpm++2m ${dpm.nfe} NFE ${ed!.toFixed(4)}, dpm++2m 100 NFE ${ef!.toFixed(4)}`,
      );
      // Heun: 2 per step, 1 for a final denoising step (eps on VP ends with one).
      expect(heun.nfe).toBeLessThanOrEqual(10);
      expect(dpm.nfe).toBe(10);
      expect(ed!).toBeLessThan(eh!);
      tf.dispose([heun.x, heun.x0, dpm.x, dpm.x0, fine.x, fine.x0]);
      disposeAll(tr);
    });
  }
});
