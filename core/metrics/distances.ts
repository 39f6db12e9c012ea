/**
 * Distances between two point sets X = {x_i} (n points) and Y = {y_j} (m points) in R^d, for judging
 * generated samples against data. All sums run in float64 on the host (see points.ts for why).
 *
 * - energy distance (Szekely & Rizzo):  D^2 = 2 E|X - Y| - E|X - X'| - E|Y - Y'|; 0 iff P = Q.
 * - MMD^2 with Gaussian (RBF) kernels (Gretton et al. 2012).
 * - sliced Wasserstein-2: W2^2 averaged over random 1D projections.
 *
 * Costs: energy and MMD are O((n + m)^2 d); sliced W2 is O(L (n + m)(d + log(n + m))) for L directions.
 */
import { ConfigError, ShapeError } from '../errors';
import { Rng } from '../util/random';
import { sqDist, toHostPair, type HostPoints, type PointSet } from './points';

export interface EnergyOptions {
  /** Row length of flat typed-array inputs (default 2). */
  dim?: number;
  /**
   * true (default): the unbiased U-statistic, whose within-set means skip the i = j terms:
   *   D^2 = (2 / nm) sum_ij |x_i - y_j| - (1 / n(n-1)) sum_{i != i'} |x_i - x_i'| - (1 / m(m-1)) sum_{j != j'} |y_j - y_j'|.
   * Its expectation is exactly the population D^2 (0 for equal distributions), so it can be slightly
   * negative. false: the V-statistic (divide by n^2 and m^2), always >= 0 but biased upwards.
   */
  unbiased?: boolean;
}

/**
 * Energy distance D^2(P, Q) = 2 E|X - Y| - E|X - X'| - E|Y - Y'| between the empirical sets, with
 * Euclidean norms |.|. Returns the squared form D^2 (the quantity usually called "energy distance"),
 * unbiased by default. Needs n, m >= 2 for the unbiased form.
 */
export function energyDistance(x: PointSet, y: PointSet, opts: EnergyOptions = {}): number {
  const [a, b] = toHostPair(x, y, opts.dim);
  const unbiased = opts.unbiased ?? true;
  needPoints(a, b, unbiased ? 2 : 1);
  const { n, d } = a;
  const m = b.n;
  let xy = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) xy += Math.sqrt(sqDist(a.data, i, b.data, j, d));
  const xx = 2 * halfSum(a, Math.sqrt); // sum over ordered pairs i != i'
  const yy = 2 * halfSum(b, Math.sqrt);
  const nx = unbiased ? n * (n - 1) : n * n;
  const ny = unbiased ? m * (m - 1) : m * m;
  return (2 * xy) / (n * m) - xx / nx - yy / ny;
}

export interface MmdOptions {
  /** Row length of flat typed-array inputs (default 2). */
  dim?: number;
  /**
   * Kernel bandwidth(s) h > 0: k(a, b) = sum_h exp(-|a - b|^2 / (2 h^2)). Several bandwidths give a
   * sum of kernels (sensitive at several scales). Default: the median heuristic (one bandwidth).
   */
  bandwidth?: number | readonly number[];
  /**
   * true (default): the unbiased estimator (Gretton et al., eq. 3), which drops the i = i' terms:
   *   MMD^2_u = (1 / n(n-1)) sum_{i != i'} k(x_i, x_i') + (1 / m(m-1)) sum_{j != j'} k(y_j, y_j')
   *             - (2 / nm) sum_ij k(x_i, y_j);
   * can be slightly negative. false: the biased V-statistic (diagonals kept, divide by n^2, m^2).
   */
  unbiased?: boolean;
}

export interface MmdResult {
  /** The MMD^2 estimate. */
  readonly mmd2: number;
  /** Bandwidths used (the median-heuristic value when none was given). */
  readonly bandwidths: number[];
}

/** Squared maximum mean discrepancy with Gaussian kernels. */
export function mmdRbf(x: PointSet, y: PointSet, opts: MmdOptions = {}): MmdResult {
  const [a, b] = toHostPair(x, y, opts.dim);
  const unbiased = opts.unbiased ?? true;
  needPoints(a, b, unbiased ? 2 : 1);
  const hs =
    opts.bandwidth === undefined ? [medianBandwidth(a, b)] : typeof opts.bandwidth === 'number' ? [opts.bandwidth] : [...opts.bandwidth];
  if (hs.length === 0) throw new ConfigError('mmd.bandwidth', 'needs at least one bandwidth');
  hs.forEach((h, k) => {
    if (!(h > 0 && Number.isFinite(h))) throw new ConfigError(`mmd.bandwidth[${k}]`, `must be a positive number, got ${h}`);
  });
  const gammas = hs.map((h) => 1 / (2 * h * h));
  const kernel = (s: number): number => {
    let v = 0;
    for (const g of gammas) v += Math.exp(-g * s);
    return v;
  };
  const { n, d } = a;
  const m = b.n;
  let xy = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) xy += kernel(sqDist(a.data, i, b.data, j, d));
  let xx = 2 * halfSum(a, kernel);
  let yy = 2 * halfSum(b, kernel);
  if (!unbiased) {
    xx += n * hs.length; // k(x, x) = number of kernels
    yy += m * hs.length;
  }
  const nx = unbiased ? n * (n - 1) : n * n;
  const ny = unbiased ? m * (m - 1) : m * m;
  return { mmd2: xx / nx + yy / ny - (2 * xy) / (n * m), bandwidths: hs };
}

