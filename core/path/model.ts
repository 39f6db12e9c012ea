/**
 * A trained network as the samplers see it: what it predicts, under which scheduler, and its
 * (guided) prediction. From it come the two quantities every sampler needs, exact at both ends of
 * [0, 1] (noise x0 at t = 0, data x1 at t = 1, x_t = alpha_t x1 + sigma_t x0):
 *
 *   the denoiser  D(x, t) = E[x1 | x_t = x]   (the x1 prediction; exponential integrators, SDEs)
 *   the velocity  v(x, t) = alpha' D + sigma' (x - alpha D) / sigma   (the probability-flow ODE)
 *
 * Every prediction is an affine map of x and the network output, pred -> x1:
 *
 *   x1 = (fx x + fp pred) / den,   with pred = f1 x1 + fe x0 (the basis of core/path/convert.ts):
 *   fx = fe,   fp = -sigma,   den = alpha fe - sigma f1
 *
 *   eps:      x1 = (x - sigma eps) / alpha          score: x1 = (x + sigma^2 score) / alpha
 *   x1:       x1 = pred                              velocity: x1 = (sigma' x - sigma v) / (alpha sigma' - sigma alpha')
 *
 * The ends (docs/formulas.md, "Endpoint-exact sampling"):
 *
 * - sigma = 0 (the data end, t = 1 for all but condot with sigmaMin > 0 and VE): the path sits on the
 *   data, x = alpha x1, so D(x, t) = x / alpha exactly, whatever the model (no network call).
 * - den = 0 (alpha = 0 for eps and score at t = 0; a velocity that vanishes identically, polynomial
 *   n > 1 at t = 0): D is 0 / 0 there and is taken as its limit by L'Hopital's rule in t,
 *     D(x, t_e) = [N(t_e + d) - N(t_e)] / [den(t_e + d) - den(t_e)],   N = fx x + fp pred,
 *   a one-sided difference over d = LIMIT_DT towards the inside. The network's value at t_e
 *   (N(t_e) = 0 for the exact model: eps(x, 0) = x / sigma_0) cancels its own error there, which
 *   x1 = N(t_e + d) / den(t_e + d) alone would amplify by 1 / alpha. Two network calls.
 * - a non-finite coefficient (polynomial n < 1 at t = 0, whose alpha' is infinite): D is evaluated
 *   d inside the interval (first order in d).
 *
 * The velocity uses core/path/convert.ts's conversion wherever it is regular (so interior values are
 * unchanged), and at its singular ends:
 * - alpha = 0 (eps, score, or a vanishing velocity at t = 0): the marginal there is N(0, sigma_0^2 I),
 *   x = sigma_0 x0, so eps = x / sigma_0 exactly and v = alpha' D + sigma' x / sigma_0 with D the
 *   limit above;
 * - sigma = 0 with finite sigma' (x1 or score at t = 1 on condot, cosine, polynomial, sub-VP): for
 *   data with a density E[x0 | x_t = x] -> 0 as sigma -> 0 (the posterior of the noise tends to its
 *   prior), so v = alpha' D = (alpha' / alpha) x;
 * - sigma = 0 with infinite sigma' (VP, linear-VP): v would need the data's score; it throws, and
 *   samplers end there with a denoising step instead (core/solver/samplers.ts).
 */
import { tf, type Tensor } from '../tf';
import { SolverError } from '../errors';
import type { VelocityField } from '../field';
import { conversionCoeffs, checkPredictionType, type PredictionModel, type PredictionType } from './convert';
import type { Scheduler, SchedulerCoeffs } from './scheduler';
import { scheduleTransformedField } from './transform';
import { describeSpec } from './batch';

/** A model of any prediction type on an affine path: what the samplers integrate. */
export interface PathModel {
  /** What `predict` returns. */
  readonly prediction: PredictionType;
  /** The scheduler of the path the model was trained on (or transformed to). */
  readonly scheduler: Scheduler;
  /** The (guided) prediction at (x, t): a new tensor of x's shape; inputs are not disposed. */
  readonly predict: PredictionModel;
}

