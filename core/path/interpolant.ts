/**
 * Stochastic interpolant / Schrodinger-bridge conditional flow matching (torchcfm's SB-CFM), on the
 * CondOT path (alpha_t = t, sigma_t = 1 - t) with a Brownian-bridge noise term:
 *
 *   x_t = t x1 + (1 - t) x0 + gamma_t eps,   gamma_t = s sqrt(t (1 - t)),   eps ~ N(0, I)
 *   u_t = x1 - x0 + dGamma_t eps,            dGamma_t = s (1 - 2t) / (2 sqrt(t (1 - t)))
 *
 * torchcfm writes the same velocity through x_t instead of eps (`interpolantVelocityFromXt`):
 *   u_t = (1 - 2t) / (2 t (1 - t)) (x_t - t x1 - (1 - t) x0) + x1 - x0,
 * which agrees because x_t - t x1 - (1 - t) x0 = gamma_t eps and gamma_t (1 - 2t) / (2 t (1 - t)) = dGamma_t.
 * We compute from eps: it avoids the cancellation in x_t - mu_t when gamma_t is small.
 *
 * With s = 0 this is I-CFM (the first rectified flow). Pair it with an entropic OT coupling of
 * regularisation 2 s^2 to train a Schrodinger bridge. For s > 0, dGamma is infinite at t = 0 and t = 1,
 * so times must lie strictly inside (0, 1) (torchcfm would return NaN there).
 */
import { tf, type Tensor } from '../tf';
import { ConfigError } from '../errors';
import type { Rng } from '../util/random';
import { checkBatched, checkSameShape, checkTime, checkTimes, column } from './batch';

/** gamma_t = s sqrt(t (1 - t)) and its derivative dGamma_t = s (1 - 2t) / (2 sqrt(t (1 - t))), float64. */
export function bridgeNoise(t: number, s: number): { gamma: number; dGamma: number } {
  checkNoiseScale(s);
  checkTime(t);
  if (s === 0) return { gamma: 0, dGamma: 0 };
  const r = Math.sqrt(t * (1 - t));
  return { gamma: s * r, dGamma: r === 0 ? (t === 0 ? Infinity : -Infinity) : (s * (1 - 2 * t)) / (2 * r) };
}

/** One draw of the interpolant. All tensors are new; the caller disposes them (`disposeInterpolantSample`). */
export interface InterpolantSample {
  /** x_t = t x1 + (1 - t) x0 + gamma_t eps, shape of x0. */
  readonly xt: Tensor;
  /** The bridge noise eps ~ N(0, I), shape of x0. */
  readonly eps: Tensor;
  /** u_t = x1 - x0 + dGamma_t eps, shape of x0. */
  readonly velocityTarget: Tensor;
  /** gamma_t per sample, [B, 1, ..., 1]. */
  readonly gamma: Tensor;
}

/** Disposes every tensor of an InterpolantSample. */
export function disposeInterpolantSample(p: InterpolantSample): void {
  tf.dispose([p.xt, p.eps, p.velocityTarget, p.gamma]);
}

function checkNoiseScale(s: number): void {
  if (!(s >= 0 && Number.isFinite(s))) throw new ConfigError('interpolant.s', `must be a finite number >= 0, got ${s}`);
}

/** Per-sample gamma and dGamma, checking t is inside (0, 1) whenever s > 0. */
function bridgeColumns(times: Float64Array, s: number): { gamma: Float64Array; dGamma: Float64Array } {
  const gamma = new Float64Array(times.length);
  const dGamma = new Float64Array(times.length);
  for (let i = 0; i < times.length; i++) {
    const ti = times[i]!;
    if (s > 0 && (ti === 0 || ti === 1)) {
      throw new ConfigError(
        `t[${i}]`,
        `must be inside (0, 1) for a bridge with s=${s}: dGamma_t = s (1 - 2t) / (2 sqrt(t (1 - t))) is infinite at t=${ti}`,
      );
    }
    const g = bridgeNoise(ti, s);
    gamma[i] = g.gamma;
    dGamma[i] = g.dGamma;
  }
  return { gamma, dGamma };
}

