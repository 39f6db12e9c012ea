/**
 * A small image classifier trained by the project itself, used to grade generated samples (the
 * class-conditional MNIST model's per-class accuracy, class swaps in the latent studio).
 *
 * Network for images [H, W, C]: conv3x3/2 (16) -> SiLU -> conv3x3/2 (32) -> SiLU -> dense 128 -> K;
 * for vectors: MLP d -> 512 -> 256 -> K. Softmax cross-entropy, Adam, and for images randomly
 * shifted copies (+-2 px) so that it judges the digit, not its exact position. The strided convs keep
 * a step to a few ms on the wasm backend (core/model/ops/ gradients). Deterministic from the seed.
 */
import { tf, type Tensor } from '../tf';
import { ConfigError, ShapeError } from '../errors';
import { Rng } from '../util/random';
import { conv2d, dense, silu } from '../model/ops';
import { ParamBuilder, lecunUniform } from '../model/params';

export interface ClassifierOptions {
  hidden?: number[];
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** Random translation in pixels for images [H, W, C] (0 = none). */
  maxShift?: number;
  /** Per-sample shape ([H, W, C] enables shifts; [d] for vectors). */
  shape: number[];
}

export interface Classifier {
  readonly numClasses: number;
  readonly shape: number[];
  /** Class probabilities [B, K] for x [B, ...shape] in the training value range. Caller disposes. */
  probabilities(x: Tensor): Tensor;
  /** Most likely class per row. */
  predict(x: Tensor): Int32Array;
  /**
   * The penultimate layer's activations [B, F] (after its SiLU; F = 128 for images, the last hidden
   * width for vectors): the features Frechet distance and KID compare (core/metrics/quality.ts).
   */
  features(x: Tensor): Tensor;
  /** F, the length of a feature vector. */
  readonly featureDim: number;
  /** Mean cross-entropy per epoch, for diagnostics. */
  readonly epochLoss: number[];
  dispose(): void;
}

/** Accuracy overall and per true class (NaN for a class with no examples). */
export function accuracyByClass(
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
): { overall: number; perClass: number[]; counts: number[] } {
  if (pred.length !== labels.length) throw new ShapeError(`pred has ${pred.length} entries, labels ${labels.length}`);
  const hit = new Array<number>(numClasses).fill(0);
  const counts = new Array<number>(numClasses).fill(0);
  let total = 0;
  for (let i = 0; i < pred.length; i++) {
    const y = labels[i]!;
    counts[y]!++;
    if (pred[i] === y) {
      hit[y]!++;
      total++;
    }
  }
  return { overall: pred.length ? total / pred.length : NaN, perClass: hit.map((h, k) => (counts[k] ? h / counts[k]! : NaN)), counts };
}

/** Shifts each image of a [B, H, W, C] host array by (dy, dx) in [-s, s], filling with the background -1. */
function shiftBatch(src: Float32Array, idx: Int32Array, shape: number[], s: number, rng: Rng): Float32Array {
  const [h, w, c] = shape as [number, number, number];
  const size = h * w * c;
  const out = new Float32Array(idx.length * size).fill(-1);
  for (let b = 0; b < idx.length; b++) {
    const dy = s ? rng.int(2 * s + 1) - s : 0;
    const dx = s ? rng.int(2 * s + 1) - s : 0;
    const base = idx[b]! * size;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < w; x++) {
        const sx = x - dx;
        if (sx < 0 || sx >= w) continue;
        for (let k = 0; k < c; k++) out[b * size + (y * w + x) * c + k] = src[base + (sy * w + sx) * c + k]!;
      }
    }
  }
  return out;
}

/**
 * Trains the classifier on host data: `data` [N * prod(shape)] and `labels` [N] in [0, numClasses).
 */
