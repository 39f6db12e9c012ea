/**
 * Small helpers shared by the path modules (affine, convert, interpolant): shape messages, per-sample
 * time checks and per-sample coefficient columns. Internal to core/path; not re-exported.
 *
 * Why columns: coefficients are computed per sample in float64 on the host and uploaded once as a
 * float32 tensor of shape [B, 1, ..., 1], which broadcasts against x of shape [B, ...dims] for any rank
 * (points [B, d], images [B, H, W, C]).
 */
import { tf, type Tensor } from '../tf';
import { ConfigError, ShapeError } from '../errors';

/** "[4,2]" — the form shape messages use. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Shape [B, 1, ..., 1] with `rank` axes (rank >= 1). */
export function columnShape(batch: number, rank: number): number[] {
  const shape = [batch];
  for (let i = 1; i < rank; i++) shape.push(1);
  return shape;
}

/** Uploads one float64 value per sample as a float32 tensor [B, 1, ..., 1] of the given rank. */
export function column(values: ArrayLike<number>, rank: number): Tensor {
  return tf.tensor(Float32Array.from(values), columnShape(values.length, rank), 'float32');
}

/** Throws a ShapeError unless `x` has at least one axis (the batch axis). */
export function checkBatched(x: Tensor, name: string): number {
  if (x.rank < 1) throw new ShapeError(`${name} must have shape [batch_size, ...dims]. Got a scalar`);
  return x.shape[0]!;
}

/** Throws a ShapeError unless `y` has exactly the shape of `x`. */
export function checkSameShape(y: Tensor, yName: string, x: Tensor, xName: string): void {
  const a = x.shape;
  const b = y.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new ShapeError(`${yName} must have the shape of ${xName} ${fmtShape(a)}. Got ${fmtShape(b)}`);
  }
}

/**
 * Copies per-sample times into a Float64Array after checking the length (ShapeError) and that every
 * value is finite and inside [lo, hi] (ConfigError naming the element, e.g. "t[3]").
 */
export function checkTimes(t: ArrayLike<number>, batch: number, name = 't', lo = 0, hi = 1): Float64Array {
  if (t.length !== batch) throw new ShapeError(`${name} must have length batch_size=${batch}. Got ${t.length}`);
  const out = new Float64Array(batch);
  for (let i = 0; i < batch; i++) {
    const v = t[i]!;
    if (!(v >= lo && v <= hi)) throw new ConfigError(`${name}[${i}]`, `must be in [${lo}, ${hi}], got ${v}`);
    out[i] = v;
  }
  return out;
}

/** Checks one shared time value (finite, inside [0, 1]). */
export function checkTime(t: number, name = 't'): number {
  if (!(t >= 0 && t <= 1)) throw new ConfigError(name, `must be in [0, 1], got ${t}`);
  return t;
}

/** "polynomial(n=2)": a scheduler spec for messages. */
export function describeSpec(spec: { kind: string }): string {
  const params = Object.entries(spec)
    .filter(([k]) => k !== 'kind')
    .map(([k, v]) => `${k}=${String(v)}`);
  return params.length > 0 ? `${spec.kind}(${params.join(', ')})` : spec.kind;
}
