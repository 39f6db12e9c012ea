/**
 * Changing the scheduler of a trained velocity field after training (flow_matching's
 * ScheduleTransformedModel), in Flow Studio's convention.
 *
 * Two affine paths with the same endpoints differ only by a time change and a scale: if scheduler B at
 * time r has the signal-to-noise ratio that A has at t_r,
 *
 *   alpha_B(r) / sigma_B(r) = alpha_A(t_r) / sigma_A(t_r),   s_r = sigma_B(r) / sigma_A(t_r) = alpha_B(r) / alpha_A(t_r),
 *
 * then x_B(r) = s_r x_A(t_r) for every pair (x0, x1), and differentiating in r gives B's velocity:
 *
 *   v_B(x, r) = (ds_r / s_r) x + s_r dt_r v_A(x / s_r, t_r).
 *
 * Closed forms (snr = alpha / sigma, snr' = (dAlpha sigma - alpha dSigma) / sigma^2):
 *   dt_r        = snr_B'(r) / snr_A'(t_r)                          (from snr_A(t_r) = snr_B(r))
 *   ds_r / s_r  = dSigma_B / sigma_B - dt_r dSigma_A / sigma_A    (from s_r = sigma_B / sigma_A)
 *              = dAlpha_B / alpha_B - dt_r dAlpha_A / alpha_A     (from s_r = alpha_B / alpha_A)
 *
 * End points. Near the data end sigma -> 0 and snr' -> Infinity, so where alpha > sigma we use the
 * inverse ratio rho = sigma / alpha instead: dt_r = rho_B'(r) / rho_A'(t_r) with
 * rho' = (dSigma alpha - sigma dAlpha) / alpha^2 (the same number wherever both are finite, as
 * snr_A(t_r) = snr_B(r)), together with the alpha forms of s_r and ds_r / s_r. Near the noise end we use
 * the sigma forms. This makes r = 0 and r = 1 exact for regular pairs (condot, cosine, polynomial
 * n >= 1 as B; e.g. condot -> cosine at r = 1 gives t = 1, s = 1, dt = pi/2). Where the transform is
 * genuinely singular — the result would be Inf or 0 * Inf (a target scheduler with an infinite
 * derivative at the end, such as VP or linear-VP at r = 1, or a source whose snr' vanishes, such as
 * polynomial n > 1 at t = 0), or B's snr lies outside A's range (VE, whose snr never reaches 0 or
 * Infinity) — it throws a SolverError naming r; evaluate slightly inside (0, 1) there.
 */
import { tf, type Tensor } from '../tf';
import { SolverError } from '../errors';
import type { VelocityField } from '../field';
import type { Scheduler, SchedulerCoeffs } from './scheduler';
import { checkTime, describeSpec } from './batch';

/** The time change and scale of the scheduler transform at one time r of the target scheduler. */
export interface ScheduleTransformCoeffs {
  /** r, the time of the target scheduler B. */
  readonly r: number;
  /** t_r = A.snrInverse(alpha_B(r) / sigma_B(r)), the time of the source scheduler A. */
  readonly t: number;
  /** s_r = sigma_B(r) / sigma_A(t_r) (= alpha_B(r) / alpha_A(t_r)). */
  readonly s: number;
  /** d t_r / d r. */
  readonly dt: number;
  /** (d s_r / d r) / s_r. */
  readonly dLogS: number;
}

/** Largest sine of the angle between (alpha_A, sigma_A)(t_r) and (alpha_B, sigma_B)(r) accepted as an snr match. */
const SNR_MATCH_TOL = 1e-7;

/**
 * The coefficients of the transform from scheduler `from` (A, the model's) to `to` (B) at time r, in
 * float64 (see the module comment for the formulas and the end-point rules).
 *
 * @throws ConfigError (field "r") when r is outside [0, 1]; SolverError where the transform is singular
 *   or B's signal-to-noise ratio at r is outside A's range.
 */
