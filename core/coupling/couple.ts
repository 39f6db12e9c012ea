/**
 * Minibatch couplings: which noise sample x0_i is paired with which data sample x1_j in a training
 * batch (Tong et al., OT-CFM; Pooladian et al., multisample flow matching).
 *
 * - 'independent': the pairing the sampler already gives (identity), or a seeded random permutation.
 *   I-CFM / rectified flow.
 * - 'exact-ot': the permutation minimising sum_i ||x0_i - x1_sigma(i)||^2 (an exact assignment).
 *   Straighter conditional paths; the marginal paths still match the data.
 * - 'sinkhorn': the entropic OT plan with regularisation eps, pairs drawn from it (torchcfm's
 *   OTPlanSampler) or each row's argmax. Schrodinger-bridge CFM uses eps = 2 s^2.
 *
 * With labels (class-conditional training), pairs are formed only inside each class, by the same
 * kind of coupling restricted to that class.
 *
 * Rows of any rank are flattened for the cost; the reordered tensors keep their shapes.
 */
import { tf, type Tensor } from '../tf';
import { ConfigError, DataError, ShapeError } from '../errors';
import { Rng } from '../util/random';
import { solveAssignment } from './assignment';
import { squaredDistanceMatrix, type CostMatrix } from './cost';
import { argmaxPlan, samplePlan, sinkhorn, type Pairs } from './sinkhorn';
import { COUPLING_KINDS, isOneOf, type CouplingKind } from '../catalog';

export { COUPLING_KINDS, type CouplingKind } from '../catalog';

export interface CoupleOptions {
  /** Seed for the random parts (independent shuffle, Sinkhorn sampling). Ignored when `rng` is given. */
  seed?: number;
  /** A generator to draw from; pass one per training run so that successive batches differ. */
  rng?: Rng;
  /** independent: pair with a random permutation of x1 instead of the identity. Default false. */
  shuffle?: boolean;
  /** sinkhorn: entropic regularisation eps > 0, in squared-distance units (required for 'sinkhorn'). */
  reg?: number;
  /** sinkhorn: maximum iterations (default 1000). */
  maxIter?: number;
  /** sinkhorn: L1 tolerance on the marginals (default 1e-6). */
  tol?: number;
  /**
   * sinkhorn: 'sample' draws n pairs from the plan with replacement (default; torchcfm), 'argmax'
   * pairs each x0 row with its most likely x1 row. Neither is a permutation in general.
   */
  pairing?: 'sample' | 'argmax';
  /** Class labels of the x0 rows (length n, integers). Give both label arrays or neither. */
  labels0?: ArrayLike<number> | Tensor;
  /** Class labels of the x1 rows (length n, integers). */
  labels1?: ArrayLike<number> | Tensor;
}

/** A coupling of a minibatch as index pairs: the k-th pair is (x0[i0[k]], x1[i1[k]]). */
export interface Coupling {
  readonly kind: CouplingKind;
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  /**
   * Mean squared distance of the pairs, (1/n) sum_k ||x0[i0[k]] - x1[i1[k]]||^2 (float32-accurate).
   * For 'exact-ot' this is the squared W2 distance between the two empirical batches.
   */
  readonly cost: number;
  /** Label of each pair (labels1[i1[k]]) when labels were given. */
  readonly labels?: Int32Array;
  /** False only when a Sinkhorn solve stopped at maxIter before reaching tol. */
  readonly converged: boolean;
}

/** A coupled minibatch: row k of x0 and row k of x1 form the k-th pair. */
export interface CoupledBatch extends Coupling {
  /** x0 reordered by i0 (a new tensor the caller owns). */
  readonly x0: Tensor;
  /** x1 reordered by i1 (a new tensor the caller owns). */
  readonly x1: Tensor;
}

/**
 * Couples a minibatch and returns the reordered tensors.
 *
 * For 'independent' and 'exact-ot', i0 is the identity (x0 keeps its order) and i1 a permutation.
 * For 'sinkhorn' with 'sample' both index arrays come from the draws.
 *
 * @param x0 Noise batch [n, ...].
 * @param x1 Data batch [n, ...] with rows of the same total size as x0's.
 * @example
 * const { x0: a, x1: b } = couple('exact-ot', noise, data);  // then train on (a, b); dispose both
 */
