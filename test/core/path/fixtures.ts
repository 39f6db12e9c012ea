// Shared references for the path tests: the schedulers under test, float64 host helpers and the
// closed-form Gaussian posterior (N(mu, s^2 I) data) that every prediction type has exactly.
import { expect } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { condOT, cosine, linearVP, polynomial, subVP, ve, vp, type Scheduler, type SchedulerCoeffs } from '../../../core/path/scheduler';
import type { PredictionType } from '../../../core/path/convert';

export const SCHEDULERS: ReadonlyArray<readonly [string, Scheduler]> = [
  ['condot', condOT()],
  ['condot sigmaMin=0.05', condOT(0.05)],
  ['polynomial n=2', polynomial(2)],
  ['polynomial n=0.5', polynomial(0.5)],
  ['cosine', cosine()],
  ['linear-vp', linearVP()],
  ['vp', vp()],
  ['vp betaMax=5', vp(0.1, 5)],
  ['sub-vp', subVP()],
  ['ve', ve()],
];

/** max |a - b| / max(floor, max |b|): a scale-aware error for float32 results against float64 references. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = floor;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return Number.isNaN(num) ? Infinity : num / den;
}

/** A float32 tensor from any numbers (tf.tensor refuses Float64Array). */
export function T(values: ArrayLike<number>, shape: number[]): Tensor {
  return tf.tensor(Float32Array.from(values), shape, 'float32');
}

/** Reads a tensor and disposes it. */
export function take(t: Tensor): Float32Array {
  const v = t.dataSync() as Float32Array;
  const out = Float32Array.from(v);
  t.dispose();
  return out;
}

/** Runs fn and asserts it leaves the number of live tensors unchanged. */
export function noLeaks(fn: () => void): void {
  const before = tf.memory().numTensors;
  fn();
  expect(tf.memory().numTensors).toBe(before);
}

/** a x + b y elementwise, float64. */
export function lin(a: number, x: ArrayLike<number>, b: number, y: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = a * x[i]! + b * y[i]!;
  return out;
}

/** Values in float32 precision, as float64 (what a tensor built from them holds). */
export function f32(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(x));
}

/**
 * The true value of each prediction type for a given (x1, eps) pair, float64:
 * velocity = dAlpha x1 + dSigma eps, eps, x1, score = -eps / sigma.
 */
export function truePrediction(kind: PredictionType, c: SchedulerCoeffs, x1: ArrayLike<number>, eps: ArrayLike<number>): Float64Array {
  switch (kind) {
    case 'velocity':
      return lin(c.dAlpha, x1, c.dSigma, eps);
    case 'eps':
      return Float64Array.from(eps);
    case 'x1':
      return Float64Array.from(x1);
    case 'score':
      return lin(0, x1, -1 / c.sigma, eps);
  }
}

/**
 * Data N(mu, s^2 I): under any affine path the posterior is Gaussian and every prediction is closed form
 * (with v2 = alpha^2 s^2 + sigma^2 and r = x - alpha mu):
 *   E[x1 | x] = mu + alpha s^2 r / v2,  E[x0 | x] = sigma r / v2,  score = -r / v2,
 *   velocity = dAlpha mu + c r,  c = (alpha dAlpha s^2 + sigma dSigma) / v2.
 * Returns the model of one prediction type as a tensor function (x [B, d], mu of length d).
 */
export function gaussianModel(kind: PredictionType, mu: readonly number[], s: number, scheduler: Scheduler) {
  return (x: Tensor, t: number): Tensor => {
    const { alpha, sigma, dAlpha, dSigma } = scheduler.coeffs(t);
    const v2 = alpha * alpha * s * s + sigma * sigma;
    return tf.tidy(() => {
      const muT = tf.tensor1d([...mu]);
      const r = tf.sub(x, tf.mul(muT, alpha));
      switch (kind) {
        case 'x1':
          return tf.add(muT, tf.mul(r, (alpha * s * s) / v2));
        case 'eps':
          return tf.mul(r, sigma / v2);
        case 'score':
          return tf.mul(r, -1 / v2);
        case 'velocity':
          return tf.add(tf.mul(muT, dAlpha), tf.mul(r, (alpha * dAlpha * s * s + sigma * dSigma) / v2));
      }
    });
  };
}

/** Host float64 version of the Gaussian velocity, for x given row-major [B, d]. */
export function gaussianVelocity64(x: ArrayLike<number>, mu: readonly number[], s: number, c: SchedulerCoeffs): Float64Array {
  const d = mu.length;
  const v2 = c.alpha * c.alpha * s * s + c.sigma * c.sigma;
  const k = (c.alpha * c.dAlpha * s * s + c.sigma * c.dSigma) / v2;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const m = mu[i % d]!;
    out[i] = c.dAlpha * m + k * (x[i]! - c.alpha * m);
  }
  return out;
}

/** Expects fn to throw an instance of `cls` whose message contains every fragment. */
export function expectThrow(fn: () => unknown, cls: new (...a: never[]) => Error, ...fragments: string[]): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(cls);
  const e = caught as Error;
  for (const f of fragments) expect(e.message).toContain(f);
  return e;
}
