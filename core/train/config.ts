/**
 * What training needs to know: the types of core/train/spec.ts (plain TypeScript, since core cannot
 * import zod), the checks of them, and the scheduler of a path.
 *
 * `TrainSpec` mirrors the output type of common/config.ts (`ExperimentConfig`, defaults filled in):
 * a validated experiment config can be handed to the trainer as is, and a test checks at compile time
 * that ExperimentConfig is assignable to TrainSpec. Fields the schema does not have are optional here
 * (e.g. `optim.emaWarmup`, `time.snrGamma`) and get documented defaults.
 *
 * `validateTrainSpec` repeats the range checks the trainer's math relies on (core is also used
 * without the schema) and the cross-field rules of core/train/rules.ts that concern the trainer
 * (the schema applies the same functions), each failure a ConfigError naming the dotted field.
 */
import { check, ConfigError } from '../errors';
import {
  COUPLING_KINDS,
  isOneOf,
  LOSS_WEIGHTINGS,
  LR_SCHEDULES,
  OPTIMIZERS,
  SAMPLERS,
  spellOut,
  TIME_DISTRIBUTIONS,
  TIME_GRIDS,
  TRAIN_PREDICTIONS,
} from '../catalog';
import type { ModelConfig } from '../model/types';
import { makeScheduler, type Scheduler } from '../path/scheduler';
import { probPath } from '../path/prob-path';
import { ruleIssues } from './rules';

export type {
  CouplingSpec,
  DataSpec,
  MlpSpec,
  ModelSpec,
  OptimSpec,
  PathSpec,
  SamplingSpec,
  SourceSpec,
  TimeSpec,
  TrainLoopSpec,
  TrainPrediction,
  TrainSpec,
  UNetSpec,
} from './spec';
import type { ModelSpec, PathSpec, TrainSpec } from './spec';

/** The scheduler of a path: its own for an affine path; the interpolant's mean path is CondOT. */
export function pathScheduler(path: PathSpec): Scheduler {
  return probPath(path).scheduler;
}

/**
 * The full model config for data of per-sample `shape`: an MLP takes d = prod(shape) inputs (images
 * are flattened by the trainer), a U-Net needs square images [size, size, channels].
 *
 * @param numClasses class count for a conditional model, 0 for unconditional.
 */
