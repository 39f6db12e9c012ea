/**
 * Exact conversions between the four things a network can be trained to predict on an affine path
 * x_t = alpha_t x1 + sigma_t x0 (noise x0 ~ N(0, I) at t = 0, data x1 at t = 1):
 *
 *   'velocity'  v     = dAlpha x1 + dSigma x0
 *   'eps'       eps   = x0                       (the noise)
 *   'x1'        x1                               (the data)
 *   'score'     score = -x0 / sigma              (grad log p_t; for a model, -E[x0 | x_t] / sigma)
 *
 * Why one linear map: every type is a fixed linear combination of (x1, x0), and x_t is another, so a
 * conversion is out = A x_t + B pred with scalars A, B that depend only on the coefficients at t.
 * Writing pred = f1 x1 + fe x0 and out = g1 x1 + ge x0 (the "basis" of each type) and solving
 *   [alpha  sigma] [x1]   [x_t ]
 *   [f1     fe   ] [x0] = [pred]      (determinant D = alpha fe - sigma f1)
 * gives
 *   A = (g1 fe - ge f1) / D,   B = (ge alpha - g1 sigma) / D.
 * Special cases of this one formula (docs/formulas.md, "Target conversions", lists them with the
 * tests that check them):
 *   eps -> x1:        x1  = (x - sigma eps) / alpha
 *   x1 -> eps:        eps = (x - alpha x1) / sigma
 *   eps -> velocity:  v   = (dAlpha / alpha) x + (dSigma - dAlpha sigma / alpha) eps
 *   x1 -> velocity:   v   = (dSigma / sigma) x + (dAlpha - dSigma alpha / sigma) x1
 *   velocity -> eps:  eps = (alpha v - dAlpha x) / (alpha dSigma - sigma dAlpha)
 *   velocity -> x1:   x1  = (dSigma x - sigma v) / (alpha dSigma - sigma dAlpha)
 *   score -> velocity: v  = (dAlpha / alpha) x + (dAlpha sigma^2 / alpha - sigma dSigma) score
 *   eps <-> score:    score = -eps / sigma   (no x term: the two bases are parallel, D is not needed)
 * A and B are computed in float64 on the host; tensors only see the two float32 scalars (or one pair
 * per sample).
 *
 * Where conversions are singular (they throw a SolverError naming t and the conversion there, rather
 * than return Inf or NaN):
 *   - alpha_t = 0 (t = 0 for every scheduler here but VE): from 'eps' or 'score' to 'x1'/'velocity'.
 *     At t = 0, x_t = x0 and a noise prediction carries no information about x1.
 *   - sigma_t = 0 (t = 1, except condot with sigmaMin > 0 and VE): from 'x1' to 'eps'/'velocity'/'score',
 *     and anything to or from 'score' (the score is unbounded at the data).
 *   - alpha dSigma - sigma dAlpha = 0: from 'velocity' to anything (polynomial n > 1 at t = 0, where the
 *     velocity is identically 0).
 *   - a non-finite derivative (polynomial n < 1 at t = 0; VP and linear-VP at t = 1, where dSigma = -Inf):
 *     any conversion that involves 'velocity'.
 * Evaluate such models strictly inside (0, 1) — e.g. a time grid from 1e-3 to 1 - 1e-3 — or use the
 * prediction type that is regular at that end (velocity at t = 0, eps at t = 1).
 */
import { tf, type Tensor } from '../tf';
import { ConfigError, ShapeError, SolverError } from '../errors';
import type { VelocityField } from '../field';
import type { Scheduler, SchedulerCoeffs } from './scheduler';
import { checkBatched, checkSameShape, column, describeSpec, fmtShape } from './batch';
import { isOneOf, PREDICTION_TYPES, type PredictionType } from '../catalog';

/** What a network predicts: 'velocity' (dAlpha x1 + dSigma x0), 'eps' (x0), 'x1' (data), 'score' (-x0/sigma). */
export { PREDICTION_TYPES, type PredictionType } from '../catalog';

/** A conversion out = x * x_t + pred * prediction, with float64 scalars. */
export interface LinearConversion {
  /** Coefficient A of x_t. */
  readonly x: number;
  /** Coefficient B of the prediction. */
  readonly pred: number;
}

/**
 * A network's prediction as a function of (x, t, cond): the same signature as a VelocityField, for
 * any prediction type. Returns a new tensor of x's shape; must not dispose its inputs.
 */
export type PredictionModel = (x: Tensor, t: number, cond?: Tensor) => Tensor;

/** Throws a ConfigError (field `field`) unless `kind` is one of PREDICTION_TYPES. */
export function checkPredictionType(kind: unknown, field = 'prediction'): asserts kind is PredictionType {
  if (!isOneOf(PREDICTION_TYPES, kind)) {
    throw new ConfigError(field, `unknown prediction type '${String(kind)}'; allowed: ${PREDICTION_TYPES.join(', ')}`);
  }
}