/**
 * The median heuristic bandwidth: the median Euclidean distance between distinct points of the
 * pooled sample X u Y. Above `maxPoints` pooled points (default 1000) an evenly strided subset is
 * used, which keeps the cost bounded and the result deterministic.
 */
export function medianHeuristic(x: PointSet, y: PointSet, opts: { dim?: number; maxPoints?: number } = {}): number {
  const [a, b] = toHostPair(x, y, opts.dim);
  return medianBandwidth(a, b, opts.maxPoints);
}

function medianBandwidth(a: HostPoints, b: HostPoints, maxPoints = 1000): number {
  const d = a.d;
  const total = a.n + b.n;
  const take = Math.min(total, Math.max(2, maxPoints));
  const pooled = new Float64Array(take * d);
  for (let k = 0; k < take; k++) {
    const idx = Math.floor((k * total) / take);
    const [src, row] = idx < a.n ? [a.data, idx] : [b.data, idx - a.n];
    for (let c = 0; c < d; c++) pooled[k * d + c] = src[row * d + c]!;
  }
  const dists = new Float64Array((take * (take - 1)) / 2);
  let p = 0;
  for (let i = 0; i < take; i++) for (let j = i + 1; j < take; j++) dists[p++] = sqDist(pooled, i, pooled, j, d);
  if (dists.length === 0) throw new ShapeError('median heuristic: needs at least two points');
  const len = dists.length;
  const hi = nthSmallest(dists, len >> 1);
  // Even count: average the two middle values (the lower one is the max of the left part).
  let med = hi;
  if (len % 2 === 0) {
    let lo = -Infinity;
    for (let k = 0; k < len >> 1; k++) if (dists[k]! > lo) lo = dists[k]!;
    med = (lo + hi) / 2;
  }
  const h = Math.sqrt(med);
  // All points equal (or most pairs coincide): any positive scale is as good; avoid h = 0.
  return h > 0 ? h : 1;
}

