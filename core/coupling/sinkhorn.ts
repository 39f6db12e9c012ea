/**
 * Entropic optimal transport by Sinkhorn iterations in the log domain.
 *
 * Problem (Cuturi 2013), with marginals a (n) and b (m), cost C [n, m] and regularisation eps > 0:
 *   P* = argmin_{P 1 = a, P^T 1 = b, P >= 0}  <P, C> + eps sum_ij P_ij (log P_ij - 1).
 * The solution has the form P_ij = exp((f_i + g_j - C_ij) / eps); the dual potentials f, g are found by
 * alternately making the row and the column marginals exact:
 *   f_i = eps log a_i - eps LSE_j((g_j - C_ij) / eps),   g_j = eps log b_j - eps LSE_i((f_i - C_ij) / eps).
 * Working with potentials and log-sum-exp (instead of the scalings exp(f / eps)) never underflows,
 * so eps can be small relative to the costs, where the plan approaches the exact OT plan.
 * eps is in the units of the cost (squared distance for minibatch OT), as in POT and torchcfm.
 *
 * Speed: the iterations run in the stabilised scaling form (see Workspace: multiplicative updates
 * between occasional absorptions into the log-domain potentials, no exp per entry), and eps is
 * annealed from the cost range down to reg (epsScaling), which cuts the iteration count for small reg.
 * Runs in float64 on the host: the iteration count, not the arithmetic, dominates, and float64 lets
 * the marginal tolerance go far below float32's 1e-7.
 *
 * Why hand-written: core imports nothing but tfjs-core, and no installed package solves entropic OT
 * (POT and torchcfm, which this follows, are Python). Tested against its own fixed-point conditions
 * (marginals within tol) and against the exact assignment as reg -> 0 (test/core/coupling).
 */
import { ConfigError, DataError, ShapeError, SolverError } from '../errors';
import type { Rng } from '../util/random';

export interface SinkhornOptions {
  /** Entropic regularisation eps > 0, in cost units. Smaller: closer to exact OT, more iterations. */
  reg: number;
  /** Maximum number of (row, column) update pairs. Default 1000. */
  maxIter?: number;
  /**
   * Stop when the L1 error of the row marginals, sum_i |(P 1)_i - a_i|, is below tol (the column
   * marginals are exact after every column update). Default 1e-6.
   */
  tol?: number;
  /** Source weights (length n, >= 0, positive sum; normalised to 1). Default uniform 1/n. */
  a?: ArrayLike<number>;
  /** Target weights (length m, >= 0, positive sum; normalised to 1). Default uniform 1/m. */
  b?: ArrayLike<number>;
  /**
   * Epsilon scaling (annealing): solve for eps = range(C), range(C) q, range(C) q^2, ... down to reg,
   * warm-starting each stage from the previous potentials. Plain Sinkhorn needs O(range(C) / eps)
   * or more iterations from a cold start, so this is much faster for small reg, and gives the same
   * plan (the fixed point at reg is unique). Factor q in (0, 1), default 0.5; false disables it.
   */
  epsScaling?: number | false;
}

export interface SinkhornResult {
  /** The transport plan, row-major [n, m]; total mass 1. */
  readonly plan: Float64Array;
  readonly n: number;
  readonly m: number;
  /** Dual potentials (cost units): P_ij = exp((f_i + g_j - C_ij) / eps). */
  readonly f: Float64Array;
  readonly g: Float64Array;
  /** Update pairs performed. */
  readonly iterations: number;
  /** Whether the marginal error fell below tol within maxIter. The plan is returned either way. */
  readonly converged: boolean;
  /** L1 marginal error of the returned plan: the larger of the row and column errors. */
  readonly marginalError: number;
  /** <P, C>: the transport cost of the plan (without the entropy term). */
  readonly transportCost: number;
}

/**
 * Runs log-domain Sinkhorn on a host cost matrix.
 *
 * @param cost Row-major [n, m] costs, finite.
 * @example
 * const { plan } = sinkhorn(C.data, C.n, C.m, { reg: 0.05 });
 */