/** Step of the one-sided difference that takes a limit at a singular end (see the module comment). */
export const LIMIT_DT = 1e-2;

/** A VelocityField that carries the model it was built from (samplers use its denoiser). */
export type ModelField = VelocityField & { readonly pathModel: PathModel };

/** The model behind a field, when it was built by `pathVelocity` (or `guidedField`). */
export function pathModelOf(field: VelocityField): PathModel | undefined {
  return (field as Partial<ModelField>).pathModel;
}

/** A velocity field (an oracle, a transformed field) as a 'velocity' PathModel. */
export function velocityModel(field: VelocityField, scheduler: Scheduler): PathModel {
  return pathModelOf(field) ?? { prediction: 'velocity', scheduler, predict: field };
}

/** x1 = (fx x + fp pred) / den for the prediction's basis at c. */
interface X1Parts {
  fx: number;
  fp: number;
  den: number;
}

function basis(kind: PredictionType, c: SchedulerCoeffs): [number, number] {
  switch (kind) {
    case 'velocity':
      return [c.dAlpha, c.dSigma];
    case 'eps':
      return [0, 1];
    case 'x1':
      return [1, 0];
    case 'score':
      // score = -x0 / sigma; scaled by sigma (the same line through the origin), finite at sigma = 0:
      // pred' = sigma score = -x0, x1 = (x + sigma (sigma score)) / alpha.
      return [0, -1];
  }
}

function x1Parts(kind: PredictionType, c: SchedulerCoeffs): X1Parts {
  const [f1, fe] = basis(kind, c);
  // score works on sigma * score (basis [0, -1]): scale its fp by sigma so N takes the raw score.
  const fp = kind === 'score' ? -c.sigma * c.sigma : -c.sigma;
  return { fx: fe, fp, den: c.alpha * fe - c.sigma * f1 };
}

const finite = (...v: number[]): boolean => v.every(Number.isFinite);

/** How D is computed at t: exactly from x (sigma = 0), by the regular conversion, or as a limit. */
export type DenoiseMode = 'data-end' | 'regular' | 'limit' | 'inside';

/** Which of the four ways `denoise` takes at time t (see the module comment). */
export function denoiseMode(pm: PathModel, t: number): DenoiseMode {
  const c = pm.scheduler.coeffs(t);
  if (c.sigma === 0) return 'data-end';
  if (pm.prediction === 'x1') return 'regular';
  const p = x1Parts(pm.prediction, c);
  if (!finite(p.fx, p.fp, p.den)) return 'inside';
  return p.den === 0 ? 'limit' : 'regular';
}

/** The time d inside [0, 1] from t (towards the middle). */
function inward(t: number): number {
  return t < 0.5 ? t + LIMIT_DT : t - LIMIT_DT;
}

/** What one D evaluation cost and gave. */
export interface Denoised {
  /** D(x, t), a new tensor of x's shape. */
  x1: Tensor;
  /** Network calls made (0 at the data end, 2 for a limit). */
  nfe: number;
}

/**
 * The denoiser D(x, t) = E[x1 | x_t = x] of the model, exact at the ends (module comment).
 * @throws SolverError where no limit exists (a model that is singular on both sides of t).
 */
