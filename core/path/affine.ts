/**
 * The affine probability path of a scheduler, in Flow Studio's convention (noise x0 ~ N(0, I) at
 * t = 0, data x1 at t = 1):
 *
 *   x_t = alpha_t x1 + sigma_t x0,     u_t(x_t | x0, x1) = dAlpha_t x1 + dSigma_t x0.
 *
 * This is what a training step draws: for a batch of pairs (x0, x1) and one t per sample, the point
 * x_t and the regression target of the chosen prediction type. Coefficients are evaluated per sample
 * in float64 on the host (`scheduler.coeffs`) and uploaded as float32 columns [B, 1, ..., 1], so the
 * same code serves points [B, d] and images [B, H, W, C].
 */
import { tf, type Tensor } from '../tf';
import { ConfigError } from '../errors';
import type { Scheduler, SchedulerCoeffs } from './scheduler';
import { checkPredictionType, type PredictionType } from './convert';
import { checkBatched, checkSameShape, checkTime, checkTimes, column, describeSpec } from './batch';

/**
 * One draw of the path for a batch. All tensors are new; dispose them with `disposePathSample`
 * (or individually).
 */
export interface PathSample {
  /** x_t = alpha x1 + sigma x0, shape of x0 ([B, ...dims]). */
  readonly xt: Tensor;
  /** alpha_t per sample, [B, 1, ..., 1] (rank of x0): broadcasts against x. */
  readonly alpha: Tensor;
  /** sigma_t per sample, [B, 1, ..., 1]. */
  readonly sigma: Tensor;
  /** d alpha_t / dt per sample, [B, 1, ..., 1]. */
  readonly dAlpha: Tensor;
  /** d sigma_t / dt per sample, [B, 1, ..., 1]. */
  readonly dSigma: Tensor;
  /** The conditional velocity dAlpha x1 + dSigma x0, shape of x0. */
  readonly velocityTarget: Tensor;
  /** The float64 host values the coefficient tensors were uploaded from, one per sample. */
  readonly coeffs: readonly SchedulerCoeffs[];
  /** The times, float64, one per sample. */
  readonly t: Float64Array;
}

/** Disposes every tensor of a PathSample. */
export function disposePathSample(p: PathSample): void {
  tf.dispose([p.xt, p.alpha, p.sigma, p.dAlpha, p.dSigma, p.velocityTarget]);
}

/**
 * Draws x_t on the scheduler's path for given endpoints and times.
 *
 *   x_t = alpha_t x1 + sigma_t x0,   velocityTarget = dAlpha_t x1 + dSigma_t x0
 *
 * @param x0 [B, ...dims] noise samples (N(0, I) for every scheduler but VE, whose source is scaled).
 * @param x1 [B, ...dims] data samples, shape of x0.
 * @param t  B times in [0, 1], one per sample.
 * @throws ShapeError "x1 must have the shape of x0 [B,2]. Got [..]", "t must have length batch_size=B. Got n";
 *   ConfigError (field "t[i]") for a time outside [0, 1], or where the scheduler's derivative is not
 *   finite (polynomial n < 1 at t = 0; VP and linear-VP at t = 1), since the velocity target is then infinite.
 *
 * @example
 *   const p = samplePath(condOT(), x0, x1, tValues);
 *   const loss = tf.losses.meanSquaredError(p.velocityTarget, model(p.xt, tTensor));
 *   disposePathSample(p);
 */
export function samplePath(scheduler: Scheduler, x0: Tensor, x1: Tensor, t: ArrayLike<number>): PathSample {
  const batch = checkBatched(x0, 'x0');
  checkSameShape(x1, 'x1', x0, 'x0');
  const times = checkTimes(t, batch);
  const coeffs: SchedulerCoeffs[] = [];
  const alpha = new Float64Array(batch);
  const sigma = new Float64Array(batch);
  const dAlpha = new Float64Array(batch);
  const dSigma = new Float64Array(batch);
  for (let i = 0; i < batch; i++) {
    const c = scheduler.coeffs(times[i]!);
    if (![c.alpha, c.sigma, c.dAlpha, c.dSigma].every(Number.isFinite)) {
      throw new ConfigError(
        `t[${i}]`,
        `scheduler ${describeSpec(scheduler.spec)} is singular at t=${times[i]} (alpha=${c.alpha}, sigma=${c.sigma}, ` +
          `dAlpha=${c.dAlpha}, dSigma=${c.dSigma}), so the velocity target is infinite; sample t inside (0, 1)`,
      );
    }
    coeffs.push(c);
    alpha[i] = c.alpha;
    sigma[i] = c.sigma;
    dAlpha[i] = c.dAlpha;
    dSigma[i] = c.dSigma;
  }
  const rank = x0.rank;
  const a = column(alpha, rank);
  const s = column(sigma, rank);
  const da = column(dAlpha, rank);
  const ds = column(dSigma, rank);
  const [xt, velocityTarget] = tf.tidy(() => [tf.add(tf.mul(a, x1), tf.mul(s, x0)), tf.add(tf.mul(da, x1), tf.mul(ds, x0))]) as [
    Tensor,
    Tensor,
  ];
  return { xt, alpha: a, sigma: s, dAlpha: da, dSigma: ds, velocityTarget, coeffs, t: times };
}