/** Quickselect (Hoare partition, median-of-three): the k-th smallest value (0-based); reorders `v` in place. */
export function nthSmallest(v: Float64Array, k: number): number {
  let lo = 0;
  let hi = v.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    // median of three as pivot, against sorted and adversarial orders
    const a = v[lo]!;
    const b = v[mid]!;
    const c = v[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (v[i]! < pivot) i++;
      while (v[j]! > pivot) j--;
      if (i <= j) {
        const t = v[i]!;
        v[i] = v[j]!;
        v[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return v[k]!;
  }
  return v[k]!;
}

export interface SlicedOptions {
  /** Row length of flat typed-array inputs (default 2). */
  dim?: number;
  /** Number of random directions L (default 128). */
  numDirections?: number;
  /** Seed of the directions (default 0, so the metric is deterministic). */
  seed?: number;
  /** Explicit directions, flat [L, d]; each row is normalised. Overrides numDirections and seed. */
  directions?: ArrayLike<number>;
}

export interface SlicedResult {
  /** SW2^2 = (1/L) sum_l W2^2(theta_l . X, theta_l . Y). */
  readonly squared: number;
  /** SW2 = sqrt(squared). */
  readonly distance: number;
  /** W2^2 along each direction. */
  readonly perDirection: Float64Array;
}

/**
 * L unit vectors in R^d, uniform on the sphere (normalised standard normals), flat [L, d].
 * Deterministic in the seed; `slicedWasserstein2` uses exactly these for the same (L, d, seed).
 */
export function randomDirections(count: number, dim: number, seed: number): Float64Array {
  if (!(Number.isInteger(count) && count >= 1)) throw new ConfigError('sliced.numDirections', `must be a positive integer, got ${count}`);
  if (!(Number.isInteger(dim) && dim >= 1)) throw new ConfigError('sliced.dim', `must be a positive integer, got ${dim}`);
  const rng = new Rng(seed);
  const out = new Float64Array(count * dim);
  for (let l = 0; l < count; l++) {
    let norm: number;
    do {
      norm = 0;
      for (let k = 0; k < dim; k++) {
        const z = rng.normal();
        out[l * dim + k] = z;
        norm += z * z;
      }
    } while (norm === 0);
    const s = 1 / Math.sqrt(norm);
    for (let k = 0; k < dim; k++) out[l * dim + k] = out[l * dim + k]! * s;
  }
  return out;
}

/**
 * Sliced Wasserstein-2: SW2^2(P, Q) = E_theta W2^2(theta . X, theta . Y), estimated with L directions.
 * Each 1D W2^2 is exact for the two empirical measures (see {@link wasserstein2Squared1d}), so equal
 * and unequal sample sizes are both handled without interpolation error.
 */
export function slicedWasserstein2(x: PointSet, y: PointSet, opts: SlicedOptions = {}): SlicedResult {
  const [a, b] = toHostPair(x, y, opts.dim);
  needPoints(a, b, 1);
  const d = a.d;
  let dirs: Float64Array;
  if (opts.directions !== undefined) {
    if (opts.directions.length === 0 || opts.directions.length % d !== 0) {
      throw new ShapeError(`sliced: directions must be a flat [L, ${d}] array, got ${opts.directions.length} numbers`);
    }
    dirs = Float64Array.from(opts.directions);
    for (let l = 0; l < dirs.length / d; l++) {
      let norm = 0;
      for (let k = 0; k < d; k++) norm += dirs[l * d + k]! ** 2;
      if (!(norm > 0 && Number.isFinite(norm))) throw new ConfigError(`sliced.directions[${l}]`, 'must be a finite non-zero vector');
      const s = 1 / Math.sqrt(norm);
      for (let k = 0; k < d; k++) dirs[l * d + k] = dirs[l * d + k]! * s;
    }
  } else {
    dirs = randomDirections(opts.numDirections ?? 128, d, opts.seed ?? 0);
  }
  const L = dirs.length / d;
  const pa = new Float64Array(a.n);
  const pb = new Float64Array(b.n);
  const perDirection = new Float64Array(L);
  let sum = 0;
  for (let l = 0; l < L; l++) {
    project(a, dirs, l, pa);
    project(b, dirs, l, pb);
    pa.sort();
    pb.sort();
    const w = wasserstein2SquaredSorted(pa, pb);
    perDirection[l] = w;
    sum += w;
  }
  const squared = sum / L;
  return { squared, distance: Math.sqrt(squared), perDirection };
}

function project(p: HostPoints, dirs: Float64Array, l: number, out: Float64Array): void {
  const d = p.d;
  for (let i = 0; i < p.n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += p.data[i * d + k]! * dirs[l * d + k]!;
    out[i] = s;
  }
}

/**
 * W2^2 between two 1D empirical measures (uniform weights 1/n and 1/m):
 *   W2^2 = integral_0^1 (F^-1(u) - G^-1(u))^2 du,
 * with F^-1, G^-1 the step quantile functions. The integral is a finite sum over the merged
 * breakpoints i/n and j/m; for n = m it is (1/n) sum_i (a_(i) - b_(i))^2 over the sorted values.
 */
export function wasserstein2Squared1d(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length === 0 || b.length === 0) throw new ShapeError('wasserstein2Squared1d: both sets must be non-empty');
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  return wasserstein2SquaredSorted(sa, sb);
}

function wasserstein2SquaredSorted(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  const m = b.length;
  if (n === m) {
    let s = 0;
    for (let i = 0; i < n; i++) s += (a[i]! - b[i]!) ** 2;
    return s / n;
  }
  // Breakpoints in units of 1/(n m), integers, so that ties between i/n and j/m are exact.
  let i = 0;
  let j = 0;
  let u = 0;
  let s = 0;
  while (i < n && j < m) {
    const ea = (i + 1) * m;
    const eb = (j + 1) * n;
    const next = Math.min(ea, eb);
    s += (a[i]! - b[j]!) ** 2 * (next - u);
    u = next;
    if (ea === next) i++;
    if (eb === next) j++;
  }
  return s / (n * m);
}

/** Sum of f(|p_i - p_j|^2) over unordered pairs i < j (within one set). */
function halfSum(p: HostPoints, f: (sq: number) => number): number {
  let s = 0;
  for (let i = 0; i < p.n; i++) for (let j = i + 1; j < p.n; j++) s += f(sqDist(p.data, i, p.data, j, p.d));
  return s;
}

function needPoints(a: HostPoints, b: HostPoints, min: number): void {
  if (a.n < min || b.n < min) {
    throw new ShapeError(`metric needs at least ${min} point${min > 1 ? 's' : ''} in each set. Got ${a.n} and ${b.n}`);
  }
}
