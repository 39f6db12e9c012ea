/**
 * Divergence of a velocity field, div_x v(x, t) = sum_i dv_i / dx_i per row, by reverse-mode
 * autodiff: exactly (one vector-Jacobian product per dimension) or by Hutchinson's estimator (one
 * vector-Jacobian product per probe).
 *
 * Both return the velocity as well, taken from the forward pass of the first product, so a
 * likelihood step costs no separate field call. x is [batch, ...dims] with d = prod(dims); rows are
 * independent (fields act row-wise), so sum_i (J^T e_i)_i over a batch-wide one-hot e_i gives every
 * row's trace at once.
 */
import { tf, type Tensor } from '../tf';
import type { VelocityField } from '../field';
import { ConfigError, checkShape } from '../errors';
import { Rng } from '../util/random';

/** A velocity and its (exact or estimated) divergence at one time. */
export interface VelocityAndDivergence {
  /** v(x, t), shape of x. */
  v: Tensor;
  /** div v per row, shape [batch]. */
  div: Tensor;
}

/**
 * One vector-Jacobian product: returns v = field(x) and J^T dy (J = dv/dx, per row), both shaped
 * like x. A field that does not depend on x has J = 0 (tfjs reports no gradient; zeros are returned
 * rather than an error, so constant fields have divergence 0).
 */
function vjp(field: VelocityField, x: Tensor, t: number, cond: Tensor | undefined, dy: Tensor): { v: Tensor; g: Tensor } {
  // tf.grad would throw for an x-independent field and recompute v; the engine call returns both.
  const { value, grads } = tf.engine().gradients(() => field(x, t, cond), [x], dy, true);
  checkShape(
    tf.util.arraysEqual(value.shape, x.shape),
    () => `velocity field must return the shape of x [${x.shape.join(', ')}]; got [${value.shape.join(', ')}]`,
  );
  const g = grads[0] ?? tf.zerosLike(x);
  return { v: value, g };
}

/** Rows of x: [batch, d] with d the product of the remaining dims. */
function rowShape(x: Tensor): [number, number] {
  checkShape(x.rank >= 2, () => `x must have shape [batch, ...dims]; got [${x.shape.join(', ')}]`);
  const B = x.shape[0]!;
  return [B, B === 0 ? 0 : x.size / B];
}

/**
 * Exact divergence by d vector-Jacobian products: div v = sum_i e_i^T J e_i, with e_i the one-hot
 * of coordinate i in every row. Cost: d forward + d backward passes of the field; meant for low
 * dimension (toy 2D data), where it is the reference the Hutchinson estimate is checked against.
 *
 * @param x [batch, ...dims], float32; not disposed.
 * @returns v (shape of x) and div [batch]; new tensors the caller owns.
 */
export function exactDivergence(field: VelocityField, x: Tensor, t: number, cond?: Tensor): VelocityAndDivergence {
  const [B, d] = rowShape(x);
  const [v, div] = tf.tidy(() => {
    let v: Tensor | undefined;
    let div: Tensor = tf.zeros([B]);
    for (let i = 0; i < d; i++) {
      // Built on the host: tf.oneHot(..., 'float32') on the wasm backend of tfjs 4.22 writes the
      // int32 bit pattern of 1 (1.4e-45) instead of 1.0.
      const mask = new Float32Array(B * d);
      for (let b = 0; b < B; b++) mask[b * d + i] = 1;
      const e = tf.tensor(mask, x.shape, 'float32');
      const r = vjp(field, x, t, cond, e);
      if (v === undefined) v = r.v;
      else r.v.dispose(); // same values; only the first forward pass is kept
      div = tf.add(div, tf.sum(tf.reshape(tf.mul(r.g, e), [B, d]), 1));
    }
    return [v ?? field(x, t, cond), div];
  });
  return { v: v!, div: div! };
}

/** Distribution of Hutchinson probes: both have E[z z^T] = I, so z^T J z is unbiased for tr J. */
export type ProbeKind = 'rademacher' | 'gaussian';

/**
 * `count` probe tensors shaped like `shape` ([batch, ...dims]), drawn from a seeded host Rng so a
 * likelihood is reproducible on every backend. Rademacher entries are +-1 (lower variance: with
 * J_s = (J + J^T)/2, Var = 2 sum_{i != j} (J_s)_ij^2 against 2 ||J_s||_F^2 for Gaussian; the
 * diagonal costs nothing. docs/formulas.md, "Hutchinson"). Caller disposes.
 */
export function makeProbes(shape: number[], kind: ProbeKind, count: number, seed: number): Tensor[] {
  if (kind !== 'rademacher' && kind !== 'gaussian')
    throw new ConfigError('probe', `must be 'rademacher' or 'gaussian', got '${String(kind)}'`);
  if (!(Number.isInteger(count) && count >= 1)) throw new ConfigError('probes', `must be a positive integer, got ${count}`);
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const out: Tensor[] = [];
  for (let p = 0; p < count; p++) {
    const z = new Float32Array(size);
    if (kind === 'rademacher') for (let i = 0; i < size; i++) z[i] = rng.sign();
    else for (let i = 0; i < size; i++) z[i] = rng.normal();
    out.push(tf.tensor(z, shape));
  }
  return out;
}

/**
 * Hutchinson's estimate of the divergence: div v ~ (1/P) sum_p z_p^T J z_p, each term one
 * vector-Jacobian product (z^T J z = (J^T z) . z, per row). Unbiased for any fixed x; for a
 * likelihood the probes are drawn once and held for the whole solve (as flow_matching and
 * k-diffusion do), which keeps the ODE deterministic and the integrated estimate unbiased.
 *
 * @param probes P tensors shaped like x (see `makeProbes`); not disposed.
 * @returns v (shape of x) and the estimate [batch]; new tensors the caller owns.
 */
export function hutchinsonDivergence(
  field: VelocityField,
  x: Tensor,
  t: number,
  probes: readonly Tensor[],
  cond?: Tensor,
): VelocityAndDivergence {
  const [B, d] = rowShape(x);
  if (probes.length === 0) throw new ConfigError('probes', 'needs at least one probe');
  probes.forEach((z, p) =>
    checkShape(
      tf.util.arraysEqual(z.shape, x.shape),
      () => `probe ${p} must have the shape of x [${x.shape.join(', ')}]; got [${z.shape.join(', ')}]`,
    ),
  );
  const [v, div] = tf.tidy(() => {
    let v: Tensor | undefined;
    let acc: Tensor = tf.zeros([B]);
    for (const z of probes) {
      const r = vjp(field, x, t, cond, z);
      if (v === undefined) v = r.v;
      else r.v.dispose();
      acc = tf.add(acc, tf.sum(tf.reshape(tf.mul(r.g, z), [B, d]), 1));
    }
    return [v!, probes.length === 1 ? acc : tf.div(acc, probes.length)];
  });
  return { v: v!, div: div! };
}