export function sinkhorn(cost: ArrayLike<number>, n: number, m: number, opts: SinkhornOptions): SinkhornResult {
  const eps = opts.reg;
  if (!(eps > 0 && Number.isFinite(eps))) throw new ConfigError('sinkhorn.reg', `must be a positive number, got ${eps}`);
  const maxIter = opts.maxIter ?? 1000;
  if (!(Number.isInteger(maxIter) && maxIter >= 1)) {
    throw new ConfigError('sinkhorn.maxIter', `must be a positive integer, got ${maxIter}`);
  }
  const tol = opts.tol ?? 1e-6;
  if (!(tol > 0)) throw new ConfigError('sinkhorn.tol', `must be positive, got ${tol}`);
  if (cost.length !== n * m) throw new ShapeError(`sinkhorn: cost must have n*m = ${n * m} entries, got ${cost.length}`);

  const logA = logWeights(opts.a, n, 'sinkhorn.a');
  const logB = logWeights(opts.b, m, 'sinkhorn.b');
  const aW = logA.map(Math.exp);
  let cMin = Infinity;
  let cMax = -Infinity;
  for (let k = 0; k < n * m; k++) {
    const c = cost[k]!;
    if (!Number.isFinite(c)) {
      const i = Math.floor(k / m);
      throw new DataError(`sinkhorn: cost[${i}][${k - i * m}] is ${c}; every cost must be finite`);
    }
    if (c < cMin) cMin = c;
    if (c > cMax) cMax = c;
  }
  const C = cost instanceof Float64Array ? cost : Float64Array.from(cost);

  const q = opts.epsScaling ?? 0.5;
  if (q !== false && !(q > 0 && q < 1)) throw new ConfigError('sinkhorn.epsScaling', `must be in (0, 1) or false, got ${String(q)}`);
  // Annealing schedule: eps from the cost range (where the plan is nearly the product a b^T and
  // Sinkhorn converges in a few steps) down to reg, each stage warm-started from the last.
  const stages: number[] = [];
  if (q !== false && n > 0 && m > 0) {
    for (let e = cMax - cMin; e > eps; e *= q) stages.push(e);
  }
  // Intermediate stages share at most half of maxIter, so the final stage (the only one whose plan
  // is returned) always runs; with too few iterations for that, annealing is skipped.
  const stageBudget = stages.length > 0 ? Math.floor(maxIter / (2 * stages.length)) : 0;
  if (stageBudget < 2) stages.length = 0;
  stages.push(eps);

  const f = new Float64Array(n); // potentials in cost units, carried across stages
  const g = new Float64Array(m);
  const bW = logB.map(Math.exp);
  const w = new Workspace(C, n, m, logA, logB, f, g);
  let iterations = 0;
  let converged = false;

  for (let s = 0; s < stages.length; s++) {
    const e = stages[s]!;
    const last = s === stages.length - 1;
    // Intermediate stages only need a warm start: stop them at a loose tolerance.
    const stageTol = last ? tol : Math.max(tol, STAGE_TOL);
    const stageEnd = last ? maxIter : iterations + stageBudget;
    // A log-domain step first: it is valid from any potentials (a cold start, or the previous
    // stage's at a larger eps), and leaves every kernel column with mass b_j; a row that underflows
    // is repaired below.
    w.logStep(e);
    iterations++;
    w.rebuildKernel(e);
    while (iterations < stageEnd) {
      const err = w.rowScale(aW);
      if (err === null) {
        // A row of the kernel underflowed to 0: repair the potentials in the log domain.
        w.absorb(e);
        w.logStep(e);
        w.rebuildKernel(e);
        iterations++;
        continue;
      }
      if (!Number.isFinite(err)) throw new SolverError(`sinkhorn: marginal error became ${err} at iteration ${iterations}`);
      // The row sums before this update measure the plan after the last column update (exact columns).
      // The rescaled rows are exact and move at most err of mass, so the columns stay within err too.
      if (err < stageTol) {
        if (last) converged = true;
        break;
      }
      if (!w.colScale(bW)) {
        w.absorb(e);
        w.logStep(e);
        w.rebuildKernel(e);
      } else if (w.needsAbsorb()) {
        w.absorb(e);
        w.rebuildKernel(e);
      }
      iterations++;
    }
    w.absorb(e);
  }

  const plan = new Float64Array(n * m);
  let transportCost = 0;
  const rowSum = new Float64Array(n);
  const colSum = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    const base = i * m;
    let row = 0;
    for (let j = 0; j < m; j++) {
      const p = Math.exp((f[i]! + g[j]! - C[base + j]!) / eps);
      plan[base + j] = p;
      row += p;
      colSum[j] = colSum[j]! + p;
      transportCost += p * C[base + j]!;
    }
    rowSum[i] = row;
  }
  // Report the error of the plan actually returned (the larger of the two marginals).
  let rowErr = 0;
  for (let i = 0; i < n; i++) rowErr += Math.abs(rowSum[i]! - aW[i]!);
  let colErr = 0;
  for (let j = 0; j < m; j++) colErr += Math.abs(colSum[j]! - bW[j]!);
  return { plan, n, m, f, g, iterations, converged, marginalError: Math.max(rowErr, colErr), transportCost };
}