export function denoise(pm: PathModel, x: Tensor, t: number, cond?: Tensor): Denoised {
  const mode = denoiseMode(pm, t);
  const c = pm.scheduler.coeffs(t);
  if (mode === 'data-end') return { x1: tf.tidy(() => tf.mul(x, tf.scalar(1 / c.alpha, 'float32'))), nfe: 0 };
  if (mode === 'regular') {
    const p = x1Parts(pm.prediction, c);
    const pred = pm.predict(x, t, cond);
    try {
      if (pm.prediction === 'x1') return { x1: pred === x ? pred.clone() : pred, nfe: 1 };
      return { x1: combine(x, pred, p.fx / p.den, p.fp / p.den), nfe: 1 };
    } finally {
      if (pm.prediction !== 'x1' && pred !== x) pred.dispose();
    }
  }
  const ti = inward(t);
  const ci = pm.scheduler.coeffs(ti);
  const pi = x1Parts(pm.prediction, ci);
  if (!finite(pi.fx, pi.fp, pi.den) || pi.den === 0) {
    throw new SolverError(
      `the '${pm.prediction}' model of scheduler ${describeSpec(pm.scheduler.spec)} has no denoiser near t=${t} (x1 = N / ${pi.den} at t=${ti})`,
    );
  }
  const inner = pm.predict(x, ti, cond);
  if (mode === 'inside') {
    try {
      return { x1: combine(x, inner, pi.fx / pi.den, pi.fp / pi.den), nfe: 1 };
    } finally {
      if (inner !== x) inner.dispose();
    }
  }
  // L'Hopital: [N(ti) - N(t)] / [den(ti) - den(t)], with den(t) = 0.
  const p = x1Parts(pm.prediction, c);
  const end = pm.predict(x, t, cond);
  try {
    const k = 1 / (pi.den - p.den);
    return {
      x1: tf.tidy(() =>
        tf.addN([
          tf.mul(x, tf.scalar((pi.fx - p.fx) * k, 'float32')),
          tf.mul(inner, tf.scalar(pi.fp * k, 'float32')),
          tf.mul(end, tf.scalar(-p.fp * k, 'float32')),
        ]),
      ),
      nfe: 2,
    };
  } finally {
    if (inner !== x) inner.dispose();
    if (end !== x) end.dispose();
  }
}

/** a x + b y (b = 0: a x), inside a tidy. */
function combine(x: Tensor, y: Tensor, a: number, b: number): Tensor {
  return tf.tidy(() => {
    const bx = tf.mul(y, tf.scalar(b, 'float32'));
    return a === 0 ? bx : tf.add(tf.mul(x, tf.scalar(a, 'float32')), bx);
  });
}

/** Where the velocity of `pm` at t is not the plain conversion of its prediction. */
export type VelocityMode = 'regular' | 'noise-end' | 'data-end' | 'singular';

/** How `pathVelocity` evaluates v at t (module comment). */
export function velocityMode(pm: PathModel, t: number): VelocityMode {
  if (pm.prediction === 'velocity') return 'regular';
  const c = pm.scheduler.coeffs(t);
  if (finite(c.alpha, c.sigma, c.dAlpha, c.dSigma)) {
    try {
      conversionCoeffs(pm.prediction, 'velocity', c, t);
      return 'regular';
    } catch (e) {
      if (!(e instanceof SolverError)) throw e;
    }
  }
  if (c.alpha === 0 && c.sigma > 0 && finite(c.dAlpha, c.dSigma)) return 'noise-end';
  if (c.sigma === 0 && finite(c.dAlpha, c.dSigma)) return 'data-end';
  return 'singular';
}

/**
 * The model's probability-flow velocity, exact at the ends where the limit is finite (module
 * comment). The returned field carries `pathModel`, so samplers can use the denoiser instead.
 * @throws SolverError (at call time) at t where the velocity is singular (VP, linear-VP at t = 1 for
 *   a non-velocity model).
 */
