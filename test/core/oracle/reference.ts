/**
 * Independent float64 host references for the Gaussian-mixture tests (oracle, likelihood, inversion).
 * Nothing here calls the code under test: samples, densities and distances are computed from the
 * mixture's definition with plain loops.
 */
import { Rng } from '../../../core/util/random';

export interface Mixture {
  weights: number[];
  means: number[][];
  stds: number[];
}

/** The 8-gaussians toy: equal weights, means 5 (cos k pi/4, sin k pi/4), std 0.3. */
export const EIGHT_GAUSSIANS: Mixture = {
  weights: Array.from({ length: 8 }, () => 1 / 8),
  means: Array.from({ length: 8 }, (_, k) => [5 * Math.cos((k * Math.PI) / 4), 5 * Math.sin((k * Math.PI) / 4)]),
  stds: Array.from({ length: 8 }, () => 0.3),
};

/** A random mixture of K components in d dims (weights, means in [-3, 3], stds in [0.3, 1]). */
export function randomMixture(K: number, d: number, seed: number): Mixture {
  const rng = new Rng(seed);
  const raw = Array.from({ length: K }, () => 0.2 + rng.uniform());
  const total = raw.reduce((a, b) => a + b, 0);
  return {
    weights: raw.map((w) => w / total),
    means: Array.from({ length: K }, () => Array.from({ length: d }, () => 6 * rng.uniform() - 3)),
    stds: Array.from({ length: K }, () => 0.3 + 0.7 * rng.uniform()),
  };
}

/** n samples of the mixture, row-major [n, d], float64. */
export function sampleMixture(m: Mixture, n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const d = m.means[0]!.length;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const k = rng.categorical(m.weights);
    for (let j = 0; j < d; j++) out[i * d + j] = m.means[k]![j]! + m.stds[k]! * rng.normal();
  }
  return out;
}

/** log of sum_k pi_k N(x; a mu_k, (a^2 s_k^2 + b^2) I) per row of x [n, d]: the path's marginal. */
export function mixtureLogDensity(m: Mixture, x: ArrayLike<number>, alpha = 1, sigma = 0): Float64Array {
  const d = m.means[0]!.length;
  const n = x.length / d;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const terms = m.weights.map((w, k) => {
      const v2 = alpha * alpha * m.stds[k]! ** 2 + sigma * sigma;
      let r2 = 0;
      for (let j = 0; j < d; j++) r2 += (x[i * d + j]! - alpha * m.means[k]![j]!) ** 2;
      return Math.log(w) - 0.5 * d * Math.log(2 * Math.PI * v2) - r2 / (2 * v2);
    });
    const mx = Math.max(...terms);
    out[i] = mx + Math.log(terms.reduce((a, b) => a + Math.exp(b - mx), 0));
  }
  return out;
}
