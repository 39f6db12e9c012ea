/**
 * A probability path as training and sampling see it: one object per path kind, so no caller
 * switches on the kind (the way facebookresearch/flow_matching's ProbPath hides AffineProbPath and
 * its siblings behind `sample`).
 *
 *   affine       x_t = alpha_t x1 + sigma_t x0 (core/path/affine.ts, any scheduler); trains any
 *                prediction type that converts to a velocity at the times used (core/path/convert.ts)
 *   interpolant  x_t = t x1 + (1 - t) x0 + s sqrt(t (1 - t)) eps (core/path/interpolant.ts); its
 *                target u_t = x1 - x0 + dGamma_t eps is not an affine map of x_t, so it trains a
 *                velocity only; its mean path is CondOT
 *
 * The time intervals (docs/formulas.md, "Losses and weightings"): training uses [0, 1] with an end
 * moved in by `eps` where the prediction cannot be turned into a velocity or the path's derivatives
 * are infinite; sampling a velocity model uses [0, 1], any other prediction stays `eps` away from an
 * end where its conversion to a velocity is singular.
 */
import { tf, type Tensor } from '../tf';
import { ConfigError, SolverError } from '../errors';
import type { Rng } from '../util/random';
import { disposePathSample, samplePath, target as affineTarget } from './affine';
import { conversionCoeffs, type PredictionType } from './convert';
import { sampleInterpolant } from './interpolant';
import { condOT, makeScheduler, type Scheduler, type SchedulerSpec } from './scheduler';

/** A path as an experiment config names it. */
export type PathSpec = { kind: 'affine'; scheduler: SchedulerSpec } | { kind: 'interpolant'; s: number };

/** A closed time interval [lo, hi] inside [0, 1]. */
export interface TimeRange {
  readonly lo: number;
  readonly hi: number;
}

/** x_t and the regression target of one batch; the caller owns both. */
export interface PathBatch {
  xt: Tensor;
  target: Tensor;
}

export interface ProbPath {
  readonly spec: PathSpec;
  /** The scheduler of the path's mean part: its own for an affine path, CondOT for the interpolant. */
  readonly scheduler: Scheduler;
  /** Whether a loss weighting by the signal-to-noise ratio alpha^2 / sigma^2 applies. */
  readonly hasSnr: boolean;
  /** Throws ConfigError naming `field` unless the path can train this prediction type. */
  checkPrediction(prediction: PredictionType, field?: string): void;
  /** The times training draws from for `prediction`. */
  trainingRange(prediction: PredictionType, eps: number): TimeRange;
  /** The times a sampler integrates a trained `prediction` model over: [0, 1]. */
  samplingRange(prediction: PredictionType): TimeRange;
  /**
   * x_t and the target of `prediction` for pairs (x0[i], x1[i]) at times[i]; draws the interpolant's
   * bridge noise from `rng`. x0 and x1 are read, not disposed.
   */
  sample(prediction: PredictionType, x0: Tensor, x1: Tensor, times: ArrayLike<number>, rng: Rng): PathBatch;
}

/** True when a model predicting `prediction` can be turned into a velocity at time `t` on `scheduler`. */
function regularAt(scheduler: Scheduler, prediction: PredictionType, t: number): boolean {
  const c = scheduler.coeffs(t);
  if (![c.alpha, c.sigma, c.dAlpha, c.dSigma].every(Number.isFinite)) return false;
  try {
    conversionCoeffs(prediction, 'velocity', c, t);
    return true;
  } catch (e) {
    if (e instanceof SolverError) return false;
    throw e;
  }
}

/** [0, 1] with each end moved in by eps where `prediction` is singular on `scheduler`. */
function regularRange(scheduler: Scheduler, prediction: PredictionType, eps: number): TimeRange {
  return { lo: regularAt(scheduler, prediction, 0) ? 0 : eps, hi: regularAt(scheduler, prediction, 1) ? 1 : 1 - eps };
}

class AffinePath implements ProbPath {
  readonly scheduler: Scheduler;
  readonly hasSnr = true;

  constructor(readonly spec: Extract<PathSpec, { kind: 'affine' }>) {
    this.scheduler = makeScheduler(spec.scheduler);
  }

  checkPrediction(): void {
    // Every prediction type converts to a velocity on an affine path (away from its singular ends).
  }

  trainingRange(prediction: PredictionType, eps: number): TimeRange {
    return regularRange(this.scheduler, prediction, eps);
  }

  samplingRange(): TimeRange {
    return { lo: 0, hi: 1 };
  }

  sample(prediction: PredictionType, x0: Tensor, x1: Tensor, times: ArrayLike<number>): PathBatch {
    const p = samplePath(this.scheduler, x0, x1, times);
    let target: Tensor;
    try {
      // The velocity target is already in the path sample; keep it (and x_t) rather than clone.
      target = prediction === 'velocity' ? p.velocityTarget : affineTarget(prediction, p, x0, x1);
    } catch (e) {
      disposePathSample(p);
      throw e;
    }
    tf.dispose([p.alpha, p.sigma, p.dAlpha, p.dSigma, ...(target === p.velocityTarget ? [] : [p.velocityTarget])]);
    return { xt: p.xt, target };
  }
}

class InterpolantPath implements ProbPath {
  readonly scheduler = condOT();
  readonly hasSnr = false;

  constructor(readonly spec: Extract<PathSpec, { kind: 'interpolant' }>) {}

  checkPrediction(prediction: PredictionType, field = 'prediction'): void {
    if (prediction !== 'velocity') {
      throw new ConfigError(
        field,
        `the interpolant path trains a velocity (its target u_t = x1 - x0 + dGamma eps is not an affine map of x_t), got '${prediction}'`,
      );
    }
  }

  /** The bridge noise's derivative is infinite at both ends when s > 0. */
  trainingRange(_prediction: PredictionType, eps: number): TimeRange {
    return this.spec.s > 0 ? { lo: eps, hi: 1 - eps } : { lo: 0, hi: 1 };
  }

  samplingRange(): TimeRange {
    return { lo: 0, hi: 1 };
  }

  sample(prediction: PredictionType, x0: Tensor, x1: Tensor, times: ArrayLike<number>, rng: Rng): PathBatch {
    this.checkPrediction(prediction);
    const p = sampleInterpolant(x0, x1, times, this.spec.s, rng);
    tf.dispose([p.eps, p.gamma]);
    return { xt: p.xt, target: p.velocityTarget };
  }
}

/** The path an experiment names. @throws ConfigError for an unknown kind or scheduler */
export function probPath(spec: PathSpec): ProbPath {
  switch (spec?.kind) {
    case 'affine':
      return new AffinePath(spec);
    case 'interpolant':
      return new InterpolantPath(spec);
    default:
      throw new ConfigError('path.kind', `must be 'affine' or 'interpolant', got '${String((spec as { kind?: unknown })?.kind)}'`);
  }
}
