/**
 * Numbers that describe a latent and a reconstruction: how Gaussian an inverted latent looks, and
 * how close decode(encode(x)) came back to x. Pure host arithmetic on typed arrays (float64), so it
 * runs anywhere and is tested against closed forms.
 *
 * Latent statistics vs N(0, I). For one latent z of d entries, if the model were perfect and the
 * solver exact, z would be one draw of N(0, sigma_0^2 I) and its entries d independent standard
 * normals (sigma_0 = 1 for every scheduler but VE). We report:
 * - mean and std of the entries (expected 0 and 1; sampling spread 1/sqrt(d) and ~1/sqrt(2d));
 * - norm and norm / sqrt(d) (a Gaussian latent sits on the shell ||z|| ~ sqrt(d));
 * - skewness and excess kurtosis (0 and 0 for a Gaussian; spread ~sqrt(6/d) and ~sqrt(24/d));
 * - the Kolmogorov-Smirnov statistic D = sup_x |F_d(x) - Phi(x)| of the entries against the standard
 *   normal CDF, with its asymptotic p-value (Kolmogorov's distribution). D is the "normality score":
 *   0 is a perfect fit; for d i.i.d. standard normals D exceeds 1.36 / sqrt(d) only 5% of the time
 *   (0.049 for d = 784). The entries of a real inverted latent are not independent (neighbouring
 *   pixels share structure), so treat the p-value as a yardstick, not a test.
 *
 * Reconstruction: PSNR = 10 log10(R^2 / MSE) with R the width of the data interval (R = 2 for images
 * scaled to [-1, 1], the range main/data loads them in; 8-bit images in 0..255 give the same PSNR
 * with R = 255), and the maximum absolute error, both in the data's own units, on the raw decoded
 * values (no clamping to the data range).
 */
import { ConfigError, ShapeError } from '../errors';

/** Statistics of one latent's entries against the standard normal (see the module comment). */
export interface LatentStats {
  /** Entries d. */
  d: number;
  mean: number;
  /** Population standard deviation (divides by d). */
  std: number;
  min: number;
  max: number;
  /** ||z||. */
  norm: number;
  /** ||z|| / sqrt(d): ~1 for a standard Gaussian latent. */
  normRatio: number;
  skewness: number;
  /** Kurtosis minus 3. */
  excessKurtosis: number;
  /** Kolmogorov-Smirnov D against N(0, 1): the normality score (0 = perfect). */
  ks: number;
  /** Asymptotic p-value of `ks` for d independent entries. */
  ksPValue: number;
}

/**
 * The standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2, with erfc by the Chebyshev fit of
 * Numerical Recipes' erfcc (fractional error < 1.2e-7 everywhere): ample for a KS distance.
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * Kolmogorov-Smirnov statistic of a sample against a continuous CDF:
 * D = max_i max(i/n - F(x_(i)), F(x_(i)) - (i-1)/n) over the sorted sample.
 */
export function ksStatistic(values: ArrayLike<number>, cdf: (x: number) => number = normalCdf): number {
  const n = values.length;
  if (n === 0) throw new ShapeError('ksStatistic needs at least one value');
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(sorted[i]!);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}

/**
 * Asymptotic p-value of a KS statistic D for n samples: Q_KS(lambda), lambda = (sqrt n + 0.12 +
 * 0.11 / sqrt n) D (Stephens' small-sample correction, as in Numerical Recipes' probks), with
 * Q_KS(l) = 2 sum_{k >= 1} (-1)^(k-1) exp(-2 k^2 l^2).
 */
export function ksPValue(d: number, n: number): number {
  if (!(n >= 1)) throw new ConfigError('n', `must be >= 1, got ${n}`);
  const sn = Math.sqrt(n);
  const l = (sn + 0.12 + 0.11 / sn) * d;
  if (l < 0.2) return 1; // the series converges slowly here and Q is 1 to 1e-9
  let sum = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k++) {
    const term = sign * Math.exp(-2 * k * k * l * l);
    sum += term;
    if (Math.abs(term) < 1e-12 * Math.abs(sum)) break;
    sign = -sign;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** Statistics of the entries of one latent (see the module comment). @throws ShapeError when empty */
export function latentStats(z: ArrayLike<number>): LatentStats {
  const d = z.length;
  if (d === 0) throw new ShapeError('latentStats needs a non-empty latent');
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < d; i++) {
    const v = z[i]!;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / d;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  let sq = 0;
  for (let i = 0; i < d; i++) {
    const v = z[i]!;
    const c = v - mean;
    m2 += c * c;
    m3 += c * c * c;
    m4 += c * c * c * c;
    sq += v * v;
  }
  m2 /= d;
  m3 /= d;
  m4 /= d;
  const std = Math.sqrt(m2);
  const ks = ksStatistic(z);
  const norm = Math.sqrt(sq);
  return {
    d,
    mean,
    std,
    min,
    max,
    norm,
    normRatio: norm / Math.sqrt(d),
    skewness: m2 > 0 ? m3 / m2 ** 1.5 : 0,
    excessKurtosis: m2 > 0 ? m4 / (m2 * m2) - 3 : 0,
    ks,
    ksPValue: ksPValue(ks, d),
  };
}

/** How far a reconstruction is from its original. */
export interface ReconstructionError {
  /** Mean squared error. */
  mse: number;
  /** 10 log10(range^2 / mse) in dB (Infinity for an exact copy). */
  psnr: number;
  /** max |x - y|. */
  maxAbsError: number;
}

/**
 * PSNR, MSE and max abs error of `y` against `x` (same length), with data range `range`
 * (default 2: data in [-1, 1]).
 */
export function reconstructionError(x: ArrayLike<number>, y: ArrayLike<number>, range = 2): ReconstructionError {
  if (x.length !== y.length) throw new ShapeError(`reconstruction has ${y.length} values, the original ${x.length}`);
  if (x.length === 0) throw new ShapeError('reconstructionError needs non-empty inputs');
  if (!(range > 0 && Number.isFinite(range))) throw new ConfigError('range', `must be a finite number > 0, got ${range}`);
  let se = 0;
  let maxAbs = 0;
  for (let i = 0; i < x.length; i++) {
    const e = y[i]! - x[i]!;
    se += e * e;
    const a = Math.abs(e);
    if (a > maxAbs || Number.isNaN(a)) maxAbs = a;
  }
  const mse = se / x.length;
  return { mse, psnr: 10 * Math.log10((range * range) / mse), maxAbsError: maxAbs };
}