export function couple(kind: CouplingKind, x0: Tensor, x1: Tensor, opts: CoupleOptions = {}): CoupledBatch {
  const c = coupleIndices(kind, x0, x1, opts);
  const a = gatherRows(x0, c.i0);
  let b: Tensor;
  try {
    b = gatherRows(x1, c.i1);
  } catch (e) {
    a.dispose();
    throw e;
  }
  return { ...c, x0: a, x1: b };
}

/** Like {@link couple} but returns only the index pairs (nothing to dispose). */
export function coupleIndices(kind: CouplingKind, x0: Tensor, x1: Tensor, opts: CoupleOptions = {}): Coupling {
  if (!isOneOf(COUPLING_KINDS, kind)) {
    throw new ConfigError('coupling.kind', `must be one of ${COUPLING_KINDS.join(', ')}, got '${String(kind)}'`);
  }
  const n = x0.shape[0] ?? 0;
  if (x0.rank < 1 || x1.rank < 1 || x1.shape[0] !== n) {
    throw new ShapeError(`couple: x0 and x1 must have the same batch size. Got shapes [${x0.shape}] and [${x1.shape}]`);
  }
  if (x0.size !== x1.size) {
    throw new ShapeError(`couple: rows of x0 and x1 must have the same number of entries. Got shapes [${x0.shape}] and [${x1.shape}]`);
  }
  if (kind === 'sinkhorn' && !(opts.reg !== undefined && opts.reg > 0 && Number.isFinite(opts.reg))) {
    throw new ConfigError('coupling.reg', `sinkhorn needs a regularisation reg > 0 (squared-distance units), got ${opts.reg}`);
  }
  const pairing = opts.pairing ?? 'sample';
  if (pairing !== 'sample' && pairing !== 'argmax') {
    throw new ConfigError('coupling.pairing', `must be 'sample' or 'argmax', got '${String(pairing)}'`);
  }
  const needsRng = (kind === 'independent' && opts.shuffle === true) || (kind === 'sinkhorn' && pairing === 'sample');
  let rng: Rng | undefined = opts.rng;
  if (rng === undefined && opts.seed !== undefined) rng = new Rng(opts.seed);
  if (needsRng && rng === undefined) {
    throw new ConfigError(
      'coupling.seed',
      `'${kind}'${kind === 'sinkhorn' ? " with pairing 'sample'" : ' with shuffle'} needs a seed or an rng`,
    );
  }

  const labels = readLabels(opts, n);
  // Only the OT kinds need the n x n cost matrix; independent pairs are costed directly below.
  const C = kind === 'independent' ? null : squaredDistanceMatrix(x0, x1);
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  let converged = true;

  const groups: { rows0: Int32Array; rows1: Int32Array }[] = [];
  if (labels === null) {
    const all = identity(n);
    groups.push({ rows0: all, rows1: all });
  } else {
    groups.push(...groupByLabel(labels.l0, labels.l1));
  }

  for (const { rows0, rows1 } of groups) {
    const k = rows0.length;
    let local: Pairs;
    if (kind === 'independent') {
      local = { i0: identity(k), i1: opts.shuffle === true ? rng!.permutation(k) : identity(k) };
    } else {
      const sub = groups.length === 1 ? C!.data : subMatrix(C!, rows0, rows1);
      if (kind === 'exact-ot') {
        local = { i0: identity(k), i1: solveAssignment(sub, k, k).rowToCol };
      } else {
        const res = sinkhorn(sub, k, k, {
          reg: opts.reg!,
          ...(opts.maxIter !== undefined ? { maxIter: opts.maxIter } : {}),
          ...(opts.tol !== undefined ? { tol: opts.tol } : {}),
        });
        converged &&= res.converged;
        local = pairing === 'argmax' ? argmaxPlan(res.plan, k, k) : samplePlan(res.plan, k, k, k, rng!);
      }
    }
    // Output slot r of this class is the class's r-th x0 row, so the output keeps x0's class layout.
    for (let r = 0; r < k; r++) {
      const slot = rows0[r]!;
      i0[slot] = rows0[local.i0[r]!]!;
      i1[slot] = rows1[local.i1[r]!]!;
    }
  }

  let cost = 0;
  if (C !== null) {
    for (let k = 0; k < n; k++) cost += C.data[i0[k]! * n + i1[k]!]!;
    cost = n === 0 ? 0 : cost / n;
  } else {
    cost = meanPairCost(x0, x1, i0, i1);
  }
  const out: Coupling = { kind, i0, i1, cost, converged };
  if (labels !== null) {
    const pairLabels = new Int32Array(n);
    for (let k = 0; k < n; k++) pairLabels[k] = labels.l1[i1[k]!]!;
    return { ...out, labels: pairLabels };
  }
  return out;
}

