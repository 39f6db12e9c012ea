// Exact models of every prediction type for Gaussian-mixture data, computed on the host in float64
// from the mixture's posterior alone (nothing here calls core's conversions, oracle or samplers):
// for x_t = alpha x1 + sigma x0 and x1 ~ sum_k pi_k N(mu_k, s_k^2 I),
//   w_k(x)    proportional to pi_k N(x; alpha mu_k, v_k^2 I),   v_k^2 = alpha^2 s_k^2 + sigma^2
//   E[x1 | x] = sum_k w_k (mu_k + alpha s_k^2 (x - alpha mu_k) / v_k^2)
//   E[x0 | x] = sum_k w_k sigma (x - alpha mu_k) / v_k^2
//   score     = -sum_k w_k (x - alpha mu_k) / v_k^2
//   velocity  = alpha' E[x1 | x] + sigma' E[x0 | x]   (sigma sigma' taken as its limit where sigma' is infinite)
import { tf, type Tensor } from '../../../core/tf';
import type { PathModel } from '../../../core/path/model';
import type { PredictionType } from '../../../core/path/convert';
import type { Scheduler } from '../../../core/path/scheduler';
import type { Mixture } from '../oracle/reference';

/** The exact posterior quantities of the mixture's path at (x, t), float64 rows [n * d]. */
export function posterior(
  m: Mixture,
  s: Scheduler,
  x: ArrayLike<number>,
  t: number,
): { x1: Float64Array; x0: Float64Array; score: Float64Array; velocity: Float64Array } {
  const d = m.means[0]!.length;
  const n = x.length / d;
  const { alpha, sigma, dAlpha, dSigma } = s.coeffs(t);
  let sds = sigma * dSigma;
  if (!Number.isFinite(sds)) {
    const c = s.coeffs(t - 1e-9);
    sds = c.sigma * c.dSigma;
  }
  const K = m.weights.length;
  const out = {
    x1: new Float64Array(n * d),
    x0: new Float64Array(n * d),
    score: new Float64Array(n * d),
    velocity: new Float64Array(n * d),
  };
  const logw = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let k = 0; k < K; k++) {
      const v2 = alpha * alpha * m.stds[k]! ** 2 + sigma * sigma;
      let r2 = 0;
      for (let j = 0; j < d; j++) r2 += (x[i * d + j]! - alpha * m.means[k]![j]!) ** 2;
      logw[k] = Math.log(m.weights[k]!) - 0.5 * d * Math.log(v2) - r2 / (2 * v2);
      mx = Math.max(mx, logw[k]!);
    }
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(logw[k]! - mx);
    for (let k = 0; k < K; k++) {
      const w = Math.exp(logw[k]! - mx) / z;
      const s2 = m.stds[k]! ** 2;
      const v2 = alpha * alpha * s2 + sigma * sigma;
      for (let j = 0; j < d; j++) {
        const r = x[i * d + j]! - alpha * m.means[k]![j]!;
        const e1 = m.means[k]![j]! + (alpha * s2 * r) / v2;
        out.x1[i * d + j]! += w * e1;
        out.x0[i * d + j]! += (w * sigma * r) / v2;
        out.score[i * d + j]! -= (w * r) / v2;
        out.velocity[i * d + j]! += w * (dAlpha * e1 + (sds * r) / v2);
      }
    }
  }
  return out;
}

/** The mixture's exact model predicting `prediction` under `scheduler`, counting its calls. */
export function gmmModel(m: Mixture, scheduler: Scheduler, prediction: PredictionType): PathModel & { calls: number[] } {
  const calls: number[] = [];
  const key = prediction === 'eps' ? 'x0' : prediction;
  return {
    prediction,
    scheduler,
    calls,
    predict: (x: Tensor, t: number): Tensor => {
      calls.push(t);
      const p = posterior(m, scheduler, x.dataSync(), t)[key];
      return tf.tensor(Float32Array.from(p), x.shape, 'float32');
    },
  };
}

/** n points of the path's marginal at t: alpha x1 + sigma x0 (host float64, then float32). */
export function marginalPoints(s: Scheduler, t: number, x1: Float64Array, x0: Float64Array): Float32Array {
  const { alpha, sigma } = s.coeffs(t);
  return Float32Array.from(x1, (v, i) => alpha * v + sigma * x0[i]!);
}