export function trainClassifier(data: Float32Array, labels: Int32Array, numClasses: number, opts: ClassifierOptions): Classifier {
  const shape = opts.shape;
  const d = shape.reduce((a, b) => a * b, 1);
  const n = labels.length;
  if (data.length !== n * d) throw new ShapeError(`data must hold ${n} x ${d} values (labels.length x prod(shape)). Got ${data.length}`);
  if (!(numClasses >= 2)) throw new ConfigError('numClasses', `must be >= 2, got ${numClasses}`);
  const hidden = opts.hidden ?? [512, 256];
  const epochs = opts.epochs ?? 8;
  const batch = opts.batchSize ?? 128;
  const rng = new Rng(opts.seed ?? 0);
  const maxShift = shape.length === 3 ? (opts.maxShift ?? 2) : 0;

  const pb = new ParamBuilder(opts.seed ?? 0);
  const isImage = shape.length === 3;
  const convs: { f: tf.Variable; b: tf.Variable }[] = [];
  let flat = d;
  if (isImage) {
    let [h, w, c] = shape as [number, number, number];
    for (const [l, out] of [16, 32].entries()) {
      convs.push({
        f: pb.add(`clf/conv${l}/F`, [3, 3, c, out], lecunUniform(9 * c)),
        b: pb.add(`clf/conv${l}/b`, [out], { kind: 'zeros' }),
      });
      h = Math.ceil(h / 2);
      w = Math.ceil(w / 2);
      c = out;
    }
    flat = h * w * c;
  }
  const widths = isImage ? [flat, 128, numClasses] : [d, ...hidden, numClasses];
  const layers: { w: tf.Variable; b: tf.Variable }[] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    layers.push({
      w: pb.add(`clf/${l}/W`, [widths[l]!, widths[l + 1]!], lecunUniform(widths[l]!)),
      b: pb.add(`clf/${l}/b`, [widths[l + 1]!], { kind: 'zeros' }),
    });
  }
  /** Activations before the output layer. */
  const penultimate = (x: Tensor): Tensor => {
    let h = isImage ? x : tf.reshape(x, [x.shape[0]!, d]);
    for (const c of convs) h = silu(conv2d(h, c.f, c.b, 2));
    h = tf.reshape(h, [x.shape[0]!, flat]);
    for (const p of layers.slice(0, -1)) h = silu(dense(h, p.w, p.b));
    return h;
  };
  const logits = (x: Tensor): Tensor => {
    const out = layers[layers.length - 1]!;
    return dense(penultimate(x), out.w, out.b);
  };

  const optimizer = tf.train.adam(opts.lr ?? 1e-3);
  const epochLoss: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const perm = rng.permutation(n);
    let sum = 0;
    let count = 0;
    for (let s = 0; s + batch <= n; s += batch) {
      const idx = perm.subarray(s, s + batch);
      const xb = maxShift ? shiftBatch(data, idx, shape, maxShift, rng) : gatherRows(data, idx, d);
      const yb = new Float32Array(batch * numClasses);
      for (let i = 0; i < batch; i++) yb[i * numClasses + labels[idx[i]!]!] = 1;
      const loss = tf.tidy(() => {
        const x = tf.tensor(xb, [batch, ...shape]);
        const y = tf.tensor2d(yb, [batch, numClasses]);
        return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, logits(x)) as tf.Scalar, true, pb.variables)!;
      });
      sum += loss.dataSync()[0]!;
      loss.dispose();
      count++;
    }
    epochLoss.push(sum / Math.max(1, count));
  }
  optimizer.dispose();

  return {
    numClasses,
    shape,
    epochLoss,
    probabilities: (x) => tf.tidy(() => tf.softmax(logits(x))),
    features: (x) => tf.tidy(() => penultimate(x)),
    featureDim: widths[widths.length - 2]!,
    predict: (x) => {
      const p = tf.tidy(() => tf.argMax(logits(x), 1));
      const out = Int32Array.from(p.dataSync());
      p.dispose();
      return out;
    },
    dispose: () => pb.variables.forEach((v) => v.dispose()),
  };
}

function gatherRows(data: Float32Array, idx: Int32Array, d: number): Float32Array {
  const out = new Float32Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) out.set(data.subarray(idx[i]! * d, (idx[i]! + 1) * d), i * d);
  return out;
}