export function modelConfigFor(model: ModelSpec, shape: readonly number[], numClasses: number): ModelConfig {
  check(Number.isInteger(numClasses) && numClasses >= 0, 'model.numClasses', () => `must be an integer >= 0, got ${numClasses}`);
  if (model.kind === 'mlp') {
    const dim = shape.reduce((a, b) => a * b, 1);
    return {
      kind: 'mlp',
      width: model.width,
      depth: model.depth,
      activation: model.activation,
      timeEmbedDim: model.timeEmbedDim,
      dim,
      numClasses,
    };
  }
  check(model.kind === 'unet', 'model.kind', () => `must be 'mlp' or 'unet', got '${String((model as { kind?: unknown }).kind)}'`);
  check(
    shape.length === 3 && shape[0] === shape[1],
    'model.kind',
    () => `a U-Net needs square images [size, size, channels]; the data has per-sample shape [${shape.join(', ')}] (use an MLP)`,
  );
  return {
    kind: 'unet',
    size: shape[0]!,
    channels: shape[2]!,
    baseChannels: model.baseChannels,
    channelMults: [...model.channelMults],
    blocksPerLevel: model.blocksPerLevel,
    attention: model.attention,
    groups: model.groups,
    timeEmbedDim: model.timeEmbedDim,
    numClasses,
  };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const intAtLeast = (v: unknown, min: number): v is number => finite(v) && Number.isInteger(v) && v >= min;

/**
 * Checks the fields training uses and their combinations. Throws a ConfigError naming the first bad
 * field, e.g. "optim.beta2: must be in [0, 1), got 1".
 *
 * Cross-field rules: the 'spec' rules of core/train/rules.ts (the interpolant path trains a velocity
 * and has no min-SNR weighting; label dropout and guidance need a conditional model, guidance also
 * label dropout; class-aware coupling needs a conditional model), shared with the experiment schema.
 * The schema's other rules (run-loop intervals, shapes implied by the data config) are checked here
 * against what training really gets: the data source (createTrainer) and the model (modelConfigFor).
 */
export function validateTrainSpec(spec: TrainSpec): void {
  check(intAtLeast(spec.seed, 0), 'seed', () => `must be an integer >= 0, got ${spec.seed}`);
  const p = spec.path;
  check(
    p?.kind === 'affine' || p?.kind === 'interpolant',
    'path.kind',
    () => `must be 'affine' or 'interpolant', got '${String(p?.kind)}'`,
  );
  if (p.kind === 'affine') makeScheduler(p.scheduler);
  else check(finite(p.s) && p.s >= 0, 'path.s', () => `must be a finite number >= 0, got ${p.s}`);
  check(
    isOneOf(TRAIN_PREDICTIONS, spec.prediction),
    'prediction',
    () => `must be ${spellOut(TRAIN_PREDICTIONS)}, got '${String(spec.prediction)}'`,
  );

  const c = spec.coupling;
  check(isOneOf(COUPLING_KINDS, c.kind), 'coupling.kind', () => `must be ${spellOut(COUPLING_KINDS)}, got '${String(c.kind)}'`);
  check(finite(c.reg) && c.reg > 0, 'coupling.reg', () => `must be a finite number > 0, got ${c.reg}`);

  const t = spec.time;
  check(
    isOneOf(TIME_DISTRIBUTIONS, t.distribution),
    'time.distribution',
    () => `must be ${spellOut(TIME_DISTRIBUTIONS)}, got '${String(t.distribution)}'`,
  );
  check(finite(t.mean), 'time.mean', () => `must be a finite number, got ${t.mean}`);
  check(finite(t.std) && t.std > 0, 'time.std', () => `must be a finite number > 0, got ${t.std}`);
  check(
    isOneOf(LOSS_WEIGHTINGS, t.weighting),
    'time.weighting',
    () => `must be ${spellOut(LOSS_WEIGHTINGS)}, got '${String(t.weighting)}'`,
  );
  if (t.snrGamma !== undefined)
    check(finite(t.snrGamma) && t.snrGamma > 0, 'time.snrGamma', () => `must be a finite number > 0, got ${t.snrGamma}`);

  check(
    finite(spec.labelDropout) && spec.labelDropout >= 0 && spec.labelDropout <= 1,
    'labelDropout',
    () => `must be in [0, 1], got ${spec.labelDropout}`,
  );
  check(typeof spec.conditional === 'boolean', 'conditional', () => `must be true or false, got ${String(spec.conditional)}`);

  const o = spec.optim;
  check(isOneOf(OPTIMIZERS, o.kind), 'optim.kind', () => `must be ${spellOut(OPTIMIZERS)}, got '${String(o.kind)}'`);
  check(finite(o.lr) && o.lr > 0, 'optim.lr', () => `must be a finite number > 0, got ${o.lr}`);
  check(finite(o.beta1) && o.beta1 >= 0 && o.beta1 < 1, 'optim.beta1', () => `must be in [0, 1), got ${o.beta1}`);
  check(finite(o.beta2) && o.beta2 >= 0 && o.beta2 < 1, 'optim.beta2', () => `must be in [0, 1), got ${o.beta2}`);
  check(finite(o.eps) && o.eps > 0, 'optim.eps', () => `must be a finite number > 0, got ${o.eps}`);
  check(finite(o.weightDecay) && o.weightDecay >= 0, 'optim.weightDecay', () => `must be a finite number >= 0, got ${o.weightDecay}`);
  check(intAtLeast(o.warmupSteps, 0), 'optim.warmupSteps', () => `must be an integer >= 0, got ${o.warmupSteps}`);
  check(isOneOf(LR_SCHEDULES, o.schedule), 'optim.schedule', () => `must be ${spellOut(LR_SCHEDULES)}, got '${String(o.schedule)}'`);
  check(finite(o.minLrRatio) && o.minLrRatio >= 0 && o.minLrRatio <= 1, 'optim.minLrRatio', () => `must be in [0, 1], got ${o.minLrRatio}`);
  check(finite(o.gradClip) && o.gradClip >= 0, 'optim.gradClip', () => `must be a finite number >= 0 (0 = off), got ${o.gradClip}`);
  check(finite(o.emaDecay) && o.emaDecay >= 0 && o.emaDecay < 1, 'optim.emaDecay', () => `must be in [0, 1), got ${o.emaDecay}`);

  check(intAtLeast(spec.train.steps, 1), 'train.steps', () => `must be an integer >= 1, got ${spec.train.steps}`);
  check(intAtLeast(spec.train.batchSize, 1), 'train.batchSize', () => `must be an integer >= 1, got ${spec.train.batchSize}`);

  const s = spec.sampling;
  check(isOneOf(SAMPLERS, s.solver), 'sampling.solver', () => `must be ${spellOut(SAMPLERS)}, got '${String(s.solver)}'`);
  check(
    s.grid === undefined || isOneOf(TIME_GRIDS, s.grid),
    'sampling.grid',
    () => `must be ${spellOut(TIME_GRIDS)}, got '${String(s.grid)}'`,
  );
  for (const k of ['noise', 'churn', 'snr'] as const) {
    const v = s[k];
    check(v === undefined || (finite(v) && v >= 0), `sampling.${k}`, () => `must be a finite number >= 0, got ${v}`);
  }
  check(
    s.correctorSteps === undefined || (Number.isInteger(s.correctorSteps) && s.correctorSteps >= 0),
    'sampling.correctorSteps',
    () => `must be an integer >= 0, got ${s.correctorSteps}`,
  );
  check(intAtLeast(s.steps, 1), 'sampling.steps', () => `must be an integer >= 1, got ${s.steps}`);
  check(finite(s.rtol) && s.rtol > 0, 'sampling.rtol', () => `must be a finite number > 0, got ${s.rtol}`);
  check(finite(s.atol) && s.atol > 0, 'sampling.atol', () => `must be a finite number > 0, got ${s.atol}`);
  check(finite(s.cfg) && s.cfg >= 0, 'sampling.cfg', () => `must be a finite number >= 0, got ${s.cfg}`);

  // The combinations the trainer relies on: the same rules, and messages, as the experiment schema.
  const [first] = ruleIssues(spec, { scope: 'spec' });
  if (first) throw new ConfigError(first.field, first.message);
}
