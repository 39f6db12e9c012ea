/**
 * The conditional flow-matching loss of one batch (Lipman et al.; Tong et al.; Liu et al.).
 *
 * For pairs (x0, x1) (noise or source at t = 0, data at t = 1), per-sample times t_i and the
 * configured prediction type:
 *
 *   affine path       x_t = alpha_t x1 + sigma_t x0
 *                     target = dAlpha_t x1 + dSigma_t x0 ('velocity'),  x0 ('eps'),  x1 ('x1'),  -x0 / sigma_t ('score')
 *   interpolant path  x_t = t x1 + (1 - t) x0 + s sqrt(t (1 - t)) eps,   target = x1 - x0 + dGamma_t eps
 *
 *   L = (1 / (B D)) sum_i w(t_i) || f(x_t_i, t_i, c_i) - target_i ||^2       (D values per sample)
 *
 * with w = 1, or the min-SNR-gamma weight (Hang et al. 2023) transported to the prediction type:
 *
 *   w(t) = min(snr_t, gamma) * B_t^2,   snr_t = alpha_t^2 / sigma_t^2,
 *
 * where B_t is the factor by which an error in the prediction becomes an error in x1 (the x1
 * conversion x1_hat = A x_t + B_t pred of core/path/convert). In x1 terms the loss is then
 * min(snr, gamma) ||x1_hat - x1||^2, which is the paper's definition; it gives its three published
 * forms: eps min(snr, gamma) / snr, x1 min(snr, gamma), and diffusion-v min(snr, gamma) / (snr + 1).
 * For the CondOT velocity, B_t = 1 - t. Adam is insensitive to the overall scale of the loss, so the
 * weights are not renormalised; the logged loss is the weighted one.
 *
 * Score (denoising score matching, Vincent 2011; Song et al. 2021): the target -x0 / sigma_t grows
 * without bound as sigma -> 0, so the score's loss carries score_sde's weight lambda(t) = sigma_t^2
 * whatever `weighting` says on top: w = sigma^2 ('none'), so the loss is ||sigma f + x0||^2, the eps
 * loss of sigma f. (min-SNR is already small there: its B_t = sigma^2 / alpha.)
 *
 * Times: t = lo + (hi - lo) u with u ~ U[0, 1) ('uniform') or u = sigmoid(z), z ~ N(mean, std^2)
 * ('logit-normal', SD3). [lo, hi] is [0, 1] shrunk by T_EPS = 1e-3 at an end where the chosen
 * prediction cannot be turned into a velocity (eps and score at alpha = 0: the noise carries no
 * information about x1; x1 and score at sigma = 0: the data carries none about the noise) or the
 * path's derivatives are infinite (VP and linear-VP at t = 1; polynomial n < 1 at t = 0; the bridge
 * noise of the interpolant at both ends). Rescaling u (rather than clamping t) keeps the
 * distribution's shape without a point mass at the end. Training needs only finite targets, so
 * T_EPS is small and wastes almost no samples; sampling handles the ends exactly over all of [0, 1]
 * (core/path/model.ts, core/solver/samplers.ts).
 *
 * Classifier-free guidance: each label is replaced by the "no label" class numClasses with
 * probability labelDropout, so the same network also learns the unconditional field.
 *
 * All randomness comes from the Rng passed in, in a fixed order (times, bridge noise, label
 * dropout), so a batch is reproducible on every backend.
 */
import { tf, type Tensor } from '../tf';
import { ConfigError } from '../errors';
import type { Rng } from '../util/random';
import { conversionCoeffs } from '../path/convert';
import { probPath, type PathSpec, type TimeRange } from '../path/prob-path';
import type { Scheduler } from '../path/scheduler';
import type { TimeSpec, TrainPrediction } from './spec';

export type { TimeRange };

/** Distance kept from a singular end of the time interval (see the module comment). */
export const T_EPS = 1e-3;

/** Default gamma of the min-SNR weighting (Hang et al. 2023). */
export const SNR_GAMMA = 5;

/** What the loss of a batch depends on (the matching fields of a TrainSpec). */
export interface LossConfig {
  path: PathSpec;
  prediction: TrainPrediction;
  time: TimeSpec;
  labelDropout: number;
}

/** A network's prediction f(x, t, labels): x [B, ...], t [B] float32, labels [B] int32 (conditional models). */
export type Predictor = (x: Tensor, t: Tensor, labels?: Tensor) => Tensor;

