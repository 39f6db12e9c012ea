/**
 * Data sources: where a training step draws its samples from.
 *
 * A `DataSource` is a distribution over per-sample tensors of a fixed shape (points [d] or images
 * [H, W, C]) with optional integer class labels. Every draw takes its randomness from the Rng it is
 * given and from nothing else (no hidden cursor, no tf.random), so a source is stateless: the same
 * Rng state yields the same batch on every backend. The trainer relies on this to make a resumed run
 * reproduce an uninterrupted one.
 *
 * Conventions: the source of the flow (t = 0) is usually `gaussianSource(shape)`; the target (t = 1)
 * is the data. Labels run over 0 .. numClasses - 1; numClasses = 0 means the source has no labels.
 *
 * A `PairedSource` yields (x0, x1) pairs jointly, e.g. reflow pairs (noise, sample of a trained
 * flow): the pairing is the training signal and must not be re-coupled.
 */
import { tf, type Tensor } from '../tf';
import { ConfigError, DataError, ShapeError } from '../errors';
import type { Rng } from '../util/random';
import { sampleGaussianMixture, validateGaussianMixture, mixtureDim, type GaussianMixture } from './mixture';
import { DATASETS_2D, sample2dLabeled, type Dataset2DName, type Sample2DOptions } from './toy2d';

/** One batch: x [n, ...shape] (float32, caller owns) and, for labelled sources, one label per row. */
export interface SourceBatch {
  readonly x: Tensor;
  readonly labels?: Int32Array;
}

/** A distribution to draw training batches from. */
export interface DataSource {
  /** Shape of one sample, e.g. [2] or [28, 28, 1]. */
  readonly shape: number[];
  /** Number of classes of `labels` (0: unlabelled). */
  readonly numClasses: number;
  /** Number of stored examples, for finite data sets (sampled with replacement). */
  readonly size?: number;
  /** n samples drawn with `rng` (and only with it). */
  sample(n: number, rng: Rng): SourceBatch;
}

/** One batch of pairs: row k of x0 goes with row k of x1 (both [n, ...shape], caller owns). */
export interface PairBatch {
  readonly x0: Tensor;
  readonly x1: Tensor;
  readonly labels?: Int32Array;
}

/** A joint distribution of (x0, x1) pairs. Both ends share `shape`. */
export interface PairedSource {
  readonly shape: number[];
  readonly numClasses: number;
  readonly size?: number;
  samplePairs(n: number, rng: Rng): PairBatch;
}

/** True when `s` yields pairs (has `samplePairs`). */
export function isPairedSource(s: DataSource | PairedSource): s is PairedSource {
  return typeof (s as PairedSource).samplePairs === 'function';
}

/** The 2-D toy datasets an experiment config can name. */
export type { Toy2DName } from '../catalog';
import type { CorruptFilePolicy, Toy2DName } from '../catalog';
/** The data kinds of an experiment config (common/config.ts `data`), as plain types. */
export type DataSpec =
  | { kind: 'toy2d'; name: Toy2DName; noise?: number }
  | { kind: 'gmm'; gmm: GaussianMixture }
  | { kind: 'points'; points: number[][] }
  | { kind: 'mnist'; digits?: number[] }
  | { kind: 'images'; folder: string; size: 28 | 32; channels: 1 | 3; onCorrupt?: CorruptFilePolicy };

function checkCount(n: number): void {
  if (!(Number.isInteger(n) && n >= 0)) throw new ConfigError('n', `must be a non-negative integer, got ${n}`);
}

function checkShapeSpec(shape: readonly number[], field: string): number {
  if (!Array.isArray(shape) || shape.length === 0)
    throw new ConfigError(field, `must be a non-empty array of sizes, got ${JSON.stringify(shape)}`);
  let size = 1;
  shape.forEach((d, i) => {
    if (!(Number.isInteger(d) && d >= 1)) throw new ConfigError(`${field}[${i}]`, `must be an integer >= 1, got ${d}`);
    size *= d;
  });
  return size;
}

/**
 * Standard normal noise N(0, scale^2 I) of per-sample `shape`, drawn from the Rng (so identical on
 * every backend). `scale` is sourceScale(scheduler) for VE paths, 1 otherwise.
 */
