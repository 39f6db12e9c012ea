/**
 * What every sampler, likelihood and inversion routine consumes: a velocity field.
 *
 * A field maps a batch x [batch, ...dims] at one time t (shared by the batch) and an optional
 * conditioning tensor (class labels [batch], or anything a model understands) to dx/dt, same shape
 * as x. Trained models, analytic oracles, guided and scheduler-transformed models are all fields.
 * A field must not dispose its inputs; it returns a new tensor the caller owns.
 */
import type { Tensor } from './tf';

export type VelocityField = (x: Tensor, t: number, cond?: Tensor) => Tensor;

/** Structural AbortSignal: core cannot name the DOM or Node type, and needs only this. */
export interface AbortLike {
  readonly aborted: boolean;
}

/** Progress of a long computation, reported once per accepted solver step. */
export interface StepInfo {
  /** Time reached. */
  readonly t: number;
  /** Accepted steps so far. */
  readonly step: number;
  /** Function evaluations so far. */
  readonly nfe: number;
  /** Fraction of the time interval covered, in [0, 1]. */
  readonly progress: number;
}
