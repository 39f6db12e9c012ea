/**
 * From a trained network to samples: the velocity field of a model of any prediction type (with
 * classifier-free guidance), and one call that draws seeded noise and integrates it from t = 0 to 1.
 *
 * Guidance (flow_matching's image example): v = (1 + w) v_cond - w v_uncond. The conversion of a
 * prediction to a velocity is affine in the prediction, v = A x + B pred, and the x terms cancel:
 *   (1 + w)(A x + B p_c) - w (A x + B p_u) = A x + B ((1 + w) p_c - w p_u),
 * so guiding the prediction and then converting is exact, and it is what `guidedField` does. Both
 * branches run as one forward pass over the doubled batch (fewer, larger ops: cheaper on wasm).
 */
import { tf, type Tensor } from '../tf';
import { isOneOf, ODE_METHODS } from '../catalog';
import { ConfigError, ShapeError } from '../errors';
import type { AbortLike, StepInfo, VelocityField } from '../field';
import type { VelocityModel } from '../model/types';
import { checkPredictionType, type PredictionType } from '../path/convert';
import { pathModelOf, pathVelocity, velocityModel, type ModelField } from '../path/model';
import { sourceScale, type Scheduler } from '../path/scheduler';
import { integrateField, type IntegrateResult } from '../solver/sample';
import { sampleModel, type SamplerKind } from '../solver/samplers';
import type { TimeGridKind } from '../solver/grids';
import { Rng } from '../util/random';
import type { Predictor } from './loss';

/**
 * The model's forward pass as a Predictor. An MLP on multi-axis samples (images) sees them
 * flattened to [B, prod(shape)] and its output is reshaped back, so any model fits any data shape.
 */
export function modelPredictor(model: VelocityModel): Predictor {
  if (model.config.kind !== 'mlp') return (x, t, labels) => model.apply(x, t, labels);
  const dim = model.config.dim;
  return (x, t, labels) => {
    if (x.rank === 2) return model.apply(x, t, labels);
    return tf.tidy(() => tf.reshape(model.apply(tf.reshape(x, [x.shape[0]!, dim]), t, labels), x.shape));
  };
}

/**
 * The velocity field of `model` (trained to predict `prediction` under `scheduler`), guided with
 * weight w >= 0:
 *
 *   pred = (1 + w) f(x, t, c) - w f(x, t, null),   v = A(t) x + B(t) pred   (core/path/convert)
 *
 * `cond` is the class labels [B] (int32 or float holding integers); without it, a conditional
 * model gets the "no label" class numClasses (its unconditional field) and w has no effect.
 * Unconditional models ignore w. Like every field, it disposes nothing it was given.
 *
 * The field is core/path/model.ts's `pathVelocity` of the guided prediction: exact at the ends where
 * the velocity has a finite limit (eps and score at t = 0), and it carries the model (`pathModel`),
 * so `sampleFromField` samples it with any sampler and a final denoising step where needed.
 *
 * @throws ConfigError for w < 0; ShapeError for labels of the wrong shape (at call time);
 *   SolverError where the velocity has no finite value (a non-velocity model on VP at t = 1).
 */
export function guidedField(model: VelocityModel, prediction: PredictionType, scheduler: Scheduler, w = 0): ModelField {
  if (!(w >= 0 && Number.isFinite(w))) throw new ConfigError('sampling.cfg', `must be a finite number >= 0, got ${w}`);
  const predict = modelPredictor(model);
  const k = model.config.numClasses;
  const raw = (x: Tensor, t: number, cond?: Tensor): Tensor =>
    tf.tidy(() => {
      const b = x.shape[0]!;
      const tt = tf.fill([b], t, 'float32');
      if (k === 0) return predict(x, tt);
      if (cond === undefined) return predict(x, tt, tf.fill([b], k, 'int32'));
      if (cond.rank !== 1 || cond.shape[0] !== b) throw new ShapeError(`cond (class labels) must have shape [${b}]. Got [${cond.shape}]`);
      const labels = cond.dtype === 'int32' ? cond : tf.cast(cond, 'int32');
      if (w === 0) return predict(x, tt, labels);
      const both = predict(tf.concat([x, x]), tf.concat([tt, tt]), tf.concat([labels, tf.fill([b], k, 'int32')]));
      const [pc, pu] = tf.split(both, 2);
      return tf.sub(tf.mul(pc!, 1 + w), tf.mul(pu!, w));
    });
  checkPredictionType(prediction, 'prediction');
  return pathVelocity({ prediction, scheduler, predict: raw });
}

/** Options of `sampleFromField`. */
export interface SampleFromFieldOptions {
  /** Number of samples. */
  n: number;
  /** Per-sample shape, e.g. [2] or [28, 28, 1]. */
  shape: number[];
  /** Seed of the noise (host Rng: identical on every backend). */
  seed: number;
  /** Sampler (default 'euler'): an ODE method, an exponential integrator or a stochastic sampler. */
  solver?: SamplerKind;
  /** Steps of a fixed-step sampler (default 50); for dopri5, output intervals (default 1). */
  steps?: number;
  /** Time grid (default: the sampler's, core/solver/samplers.ts defaultGrid). */
  grid?: TimeGridKind;
  /** Stochastic samplers: noise level (sde, pc: g = noise sigma; ancestral: eta), EDM's churn, Langevin snr and steps. */
  noise?: number;
  churn?: number;
  snr?: number;
  correctorSteps?: number;
  /** Seed of a stochastic sampler's noise (default: `seed` + 1). */
  noiseSeed?: number;
  rtol?: number;
  atol?: number;
  /** Conditioning passed to every field call (class labels [n]). */
  cond?: Tensor;
  /** Keep x at every grid time. */
  returnTrajectory?: boolean;
  /** Noise scale; default sourceScale(scheduler) when a scheduler is given, else 1. */
  scale?: number;
  scheduler?: Scheduler;
  /** Start and end time (default 0 and 1; use `trainingTimeRange` for eps / x1 models). */
  t0?: number;
  t1?: number;
  /** Start from these points instead of noise (data translation: samples of the source), [n, ...shape]. */
  from?: Tensor;
  signal?: AbortLike;
  onStep?: (info: StepInfo) => void;
}