/**
 * The interpolant at given noise eps (deterministic; `sampleInterpolant` draws eps for you).
 *
 * @param x0  [B, ...dims] source samples.
 * @param x1  [B, ...dims] target samples (shape of x0).
 * @param eps [B, ...dims] bridge noise (shape of x0).
 * @param t   B times; inside (0, 1) when s > 0, in [0, 1] when s = 0.
 * @param s   the bridge noise scale (torchcfm's `sigma`), >= 0.
 * @returns xt, velocityTarget and gamma (eps is returned as a clone, so the result owns all its tensors).
 * @throws ShapeError on shape/length mismatch; ConfigError for s < 0 ("interpolant.s") or t at an end ("t[i]").
 */
export function interpolantAt(x0: Tensor, x1: Tensor, eps: Tensor, t: ArrayLike<number>, s: number): InterpolantSample {
  checkNoiseScale(s);
  const batch = checkBatched(x0, 'x0');
  checkSameShape(x1, 'x1', x0, 'x0');
  checkSameShape(eps, 'eps', x0, 'x0');
  const times = checkTimes(t, batch);
  const { gamma, dGamma } = bridgeColumns(times, s);
  const rank = x0.rank;
  const g = column(gamma, rank);
  const [xt, velocityTarget] = tf.tidy(() => {
    const tc = column(times, rank);
    const mu = tf.add(tf.mul(tc, x1), tf.mul(tf.sub(1, tc), x0));
    const straight = tf.sub(x1, x0);
    if (s === 0) return [mu, straight];
    return [tf.add(mu, tf.mul(g, eps)), tf.add(straight, tf.mul(column(dGamma, rank), eps))];
  }) as [Tensor, Tensor];
  return { xt, eps: eps.clone(), velocityTarget, gamma: g };
}

/**
 * Draws the interpolant with eps ~ N(0, I) from a seeded Rng (reproducible on every backend).
 * Noise is drawn even when s = 0, so the Rng stream does not depend on s.
 *
 * @example
 *   const p = sampleInterpolant(x0, x1, tValues, 0.5, new Rng(7));
 *   ... loss on (p.xt, p.velocityTarget) ...
 *   disposeInterpolantSample(p);
 */
export function sampleInterpolant(x0: Tensor, x1: Tensor, t: ArrayLike<number>, s: number, rng: Rng): InterpolantSample {
  checkNoiseScale(s);
  checkBatched(x0, 'x0');
  const eps = tf.tensor(rng.normals(x0.size), x0.shape, 'float32');
  try {
    return interpolantAt(x0, x1, eps, t, s);
  } finally {
    eps.dispose();
  }
}

/**
 * torchcfm's form of the conditional velocity, from x_t instead of eps:
 *
 *   u_t = (1 - 2t) / (2 t (1 - t)) (x_t - t x1 - (1 - t) x0) + x1 - x0
 *
 * Useful when only x_t is at hand. Shapes: all [B, ...dims]; t one per sample, inside (0, 1) when s > 0
 * (s only decides whether the ends are allowed: with s = 0, x_t = mu_t and the first term vanishes).
 */
export function interpolantVelocityFromXt(xt: Tensor, x0: Tensor, x1: Tensor, t: ArrayLike<number>, s: number): Tensor {
  checkNoiseScale(s);
  const batch = checkBatched(xt, 'xt');
  checkSameShape(x0, 'x0', xt, 'xt');
  checkSameShape(x1, 'x1', xt, 'xt');
  const times = checkTimes(t, batch);
  bridgeColumns(times, s); // the same end-point checks as the sampler
  const k = times.map((ti) => (s === 0 ? 0 : (1 - 2 * ti) / (2 * ti * (1 - ti))));
  return tf.tidy(() => {
    const tc = column(times, xt.rank);
    const mu = tf.add(tf.mul(tc, x1), tf.mul(tf.sub(1, tc), x0));
    return tf.add(tf.mul(column(k, xt.rank), tf.sub(xt, mu)), tf.sub(x1, x0));
  });
}
