/**
 * What commands that use a model share: the --model, --solver, --class and --cfg flags and how
 * they become arguments of core's samplers, likelihood and inversion.
 */
import { tf, type Tensor } from '../../core/tf';
import { ConfigError } from '../../core/errors';
import { Rng } from '../../core/util/random';
import type { OdeMethod } from '../../core/solver/types';
import { isOneOf, ODE_METHODS, SAMPLERS, TIME_GRIDS, type SamplerKind, type TimeGridKind } from '../../core/catalog';
import { SOLVERS } from '../../common/config';
import type { LoadedModel } from '../models/load';
import { loadDataSource } from '../training/sources';
import type { Args, OptionSpecs } from './args';
import { UsageError } from './errors';
import type { Output } from './output';
import type { Context } from './context';

/**
 * The model of --model (Context.model), with its warnings printed on stderr in every output mode:
 * e.g. that the run's newest checkpoint was unusable and an older one is sampled from.
 */
export async function loadModel(ctx: Context): Promise<LoadedModel> {
  const model = await ctx.model();
  for (const w of model.warnings) ctx.out.warn(w);
  return model;
}

/** The options of every command that takes --model. */
export const MODEL_OPTIONS = {
  model: { type: 'string' },
  gmm: { type: 'string' },
  scheduler: { type: 'string' },
} as const satisfies OptionSpecs;

/** Solver flags (sample, likelihood, invert, decode, interpolate). */
export const SOLVER_OPTIONS = {
  solver: { type: 'string' },
  steps: { type: 'string' },
  rtol: { type: 'string' },
  atol: { type: 'string' },
} as const satisfies OptionSpecs;

/** How to integrate: a solver, its steps (fixed-step) and tolerances (dopri5). */
export interface SolverChoice {
  solver: OdeMethod;
  /** Fixed-step: exactly this many steps. dopri5: undefined (adaptive). */
  steps?: number;
  rtol: number;
  atol: number;
}

/**
 * The solver of a command: flags first, then the run's sampling settings (sample), then `fallback`.
 * A fixed-step solver always gets a step count, so "the number of steps asked for is the number taken".
 */
export function solverChoice(args: Args, model: LoadedModel, fallback: { solver: OdeMethod; useRunSampling: boolean }): SolverChoice {
  const cfg = fallback.useRunSampling ? model.config?.sampling : undefined;
  // A run sampled by a non-ODE sampler (sampling.solver 'dpm++2m' ...) says nothing about ODE solves.
  const runSolver = cfg && isOneOf(ODE_METHODS, cfg.solver) ? cfg.solver : undefined;
  const solver = args.choice('solver', SOLVERS) ?? runSolver ?? fallback.solver;
  const stepsFlag = args.int('steps', { min: 1, max: 100_000 });
  const rtol = args.number('rtol', { positive: true }) ?? cfg?.rtol ?? 1e-5;
  const atol = args.number('atol', { positive: true }) ?? cfg?.atol ?? 1e-5;
  if (solver === 'dopri5') return { solver, ...(stepsFlag !== undefined ? { steps: stepsFlag } : {}), rtol, atol };
  return { solver, steps: stepsFlag ?? cfg?.steps ?? 50, rtol, atol };
}

/** The sampler flags of `sample` (beside SOLVER_OPTIONS, whose --solver takes every sampler there). */
export const SAMPLER_OPTIONS = {
  grid: { type: 'string' },
  noise: { type: 'string' },
  churn: { type: 'string' },
  snr: { type: 'string' },
  'corrector-steps': { type: 'string' },
} as const satisfies OptionSpecs;

/** How `sample` samples: a sampler of core/solver/samplers.ts, its steps, grid and noise settings. */
export interface SamplerChoice {
  sampler: SamplerKind;
  /** Fixed-step samplers: exactly this many steps; dopri5: undefined (adaptive). */
  steps?: number;
  rtol: number;
  atol: number;
  grid?: TimeGridKind;
  noise?: number;
  churn?: number;
  snr?: number;
  correctorSteps?: number;
}

/**
 * The sampler of `sample`: --solver (any of SAMPLERS), --steps, --grid, --noise, --churn, --snr,
 * --corrector-steps; then the run's sampling settings; then dopri5. Settings that the chosen
 * sampler does not use are refused, naming the flag.
 */