/**
 * Sinkhorn state in the stabilised form of Schmitzer (2019): the plan is
 *   P_ij = u_i Kt_ij v_j,   Kt_ij = exp((f_i + g_j - C_ij) / eps),
 * with log-domain potentials f, g and multiplicative scalings u, v near 1. Iterations update only
 * u and v (a matrix-vector product each, no exp); when a scaling drifts far from 1 it is absorbed
 * into the potentials (f += eps log u) and the kernel is rebuilt, so nothing over- or underflows.
 * This gives log-domain stability at the cost of plain Sinkhorn, ~10x faster than exp per entry.
 */
class Workspace {
  readonly kernel: Float64Array;
  readonly u: Float64Array;
  readonly v: Float64Array;
  private readonly tmp: Float64Array;

  constructor(
    private readonly C: Float64Array,
    private readonly n: number,
    private readonly m: number,
    private readonly logA: Float64Array,
    private readonly logB: Float64Array,
    private readonly f: Float64Array,
    private readonly g: Float64Array,
  ) {
    this.kernel = new Float64Array(n * m);
    this.u = new Float64Array(n).fill(1);
    this.v = new Float64Array(m).fill(1);
    this.tmp = new Float64Array(Math.max(n, m));
  }

  /** One exact log-domain update of f then g (with u = v = 1, i.e. after absorb). */
  logStep(e: number): void {
    const { C, n, m, f, g, logA, logB } = this;
    const inv = 1 / e;
    for (let i = 0; i < n; i++) {
      const base = i * m;
      let mx = -Infinity;
      for (let j = 0; j < m; j++) {
        const x = (g[j]! - C[base + j]!) * inv;
        if (x > mx) mx = x;
      }
      let sum = 0;
      for (let j = 0; j < m; j++) sum += Math.exp((g[j]! - C[base + j]!) * inv - mx);
      f[i] = e * (logA[i]! - mx - Math.log(sum));
    }
    // Columns: max and sum accumulated row by row so that memory access stays sequential.
    const colMax = this.tmp;
    colMax.fill(-Infinity, 0, m);
    for (let i = 0; i < n; i++) {
      const base = i * m;
      const fi = f[i]!;
      for (let j = 0; j < m; j++) {
        const x = (fi - C[base + j]!) * inv;
        if (x > colMax[j]!) colMax[j] = x;
      }
    }
    const colSum = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      const base = i * m;
      const fi = f[i]!;
      for (let j = 0; j < m; j++) colSum[j] = colSum[j]! + Math.exp((fi - C[base + j]!) * inv - colMax[j]!);
    }
    for (let j = 0; j < m; j++) g[j] = e * (logB[j]! - colMax[j]! - Math.log(colSum[j]!));
    this.u.fill(1);
    this.v.fill(1);
  }

  rebuildKernel(e: number): void {
    const { C, n, m, f, g, kernel } = this;
    const inv = 1 / e;
    for (let i = 0; i < n; i++) {
      const base = i * m;
      const fi = f[i]!;
      for (let j = 0; j < m; j++) kernel[base + j] = Math.exp((fi + g[j]! - C[base + j]!) * inv);
    }
  }

  /**
   * u_i = a_i / (Kt v)_i. Returns the L1 row-marginal error of the plan before the update, or null
   * (leaving u unchanged) when some row of Kt v is 0 or not finite.
   */
  rowScale(a: Float64Array): number | null {
    const { n, m, kernel, u, v, tmp } = this;
    let err = 0;
    for (let i = 0; i < n; i++) {
      const base = i * m;
      let s = 0;
      for (let j = 0; j < m; j++) s += kernel[base + j]! * v[j]!;
      if (!(s > 0 && s < Infinity)) return null;
      tmp[i] = s;
      err += Math.abs(u[i]! * s - a[i]!);
    }
    for (let i = 0; i < n; i++) u[i] = a[i]! / tmp[i]!;
    return err;
  }

  /** v_j = b_j / (Kt^T u)_j. Returns false (leaving v unchanged) when some column sum is 0 or not finite. */
  colScale(b: Float64Array): boolean {
    const { n, m, kernel, u, v } = this;
    const cs = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      const base = i * m;
      const ui = u[i]!;
      for (let j = 0; j < m; j++) cs[j] = cs[j]! + kernel[base + j]! * ui;
    }
    for (let j = 0; j < m; j++) if (!(cs[j]! > 0 && cs[j]! < Infinity)) return false;
    for (let j = 0; j < m; j++) v[j] = b[j]! / cs[j]!;
    return true;
  }

  needsAbsorb(): boolean {
    for (const x of this.u) if (!(x < ABSORB && x > 1 / ABSORB)) return true;
    for (const x of this.v) if (!(x < ABSORB && x > 1 / ABSORB)) return true;
    return false;
  }

  /** Moves the scalings into the potentials: f += e log u, g += e log v; u = v = 1. */
  absorb(e: number): void {
    const { n, m, f, g, u, v } = this;
    for (let i = 0; i < n; i++) f[i] = f[i]! + e * Math.log(u[i]!);
    for (let j = 0; j < m; j++) g[j] = g[j]! + e * Math.log(v[j]!);
    u.fill(1);
    v.fill(1);
  }
}

