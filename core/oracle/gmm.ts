/**
 * Analytic flows for Gaussian-mixture targets: the exact marginal velocity, log-density, score and
 * divergence of the probability path of sum_k pi_k N(mu_k, s_k^2 I) under any affine scheduler.
 *
 * Convention (docs/conventions.md, "Time"): noise x0 ~ N(0, I) at t = 0, data x1 at t = 1,
 * x_t = alpha_t x1 + sigma_t x0. With isotropic components, every marginal is again a mixture:
 *
 *   p_t(x)   = sum_k pi_k N(x; alpha mu_k, v_k^2 I),           v_k^2 = alpha^2 s_k^2 + sigma^2
 *   w_k(x)   = pi_k N(x; alpha mu_k, v_k^2 I) / p_t(x)          (posterior component weights)
 *   u_t(x)   = sum_k w_k m_k,   m_k = alpha' mu_k + c_k (x - alpha mu_k),
 *              c_k = (alpha alpha' s_k^2 + sigma sigma') / v_k^2
 *   score(x) = sum_k w_k g_k,   g_k = -(x - alpha mu_k) / v_k^2
 *   div u    = d sum_k w_k c_k + sum_k w_k (g_k - score) . (m_k - u)
 *
 * The divergence follows from grad w_k = w_k (g_k - score): div u = sum_k w_k c_k d +
 * sum_k w_k g_k . m_k - score . u, which equals the covariance form above. That form is used because
 * it has no cancellation when one component dominates (then g_k - score and m_k - u are both ~0 for
 * the dominant k), which is the usual case near the data end.
 *
 * These formulas, and the tests that check them, are in docs/formulas.md, "Gaussian-mixture oracle".
 *
 * Why an oracle: it is the strongest reference the project has. It is a plain VelocityField plus
 * extras, so every sampler, likelihood and inversion routine can be run on it and checked against
 * `logDensity` and the mixture itself.
 *
 * Precision: scheduler coefficients and per-component constants are computed in float64 on the host;
 * the per-point work runs in float32 tensors (and is differentiable, so autodiff checks apply).
 */
import { tf, type Tensor } from '../tf';
import type { VelocityField } from '../field';
import { ConfigError, checkShape } from '../errors';
import type { Scheduler, SchedulerSpec } from '../path/scheduler';
import { sampleGaussianMixture, validateGaussianMixture, type GaussianMixture } from '../data/mixture';

/** Serialisable description of an oracle: the mixture and the scheduler's spec. */
export interface GmmOracleSpec {
  readonly kind: 'gmm-oracle';
  readonly mixture: GaussianMixture;
  readonly scheduler: SchedulerSpec;
}

/**
 * The exact flow of a Gaussian mixture under one scheduler. All tensor functions accept x of shape
 * [batch, d] or [batch, ...dims] with prod(dims) = d (images [B, H, W, C] are flattened per row), never
 * dispose their inputs and return new tensors the caller owns.
 */
export interface GmmOracle {
  /** u_t(x), shape of x. `cond` is ignored (the oracle is unconditional). Differentiable in x. */
  readonly velocity: VelocityField;
  /** log p_t(x) per row, shape [batch]. Differentiable in x. */
  logDensity(x: Tensor, t: number): Tensor;
  /** grad_x log p_t(x), shape of x. */
  score(x: Tensor, t: number): Tensor;
  /** div_x u_t(x) in closed form, shape [batch]. */
  divergence(x: Tensor, t: number): Tensor;
  /**
   * n independent samples of the target p_1 (the mixture), shape [n, d], or [n, ...shape] when
   * `shape` (with prod(shape) = d) is given. Reproducible from `seed` alone (host Rng).
   */
  sample(n: number, seed: number, shape?: number[]): Tensor;
  /** Dimension d of one sample. */
  readonly dim: number;
  readonly spec: GmmOracleSpec;
}

/** Coefficients of the oracle at one time: computed in float64, stored as float32 for upload. */
interface TimeCoeffs {
  /** alpha mu_k, flattened [K * d]. */
  readonly alphaMu: Float32Array;
  /** alpha' mu_k, flattened [K * d]. */
  readonly dAlphaMu: Float32Array;
  /** c_k. */
  readonly c: Float32Array;
  /** log pi_k - d/2 log(2 pi v_k^2). */
  readonly logConst: Float32Array;
  /** 1 / v_k^2. */
  readonly invVar: Float32Array;
}

