/**
 * Isotropic Gaussian mixtures: p(x) = sum_k pi_k N(x; mu_k, s_k^2 I) in d dimensions.
 *
 * The one target family whose flow is known in closed form under every affine path (see
 * core/oracle), so it is both a dataset and the strongest test reference. The description is plain
 * JSON, so it can be stored with a run and edited in the UI.
 */
import { ConfigError } from '../errors';
import { Rng } from '../util/random';

/** A mixture of K isotropic Gaussians in d dimensions. */
export interface GaussianMixture {
  /** Mixing weights pi_k >= 0 (K entries). Validation normalises them to sum 1. */
  weights: number[];
  /** Component means mu_k (K rows of d coordinates). */
  means: number[][];
  /** Component standard deviations s_k > 0 (K entries); covariance s_k^2 I. */
  stds: number[];
}

export interface ValidateMixtureOptions {
  /**
   * true (default): weights need only be proportional; they are divided by their sum.
   * false: weights must already sum to 1 within 1e-6 (for descriptions that claim to be normalised).
   */
  normalize?: boolean;
}

/**
 * Checks a mixture and returns a normalised deep copy (the input is not modified).
 *
 * Rules: at least one component; weights finite and >= 0 with a positive sum, summing to 1 within
 * 1e-6 after normalisation; every mean has the same dimension d >= 1 and finite coordinates; stds
 * finite and > 0; lengths of weights, means and stds agree. Each failure is a ConfigError naming the
 * field under `field`, e.g. 'gmm.means[3]' or 'gmm.stds[0]'.
 *
 * @param field Dotted name of the mixture in the caller's configuration (default 'gmm').
 */
export function validateGaussianMixture(gmm: GaussianMixture, field = 'gmm', opts: ValidateMixtureOptions = {}): GaussianMixture {
  if (typeof gmm !== 'object' || gmm === null) throw new ConfigError(field, 'must be an object { weights, means, stds }');
  const { weights, means, stds } = gmm;
  if (!Array.isArray(weights)) throw new ConfigError(`${field}.weights`, 'must be an array of numbers');
  if (!Array.isArray(means)) throw new ConfigError(`${field}.means`, 'must be an array of mean vectors');
  if (!Array.isArray(stds)) throw new ConfigError(`${field}.stds`, 'must be an array of numbers');
  const K = weights.length;
  if (K < 1) throw new ConfigError(`${field}.weights`, 'needs at least one component');
  if (means.length !== K) throw new ConfigError(`${field}.means`, `has ${means.length} entries but weights has ${K}`);
  if (stds.length !== K) throw new ConfigError(`${field}.stds`, `has ${stds.length} entries but weights has ${K}`);

  let total = 0;
  for (let k = 0; k < K; k++) {
    const w = weights[k];
    if (typeof w !== 'number' || !(w >= 0 && Number.isFinite(w))) {
      throw new ConfigError(`${field}.weights[${k}]`, `must be a finite number >= 0, got ${String(w)}`);
    }
    total += w;
  }
  if (!(total > 0 && Number.isFinite(total))) throw new ConfigError(`${field}.weights`, `must have a positive finite sum, got ${total}`);
  if (opts.normalize === false && Math.abs(total - 1) > 1e-6) {
    throw new ConfigError(`${field}.weights`, `must sum to 1 within 1e-6, got ${total}`);
  }
  const pi = weights.map((w) => w / total);
  const check = pi.reduce((a, b) => a + b, 0);
  // The invariant consumers (the oracle's log-sum-exp) rely on; only rounding could break it here.
  if (Math.abs(check - 1) > 1e-6) throw new ConfigError(`${field}.weights`, `do not sum to 1 after normalisation (${check})`);

  const first = means[0];
  if (!Array.isArray(first)) throw new ConfigError(`${field}.means[0]`, 'must be an array of coordinates');
  const d = first.length;
  if (d < 1) throw new ConfigError(`${field}.means[0]`, 'must have at least one coordinate');
  const mu: number[][] = [];
  for (let k = 0; k < K; k++) {
    const m = means[k];
    if (!Array.isArray(m)) throw new ConfigError(`${field}.means[${k}]`, 'must be an array of coordinates');
    if (m.length !== d) throw new ConfigError(`${field}.means[${k}]`, `has ${m.length} coordinates, expected ${d} (as means[0])`);
    for (let j = 0; j < d; j++) {
      const v = m[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new ConfigError(`${field}.means[${k}][${j}]`, `must be a finite number, got ${String(v)}`);
      }
    }
    mu.push([...m]);
  }
  for (let k = 0; k < K; k++) {
    const s = stds[k];
    if (typeof s !== 'number' || !(s > 0 && Number.isFinite(s))) {
      throw new ConfigError(`${field}.stds[${k}]`, `must be a finite number > 0, got ${String(s)}`);
    }
  }
  return { weights: pi, means: mu, stds: [...stds] };
}

/** Dimension d of a (valid) mixture. */
export function mixtureDim(gmm: GaussianMixture): number {
  return gmm.means[0]?.length ?? 0;
}

/** Samples of a mixture with the component each came from. */
export interface MixtureSamples {
  /** Row-major [n, d]. */
  readonly points: Float32Array;
  /** Component index of each sample (length n). */
  readonly components: Int32Array;
  readonly dim: number;
}

/**
 * Draws n samples: k ~ Categorical(pi), then x = mu_k + s_k z with z ~ N(0, I). Deterministic in
 * the seed (or advances the given Rng), identical on every backend.
 */
export function sampleGaussianMixture(gmm: GaussianMixture, n: number, seed: number | Rng): MixtureSamples {
  if (!(Number.isInteger(n) && n >= 0)) throw new ConfigError('n', `must be a non-negative integer, got ${n}`);
  const g = validateGaussianMixture(gmm);
  const rng = typeof seed === 'number' ? new Rng(seed) : seed;
  const d = mixtureDim(g);
  const K = g.weights.length;
  const cdf = new Float64Array(K);
  let acc = 0;
  for (let k = 0; k < K; k++) {
    acc += g.weights[k]!;
    cdf[k] = acc;
  }
  const points = new Float32Array(n * d);
  const components = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform() * acc;
    let lo = 0;
    let hi = K - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    components[i] = lo;
    const mu = g.means[lo]!;
    const s = g.stds[lo]!;
    for (let j = 0; j < d; j++) points[i * d + j] = mu[j]! + s * rng.normal();
  }
  return { points, components, dim: d };
}

/**
 * Exact first two moments of a mixture:
 *   mean = sum_k pi_k mu_k,
 *   cov  = sum_k pi_k (s_k^2 I + mu_k mu_k^T) - mean mean^T.
 */
export function mixtureMoments(gmm: GaussianMixture): { mean: number[]; cov: number[][] } {
  const g = validateGaussianMixture(gmm);
  const d = mixtureDim(g);
  const mean = new Array<number>(d).fill(0);
  const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  g.weights.forEach((w, k) => {
    const mu = g.means[k]!;
    const s2 = g.stds[k]! ** 2;
    for (let a = 0; a < d; a++) {
      mean[a] = mean[a]! + w * mu[a]!;
      const row = cov[a]!;
      for (let b = 0; b < d; b++) row[b] = row[b]! + w * (mu[a]! * mu[b]! + (a === b ? s2 : 0));
    }
  });
  for (let a = 0; a < d; a++) {
    const row = cov[a]!;
    for (let b = 0; b < d; b++) row[b] = row[b]! - mean[a]! * mean[b]!;
  }
  return { mean, cov };
}
