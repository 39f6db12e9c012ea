// Shared helpers of the training tests.
import { parseExperiment } from '../../../common/config';
import { createModel } from '../../../core/model';
import type { DataSource } from '../../../core/data/source';
import { modelConfigFor, type TrainSpec } from '../../../core/train/config';
import { createTrainer, type Trainer } from '../../../core/train/trainer';

/** A TrainSpec from a partial experiment config, with the schema's defaults filled in. */
export function specFrom(input: Record<string, unknown>): TrainSpec {
  const r = parseExperiment(input);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

/** 8gaussians with the MLP 3x256, warmup + cosine, EMA 0.99, rk4 sampling; `patch` overrides top-level fields. */
export function eightGaussiansSpec(patch: Record<string, unknown> = {}): TrainSpec {
  // The warmup of 20 steps shrinks to fit a shorter run the patch asks for (the schema requires
  // optim.warmupSteps < train.steps), unless the patch gives its own optim.
  const steps = (patch.train as { steps?: number } | undefined)?.steps ?? 300;
  return specFrom({
    data: { kind: 'toy2d', name: '8gaussians' },
    model: { kind: 'mlp', width: 256, depth: 3 },
    optim: { lr: 2e-3, warmupSteps: Math.min(20, steps - 1), schedule: 'cosine', minLrRatio: 0.05, emaDecay: 0.99 },
    train: { steps: 300, batchSize: 256 },
    sampling: { solver: 'rk4', steps: 20 },
    ...patch,
  });
}

/** A trainer with a fresh model sized for the target (class-conditional when the spec says so). */
export function trainerFor(spec: TrainSpec, target: DataSource, modelSeed = 1, extra: { source?: DataSource } = {}): Trainer {
  const numClasses = spec.conditional ? target.numClasses : 0;
  const model = createModel(modelConfigFor(spec.model, target.shape, numClasses), modelSeed);
  return createTrainer({ spec, model, target, ...extra });
}

/** Disposes the trainer and its model. */
export function disposeAll(tr: Trainer): void {
  tr.dispose();
  tr.model.dispose();
}

export const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;

/** Copies of the model's weights. */
export function snapshot(tr: Trainer): Float32Array[] {
  return tr.model.variables.map((v) => v.dataSync().slice() as Float32Array);
}