/**
 * Builds the exact oracle of `gmm` under `scheduler`.
 *
 * Robust at both ends: at alpha = 0 (t = 0) all components share N(0, sigma^2 I); at sigma = 0 (t = 1)
 * v_k = s_k > 0. Where a scheduler's sigma' is infinite at sigma = 0 (VP, linear-VP at t = 1), only the
 * finite product sigma sigma' = d/dt (sigma^2 / 2) enters, and it is taken as the limit from inside
 * the interval. Times where alpha' itself is infinite (polynomial with n < 1 at t = 0) have no finite
 * velocity and throw.
 *
 * @example
 * const oracle = gmmOracle({ weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], stds: [0.5, 0.5] }, condOT());
 * const v = oracle.velocity(x, 0.3);        // x [B, 2] -> v [B, 2]
 * const lp = oracle.logDensity(x, 1);       // [B], exact log-density of the mixture
 */
export function gmmOracle(gmm: GaussianMixture, scheduler: Scheduler): GmmOracle {
  // Validated, weights normalised to sum 1 (they need only be proportional); errors name 'gmm.*'.
  const mix = validateGaussianMixture(gmm);
  const { weights: pi, means, stds } = mix;
  const K = pi.length;
  const d = means[0]!.length;
  const logPi = pi.map((p) => Math.log(p));
  const s2 = stds.map((s) => s * s);

  // Coefficients depend only on t; solvers revisit the same few times (grid points, stages), so a
  // small cache saves recomputing K * d host values per call.
  const cache = new Map<number, TimeCoeffs>();
  const coeffsAt = (t: number): TimeCoeffs => {
    const hit = cache.get(t);
    if (hit) return hit;
    const { alpha, sigma, dAlpha, sigmaDSigma } = pathCoeffs(scheduler, t);
    const alphaMu = new Float32Array(K * d);
    const dAlphaMu = new Float32Array(K * d);
    const c = new Float32Array(K);
    const logConst = new Float32Array(K);
    const invVar = new Float32Array(K);
    for (let k = 0; k < K; k++) {
      const mu = means[k]!;
      for (let j = 0; j < d; j++) {
        alphaMu[k * d + j] = alpha * mu[j]!;
        dAlphaMu[k * d + j] = dAlpha * mu[j]!;
      }
      const v2 = alpha * alpha * s2[k]! + sigma * sigma;
      c[k] = (alpha * dAlpha * s2[k]! + sigmaDSigma) / v2;
      logConst[k] = logPi[k]! - 0.5 * d * Math.log(2 * Math.PI * v2);
      invVar[k] = 1 / v2;
    }
    const out: TimeCoeffs = { alphaMu, dAlphaMu, c, logConst, invVar };
    if (cache.size > 256) cache.clear();
    cache.set(t, out);
    return out;
  };

  /** Rows of x as [B, d] (checked), and the pieces every quantity shares. Call inside tidy. */
  const common = (x: Tensor, t: number, what: string) => {
    checkShape(
      x.rank >= 2,
      () => `${what}: x must have shape [batch, ${d}] or [batch, ...dims] with ${d} values per row. Got [${x.shape.join(', ')}]`,
    );
    const B = x.shape[0]!;
    checkShape(
      x.size === B * d,
      () => `${what}: x must have ${d} values per row (the mixture's dimension). Got shape [${x.shape.join(', ')}]`,
    );
    checkTime(t, what);
    const co = coeffsAt(t);
    const rows = tf.reshape(x, [B, 1, d]);
    // diff_k = x - alpha mu_k, [B, K, d]: the direct difference (not |x|^2 - 2 alpha x.mu + ...)
    // keeps full float32 accuracy when x sits close to a component mean.
    const diff = tf.sub(rows, tf.tensor3d(co.alphaMu, [1, K, d]));
    const dist2 = tf.sum(tf.square(diff), -1); // [B, K]
    const logits = tf.sub(tf.tensor1d(co.logConst), tf.mul(dist2, tf.tensor1d(co.invVar.map((iv) => 0.5 * iv))));
    return { B, co, diff, logits };
  };

  const velocityRows = (diff: Tensor, w: Tensor, co: TimeCoeffs): { m: Tensor; u: Tensor } => {
    // m_k = alpha' mu_k + c_k diff_k, u = sum_k w_k m_k
    const m = tf.add(tf.tensor3d(co.dAlphaMu, [1, K, d]), tf.mul(tf.tensor3d(co.c, [1, K, 1]), diff));
    const u = tf.sum(tf.mul(tf.expandDims(w, 2), m), 1);
    return { m, u };
  };

  const scoreRows = (diff: Tensor, w: Tensor, co: TimeCoeffs): { g: Tensor; score: Tensor } => {
    const g = tf.mul(
      diff,
      tf.tensor3d(
        co.invVar.map((iv) => -iv),
        [1, K, 1],
      ),
    );
    const score = tf.sum(tf.mul(tf.expandDims(w, 2), g), 1);
    return { g, score };
  };

  const velocity: VelocityField = (x, t) =>
    tf.tidy(() => {
      const { diff, logits, co } = common(x, t, 'gmmOracle.velocity');
      const w = tf.softmax(logits); // stable: subtracts the row max
      return tf.reshape(velocityRows(diff, w, co).u, x.shape);
    });

  const logDensity = (x: Tensor, t: number): Tensor => tf.tidy(() => tf.logSumExp(common(x, t, 'gmmOracle.logDensity').logits, 1));

  const score = (x: Tensor, t: number): Tensor =>
    tf.tidy(() => {
      const { diff, logits, co } = common(x, t, 'gmmOracle.score');
      return tf.reshape(scoreRows(diff, tf.softmax(logits), co).score, x.shape);
    });

  const divergence = (x: Tensor, t: number): Tensor =>
    tf.tidy(() => {
      const { diff, logits, co } = common(x, t, 'gmmOracle.divergence');
      const w = tf.softmax(logits);
      const { m, u } = velocityRows(diff, w, co);
      const { g, score: sc } = scoreRows(diff, w, co);
      const trace = tf.mul(d, tf.sum(tf.mul(w, tf.tensor1d(co.c)), 1)); // d sum_k w_k c_k
      const cov = tf.sum(tf.mul(w, tf.sum(tf.mul(tf.sub(g, tf.expandDims(sc, 1)), tf.sub(m, tf.expandDims(u, 1))), -1)), 1);
      return tf.add(trace, cov);
    });

  const sample = (n: number, seed: number, shape?: number[]): Tensor => {
    const outShape = shape ?? [d];
    checkShape(
      outShape.reduce((a, b) => a * b, 1) === d,
      () => `gmmOracle.sample: shape [${outShape.join(', ')}] must hold ${d} values (the mixture's dimension)`,
    );
    // The shared seeded sampler of core/data, so oracle samples equal the dataset's for one seed.
    return tf.tensor(sampleGaussianMixture(mix, n, seed).points, [n, ...outShape]);
  };

  return {
    velocity,
    logDensity,
    score,
    divergence,
    sample,
    dim: d,
    spec: { kind: 'gmm-oracle', mixture: mix, scheduler: scheduler.spec },
  };
}