/** (f1, fe) with prediction = f1 x1 + fe x0 at these coefficients. */
function basis(kind: PredictionType, c: SchedulerCoeffs): [number, number] {
  switch (kind) {
    case 'velocity':
      return [c.dAlpha, c.dSigma];
    case 'eps':
      return [0, 1];
    case 'x1':
      return [1, 0];
    case 'score':
      return [0, -1 / c.sigma];
  }
}

function where(c: SchedulerCoeffs, t: number | undefined): string {
  return t === undefined ? `alpha=${c.alpha}, sigma=${c.sigma}` : `t=${t}`;
}

const REMEDY = 'Evaluate strictly inside (0, 1) (e.g. a time grid 1e-3 away from this end) or use a prediction type that is regular there';

/**
 * The float64 coefficients (A, B) of the conversion out = A x_t + B pred from `from` to `to` at the
 * scheduler values `c` (see the module comment for the formula).
 *
 * @param t only used to name the time in error messages.
 * @throws SolverError where the conversion is singular (alpha = 0, sigma = 0, alpha dSigma - sigma dAlpha = 0,
 *   or a non-finite coefficient that the conversion needs), naming t and the conversion.
 * @throws ConfigError for an unknown prediction type.
 */
export function conversionCoeffs(from: PredictionType, to: PredictionType, c: SchedulerCoeffs, t?: number): LinearConversion {
  checkPredictionType(from, 'from');
  checkPredictionType(to, 'to');
  if (from === to) return { x: 0, pred: 1 };
  const fail = (reason: string): never => {
    throw new SolverError(`cannot convert a '${from}' prediction to '${to}' at ${where(c, t)}: ${reason}. ${REMEDY}`);
  };
  if (!Number.isFinite(c.alpha) || !Number.isFinite(c.sigma)) fail(`alpha=${c.alpha}, sigma=${c.sigma} are not finite`);
  if ((from === 'score' || to === 'score') && c.sigma === 0) {
    fail('sigma_t = 0 there, where the score is undefined (the path sits on the data)');
  }
  if ((from === 'velocity' || to === 'velocity') && !(Number.isFinite(c.dAlpha) && Number.isFinite(c.dSigma))) {
    fail(`the scheduler's derivatives are not finite there (dAlpha=${c.dAlpha}, dSigma=${c.dSigma})`);
  }
  const [f1, fe] = basis(from, c);
  const [g1, ge] = basis(to, c);
  // Parallel bases (eps <-> score; velocity <-> eps when dAlpha = 0, as in VE): out = k pred, no x_t term,
  // and no division by D, which may vanish there (eps -> score at alpha = 0 is fine).
  const norm2 = f1 * f1 + fe * fe;
  if (f1 * ge - fe * g1 === 0 && norm2 > 0) return { x: 0, pred: (g1 * f1 + ge * fe) / norm2 };
  const det = c.alpha * fe - c.sigma * f1;
  if (det === 0) {
    if (from === 'velocity') fail('alpha dSigma - sigma dAlpha = 0 there, so the velocity does not determine x1 and the noise');
    if (from === 'x1') fail('sigma_t = 0 there, so an x1 prediction says nothing about the noise');
    fail(`alpha_t = 0 there, so a${from === 'eps' ? 'n eps' : ' score'} prediction says nothing about x1`);
  }
  const a = (g1 * fe - ge * f1) / det;
  const b = (ge * c.alpha - g1 * c.sigma) / det;
  if (!Number.isFinite(a) || !Number.isFinite(b)) fail(`the conversion coefficients overflow (A=${a}, B=${b})`);
  return { x: a, pred: b };
}

/** A x + B pred for shared scalars (inside a tidy: numbers passed to ops become tensors). */
function applyShared(k: LinearConversion, x: Tensor, pred: Tensor): Tensor {
  if (k.x === 0 && k.pred === 1) return pred.clone();
  return tf.tidy(() => {
    const p = tf.mul(pred, tf.scalar(k.pred, 'float32'));
    return k.x === 0 ? p : tf.add(tf.mul(x, tf.scalar(k.x, 'float32')), p);
  });
}

/**
 * Converts a prediction of type `from` to type `to` at the point x (= x_t).
 *
 *   out = A x + B pred   (A, B from `conversionCoeffs`, float64 on the host, applied in float32)
 *
 * @param pred [B, ...dims] the prediction.
 * @param x    [B, ...dims] the point it was made at (x_t).
 * @param c    scheduler values at t: one set shared by the batch, or one per sample (length B).
 * @param t    optional, only to name the time (or times) in error messages.
 * @returns a new tensor of x's shape; the caller disposes it. Inputs are not disposed.
 * @throws ShapeError when pred and x differ in shape or per-sample c has the wrong length;
 *   SolverError at a singular point of the conversion (see the module comment).
 *
 * @example
 *   const v = convertPrediction(epsHat, x, 'eps', 'velocity', scheduler.coeffs(0.3), 0.3);
 */
