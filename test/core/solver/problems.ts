/**
 * ODEs with closed-form solutions, shared by the solver tests. References are evaluated in float64
 * on the host, independently of the solvers under test.
 */
import { tf, type Tensor } from '../../../core/tf';
import type { OdeFunction } from '../../../core/solver/types';
import type { VelocityField } from '../../../core/field';
import type { Scheduler } from '../../../core/path/scheduler';

/**
 * Linear, time-varying, 2-D:  dx/dt = A(t) x,  A(t) = w (1 + t) J - beta t I,  J = [[0, 1], [-1, 0]].
 * A(t) commute for all t (J and I commute), so x(t) = exp(-beta t^2 / 2) R(theta(t)) x(0) with
 * theta(t) = w (t + t^2 / 2) and R(theta) = [[cos, sin], [-sin, cos]] acting on row vectors' columns.
 */
export function rotation(w: number, beta: number) {
  const f: OdeFunction = (t, [x]) =>
    tf.tidy(() => {
      const om = w * (1 + t);
      // rows of x are points; (x J^T) for J = [[0,1],[-1,0]] maps (a, b) -> (b, -a)
      const [a, b] = tf.split(x!, 2, 1) as [Tensor, Tensor];
      const jx = tf.concat([b, tf.neg(a)], 1);
      return [tf.sub(tf.mul(jx, om), tf.mul(x!, beta * t))];
    });
  const exact = (x0: number[][], t0: number, t1: number): number[][] => {
    const theta = (t: number) => w * (t + (t * t) / 2);
    const th = theta(t1) - theta(t0);
    const decay = Math.exp((-beta * (t1 * t1 - t0 * t0)) / 2);
    const c = Math.cos(th);
    const s = Math.sin(th);
    return x0.map(([p, q]) => [decay * (c * p! + s * q!), decay * (-s * p! + c * q!)]);
  };
  return { f, exact };
}

/** Nonlinear scalar (per element):  dy/dt = t y^2,  y(t) = 1 / (1/y0 - (t^2 - t0^2) / 2). */
export function riccati() {
  const f: OdeFunction = (t, [y]) => [tf.tidy(() => tf.mul(tf.square(y!), t))];
  const exact = (y0: number[], t0: number, t1: number): number[] => y0.map((v) => 1 / (1 / v - (t1 * t1 - t0 * t0) / 2));
  return { f, exact };
}

/** Max absolute difference between a tensor's values and a nested reference. */
export function maxAbsErr(x: Tensor, ref: number[] | number[][]): number {
  const got = x.dataSync();
  const want = (ref as unknown[]).flat() as number[];
  let m = 0;
  want.forEach((w, i) => (m = Math.max(m, Math.abs(got[i]! - w))));
  return m;
}

/** Least-squares slope of log(err) against log(h). */
export function logLogSlope(hs: number[], errs: number[]): number {
  const xs = hs.map(Math.log);
  const ys = errs.map(Math.log);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

/**
 * Exact marginal velocity of the Gaussian target N(mu, s^2 I) under an affine path (docs/formulas.md,
 * "Gaussian-mixture oracle", with one component):  u_t(x) = alpha' mu + c (x - alpha mu),  c = (alpha alpha' s^2 + sigma sigma') / (alpha^2 s^2 + sigma^2).
 * Its flow maps x0 at t = 0 to x_t = alpha_t mu + std_t x0 / std_0,  std_t^2 = alpha^2 s^2 + sigma^2.
 * `calls` records the times the field was evaluated at.
 */
export function gaussianField(sched: Scheduler, mu: number[], s: number) {
  const calls: number[] = [];
  const field: VelocityField = (x, t) =>
    tf.tidy(() => {
      calls.push(t);
      const { alpha, sigma, dAlpha, dSigma } = sched.coeffs(t);
      const c = (alpha * dAlpha * s * s + sigma * dSigma) / (alpha * alpha * s * s + sigma * sigma);
      return tf.add(tf.mul(x, c), tf.mul(tf.tensor1d(mu), dAlpha - c * alpha));
    });
  const std = (t: number): number => {
    const { alpha, sigma } = sched.coeffs(t);
    return Math.sqrt(alpha * alpha * s * s + sigma * sigma);
  };
  return { field, calls, std };
}

/** Per-column mean and variance (unbiased) of a [n, d] tensor, on the host in float64. */
export function columnMoments(x: Tensor): { mean: number[]; variance: number[] } {
  const [n, d] = x.shape as [number, number];
  const v = x.dataSync();
  const mean = new Array<number>(d).fill(0);
  const variance = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += v[i * d + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) variance[j]! += (v[i * d + j]! - mean[j]!) ** 2 / (n - 1);
  return { mean, variance };
}