function isTensor(x: ArrayLike<number> | Tensor): x is Tensor {
  return typeof (x as Tensor).dataSync === 'function' && Array.isArray((x as Tensor).shape);
}

function identity(n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return p;
}

function gatherRows(x: Tensor, idx: Int32Array): Tensor {
  let isIdentity = true;
  for (let k = 0; k < idx.length && isIdentity; k++) isIdentity = idx[k] === k;
  if (isIdentity && idx.length === x.shape[0]) return tf.clone(x);
  return tf.tidy(() => tf.gather(x, tf.tensor1d(idx, 'int32')));
}

/** (1/n) sum_k ||x0[i0[k]] - x1[i1[k]]||^2 on the backend, without an n x n matrix. */
function meanPairCost(x0: Tensor, x1: Tensor, i0: Int32Array, i1: Int32Array): number {
  const n = i0.length;
  if (n === 0) return 0;
  const t = tf.tidy(() => {
    const a = tf.reshape(tf.gather(x0, tf.tensor1d(i0, 'int32')), [n, -1]);
    const b = tf.reshape(tf.gather(x1, tf.tensor1d(i1, 'int32')), [n, -1]);
    return tf.div(tf.sum(tf.squaredDifference(a, b)), n);
  });
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}

function readLabels(opts: CoupleOptions, n: number): { l0: Int32Array; l1: Int32Array } | null {
  if (opts.labels0 === undefined && opts.labels1 === undefined) return null;
  if (opts.labels0 === undefined || opts.labels1 === undefined) {
    throw new ConfigError(
      opts.labels0 === undefined ? 'coupling.labels0' : 'coupling.labels1',
      'class-respecting coupling needs labels for both x0 and x1',
    );
  }
  return { l0: toLabels(opts.labels0, n, 'labels0'), l1: toLabels(opts.labels1, n, 'labels1') };
}

function toLabels(src: ArrayLike<number> | Tensor, n: number, name: string): Int32Array {
  // Duck-typed: a second copy of tfjs-core (CJS beside ESM) would defeat instanceof.
  const values: ArrayLike<number> = isTensor(src) ? src.dataSync() : src;
  if (values.length !== n) throw new ShapeError(`couple: ${name} must have one label per row (${n}), got ${values.length}`);
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const v = values[k]!;
    if (!Number.isInteger(v)) throw new DataError(`couple: ${name}[${k}] is ${v}; labels must be integers`);
    out[k] = v;
  }
  return out;
}

/** Rows of each class in x0 and x1, classes in increasing label order. */
function groupByLabel(l0: Int32Array, l1: Int32Array): { rows0: Int32Array; rows1: Int32Array }[] {
  const by0 = indicesByLabel(l0);
  const by1 = indicesByLabel(l1);
  const labels = [...new Set([...by0.keys(), ...by1.keys()])].sort((a, b) => a - b);
  return labels.map((label) => {
    const r0 = by0.get(label) ?? [];
    const r1 = by1.get(label) ?? [];
    if (r0.length !== r1.length) {
      throw new DataError(
        `couple: class ${label} has ${r0.length} rows in x0 but ${r1.length} in x1; a class-respecting ` +
          'coupling pairs rows only within a class, so every class needs equal counts (draw x0 labels as a copy of x1 labels)',
      );
    }
    return { rows0: Int32Array.from(r0), rows1: Int32Array.from(r1) };
  });
}

function indicesByLabel(l: Int32Array): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (let k = 0; k < l.length; k++) {
    const key = l[k]!;
    const list = m.get(key);
    if (list) list.push(k);
    else m.set(key, [k]);
  }
  return m;
}

function subMatrix(C: CostMatrix, rows: Int32Array, cols: Int32Array): Float64Array {
  const out = new Float64Array(rows.length * cols.length);
  for (let a = 0; a < rows.length; a++) {
    const base = rows[a]! * C.m;
    for (let b = 0; b < cols.length; b++) out[a * cols.length + b] = C.data[base + cols[b]!]!;
  }
  return out;
}
