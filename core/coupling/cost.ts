/**
 * The squared Euclidean cost between two minibatches, C[i, j] = ||x0_i - x1_j||^2, for couplings.
 *
 * Computed on the tensor backend through one matrix product,
 *   C = ||a||^2 1^T + 1 ||b||^2^T - 2 a b^T,
 * then read to the host as float64 for the (sequential) assignment and Sinkhorn solvers.
 */
import { tf, type Tensor } from '../tf';
import { checkShape } from '../errors';

/** A dense cost matrix on the host, row-major [n, m]. */
export interface CostMatrix {
  readonly data: Float64Array;
  readonly n: number;
  readonly m: number;
}

/**
 * Pairwise squared Euclidean distances between the rows of x0 [n, ...] and x1 [m, ...]; each row is
 * flattened, so images and 2D points alike work (the trailing sizes must have equal products).
 *
 * Precision: the expansion ||a||^2 + ||b||^2 - 2 a.b cancels badly in float32 when the points are far
 * from the origin relative to their spread, so both batches are first centred on their joint mean
 * (distances are translation invariant). Small negative results of the remaining rounding are
 * clamped to 0. Entries are float32-accurate (relative ~1e-6 of the squared norms), not float64.
 *
 * Inputs are not disposed; no tensors are left behind.
 */
export function squaredDistanceMatrix(x0: Tensor, x1: Tensor): CostMatrix {
  checkShape(x0.rank >= 1 && x1.rank >= 1, () => `cost: x0 and x1 need a batch axis. Got shapes [${x0.shape}] and [${x1.shape}]`);
  const n = x0.shape[0]!;
  const m = x1.shape[0]!;
  const d0 = n === 0 ? rowSize(x0.shape) : x0.size / n;
  const d1 = m === 0 ? rowSize(x1.shape) : x1.size / m;
  checkShape(d0 === d1, () => `cost: rows of x0 and x1 must have the same number of entries. Got shapes [${x0.shape}] and [${x1.shape}]`);
  if (n === 0 || m === 0) return { data: new Float64Array(0), n, m };
  const c = tf.tidy(() => {
    let a = tf.cast(tf.reshape(x0, [n, d0]), 'float32');
    let b = tf.cast(tf.reshape(x1, [m, d0]), 'float32');
    const mean = tf.div(tf.add(tf.sum(a, 0), tf.sum(b, 0)), n + m);
    a = tf.sub(a, mean);
    b = tf.sub(b, mean);
    const an = tf.sum(tf.square(a), 1, true); // [n, 1]
    const bn = tf.reshape(tf.sum(tf.square(b), 1), [1, m]); // [1, m]
    // Transpose first, then a plain matMul: on the wasm backend matMul(a, b, false, true) is ~10x slower.
    const ab = tf.matMul(a, tf.transpose(b));
    return tf.sub(tf.add(an, bn), tf.mul(ab, 2));
  });
  const raw = c.dataSync();
  c.dispose();
  const data = new Float64Array(n * m);
  for (let k = 0; k < data.length; k++) {
    const x = raw[k]!;
    data[k] = x > 0 ? x : 0;
  }
  return { data, n, m };
}

function rowSize(shape: number[]): number {
  let s = 1;
  for (let k = 1; k < shape.length; k++) s *= shape[k]!;
  return s;
}