export function gaussianSource(shape: readonly number[], scale = 1): DataSource {
  const size = checkShapeSpec(shape, 'source.shape');
  if (!(scale > 0 && Number.isFinite(scale))) throw new ConfigError('source.scale', `must be a finite number > 0, got ${scale}`);
  const s = [...shape];
  return {
    shape: s,
    numClasses: 0,
    sample(n, rng) {
      checkCount(n);
      const z = rng.normals(n * size);
      if (scale !== 1) for (let i = 0; i < z.length; i++) z[i] = z[i]! * scale;
      return { x: tf.tensor(z, [n, ...s], 'float32') };
    },
  };
}

/**
 * A 2-D toy dataset of core/data/toy2d (sample2dLabeled), labels included. Each batch is generated
 * afresh from a seed drawn from the Rng (the generators are deterministic in their seed).
 * numClasses is the dataset's class count (the mixture's component count for 'gmm').
 */
export function toy2dSource(name: Dataset2DName, opts: Sample2DOptions = {}): DataSource {
  const info = DATASETS_2D.find((d) => d.name === name);
  if (!info)
    throw new ConfigError('data.name', `unknown 2D dataset '${String(name)}'; one of ${DATASETS_2D.map((d) => d.name).join(', ')}`);
  let numClasses = info.classes;
  if (name === 'gmm') {
    if (!opts.mixture) throw new ConfigError('data.gmm', "the 'gmm' dataset needs a mixture");
    const g = validateGaussianMixture(opts.mixture, 'data.gmm');
    if (mixtureDim(g) !== 2) throw new ConfigError('data.gmm.means', `must be 2-D for the toy dataset, got dimension ${mixtureDim(g)}`);
    numClasses = g.weights.length;
  }
  // Fail now, not at the first training step: draw one point to validate the options.
  sample2dLabeled(name, 1, 0, opts);
  return {
    shape: [2],
    numClasses,
    sample(n, rng) {
      checkCount(n);
      const s = sample2dLabeled(name, n, rng.nextU32(), opts);
      return { x: tf.tensor2d(s.points, [n, 2]), labels: s.labels };
    },
  };
}

/** A Gaussian mixture of any dimension d: shape [d], labels = component index, numClasses = K. */
export function gmmSource(gmm: GaussianMixture): DataSource {
  const g = validateGaussianMixture(gmm, 'data.gmm');
  const d = mixtureDim(g);
  return {
    shape: [d],
    numClasses: g.weights.length,
    sample(n, rng) {
      checkCount(n);
      const s = sampleGaussianMixture(g, n, rng);
      return { x: tf.tensor2d(s.points, [n, d]), labels: s.components };
    },
  };
}

/**
 * A finite point set resampled uniformly with replacement, unlabelled. Points are rows of equal
 * length d (shape [d]).
 */
export function pointsSource(points: readonly (readonly number[])[]): DataSource {
  if (!Array.isArray(points) || points.length === 0) throw new ConfigError('data.points', 'needs at least one point');
  const d = points[0]!.length;
  if (!(d >= 1)) throw new ConfigError('data.points[0]', 'must have at least one coordinate');
  const flat = new Float32Array(points.length * d);
  points.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== d)
      throw new ConfigError(
        `data.points[${i}]`,
        `must have ${d} coordinates (as points[0]), got ${Array.isArray(p) ? p.length : typeof p}`,
      );
    p.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new ConfigError(`data.points[${i}][${j}]`, `must be a finite number, got ${String(v)}`);
      flat[i * d + j] = v;
    });
  });
  return arraySource(flat, [d]);
}

/**
 * Rows of a stored array, sampled uniformly with replacement: the source for data loaded by the app
 * (MNIST, image folders), row-major [size, ...shape] in `data`.
 *
 * @param labels one integer label per row in [0, numClasses), or undefined (then numClasses must be 0).
 * @throws ShapeError when data is not a whole number of rows or labels has the wrong length;
 *   DataError naming the row for a non-finite value or a label out of range.
 */