/**
 * The conditional regression target of a prediction type for a drawn path sample:
 *
 *   'velocity' -> dAlpha x1 + dSigma x0     'eps' -> x0
 *   'x1'       -> x1                        'score' -> -x0 / sigma  (grad_x log N(x; alpha x1, sigma^2 I) at x_t)
 *
 * @param path the sample drawn by `samplePath` from the same x0 and x1.
 * @returns a new tensor of x0's shape.
 * @throws ShapeError when x0/x1 do not match path.xt; ConfigError (field "t[i]") for 'score' where sigma_t = 0.
 */
export function target(kind: PredictionType, path: PathSample, x0: Tensor, x1: Tensor): Tensor {
  checkPredictionType(kind, 'kind');
  checkSameShape(x0, 'x0', path.xt, 'path.xt');
  checkSameShape(x1, 'x1', path.xt, 'path.xt');
  switch (kind) {
    case 'velocity':
      return path.velocityTarget.clone();
    case 'eps':
      return x0.clone();
    case 'x1':
      return x1.clone();
    case 'score': {
      const inv = new Float64Array(path.coeffs.length);
      path.coeffs.forEach((c, i) => {
        if (c.sigma === 0) throw new ConfigError(`t[${i}]`, `sigma_t = 0 at t=${path.t[i]}: the score target -x0/sigma is undefined there`);
        inv[i] = -1 / c.sigma;
      });
      return tf.tidy(() => tf.mul(x0, column(inv, x0.rank)));
    }
  }
}

/**
 * The conditional Gaussian velocity field of the path towards one data point x1:
 *
 *   u_t(x | x1) = (dAlpha - dSigma alpha / sigma) x1 + (dSigma / sigma) x
 *
 * (the field whose flow carries N(0, sigma_0^2 I) to N(x1, sigma_t^2 I) along the path; at x = x_t it
 * equals dAlpha x1 + dSigma x0).
 *
 * @param x  [B, ...dims] points.
 * @param x1 [B, ...dims] data points, shape of x.
 * @param t  one time shared by the batch, or B times.
 * @throws ShapeError on shape/length mismatch; ConfigError (field "t" or "t[i]") where sigma_t = 0 or a
 *   coefficient is not finite (the field is singular there).
 */
export function conditionalVelocity(scheduler: Scheduler, x: Tensor, x1: Tensor, t: number | ArrayLike<number>): Tensor {
  const batch = checkBatched(x, 'x');
  checkSameShape(x1, 'x1', x, 'x');
  const times = typeof t === 'number' ? Float64Array.of(checkTime(t)) : checkTimes(t, batch);
  const a = new Float64Array(times.length);
  const b = new Float64Array(times.length);
  for (let i = 0; i < times.length; i++) {
    const c = scheduler.coeffs(times[i]!);
    const k = c.dSigma / c.sigma;
    a[i] = c.dAlpha - k * c.alpha;
    b[i] = k;
    if (!(Number.isFinite(a[i]!) && Number.isFinite(b[i]!))) {
      throw new ConfigError(
        typeof t === 'number' ? 't' : `t[${i}]`,
        `the conditional velocity of scheduler ${describeSpec(scheduler.spec)} is singular at t=${times[i]} ` +
          `(sigma=${c.sigma}, dSigma=${c.dSigma}); evaluate it inside (0, 1)`,
      );
    }
  }
  return tf.tidy(() => {
    const ca = typeof t === 'number' ? tf.scalar(a[0]!, 'float32') : column(a, x.rank);
    const cb = typeof t === 'number' ? tf.scalar(b[0]!, 'float32') : column(b, x.rank);
    return tf.add(tf.mul(x1, ca), tf.mul(x, cb));
  });
}