/** The sampler settings of a config's sampling section that `sampleFromField` takes (grid, noise ...), set ones only. */
export function samplerSettings(s: {
  grid?: TimeGridKind | undefined;
  noise?: number | undefined;
  churn?: number | undefined;
  snr?: number | undefined;
  correctorSteps?: number | undefined;
}): Pick<SampleFromFieldOptions, 'grid' | 'noise' | 'churn' | 'snr' | 'correctorSteps'> {
  return {
    ...(s.grid !== undefined ? { grid: s.grid } : {}),
    ...(s.noise !== undefined ? { noise: s.noise } : {}),
    ...(s.churn !== undefined ? { churn: s.churn } : {}),
    ...(s.snr !== undefined ? { snr: s.snr } : {}),
    ...(s.correctorSteps !== undefined ? { correctorSteps: s.correctorSteps } : {}),
  };
}

/** What `sampleFromField` returns: the integration result and the starting points. */
export interface SampleFromFieldResult extends IntegrateResult {
  /** The starting points x(t0) (noise, or a clone of `from`). Caller owns. */
  x0: Tensor;
}

/**
 * Draws x(t0) = scale * N(0, I) from a seeded Rng (or takes `from`) and samples from t0 to t1
 * (default 0 -> 1). A field that carries its model (guidedField), or any field with `scheduler`
 * given, goes through core/solver/samplers.ts sampleModel (every sampler, exact ends); a plain field
 * without a scheduler is integrated by an ODE method.
 *
 * @example
 *   const { x, x0 } = sampleFromField(field, { n: 512, shape: [2], seed: 1, solver: 'rk4', steps: 20 });
 *   ...; tf.dispose([x, x0]);
 */
export function sampleFromField(field: VelocityField, opts: SampleFromFieldOptions): SampleFromFieldResult {
  const { n, shape } = opts;
  if (!(Number.isInteger(n) && n >= 1)) throw new ConfigError('n', `must be an integer >= 1, got ${n}`);
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ConfigError('shape', `must be a non-empty array of positive integers, got ${JSON.stringify(shape)}`);
  }
  const solver = opts.solver ?? 'euler';
  const scale = opts.scale ?? (opts.scheduler ? sourceScale(opts.scheduler) : 1);
  if (!(scale > 0 && Number.isFinite(scale))) throw new ConfigError('scale', `must be a finite number > 0, got ${scale}`);
  let x0: Tensor;
  if (opts.from !== undefined) {
    const f = opts.from;
    if (f.shape.length !== shape.length + 1 || f.shape[0] !== n || shape.some((d, i) => f.shape[i + 1] !== d)) {
      throw new ShapeError(`from must have shape [${[n, ...shape].join(',')}]. Got [${f.shape}]`);
    }
    x0 = f.clone();
  } else {
    const size = shape.reduce((a, b) => a * b, 1);
    const z = new Rng(opts.seed).normals(n * size);
    if (scale !== 1) for (let i = 0; i < z.length; i++) z[i] = z[i]! * scale;
    x0 = tf.tensor(z, [n, ...shape], 'float32');
  }
  try {
    const steps = opts.steps ?? (solver === 'dopri5' ? undefined : 50);
    const pm = pathModelOf(field) ?? (opts.scheduler ? velocityModel(field, opts.scheduler) : undefined);
    if (pm) {
      const r = sampleModel(pm, x0, {
        sampler: solver,
        t0: opts.t0 ?? 0,
        t1: opts.t1 ?? 1,
        ...(steps !== undefined ? { steps } : {}),
        ...(opts.grid !== undefined ? { grid: opts.grid } : {}),
        ...(opts.rtol !== undefined ? { rtol: opts.rtol } : {}),
        ...(opts.atol !== undefined ? { atol: opts.atol } : {}),
        ...(opts.noise !== undefined ? { noise: opts.noise } : {}),
        ...(opts.churn !== undefined ? { churn: opts.churn } : {}),
        ...(opts.snr !== undefined ? { snr: opts.snr } : {}),
        ...(opts.correctorSteps !== undefined ? { correctorSteps: opts.correctorSteps } : {}),
        seed: opts.noiseSeed ?? opts.seed + 1,
        ...(opts.cond !== undefined ? { cond: opts.cond } : {}),
        ...(opts.returnTrajectory ? { returnTrajectory: true } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onStep ? { onStep: opts.onStep } : {}),
      });
      return { ...r, x0 };
    }
    if (!isOneOf(ODE_METHODS, solver)) {
      throw new ConfigError('solver', `the ${solver} sampler needs the model's scheduler (give scheduler, or a field from guidedField)`);
    }
    const res = integrateField(field, x0, {
      method: solver,
      t0: opts.t0 ?? 0,
      t1: opts.t1 ?? 1,
      ...(steps !== undefined ? { steps } : {}),
      ...(opts.rtol !== undefined ? { rtol: opts.rtol } : {}),
      ...(opts.atol !== undefined ? { atol: opts.atol } : {}),
      ...(opts.cond !== undefined ? { cond: opts.cond } : {}),
      ...(opts.returnTrajectory ? { returnTrajectory: true } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onStep ? { onStep: opts.onStep } : {}),
    });
    return { ...res, x0 };
  } catch (e) {
    x0.dispose();
    throw e;
  }
}
