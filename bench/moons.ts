/**
 * moons-quality: time to quality of the moons preset, trained in this process with core's trainer
 * (the worker's training step without the worker): every `evalEvery` steps, draw 1000 samples from
 * the EMA weights (rk4, 20 steps) and measure the energy distance to 1000 fresh moons points; stop at
 * the first evaluation below `target` (after `confirmEvals` more evaluations, which show whether it
 * stays below). Training time and evaluation time are kept apart: the evaluations are the
 * benchmark's measuring instrument, not part of training; wallSec includes them.
 */
import { tf } from '../core/tf';
import { createModel } from '../core/model';
import { createTrainer } from '../core/train/trainer';
import { modelConfigFor } from '../core/train/config';
import { toy2dSource } from '../core/data/source';
import { energyDistance } from '../core/metrics/distances';
import { Rng } from '../core/util/random';
import { parseExperiment } from '../common/config';
import { log, round } from './lib';
import { readPreset } from './presets';

export interface MoonsOptions {
  target: number;
  evalEvery: number;
  evalPoints: number;
  goalSec: number;
  /** Evaluations after the first one below target, to see whether it stays there (ED of 1000 vs 1000 points is noisy). */
  confirmEvals: number;
}

export function benchMoonsQuality(o: MoonsOptions): Record<string, unknown> {
  const p = parseExperiment(readPreset('moons'));
  if (!p.ok) throw new Error('moons preset does not parse');
  const spec = p.value;
  const data = toy2dSource('moons');
  const wall0 = performance.now();
  const model = createModel(modelConfigFor(spec.model, [2], 0), spec.seed);
  const trainer = createTrainer({ spec, model, target: data });
  let trainMs = 0;
  let evalMs = 0;
  const curve: { step: number; energyDistance: number; trainSec: number; wallSec: number; loss: number }[] = [];
  let reached: (typeof curve)[number] | null = null;
  let confirmations = 0;
  try {
    while (trainer.stepCount < spec.train.steps && (!reached || confirmations < o.confirmEvals)) {
      const t0 = performance.now();
      let loss = NaN;
      for (let i = 0; i < o.evalEvery && trainer.stepCount < spec.train.steps; i++) loss = trainer.step().loss;
      trainMs += performance.now() - t0;
      const e0 = performance.now();
      const s = trainer.sample({ n: o.evalPoints, seed: 1000 + trainer.stepCount, solver: 'rk4', steps: 20 });
      const fresh = data.sample(o.evalPoints, new Rng(500_000 + trainer.stepCount)).x;
      const ed = energyDistance(s.x, fresh);
      tf.dispose([s.x, s.x0, fresh]);
      evalMs += performance.now() - e0;
      const point = {
        step: trainer.stepCount,
        energyDistance: round(ed, 5),
        trainSec: round(trainMs / 1000, 2),
        wallSec: round((performance.now() - wall0) / 1000, 2),
        loss: round(loss, 4),
      };
      curve.push(point);
      log(`moons step ${point.step}: ED ${point.energyDistance} (train ${point.trainSec} s, wall ${point.wallSec} s)`);
      if (reached) confirmations++;
      else if (ed < o.target) reached = point;
    }
  } finally {
    trainer.dispose();
    model.dispose();
  }
  // The estimator's own noise at this sample size: two independent sets of fresh data.
  const a = data.sample(o.evalPoints, new Rng(7)).x;
  const b = data.sample(o.evalPoints, new Rng(8)).x;
  const noiseFloor = energyDistance(a, b);
  tf.dispose([a, b]);
  const after = reached ? curve.filter((c) => c.step > reached.step) : [];
  return {
    preset: 'moons',
    target: `energy distance < ${o.target} (${o.evalPoints} EMA samples, rk4 20 steps, vs ${o.evalPoints} fresh points)`,
    reached: reached !== null,
    steps: reached?.step ?? null,
    trainSec: reached?.trainSec ?? null,
    wallSec: reached?.wallSec ?? null,
    evalSec: round(evalMs / 1000, 2),
    trainStepsPerSec: round(trainer.stepCount / (trainMs / 1000), 1),
    goalWallSec: o.goalSec,
    meetsGoal: reached !== null && reached.wallSec < o.goalSec,
    /** Whether the evaluations after the first crossing stayed below target. */
    stayedBelow: reached ? after.every((c) => c.energyDistance < o.target) : null,
    noiseFloorFreshVsFresh: round(noiseFloor, 5),
    curve,
  };
}
