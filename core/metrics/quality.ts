/**
 * Sample-quality metrics on feature vectors (a classifier's penultimate layer for images, the points
 * themselves for 2-D data). Host float64, like the other metrics (points.ts says why).
 *
 * - Frechet distance (Heusel et al. 2017's FID without Inception: on whatever features are given)
 *   between the Gaussians fitted to two sets:
 *     FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^(1/2) S2 S1^(1/2))^(1/2))
 *   (the last trace equals tr((S1 S2)^(1/2)), computed on the symmetric form by two eigendecompositions).
 *   Covariances are unbiased (divide by n - 1).
 * - KID (Binkowski et al. 2018): the unbiased MMD^2 with the cubic polynomial kernel
 *   k(a, b) = (a . b / d + 1)^3, averaged over `subsets` random subsets of `subsetSize` rows of each
 *   set (their standard deviation is reported too).
 * - Coverage and density (Naeem et al. 2020) of fake samples Y against real ones X with k-NN balls:
 *   r_i the distance from x_i to its k-th nearest other real point;
 *     coverage = (1/N) sum_i 1[some y_j within r_i of x_i]      (how much of the data is reached, 0 .. 1)
 *     density  = (1/(k M)) sum_j sum_i 1[y_j within r_i of x_i]   (~1 when Y follows X, > 1 where it piles up)
 */
import { ConfigError, ShapeError } from '../errors';
import { Rng } from '../util/random';
import { sqDist, toHostPair, toHostPoints, type HostPoints, type PointSet } from './points';
import { nthSmallest } from './distances';

/** Mean and unbiased covariance (row-major d x d) of a point set. */
export interface Moments {
  readonly mean: Float64Array;
  readonly cov: Float64Array;
  readonly d: number;
  readonly n: number;
}

/** Mean and unbiased covariance of the rows (needs n >= 2). */
export function moments(x: PointSet, dim?: number): Moments {
  const p = toHostPoints(x, dim, 'x');
  return momentsOf(p);
}

