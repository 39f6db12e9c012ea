/**
 * Bits per dimension and dequantisation for discrete (8-bit) data.
 *
 * A flow models a continuous density, images are integers. The standard bridge (Theis et al. 2016;
 * Ho et al. 2019): add uniform noise u ~ U[0, 1)^d to the integers x in {0 .. 2^bits - 1}, scale to
 * the model's interval [low, high) of width R:  y = low + R (x + u) / 2^bits.  Then
 *
 *   log P(x) >= E_u log p_y(y) + d log(R / 2^bits)
 *
 * (the Jacobian of the scaling), so an upper bound on the discrete code length in bits per dimension is
 *
 *   bpd = -log p_y(y) / (d ln 2) + bits - log2(R).
 *
 * For bits = 8 and R = 2 (data in [-1, 1]) the offset is 8 - 1 = 7: the "+7" in score-SDE code.
 */
import { tf, type Tensor } from '../tf';
import { ConfigError, DataError } from '../errors';
import { Rng } from '../util/random';

export interface BitsPerDimOptions {
  /** Bit depth of the original data (default 8). */
  bits?: number;
  /** Width R of the interval the dequantised data was scaled to (default 2, for [-1, 1]). */
  range?: number;
}

/**
 * bpd = -logp / (d ln 2) + bits - log2(range), per row (see the module comment).
 *
 * @param logp log-density in nats of dequantised, scaled data: one number, or one per row.
 * @param d dimensions per sample (e.g. H * W * C).
 */
export function bitsPerDim(logp: number, d: number, opts?: BitsPerDimOptions): number;
export function bitsPerDim(logp: ArrayLike<number>, d: number, opts?: BitsPerDimOptions): Float64Array;
export function bitsPerDim(logp: number | ArrayLike<number>, d: number, opts: BitsPerDimOptions = {}): number | Float64Array {
  const bits = opts.bits ?? 8;
  const range = opts.range ?? 2;
  if (!(Number.isInteger(d) && d >= 1)) throw new ConfigError('d', `must be a positive integer, got ${d}`);
  if (!(Number.isInteger(bits) && bits >= 1)) throw new ConfigError('bits', `must be a positive integer, got ${bits}`);
  if (!(range > 0 && Number.isFinite(range))) throw new ConfigError('range', `must be a finite number > 0, got ${range}`);
  const offset = bits - Math.log2(range);
  const one = (lp: number): number => -lp / (d * Math.LN2) + offset;
  return typeof logp === 'number' ? one(logp) : Float64Array.from(logp, one);
}

export interface DequantizeOptions {
  /** Bit depth: values must be integers in [0, 2^bits - 1] (default 8). */
  bits?: number;
  /** Target interval [low, high) (default [-1, 1]); pass range = high - low to `bitsPerDim`. */
  low?: number;
  high?: number;
  /** Seed of the uniform noise (host Rng: identical on every backend). */
  seed: number;
}

/**
 * Uniform dequantisation of integer data to the model's interval:
 * y = low + (high - low) (x + u) / 2^bits, u ~ U[0, 1) elementwise, seeded.
 *
 * @param x integer-valued tensor of any shape and dtype (e.g. raw 8-bit pixels [B, H, W, C]); not disposed.
 * @returns float32 tensor of x's shape; caller owns.
 * @throws DataError if a value is not an integer in [0, 2^bits - 1].
 */
export function dequantize(x: Tensor, opts: DequantizeOptions): Tensor {
  const bits = opts.bits ?? 8;
  const low = opts.low ?? -1;
  const high = opts.high ?? 1;
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 24)) throw new ConfigError('bits', `must be an integer in [1, 24], got ${bits}`);
  if (!(Number.isFinite(low) && Number.isFinite(high) && high > low))
    throw new ConfigError('high', `need finite low < high, got [${low}, ${high}]`);
  const levels = 2 ** bits;
  const src = x.dataSync();
  const rng = new Rng(opts.seed);
  const out = new Float32Array(src.length);
  const scale = (high - low) / levels;
  for (let i = 0; i < src.length; i++) {
    const v = Number(src[i]);
    if (!(Number.isInteger(v) && v >= 0 && v < levels)) {
      throw new DataError(`dequantize: x[${i}] = ${v} is not an integer in [0, ${levels - 1}] (bits = ${bits})`);
    }
    out[i] = low + scale * (v + rng.uniform());
  }
  return tf.tensor(out, x.shape, 'float32');
}
