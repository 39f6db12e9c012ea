/**
 * Time and class embeddings.
 */
import { tf, type Tensor } from '../tf';
import { check, checkShape } from '../errors';
import { matMul } from './ops';

/** Lowest and highest angular frequency of the sinusoidal time embedding (radians per unit of t). */
export const TIME_FREQ_MIN = 1;
export const TIME_FREQ_MAX = 1000;

const freqCache = new Map<number, Float32Array>();

/** The `dim / 2` frequencies ω_i = ω_min (ω_max / ω_min)^(i / (dim/2 - 1)), geometric from 1 to 1000. */
export function timeFrequencies(dim: number): Float32Array {
  let f = freqCache.get(dim);
  if (!f) {
    const half = dim / 2;
    f = new Float32Array(half);
    for (let i = 0; i < half; i++) {
      const u = half === 1 ? 0 : i / (half - 1);
      f[i] = TIME_FREQ_MIN * Math.pow(TIME_FREQ_MAX / TIME_FREQ_MIN, u);
    }
    freqCache.set(dim, f);
  }
  return f;
}

/**
 * Sinusoidal embedding of times t [B] (t in [0, 1], used as is, not scaled):
 *
 *   emb(t) = [sin(ω_0 t), ..., sin(ω_{h-1} t), cos(ω_0 t), ..., cos(ω_{h-1} t)],  h = dim / 2,
 *   ω_i = 1 · 1000^(i / (h - 1)).
 *
 * The highest frequency matches DDPM's embedding of 1000·t (whose top frequency is 1 per unit of
 * 1000·t); the lowest, 1 rad per unit, is about one sixth of a period across [0, 1], so the
 * coarse features change monotonically with t. Returns [B, dim]. dim must be even and >= 2.
 */
export function timeEmbedding(t: Tensor, dim: number): Tensor {
  check(dim >= 2 && dim % 2 === 0, 'timeEmbedDim', () => `must be an even number >= 2. Got ${dim}`);
  checkShape(t.rank === 1, () => `t must have shape [batch]. Got [${t.shape}]`);
  return tf.tidy(() => {
    const freqs = tf.tensor2d(timeFrequencies(dim), [1, dim / 2]);
    const arg = tf.mul(tf.reshape(t, [-1, 1]), freqs);
    return tf.concat([tf.sin(arg), tf.cos(arg)], 1);
  });
}

/**
 * Class embedding: row `labels[i]` of `table` [numClasses + 1, dim] for each i, as one-hot(labels) ·
 * table. The last row (label = numClasses) is the "no label" embedding that classifier-free
 * guidance uses for the unconditional branch.
 *
 * Why a one-hot matMul and not tf.gather: gather's gradient needs UnsortedSegmentSum, which the
 * wasm backend does not register; the one-hot product's gradient is a plain matMul (ops.matMul).
 * labels: [B] int32 -> [B, dim]. Labels outside [0, numClasses] are not checked (that would need a
 * synchronous read) and get a zero embedding.
 */
export function classEmbedding(labels: Tensor, table: Tensor): Tensor {
  const rows = table.shape[0]!;
  checkShape(labels.rank === 1, () => `labels must have shape [batch]. Got [${labels.shape}]`);
  return tf.tidy(() => {
    const idx = labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
    return matMul(tf.oneHot(idx, rows), table);
  });
}