function momentsOf(p: HostPoints): Moments {
  const { data, n, d } = p;
  if (n < 2) throw new ShapeError(`moments need at least 2 rows, got ${n}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) c[j] = data[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const ca = c[a]!;
      if (ca === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b]! += ca * c[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { mean, cov, d, n };
}

/**
 * Eigenvalues and eigenvectors of a symmetric d x d matrix (row-major) by cyclic Jacobi rotations
 * (Golub & Van Loan, "Matrix Computations", sec. 8.5): V^T A V = diag(w). Columns of `vectors` are
 * the eigenvectors. Accurate to float64 round-off for the small matrices used here.
 */
export function symmetricEigen(a: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== d * d) throw new ShapeError(`a ${d} x ${d} matrix needs ${d * d} values, got ${a.length}`);
  const A = Float64Array.from(a);
  const V = new Float64Array(d * d);
  for (let i = 0; i < d; i++) V[i * d + i] = 1;
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale = Math.max(scale, Math.abs(A[i]!));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += A[p * d + q]! ** 2;
    if (off <= (1e-30 * scale) ** 2 || scale === 0) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = A[p * d + q]!;
        if (apq === 0) continue;
        const app = A[p * d + p]!;
        const aqq = A[q * d + q]!;
        // Rotation angle: tan(2 theta) = 2 apq / (aqq - app); t = tan(theta), the smaller root.
        const tau = (aqq - app) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = A[k * d + p]!;
          const akq = A[k * d + q]!;
          A[k * d + p] = c * akp - s * akq;
          A[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = A[p * d + k]!;
          const aqk = A[q * d + k]!;
          A[p * d + k] = c * apk - s * aqk;
          A[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = V[k * d + p]!;
          const vkq = V[k * d + q]!;
          V[k * d + p] = c * vkp - s * vkq;
          V[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = A[i * d + i]!;
  return { values, vectors: V };
}

/** The symmetric square root V diag(sqrt(max(w, 0))) V^T of a symmetric positive semi-definite matrix. */
function sqrtm(a: Float64Array, d: number): Float64Array {
  const { values, vectors: V } = symmetricEigen(a, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(0, values[k]!));
    if (r === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = V[i * d + k]! * r;
      if (vik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += vik * V[j * d + k]!;
    }
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += aik * b[k * d + j]!;
    }
  }
  return out;
}

/**
 * The Frechet distance between N(mu1, S1) and N(mu2, S2):
 * |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^(1/2) S2 S1^(1/2))^(1/2)). Never below 0 (round-off is clamped).
 */
export function frechetFromMoments(a: Moments, b: Moments): number {
  const d = a.d;
  if (b.d !== d) throw new ShapeError(`the two sets have features of ${a.d} and ${b.d} values`);
  let m2 = 0;
  let tr = 0;
  for (let j = 0; j < d; j++) {
    m2 += (a.mean[j]! - b.mean[j]!) ** 2;
    tr += a.cov[j * d + j]! + b.cov[j * d + j]!;
  }
  const r = sqrtm(a.cov, d);
  const m = matmul(matmul(r, b.cov, d), r, d);
  // symmetrise against round-off before the eigendecomposition
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      const v = (m[i * d + j]! + m[j * d + i]!) / 2;
      m[i * d + j] = v;
      m[j * d + i] = v;
    }
  const { values } = symmetricEigen(m, d);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(0, v));
  return Math.max(0, m2 + tr - 2 * trSqrt);
}

/** Frechet distance between the Gaussians fitted to two feature sets (module comment). */
export function frechetDistance(x: PointSet, y: PointSet, dim?: number): number {
  const [a, b] = toHostPair(x, y, dim);
  return frechetFromMoments(momentsOf(a), momentsOf(b));
}

/** Options of `kid`. */
export interface KidOptions {
  dim?: number;
  /** Random subsets averaged over (default 20). */
  subsets?: number;
  /** Rows per subset (default min(1000, n, m)). */
  subsetSize?: number;
  /** Seed of the subset draws (default 0). */
  seed?: number;
}

/** KID: the mean (and standard deviation over subsets) of the unbiased polynomial-kernel MMD^2. */
export interface KidResult {
  mean: number;
  std: number;
  subsets: number;
  subsetSize: number;
}

/** The unbiased MMD^2 with k(a, b) = (a . b / d + 1)^3 between rows ia of a and rows ib of b. */
export function polynomialMmd(a: HostPoints, ia: ArrayLike<number>, b: HostPoints, ib: ArrayLike<number>): number {
  const d = a.d;
  const k = (x: Float64Array, i: number, y: Float64Array, j: number): number => {
    let s = 0;
    for (let c = 0; c < d; c++) s += x[i * d + c]! * y[j * d + c]!;
    return (s / d + 1) ** 3;
  };
  const n = ia.length;
  const m = ib.length;
  let xx = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) xx += k(a.data, ia[i]!, a.data, ia[j]!);
  let yy = 0;
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) yy += k(b.data, ib[i]!, b.data, ib[j]!);
  let xy = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) xy += k(a.data, ia[i]!, b.data, ib[j]!);
  return (2 * xx) / (n * (n - 1)) + (2 * yy) / (m * (m - 1)) - (2 * xy) / (n * m);
}

/** KID between two feature sets (module comment); subsets drawn without replacement from Rng(seed). */
export function kid(x: PointSet, y: PointSet, opts: KidOptions = {}): KidResult {
  const [a, b] = toHostPair(x, y, opts.dim);
  const size = opts.subsetSize ?? Math.min(1000, a.n, b.n);
  const subsets = opts.subsets ?? 20;
  if (!(Number.isInteger(size) && size >= 2 && size <= a.n && size <= b.n))
    throw new ConfigError('subsetSize', `must be an integer in [2, min(n, m) = ${Math.min(a.n, b.n)}], got ${size}`);
  if (!(Number.isInteger(subsets) && subsets >= 1)) throw new ConfigError('subsets', `must be an integer >= 1, got ${subsets}`);
  const rng = new Rng(opts.seed ?? 0);
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) {
    const ia = size === a.n ? Int32Array.from({ length: size }, (_, i) => i) : rng.permutation(a.n).subarray(0, size);
    const ib = size === b.n ? Int32Array.from({ length: size }, (_, i) => i) : rng.permutation(b.n).subarray(0, size);
    values.push(polynomialMmd(a, ia, b, ib));
  }
  const mean = values.reduce((p, v) => p + v, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((p, v) => p + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std, subsets, subsetSize: size };
}

/** Coverage and density of fake samples against real ones (module comment). */
export interface CoverageResult {
  coverage: number;
  density: number;
  k: number;
}

/**
 * Coverage and density (Naeem et al. 2020) of `fake` against `real` with k-nearest-neighbour balls
 * around the real points (default k = 5). O((N + M) N d).
 */
export function coverage(real: PointSet, fake: PointSet, opts: { k?: number; dim?: number } = {}): CoverageResult {
  const [a, b] = toHostPair(real, fake, opts.dim);
  const k = opts.k ?? 5;
  if (!(Number.isInteger(k) && k >= 1 && k < a.n))
    throw new ConfigError('k', `must be an integer in [1, ${a.n - 1}] (real points - 1), got ${k}`);
  if (b.n < 1) throw new ShapeError('coverage needs at least one fake point');
  const { d } = a;
  // r_i^2: the k-th smallest squared distance from x_i to the other real points.
  const radius2 = new Float64Array(a.n);
  const row = new Float64Array(a.n - 1);
  for (let i = 0; i < a.n; i++) {
    let c = 0;
    for (let j = 0; j < a.n; j++) if (j !== i) row[c++] = sqDist(a.data, i, a.data, j, d);
    radius2[i] = nthSmallest(row, k - 1);
  }
  let covered = 0;
  let inside = 0;
  for (let i = 0; i < a.n; i++) {
    let hit = false;
    for (let j = 0; j < b.n; j++) {
      if (sqDist(a.data, i, b.data, j, d) <= radius2[i]!) {
        hit = true;
        inside++;
      }
    }
    if (hit) covered++;
  }
  return { coverage: covered / a.n, density: inside / (k * b.n), k };
}
