/**
 * The names core switches on, each list spelled once with its union type derived from it. The
 * schemas of common/ build their enums from these lists, the renderer shows them as choices, and
 * core's own run-time checks test membership against them, so a name added here reaches every
 * process at once.
 *
 * No imports at all: every process (the renderer too) loads this module without pulling in tfjs.
 */

/** Fixed-step ODE methods: exactly one step per grid interval (core/solver/ode.ts). */
export const FIXED_STEP_METHODS = ['euler', 'midpoint', 'heun', 'rk4'] as const;
export type FixedStepMethod = (typeof FIXED_STEP_METHODS)[number];
/** Every ODE method: the fixed-step ones and adaptive Dormand-Prince 5(4). */
export const ODE_METHODS = [...FIXED_STEP_METHODS, 'dopri5'] as const;
export type OdeMethod = (typeof ODE_METHODS)[number];

/**
 * Exponential integrators of a model's denoiser D = E[x1 | x_t] in log-SNR time (core/solver/samplers.ts):
 * DDIM (= DPM-Solver++ first order) and DPM-Solver++(2M).
 */
export const EXPONENTIAL_SAMPLERS = ['ddim', 'dpm++2m'] as const;
/**
 * Stochastic samplers (core/solver/samplers.ts): Euler-Maruyama on the reverse SDE, ancestral
 * (DDPM-like) steps, predictor-corrector with a Langevin corrector, EDM's stochastic Heun ("churn").
 */
export const STOCHASTIC_SAMPLERS = ['sde', 'ancestral', 'pc', 'edm'] as const;
/** Every sampler a model can be sampled with: the ODE methods, the exponential integrators, the stochastic samplers. */
export const SAMPLERS = [...ODE_METHODS, ...EXPONENTIAL_SAMPLERS, ...STOCHASTIC_SAMPLERS] as const;
export type SamplerKind = (typeof SAMPLERS)[number];
/**
 * Time grids of a sampler (core/solver/grids.ts): uniform in t, EDM/Karras' rho schedule of the noise
 * level sigma / alpha, uniform in log-SNR log(alpha / sigma).
 */
export const TIME_GRIDS = ['uniform', 'karras', 'logsnr'] as const;
export type TimeGridKind = (typeof TIME_GRIDS)[number];

/** Schedulers of affine paths (core/path/scheduler.ts). */
export const SCHEDULER_KINDS = ['condot', 'polynomial', 'cosine', 'linear-vp', 'vp', 'sub-vp', 've'] as const;
export type SchedulerKind = (typeof SCHEDULER_KINDS)[number];

/**
 * What a network can be trained to predict: the velocity, the noise, the data, or the score
 * (denoising score matching, core/train/loss.ts).
 */
export const TRAIN_PREDICTIONS = ['velocity', 'eps', 'x1', 'score'] as const;
export type TrainPrediction = (typeof TRAIN_PREDICTIONS)[number];
/** Every prediction type core/path/convert.ts converts between (all of them train). */
export const PREDICTION_TYPES = TRAIN_PREDICTIONS;
export type PredictionType = (typeof PREDICTION_TYPES)[number];

/** Couplings of noise and data in a batch (core/coupling/couple.ts). */
export const COUPLING_KINDS = ['independent', 'exact-ot', 'sinkhorn'] as const;
export type CouplingKind = (typeof COUPLING_KINDS)[number];

/** Hidden-layer activations of the MLP (core/model/mlp.ts). */
export const ACTIVATIONS = ['silu', 'relu', 'gelu', 'tanh'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** The 2-D toy datasets a config names by `data.name` (core/data/toy2d.ts has their generators). */
export const TOY_2D_NAMES = ['moons', '8gaussians', 'circles', 'checkerboard', '2spirals', 'swissroll'] as const;
export type Toy2DName = (typeof TOY_2D_NAMES)[number];

/** What loading an image folder does with a file it cannot decode: leave it out, or refuse the folder. */
export const CORRUPT_FILE_POLICIES = ['skip', 'reject'] as const;
export type CorruptFilePolicy = (typeof CORRUPT_FILE_POLICIES)[number];

/** Training-time distributions: t ~ U(0, 1), or sigmoid of a normal (core/train/loss.ts). */
export const TIME_DISTRIBUTIONS = ['uniform', 'logit-normal'] as const;
export type TimeDistribution = (typeof TIME_DISTRIBUTIONS)[number];
/** Per-sample loss weightings over time (core/train/loss.ts). */
export const LOSS_WEIGHTINGS = ['none', 'snr-clipped'] as const;
export type LossWeighting = (typeof LOSS_WEIGHTINGS)[number];

/** Optimisers (core/train/optim.ts). */
export const OPTIMIZERS = ['adam', 'adamw'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];
/** Learning-rate schedules after warmup (core/train/optim.ts). */
export const LR_SCHEDULES = ['constant', 'cosine'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];

/** Latent interpolation: spherical or linear (core/inversion/interpolate.ts). */
export const INTERPOLATION_MODES = ['slerp', 'lerp'] as const;
export type InterpolationMode = (typeof INTERPOLATION_MODES)[number];

/** True when `value` is one of `names` (a membership test that narrows, for values from outside). */
export function isOneOf<const T extends string>(names: readonly T[], value: unknown): value is T {
  return (names as readonly unknown[]).includes(value);
}

/** 'a, b or c': a list of names as a message says it. */
export function spellOut(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}