/**
 * The time interval a prediction type is trained and sampled on: [0, 1] with an end moved in by
 * `eps` where it is singular (see the module comment). Examples with CondOT: velocity [0, 1],
 * eps [1e-3, 1], x1 [0, 1 - 1e-3]; interpolant with s > 0: [1e-3, 1 - 1e-3].
 */
export function trainingTimeRange(path: PathSpec, prediction: TrainPrediction, eps = T_EPS): TimeRange {
  return probPath(path).trainingRange(prediction, eps);
}

/**
 * The time interval to integrate a trained model over: [0, 1] for every prediction type. Samplers
 * handle the singular ends exactly (a limit at the noise end, a denoising step at the data end:
 * core/path/model.ts, core/solver/samplers.ts), so no prediction stops short of the data.
 */
export function samplingTimeRange(path: PathSpec, prediction: TrainPrediction): TimeRange {
  return probPath(path).samplingRange(prediction);
}

/** Logistic sigmoid in float64, without overflow for large |z|. */
function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * n training times in `range`: t = lo + (hi - lo) u, u ~ U[0, 1) or u = sigmoid(N(mean, std^2)).
 * Draws n values from the Rng (uniform: one uniform each; logit-normal: one normal each).
 */
export function sampleTimes(
  n: number,
  time: Pick<TimeSpec, 'distribution' | 'mean' | 'std'>,
  rng: Rng,
  range: TimeRange = { lo: 0, hi: 1 },
): Float64Array {
  const out = new Float64Array(n);
  const { lo, hi } = range;
  const w = hi - lo;
  if (time.distribution === 'uniform') {
    for (let i = 0; i < n; i++) out[i] = lo + w * rng.uniform();
  } else if (time.distribution === 'logit-normal') {
    for (let i = 0; i < n; i++) out[i] = lo + w * sigmoid(time.mean + time.std * rng.normal());
  } else {
    throw new ConfigError('time.distribution', `must be uniform or logit-normal, got '${String(time.distribution)}'`);
  }
  return out;
}

/**
 * Classifier-free-guidance label dropout: a copy of `labels` with each entry replaced by
 * `numClasses` (the "no label" class) with probability p. Draws one uniform per label whatever p
 * is, so the Rng stream does not depend on p.
 */
export function dropLabels(labels: Int32Array, numClasses: number, p: number, rng: Rng): Int32Array {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = rng.uniform() < p ? numClasses : labels[i]!;
  return out;
}

/**
 * The min-SNR-gamma weight of one time (module comment): min(snr, gamma) * B^2 with B the
 * prediction -> x1 conversion factor. 0 where snr = 0 (nothing about x1 is visible).
 */
export function snrClippedWeight(scheduler: Scheduler, prediction: TrainPrediction, t: number, gamma = SNR_GAMMA): number {
  const c = scheduler.coeffs(t);
  const snr = (c.alpha * c.alpha) / (c.sigma * c.sigma);
  if (snr === 0) return 0;
  const b = prediction === 'x1' ? 1 : conversionCoeffs(prediction, 'x1', c, t).pred;
  return Math.min(snr, gamma) * b * b;
}

/**
 * The loss weight of one time: the weighting's, and for the score its denoising-score-matching
 * weight sigma_t^2 under 'none' (module comment); 1 for every other prediction under 'none'.
 */
export function lossWeight(
  scheduler: Scheduler,
  prediction: TrainPrediction,
  t: number,
  weighting: TimeSpec['weighting'],
  gamma = SNR_GAMMA,
): number {
  if (weighting === 'snr-clipped') return snrClippedWeight(scheduler, prediction, t, gamma);
  if (prediction === 'score') {
    const s = scheduler.coeffs(t).sigma;
    return s * s;
  }
  return 1;
}

/** Everything one loss evaluation needs, as tensors (all new; dispose with `disposeFlowBatch`). */
export interface FlowBatch {
  /** x_t, [B, ...shape]. */
  readonly xt: Tensor;
  /** Times as float32 [B] (the model's input). */
  readonly t: Tensor;
  /** Regression target, [B, ...shape]. */
  readonly target: Tensor;
  /** Per-sample loss weights [B, 1, ..., 1], or undefined for w = 1. */
  readonly weights?: Tensor;
  /** Labels after dropout, int32 [B] (conditional models only). */
  readonly labels?: Tensor;
  /** The times in float64. */
  readonly times: Float64Array;
}

/** Disposes every tensor of a FlowBatch. */
export function disposeFlowBatch(b: FlowBatch): void {
  tf.dispose([b.xt, b.t, b.target, ...(b.weights ? [b.weights] : []), ...(b.labels ? [b.labels] : [])]);
}