export function pathVelocity(pm: PathModel): ModelField {
  checkPredictionType(pm.prediction, 'prediction');
  const name = describeSpec(pm.scheduler.spec);
  const field = (x: Tensor, t: number, cond?: Tensor): Tensor => {
    const mode = velocityMode(pm, t);
    const c = pm.scheduler.coeffs(t);
    if (mode === 'regular') {
      const k = conversionCoeffs(pm.prediction, 'velocity', c, t);
      const pred = pm.predict(x, t, cond);
      if (pm.prediction === 'velocity') return pred === x ? pred.clone() : pred;
      try {
        return combine(x, pred, k.x, k.pred);
      } finally {
        if (pred !== x) pred.dispose();
      }
    }
    if (mode === 'noise-end') {
      const d = denoise(pm, x, t, cond);
      try {
        return combine(x, d.x1, c.dSigma / c.sigma, c.dAlpha);
      } finally {
        d.x1.dispose();
      }
    }
    if (mode === 'data-end') return tf.tidy(() => tf.mul(x, tf.scalar(c.dAlpha / c.alpha, 'float32')));
    throw new SolverError(
      `the velocity of a '${pm.prediction}' model of scheduler ${name} is singular at t=${t} (sigma=${c.sigma}, dSigma=${c.dSigma}): ` +
        'it would need the score of the data. Sample it with a final denoising step (every sampler of core/solver/samplers.ts does), or evaluate inside (0, 1)',
    );
  };
  return Object.assign(field, { pathModel: pm });
}

/**
 * The same model under another scheduler `to` (flow_matching's ScheduleTransformedModel, for every
 * prediction type). If `to` at r has the signal-to-noise ratio the model's scheduler has at t_r,
 * x_to(r) = s_r x_from(t_r) (core/path/transform.ts), so the posterior means carry over unchanged
 * and the score scales:
 *
 *   x1_to(x, r) = x1(x / s_r, t_r),   eps_to(x, r) = eps(x / s_r, t_r),   score_to(x, r) = score(x / s_r, t_r) / s_r,
 *
 * and a velocity model uses the velocity transform v_to(x, r) = (s'/s) x + s t_r' v(x / s_r, t_r).
 * @throws SolverError (at call time) where `to`'s signal-to-noise ratio is outside the model's range.
 */
export function transformPathModel(pm: PathModel, to: Scheduler): PathModel {
  const from = pm.scheduler;
  if (pm.prediction === 'velocity')
    return { prediction: 'velocity', scheduler: to, predict: scheduleTransformedField(pm.predict, from, to) };
  const predict: PredictionModel = (x, r, cond) => {
    const { t, s } = matchTime(from, to, r);
    const xs = s === 1 ? x : tf.tidy(() => tf.mul(x, tf.scalar(1 / s, 'float32')));
    try {
      let out = pm.predict(xs, t, cond);
      if (out === xs || out === x) out = out.clone();
      if (pm.prediction !== 'score' || s === 1) return out;
      const scaled = tf.tidy(() => tf.mul(out, tf.scalar(1 / s, 'float32')));
      out.dispose();
      return scaled;
    } finally {
      if (xs !== x) xs.dispose();
    }
  };
  return { prediction: pm.prediction, scheduler: to, predict };
}

/**
 * t_r and s_r of the scheduler change at r (the first two of core/path/transform.ts's coefficients;
 * their derivatives are not needed by a non-velocity model, so the ends stay regular).
 */
export function matchTime(from: Scheduler, to: Scheduler, r: number): { t: number; s: number } {
  const b = to.coeffs(r);
  const t = from.snrInverse(b.alpha / b.sigma);
  const a = t >= 0 && t <= 1 ? from.coeffs(t) : undefined;
  const sinAngle =
    a === undefined ? NaN : Math.abs(a.alpha * b.sigma - b.alpha * a.sigma) / (Math.hypot(a.alpha, a.sigma) * Math.hypot(b.alpha, b.sigma));
  if (a === undefined || !(sinAngle <= 1e-7)) {
    throw new SolverError(
      `scheduler ${describeSpec(to.spec)} at r=${r} has signal-to-noise ratio ${b.alpha / b.sigma}, outside the range of the model's ` +
        `scheduler ${describeSpec(from.spec)}; a model can be sampled under another scheduler only where both reach the same ratio`,
    );
  }
  const s = b.sigma >= b.alpha ? b.sigma / a.sigma : b.alpha / a.alpha;
  return { t, s };
}