export function arraySource(data: Float32Array, shape: readonly number[], labels?: Int32Array, numClasses = 0): DataSource {
  const row = checkShapeSpec(shape, 'data.shape');
  if (!(data instanceof Float32Array)) throw new ConfigError('data', 'must be a Float32Array');
  if (data.length === 0 || data.length % row !== 0) {
    throw new ShapeError(
      `data must hold a whole, non-zero number of rows of shape [${shape.join(',')}] (${row} values). Got ${data.length} values`,
    );
  }
  const size = data.length / row;
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k]!))
      throw new DataError(`data row ${Math.floor(k / row)} has a non-finite value (${data[k]}) at index ${k % row}`);
  }
  if (!(Number.isInteger(numClasses) && numClasses >= 0)) throw new ConfigError('numClasses', `must be an integer >= 0, got ${numClasses}`);
  if (labels !== undefined) {
    if (labels.length !== size) throw new ShapeError(`labels must have one entry per row (${size}). Got ${labels.length}`);
    if (numClasses < 1) throw new ConfigError('numClasses', 'must be >= 1 when labels are given');
    for (let i = 0; i < size; i++) {
      const l = labels[i]!;
      if (!(l >= 0 && l < numClasses)) throw new DataError(`labels[${i}] is ${l}; must be in [0, ${numClasses})`);
    }
  } else if (numClasses !== 0) {
    throw new ConfigError('numClasses', `must be 0 without labels, got ${numClasses}`);
  }
  const s = [...shape];
  return {
    shape: s,
    numClasses,
    size,
    sample(n, rng) {
      checkCount(n);
      const out = new Float32Array(n * row);
      const lab = labels ? new Int32Array(n) : undefined;
      for (let i = 0; i < n; i++) {
        const r = rng.int(size);
        out.set(data.subarray(r * row, (r + 1) * row), i * row);
        if (lab) lab[i] = labels![r]!;
      }
      const x = tf.tensor(out, [n, ...s], 'float32');
      return lab ? { x, labels: lab } : { x };
    },
  };
}

/**
 * Stored pairs (x0[i], x1[i]) sampled jointly with replacement: row i of `x0` always travels with
 * row i of `x1` (and labels[i]). Both arrays are row-major [size, ...shape].
 */
export function pairedArraySource(
  x0: Float32Array,
  x1: Float32Array,
  shape: readonly number[],
  labels?: Int32Array,
  numClasses = 0,
): PairedSource {
  if (x0.length !== x1.length) throw new ShapeError(`x0 and x1 must hold the same number of values. Got ${x0.length} and ${x1.length}`);
  // Validates both arrays (rows, finiteness, labels) with the same rules as arraySource.
  arraySource(x0, shape);
  const a1 = arraySource(x1, shape, labels, numClasses);
  const row = x0.length / a1.size!;
  const size = a1.size!;
  const s = [...shape];
  return {
    shape: s,
    numClasses,
    size,
    samplePairs(n, rng) {
      checkCount(n);
      const o0 = new Float32Array(n * row);
      const o1 = new Float32Array(n * row);
      const lab = labels ? new Int32Array(n) : undefined;
      for (let i = 0; i < n; i++) {
        const r = rng.int(size);
        o0.set(x0.subarray(r * row, (r + 1) * row), i * row);
        o1.set(x1.subarray(r * row, (r + 1) * row), i * row);
        if (lab) lab[i] = labels![r]!;
      }
      const out = { x0: tf.tensor(o0, [n, ...s], 'float32'), x1: tf.tensor(o1, [n, ...s], 'float32') };
      return lab ? { ...out, labels: lab } : out;
    },
  };
}

/**
 * The source of a data config whose samples core can generate itself (toy2d, gmm, points). MNIST
 * and image folders are read from disk by the app, which wraps them in `arraySource`.
 */
export function dataSourceFromSpec(spec: DataSpec, field = 'data'): DataSource {
  switch (spec.kind) {
    case 'toy2d':
      return toy2dSource(spec.name, spec.noise !== undefined ? { noise: spec.noise } : {});
    case 'gmm':
      return gmmSource(spec.gmm);
    case 'points':
      return pointsSource(spec.points);
    case 'mnist':
    case 'images':
      throw new ConfigError(`${field}.kind`, `'${spec.kind}' data is loaded by the app from disk; wrap the loaded array in arraySource()`);
    default:
      throw new ConfigError(`${field}.kind`, `unknown data kind '${String((spec as { kind?: unknown }).kind)}'`);
  }
}