/**
 * alpha, sigma, alpha' and the product sigma sigma' at t, with the product taken as a limit where
 * sigma = 0 and sigma' is infinite (its value is d/dt (sigma^2 / 2), finite for every scheduler here).
 */
function pathCoeffs(scheduler: Scheduler, t: number): { alpha: number; sigma: number; dAlpha: number; sigmaDSigma: number } {
  const { alpha, sigma, dAlpha, dSigma } = scheduler.coeffs(t);
  let sigmaDSigma = sigma === 0 ? (Number.isFinite(dSigma) ? 0 : NaN) : sigma * dSigma;
  if (!Number.isFinite(sigmaDSigma)) {
    // One-sided limit from inside [0, 1]: the error is O(h) with h = 1e-9, far below float32.
    const h = 1e-9;
    const inner = scheduler.coeffs(t >= 0.5 ? t - h : t + h);
    sigmaDSigma = inner.sigma * inner.dSigma;
  }
  if (!Number.isFinite(alpha) || !Number.isFinite(sigma) || !Number.isFinite(dAlpha) || !Number.isFinite(sigmaDSigma)) {
    throw new ConfigError(
      't',
      `the path is singular at t = ${t} (alpha = ${alpha}, sigma = ${sigma}, dAlpha = ${dAlpha}, sigma*dSigma = ${sigmaDSigma}); evaluate the oracle strictly inside (0, 1)`,
    );
  }
  return { alpha, sigma, dAlpha, sigmaDSigma };
}

function checkTime(t: number, what: string): void {
  if (!(t >= 0 && t <= 1)) throw new ConfigError('t', `${what}: t must be in [0, 1], got ${t}`);
}