export function convertPrediction(
  pred: Tensor,
  x: Tensor,
  from: PredictionType,
  to: PredictionType,
  c: SchedulerCoeffs | readonly SchedulerCoeffs[],
  t?: number | ArrayLike<number>,
): Tensor {
  checkSameShape(pred, 'pred', x, 'x');
  checkPredictionType(from, 'from');
  checkPredictionType(to, 'to');
  if (!isCoeffArray(c)) {
    return applyShared(conversionCoeffs(from, to, c, typeof t === 'number' ? t : undefined), x, pred);
  }
  const batch = checkBatched(x, 'x');
  if (c.length !== batch) {
    throw new ShapeError(`per-sample coefficients must have length batch_size=${batch} (x is ${fmtShape(x.shape)}). Got ${c.length}`);
  }
  const times = typeof t === 'number' ? undefined : t;
  const a = new Float64Array(batch);
  const b = new Float64Array(batch);
  for (let i = 0; i < batch; i++) {
    const k = conversionCoeffs(from, to, c[i]!, times?.[i]);
    a[i] = k.x;
    b[i] = k.pred;
  }
  if (from === to) return pred.clone();
  return tf.tidy(() => {
    const p = tf.mul(pred, column(b, x.rank));
    return a.every((v) => v === 0) ? p : tf.add(tf.mul(x, column(a, x.rank)), p);
  });
}

function isCoeffArray(c: SchedulerCoeffs | readonly SchedulerCoeffs[]): c is readonly SchedulerCoeffs[] {
  return Array.isArray(c);
}

/**
 * `convertPrediction` at time t of a scheduler: the coefficients are `scheduler.coeffs(t)`, and t
 * (a number shared by the batch, or one per sample) names the time in errors.
 */
export function convertPredictionAt(
  pred: Tensor,
  x: Tensor,
  from: PredictionType,
  to: PredictionType,
  scheduler: Scheduler,
  t: number | ArrayLike<number>,
): Tensor {
  if (typeof t === 'number') return convertPrediction(pred, x, from, to, scheduler.coeffs(t), t);
  const cs: SchedulerCoeffs[] = [];
  for (let i = 0; i < t.length; i++) cs.push(scheduler.coeffs(t[i]!));
  return convertPrediction(pred, x, from, to, cs, t);
}

/**
 * Score from a velocity: score = (dAlpha x - alpha v) / (sigma (alpha dSigma - sigma dAlpha)),
 * i.e. -eps/sigma with eps from velocity -> eps. Singular where sigma = 0 (the data end) and where
 * alpha dSigma = sigma dAlpha. Shapes as in `convertPrediction`.
 */
export function scoreFromVelocity(
  v: Tensor,
  x: Tensor,
  c: SchedulerCoeffs | readonly SchedulerCoeffs[],
  t?: number | ArrayLike<number>,
): Tensor {
  return convertPrediction(v, x, 'velocity', 'score', c, t);
}

/**
 * Velocity from a score: v = (dAlpha / alpha) x + (dAlpha sigma^2 / alpha - sigma dSigma) score.
 * Singular where alpha = 0 (the noise end, t = 0) and sigma = 0. Shapes as in `convertPrediction`.
 */
export function velocityFromScore(
  s: Tensor,
  x: Tensor,
  c: SchedulerCoeffs | readonly SchedulerCoeffs[],
  t?: number | ArrayLike<number>,
): Tensor {
  return convertPrediction(s, x, 'score', 'velocity', c, t);
}

/**
 * Wraps a model that predicts `from` into one that predicts `to` under `scheduler`:
 * out(x, t, cond) = A(t) x + B(t) model(x, t, cond). The conversion coefficients are checked before
 * the model runs, so a singular t throws (SolverError) without evaluating the network.
 * The returned function owns nothing: it disposes the model's raw output and returns a new tensor.
 */
export function predictionField(model: PredictionModel, from: PredictionType, to: PredictionType, scheduler: Scheduler): PredictionModel {
  checkPredictionType(from, 'from');
  checkPredictionType(to, 'to');
  if (from === to) return model;
  const name = describeSpec(scheduler.spec);
  return (x, t, cond) => {
    let k: LinearConversion;
    try {
      k = conversionCoeffs(from, to, scheduler.coeffs(t), t);
    } catch (e) {
      if (e instanceof SolverError) throw new SolverError(`${e.message} (scheduler ${name})`);
      throw e;
    }
    const pred = model(x, t, cond);
    try {
      checkSameShape(pred, `the '${from}' model output`, x, 'x');
      return applyShared(k, x, pred);
    } finally {
      if (pred !== x) pred.dispose();
    }
  };
}

/**
 * Turns a model of any prediction type into the velocity field the samplers integrate:
 * v(x, t) = A(t) x + B(t) model(x, t, cond) (see `conversionCoeffs`). A velocity model is returned as is.
 *
 * Note that 'eps' and 'score' models are singular at t = 0 (alpha = 0) and 'x1' models at t = 1
 * (sigma = 0): start or end the sampler's time grid slightly inside (0, 1) for them.
 *
 * @example
 *   const field = asVelocityField(epsNet, 'eps', cosine());
 *   const { state } = solveOde(..., field, { timeGrid: [1e-3, ..., 1] });
 */
export function asVelocityField(model: PredictionModel, prediction: PredictionType, scheduler: Scheduler): VelocityField {
  return predictionField(model, prediction, 'velocity', scheduler);
}