export function samplerChoice(args: Args, model: LoadedModel): SamplerChoice {
  const cfg = model.config?.sampling;
  const flag = args.choice('solver', SAMPLERS);
  const sampler = flag ?? cfg?.solver ?? 'dopri5';
  const fromRun = flag === undefined || flag === cfg?.solver;
  const uses: Record<string, readonly SamplerKind[]> = {
    noise: ['sde', 'ancestral', 'pc'],
    churn: ['edm'],
    snr: ['pc'],
    'corrector-steps': ['pc'],
    rtol: ['dopri5'],
    atol: ['dopri5'],
  };
  for (const [name, kinds] of Object.entries(uses)) {
    if (args.has(name) && !kinds.includes(sampler))
      throw new UsageError(
        `--${name} applies to the ${kinds.join(', ')} sampler${kinds.length > 1 ? 's' : ''}, not ${sampler}`,
        args.command,
      );
  }
  if (args.has('grid') && sampler === 'dopri5')
    throw new UsageError('--grid: dopri5 picks its own steps (give a fixed-step sampler)', args.command);
  const run = fromRun ? cfg : undefined;
  const grid = args.choice('grid', TIME_GRIDS) ?? run?.grid;
  const noise = args.number('noise', { min: 0 }) ?? run?.noise;
  const churn = args.number('churn', { min: 0 }) ?? run?.churn;
  const snr = args.number('snr', { min: 0 }) ?? run?.snr;
  const correctorSteps = args.int('corrector-steps', { min: 0, max: 20 }) ?? run?.correctorSteps;
  const stepsFlag = args.int('steps', { min: 1, max: 100_000 });
  const rtol = args.number('rtol', { positive: true }) ?? cfg?.rtol ?? 1e-5;
  const atol = args.number('atol', { positive: true }) ?? cfg?.atol ?? 1e-5;
  const steps = sampler === 'dopri5' ? stepsFlag : (stepsFlag ?? run?.steps ?? 50);
  return {
    sampler,
    ...(steps !== undefined ? { steps } : {}),
    rtol,
    atol,
    ...(grid !== undefined && sampler !== 'dopri5' ? { grid } : {}),
    ...(noise !== undefined && uses.noise!.includes(sampler) ? { noise } : {}),
    ...(churn !== undefined && sampler === 'edm' ? { churn } : {}),
    ...(snr !== undefined && sampler === 'pc' ? { snr } : {}),
    ...(correctorSteps !== undefined && sampler === 'pc' ? { correctorSteps } : {}),
  };
}

export { underScheduler } from '../models/under-scheduler';

/**
 * --class C as conditioning labels [n] (int32), checked against the model's classes; undefined for
 * none (a conditional model then samples its unconditional field).
 */
export function classLabels(args: Args, model: LoadedModel, n: number): Tensor | undefined {
  const c = args.int('class', { min: 0 });
  if (c === undefined) return undefined;
  if (model.numClasses === 0)
    throw new UsageError(`--class: ${model.label} is unconditional (it was trained without class labels)`, args.command);
  if (c >= model.numClasses)
    throw new UsageError(`--class: must be in [0, ${model.numClasses - 1}] for ${model.label}, got ${c}`, args.command);
  return tf.fill([n], c, 'int32');
}

/** --cfg W: guidance weight (>= 0); a warning when it cannot have an effect. */
export function guidanceWeight(args: Args, model: LoadedModel, out: Output): number | undefined {
  const w = args.number('cfg', { min: 0 });
  if (w !== undefined && w > 0 && (model.numClasses === 0 || !args.has('class'))) {
    out.warn(`--cfg ${w} has no effect without ${model.numClasses === 0 ? 'a conditional model' : '--class'}`);
  }
  return w;
}

/**
 * Starting points of a data-to-data run (its source is another data set, not noise): n samples of
 * the source drawn with `seed`, as the trainer draws them. Undefined for noise-source models.
 */
export async function sourceStart(model: LoadedModel, n: number, seed: number): Promise<Tensor | undefined> {
  const src = model.config?.source;
  if (!src || src.kind !== 'data') return undefined;
  const loaded = await loadDataSource(src.data, 'source.data');
  return loaded.source.sample(n, new Rng(seed)).x;
}

/** Refuses models whose latent space is not the Gaussian prior (likelihood needs its density). */
export function requireGaussianSource(model: LoadedModel, what: string): void {
  if (model.config?.source.kind === 'data') {
    throw new ConfigError('source', `${what} needs a model whose source (t = 0) is Gaussian noise; ${model.label} starts from a data set`);
  }
}

/** Per-sample dimension (prod of the shape). */
export function dimOf(model: LoadedModel): number {
  return model.shape.reduce((a, b) => a * b, 1);
}

/** What commands report about the model they used. */
export function modelInfo(model: LoadedModel): Record<string, unknown> {
  return {
    label: model.label,
    kind: model.kind,
    ...(model.runId ? { runId: model.runId, step: model.step } : {}),
    shape: model.shape,
    numClasses: model.numClasses,
    scheduler: model.scheduler.spec,
    timeRange: model.timeRange,
    ...(model.warnings.length ? { warnings: model.warnings } : {}),
  };
}
