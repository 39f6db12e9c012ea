/**
 * Point sets as the metrics take them: a Tensor [n, ...] (rows flattened), a flat Float32Array or
 * Float64Array [n * dim] (row-major; `dim` says the row length, default 2 for the 2D toys), or an
 * array of rows.
 *
 * Metrics read everything to the host in float64: they are evaluation, not a training hot path, and
 * sums of O(n^2) small terms (energy distance, MMD) lose digits in float32 exactly where the
 * interesting values are, near 0. It also makes the numbers independent of the backend.
 */
import type { Tensor } from '../tf';
import { DataError, ShapeError } from '../errors';

export type PointSet = Tensor | Float32Array | Float64Array | readonly (readonly number[])[];

/** Row-major float64 points on the host. */
export interface HostPoints {
  readonly data: Float64Array;
  readonly n: number;
  readonly d: number;
}

function isTensor(x: PointSet): x is Tensor {
  return typeof (x as Tensor).dataSync === 'function' && Array.isArray((x as Tensor).shape);
}

/**
 * Converts a point set to float64 rows. Tensors are read (not disposed). Non-finite coordinates
 * are a DataError naming the point.
 *
 * @param dim Row length for flat typed arrays (ignored otherwise). Default 2.
 * @param name What to call the set in messages.
 */
export function toHostPoints(x: PointSet, dim = 2, name = 'x'): HostPoints {
  let data: Float64Array;
  let n: number;
  let d: number;
  if (isTensor(x)) {
    if (x.rank < 1) throw new ShapeError(`${name} must have a batch axis. Got shape [${x.shape}]`);
    n = x.shape[0]!;
    d = x.rank === 1 ? 1 : x.shape.slice(1).reduce((a, b) => a * b, 1);
    data = Float64Array.from(x.dataSync());
  } else if (x instanceof Float32Array || x instanceof Float64Array) {
    if (!(Number.isInteger(dim) && dim >= 1)) throw new ShapeError(`${name}: dim must be a positive integer, got ${dim}`);
    if (x.length % dim !== 0) throw new ShapeError(`${name}: a flat array of ${x.length} numbers is not a whole number of rows of ${dim}`);
    n = x.length / dim;
    d = dim;
    data = Float64Array.from(x);
  } else {
    n = x.length;
    d = n === 0 ? dim : x[0]!.length;
    data = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const row = x[i]!;
      if (row.length !== d) throw new ShapeError(`${name}[${i}] has ${row.length} coordinates, expected ${d} (as ${name}[0])`);
      for (let j = 0; j < d; j++) data[i * d + j] = row[j]!;
    }
  }
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k]!)) {
      const i = Math.floor(k / d);
      throw new DataError(`${name}[${i}] has a non-finite coordinate (${data[k]}) at index ${k - i * d}`);
    }
  }
  return { data, n, d };
}

/** Converts two sets and checks that their rows have equal length. */
export function toHostPair(x: PointSet, y: PointSet, dim = 2): [HostPoints, HostPoints] {
  const a = toHostPoints(x, dim, 'x');
  const b = toHostPoints(y, dim, 'y');
  if (a.d !== b.d) throw new ShapeError(`x and y must have rows of equal length. Got ${a.d} and ${b.d}`);
  return [a, b];
}

/** Squared Euclidean distance between row i of a and row j of b. */
export function sqDist(a: Float64Array, i: number, b: Float64Array, j: number, d: number): number {
  let s = 0;
  const oi = i * d;
  const oj = j * d;
  for (let k = 0; k < d; k++) {
    const t = a[oi + k]! - b[oj + k]!;
    s += t * t;
  }
  return s;
}