export function scheduleTransformCoeffs(from: Scheduler, to: Scheduler, r: number): ScheduleTransformCoeffs {
  checkTime(r, 'r');
  const name = `scheduler transform ${describeSpec(from.spec)} -> ${describeSpec(to.spec)} at r=${r}`;
  const b = to.coeffs(r);
  if (!(Number.isFinite(b.alpha) && Number.isFinite(b.sigma) && (b.alpha !== 0 || b.sigma !== 0))) {
    throw new SolverError(`${name}: target scheduler has alpha=${b.alpha}, sigma=${b.sigma} there`);
  }
  const snr = b.alpha / b.sigma; // +Infinity at the data end
  const t = from.snrInverse(snr);
  // t must be a time of A whose (alpha, sigma) points the same way as B's. The sine of the angle
  // between the two pairs is a well-conditioned test at every snr, including 0 and Infinity; it also
  // catches a snrInverse that clamps (VE) or runs past [0, 1] or to NaN outside A's range.
  const a = t >= 0 && t <= 1 ? from.coeffs(t) : undefined;
  const sinAngle =
    a === undefined ? NaN : Math.abs(a.alpha * b.sigma - b.alpha * a.sigma) / (Math.hypot(a.alpha, a.sigma) * Math.hypot(b.alpha, b.sigma));
  if (a === undefined || !(sinAngle <= SNR_MATCH_TOL)) {
    const lo = ratio(from.coeffs(0));
    const hi = ratio(from.coeffs(1));
    throw new SolverError(
      `${name}: the target's signal-to-noise ratio ${snr} is outside the source's range [${lo}, ${hi}]; ` +
        'choose times where both schedulers reach the same signal-to-noise ratio',
    );
  }
  let s: number;
  let dt: number;
  let dLogS: number;
  if (b.sigma >= b.alpha) {
    // Noise side: divide by sigma, which stays away from 0 (sigma_A >= alpha_A too, as the ratios match).
    s = b.sigma / a.sigma;
    dt = dSnr(b) / dSnr(a);
    dLogS = b.dSigma / b.sigma - (dt * a.dSigma) / a.sigma;
  } else {
    // Data side: divide by alpha, which stays away from 0 while sigma vanishes.
    s = b.alpha / a.alpha;
    dt = dRho(b) / dRho(a);
    dLogS = b.dAlpha / b.alpha - (dt * a.dAlpha) / a.alpha;
  }
  if (!(Number.isFinite(s) && s > 0 && Number.isFinite(dt) && Number.isFinite(dLogS))) {
    throw new SolverError(
      `${name}: the transform is singular there (t_r=${t}, s_r=${s}, dt_r=${dt}, ds_r/s_r=${dLogS}); ` + 'evaluate slightly inside (0, 1)',
    );
  }
  return { r, t, s, dt, dLogS };
}

function ratio(c: SchedulerCoeffs): number {
  return c.alpha / c.sigma;
}

/** snr' = (dAlpha sigma - alpha dSigma) / sigma^2. */
function dSnr(c: SchedulerCoeffs): number {
  return (c.dAlpha * c.sigma - c.alpha * c.dSigma) / (c.sigma * c.sigma);
}

/** rho' for rho = sigma / alpha: (dSigma alpha - sigma dAlpha) / alpha^2. */
function dRho(c: SchedulerCoeffs): number {
  return (c.dSigma * c.alpha - c.sigma * c.dAlpha) / (c.alpha * c.alpha);
}

/**
 * The velocity field of scheduler `to` (B) built from a field `v` trained under `from` (A):
 *
 *   v_B(x, r) = (ds_r / s_r) x + s_r dt_r v(x / s_r, t_r)
 *
 * Exact for the marginal field (same endpoints, same coupling); for a learned field it is exactly the
 * model's own flow reparametrised, so sampling B's ODE gives the same samples as A's up to solver error.
 * Shapes: x [B, ...dims] -> [B, ...dims]; `cond` is passed through. Returns a new tensor.
 *
 * @throws SolverError at times where the transform is singular (see the module comment).
 *
 * @example
 *   const vCos = scheduleTransformedField(vCondOT, condOT(), cosine());
 */
export function scheduleTransformedField(v: VelocityField, from: Scheduler, to: Scheduler): VelocityField {
  return (x: Tensor, r: number, cond?: Tensor): Tensor => {
    const k = scheduleTransformCoeffs(from, to, r);
    const xs = k.s === 1 ? x : tf.tidy(() => tf.mul(x, tf.scalar(1 / k.s, 'float32')));
    let vA: Tensor | undefined;
    try {
      vA = v(xs, k.t, cond);
      const out = vA;
      return tf.tidy(() => {
        const scaled = tf.mul(out, tf.scalar(k.s * k.dt, 'float32'));
        return k.dLogS === 0 ? scaled : tf.add(tf.mul(x, tf.scalar(k.dLogS, 'float32')), scaled);
      });
    } finally {
      if (vA !== undefined && vA !== x && vA !== xs) vA.dispose();
      if (xs !== x) xs.dispose();
    }
  };
}