/** Scalings beyond [1 / ABSORB, ABSORB] are absorbed into the potentials. */
const ABSORB = 1e50;

/** Intermediate annealing stages stop at this L1 marginal error (they only provide a warm start). */
const STAGE_TOL = 1e-3;

function logWeights(w: ArrayLike<number> | undefined, len: number, field: string): Float64Array {
  const out = new Float64Array(len);
  if (w === undefined) {
    out.fill(-Math.log(len));
    return out;
  }
  if (w.length !== len) throw new ConfigError(field, `must have length ${len}, got ${w.length}`);
  let total = 0;
  for (let k = 0; k < len; k++) {
    const x = w[k]!;
    if (!(x >= 0 && Number.isFinite(x))) throw new ConfigError(`${field}[${k}]`, `must be a finite number >= 0, got ${x}`);
    total += x;
  }
  if (!(total > 0 && Number.isFinite(total))) throw new ConfigError(field, `must have a positive finite sum, got ${total}`);
  for (let k = 0; k < len; k++) out[k] = Math.log(w[k]! / total);
  return out;
}

/** Index pairs (i0[k], i1[k]): row of x0 and row of x1 of the k-th pair. */
export interface Pairs {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
}

/**
 * Draws `count` pairs (i, j) independently with probability P_ij / sum(P) (with replacement), the
 * way torchcfm's OTPlanSampler turns a plan into a minibatch: a row may appear more than once or not
 * at all. Pairs come out in the order drawn.
 */
export function samplePlan(plan: ArrayLike<number>, n: number, m: number, count: number, rng: Rng): Pairs {
  if (plan.length !== n * m) throw new ShapeError(`samplePlan: plan must have n*m = ${n * m} entries, got ${plan.length}`);
  const cdf = new Float64Array(n * m);
  let acc = 0;
  for (let k = 0; k < cdf.length; k++) {
    const p = plan[k]!;
    if (!(p >= 0)) throw new DataError(`samplePlan: plan entry ${k} is ${p}; entries must be >= 0`);
    acc += p;
    cdf[k] = acc;
  }
  if (!(acc > 0)) throw new DataError('samplePlan: the plan has no mass');
  const i0 = new Int32Array(count);
  const i1 = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    const u = rng.uniform() * acc;
    // First k with cdf[k] > u (binary search); zero-mass entries are never chosen.
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    const i = Math.floor(lo / m);
    i0[s] = i;
    i1[s] = lo - i * m;
  }
  return { i0, i1 };
}

/**
 * Pairs every row i with its most likely column argmax_j P_ij (deterministic). Columns may repeat or
 * be missed: unlike the exact OT assignment this is not a permutation.
 */
export function argmaxPlan(plan: ArrayLike<number>, n: number, m: number): Pairs {
  if (plan.length !== n * m) throw new ShapeError(`argmaxPlan: plan must have n*m = ${n * m} entries, got ${plan.length}`);
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let at = 0;
    for (let j = 0; j < m; j++) {
      const p = plan[i * m + j]!;
      if (p > best) {
        best = p;
        at = j;
      }
    }
    i0[i] = i;
    i1[i] = at;
  }
  return { i0, i1 };
}