/**
 * Rows [lo, hi) of a prepared batch, as new tensors (dispose with `disposeFlowBatch`); `b` is read,
 * not disposed. A data-parallel shard prepares the whole batch (so every random draw, taken in
 * batch order, is the one a single-thread step takes) and keeps its own rows.
 */
export function sliceFlowBatch(b: FlowBatch, lo: number, hi: number): FlowBatch {
  const n = b.t.shape[0]!;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && 0 <= lo && lo < hi && hi <= n)) {
    throw new ConfigError('shard', `rows [${lo}, ${hi}) must be a non-empty range inside the batch of ${n}`);
  }
  const rows = (x: Tensor): Tensor => tf.slice(x, [lo], [hi - lo]);
  return {
    xt: rows(b.xt),
    t: rows(b.t),
    target: rows(b.target),
    times: b.times.slice(lo, hi),
    ...(b.weights ? { weights: rows(b.weights) } : {}),
    ...(b.labels ? { labels: rows(b.labels) } : {}),
  };
}

export interface PrepareOptions {
  /** Class labels of the x1 rows (conditional training). */
  labels?: Int32Array;
  /** Number of classes; labels are dropped to this value. Required with labels. */
  numClasses?: number;
  /** The time interval (default `trainingTimeRange(cfg.path, cfg.prediction)`). */
  range?: TimeRange;
}

/**
 * Draws times (and bridge noise, label dropout) and forms x_t, the target and the weights for pairs
 * (x0[i], x1[i]). x0 and x1 are read, not disposed.
 */
export function prepareFlowBatch(cfg: LossConfig, x0: Tensor, x1: Tensor, rng: Rng, opts: PrepareOptions = {}): FlowBatch {
  const n = x0.shape[0] ?? 0;
  const range = opts.range ?? trainingTimeRange(cfg.path, cfg.prediction);
  const times = sampleTimes(n, cfg.time, rng, range);
  const path = probPath(cfg.path);
  path.checkPrediction(cfg.prediction);
  if (cfg.time.weighting === 'snr-clipped' && !path.hasSnr)
    throw new ConfigError('time.weighting', 'snr-clipped needs an affine path (the interpolant has no single signal-to-noise ratio)');
  if (cfg.time.weighting !== 'none' && cfg.time.weighting !== 'snr-clipped') {
    throw new ConfigError('time.weighting', `must be none or snr-clipped, got '${String(cfg.time.weighting)}'`);
  }
  const { xt, target } = path.sample(cfg.prediction, x0, x1, times, rng);
  let weights: Tensor | undefined;
  if (cfg.time.weighting === 'snr-clipped' || cfg.prediction === 'score') {
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++)
      w[i] = lossWeight(path.scheduler, cfg.prediction, times[i]!, cfg.time.weighting, cfg.time.snrGamma ?? SNR_GAMMA);
    weights = tf.tensor(w, [n, ...x0.shape.slice(1).map(() => 1)], 'float32');
  }
  const t = tf.tensor1d(Float32Array.from(times), 'float32');
  let labels: Tensor | undefined;
  if (opts.labels !== undefined) {
    const k = opts.numClasses;
    if (k === undefined || !(k >= 1)) throw new ConfigError('numClasses', `must be >= 1 for labelled batches, got ${k}`);
    labels = tf.tensor1d(dropLabels(opts.labels, k, cfg.labelDropout, rng), 'int32');
  }
  return { xt, t, target, times, ...(weights ? { weights } : {}), ...(labels ? { labels } : {}) };
}

/**
 * The scalar loss (1 / (B D)) sum_i w_i ||f(x_t, t, c) - target||^2 of a prepared batch; call it
 * inside tf.variableGrads. The batch is not disposed.
 */
export function flowBatchLoss(predict: Predictor, batch: FlowBatch): tf.Scalar {
  return tf.tidy(() => {
    const out = predict(batch.xt, batch.t, batch.labels);
    const sq = tf.squaredDifference(out, batch.target);
    return tf.mean(batch.weights ? tf.mul(sq, batch.weights) : sq) as tf.Scalar;
  });
}

/** `prepareFlowBatch` + `flowBatchLoss` in one call (the batch tensors are freed). */
export function flowMatchingLoss(
  predict: Predictor,
  cfg: LossConfig,
  x0: Tensor,
  x1: Tensor,
  rng: Rng,
  opts: PrepareOptions = {},
): tf.Scalar {
  const batch = prepareFlowBatch(cfg, x0, x1, rng, opts);
  try {
    return flowBatchLoss(predict, batch);
  } finally {
    disposeFlowBatch(batch);
  }
}
