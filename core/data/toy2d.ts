/**
 * Seeded 2D toy distributions, the standard playground of flow matching (torchcfm, FFJORD).
 *
 * Every generator is deterministic in (name, n, seed, options), draws only from core's Rng (so the
 * same points come out on every backend and platform), and returns row-major points [n, 2] plus an
 * integer label per point (the moon, circle, spiral arm or mixture component it came from; 0 where
 * a dataset has no classes). Labels make class-conditional training and class-respecting couplings
 * possible on the same data.
 *
 * All datasets live roughly in [-6, 6]^2 (most within [-4, 4]^2), close to the scale of N(0, I)
 * noise at t = 0, so the same models and step sizes suit all of them.
 */
import { tf } from '../tf';
import { ConfigError, DataError } from '../errors';
import { Rng } from '../util/random';
import { sampleGaussianMixture, validateGaussianMixture, type GaussianMixture } from './mixture';
import { DATASETS_2D, type Dataset2DName } from './toy2d-info';

export { DATASETS_2D };
export type { Dataset2DName, Dataset2DInfo } from './toy2d-info';

const NAMES: readonly Dataset2DName[] = DATASETS_2D.map((d) => d.name);

export interface Sample2DOptions {
  /**
   * Gaussian noise level. Units and default depend on the dataset: moons 0.2 and circles 0.05
   * (scikit-learn units, before the scaling by 3), 2spirals 0.1 (output units), swissroll 1.0
   * (make_swiss_roll units, before the division by 5). Ignored by the other datasets.
   */
  noise?: number;
  /** circles: inner radius / outer radius, in (0, 1). Default 0.5. */
  factor?: number;
  /** moons, circles, 2spirals: shuffle the classes together (default true, as scikit-learn). */
  shuffle?: boolean;
  /** 'gmm': the mixture (2D means). */
  mixture?: GaussianMixture;
  /** 'points': the point set, as [[x, y], ...] or flat [x0, y0, x1, y1, ...]. */
  points?: ArrayLike<number> | readonly (readonly number[])[];
}

/** Labelled samples of a 2D dataset. */
export interface Labeled2D {
  /** Row-major [n, 2]. */
  readonly points: Float32Array;
  /** Class of each point (length n). */
  readonly labels: Int32Array;
}

/** The 8gaussians mixture: 8 equal weights, means radius (cos(k pi/4), sin(k pi/4)), std `std`. */
export function eightGaussians(radius = 5, std = 0.3): GaussianMixture {
  const means: number[][] = [];
  for (let k = 0; k < 8; k++) means.push([radius * Math.cos((k * Math.PI) / 4), radius * Math.sin((k * Math.PI) / 4)]);
  return { weights: new Array<number>(8).fill(1 / 8), means, stds: new Array<number>(8).fill(std) };
}

/**
 * The exact Gaussian-mixture description of a dataset, for core/oracle, or null when the dataset is
 * not a mixture. For 'gmm' this is the validated, normalised `opts.mixture`.
 */
export function mixtureOf2d(name: Dataset2DName, opts: Sample2DOptions = {}): GaussianMixture | null {
  checkName(name);
  if (name === '8gaussians') return eightGaussians();
  if (name === 'gmm') return userMixture(opts);
  return null;
}

/** n points of a dataset with their labels. */
export function sample2dLabeled(name: Dataset2DName, n: number, seed: number, opts: Sample2DOptions = {}): Labeled2D {
  checkName(name);
  if (!(Number.isInteger(n) && n >= 0)) throw new ConfigError('n', `must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${seed}`);
  const rng = new Rng(seed);
  switch (name) {
    case 'moons':
      return moons(n, rng, noiseOpt(opts, 0.2), opts.shuffle ?? true);
    case 'circles':
      return circles(n, rng, noiseOpt(opts, 0.05), factorOpt(opts), opts.shuffle ?? true);
    case '8gaussians':
      return fromMixture(eightGaussians(), n, rng);
    case 'gmm':
      return fromMixture(userMixture(opts), n, rng);
    case 'checkerboard':
      return checkerboard(n, rng);
    case '2spirals':
      return spirals(n, rng, noiseOpt(opts, 0.1), opts.shuffle ?? true);
    case 'swissroll':
      return swissRoll(n, rng, noiseOpt(opts, 1.0));
    case 'points':
      return resample(userPoints(opts), n, rng);
  }
}

/** n points of a dataset as a flat Float32Array [n * 2] (row-major). */
export function sample2d(name: Dataset2DName, n: number, seed: number, opts: Sample2DOptions = {}): Float32Array {
  return sample2dLabeled(name, n, seed, opts).points;
}

/** n points of a dataset as a new Tensor2D [n, 2] (the caller disposes it). */
export function sample2dTensor(name: Dataset2DName, n: number, seed: number, opts: Sample2DOptions = {}): tf.Tensor2D {
  return tf.tensor2d(sample2d(name, n, seed, opts), [n, 2]);
}

function checkName(name: string): asserts name is Dataset2DName {
  if (!NAMES.includes(name as Dataset2DName)) throw new ConfigError('dataset', `unknown 2D dataset '${name}'; one of ${NAMES.join(', ')}`);
}

function noiseOpt(opts: Sample2DOptions, fallback: number): number {
  const v = opts.noise ?? fallback;
  if (!(v >= 0 && Number.isFinite(v))) throw new ConfigError('noise', `must be a finite number >= 0, got ${v}`);
  return v;
}

function factorOpt(opts: Sample2DOptions): number {
  const v = opts.factor ?? 0.5;
  if (!(v > 0 && v < 1)) throw new ConfigError('factor', `must be in (0, 1), got ${v}`);
  return v;
}

/** numpy.linspace(start, stop, num, endpoint): same spacing and the exact endpoint. */
function linspace(start: number, stop: number, num: number, endpoint = true): Float64Array {
  const out = new Float64Array(num);
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

/** Shuffles rows and labels together with one permutation (scikit-learn shuffles before adding noise). */
function shuffleRows(xy: Float64Array, labels: Int32Array, rng: Rng): void {
  const n = labels.length;
  const p = rng.permutation(n);
  const x2 = xy.slice();
  const l2 = labels.slice();
  for (let i = 0; i < n; i++) {
    const s = p[i]!;
    xy[2 * i] = x2[2 * s]!;
    xy[2 * i + 1] = x2[2 * s + 1]!;
    labels[i] = l2[s]!;
  }
}

/**
 * make_moons: n_out = n // 2 points on the upper unit semicircle (cos s, sin s), n_in = n - n_out on
 * the lower one shifted to (1 - cos s, 1 - sin s - 0.5), s = linspace(0, pi); shuffle; add N(0, noise^2);
 * then x -> 3x - 1. Labels: 0 outer, 1 inner.
 */
function moons(n: number, rng: Rng, noise: number, shuffle: boolean): Labeled2D {
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  const xy = new Float64Array(2 * n);
  const labels = new Int32Array(n);
  const so = linspace(0, Math.PI, nOut);
  const si = linspace(0, Math.PI, nIn);
  for (let i = 0; i < nOut; i++) {
    xy[2 * i] = Math.cos(so[i]!);
    xy[2 * i + 1] = Math.sin(so[i]!);
  }
  for (let i = 0; i < nIn; i++) {
    const r = nOut + i;
    xy[2 * r] = 1 - Math.cos(si[i]!);
    xy[2 * r + 1] = 1 - Math.sin(si[i]!) - 0.5;
    labels[r] = 1;
  }
  if (shuffle) shuffleRows(xy, labels, rng);
  return finish(xy, labels, rng, noise, 3, -1);
}

/**
 * make_circles: n_out = n // 2 points at angles linspace(0, 2 pi, endpoint = False) on the unit
 * circle, n_in = n - n_out on the circle of radius `factor`; shuffle; add N(0, noise^2); scale by 3.
 * Labels: 0 outer, 1 inner.
 */
function circles(n: number, rng: Rng, noise: number, factor: number, shuffle: boolean): Labeled2D {
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  const xy = new Float64Array(2 * n);
  const labels = new Int32Array(n);
  const ao = linspace(0, 2 * Math.PI, nOut, false);
  const ai = linspace(0, 2 * Math.PI, nIn, false);
  for (let i = 0; i < nOut; i++) {
    xy[2 * i] = Math.cos(ao[i]!);
    xy[2 * i + 1] = Math.sin(ao[i]!);
  }
  for (let i = 0; i < nIn; i++) {
    const r = nOut + i;
    xy[2 * r] = factor * Math.cos(ai[i]!);
    xy[2 * r + 1] = factor * Math.sin(ai[i]!);
    labels[r] = 1;
  }
  if (shuffle) shuffleRows(xy, labels, rng);
  return finish(xy, labels, rng, noise, 3, 0);
}

/** Adds N(0, noise^2) to every coordinate, then maps x -> scale x + shift, to float32. */
function finish(xy: Float64Array, labels: Int32Array, rng: Rng, noise: number, scale: number, shift: number): Labeled2D {
  const points = new Float32Array(xy.length);
  for (let k = 0; k < xy.length; k++) {
    const v = noise > 0 ? xy[k]! + noise * rng.normal() : xy[k]!;
    points[k] = scale * v + shift;
  }
  return { points, labels };
}

function fromMixture(gmm: GaussianMixture, n: number, rng: Rng): Labeled2D {
  const s = sampleGaussianMixture(gmm, n, rng);
  return { points: s.points, labels: s.components };
}

/**
 * Dark squares of a 4 x 4 board on [-4, 4]^2: square (i, j) covers [-4 + 2i, -2 + 2i) x [-4 + 2j, -2 + 2j)
 * and is dark when i + j is even (the FFJORD layout). One of the 8 is chosen uniformly, then a
 * uniform point inside it.
 */
function checkerboard(n: number, rng: Rng): Labeled2D {
  const points = new Float32Array(2 * n);
  for (let k = 0; k < n; k++) {
    const cell = rng.int(8);
    const i = cell >> 1; // column 0..3
    const j = 2 * (cell & 1) + (i & 1); // a row with i + j even
    points[2 * k] = -4 + 2 * i + 2 * rng.uniform();
    points[2 * k + 1] = -4 + 2 * j + 2 * rng.uniform();
  }
  return { points, labels: new Int32Array(n) };
}

/**
 * Two arms: theta = 3 pi sqrt(u) (sqrt spreads points evenly along the growing arm), point
 * (-theta cos theta, theta sin theta) / 3 for arm 0 and its negation for arm 1, plus N(0, noise^2).
 * n // 2 points on arm 0, the rest on arm 1.
 */
function spirals(n: number, rng: Rng, noise: number, shuffle: boolean): Labeled2D {
  const xy = new Float64Array(2 * n);
  const labels = new Int32Array(n);
  const n0 = Math.floor(n / 2);
  for (let k = 0; k < n; k++) {
    const theta = 3 * Math.PI * Math.sqrt(rng.uniform());
    const sign = k < n0 ? 1 : -1;
    xy[2 * k] = (sign * -theta * Math.cos(theta)) / 3;
    xy[2 * k + 1] = (sign * theta * Math.sin(theta)) / 3;
    labels[k] = k < n0 ? 0 : 1;
  }
  if (shuffle) shuffleRows(xy, labels, rng);
  return finish(xy, labels, rng, noise, 1, 0);
}

/**
 * make_swiss_roll projected on its (x, z) plane: t = 1.5 pi (1 + 2u), point (t cos t, t sin t), plus
 * N(0, noise^2), all divided by 5 (FFJORD's scale: the roll spans about [-2.8, 2.8]).
 */
function swissRoll(n: number, rng: Rng, noise: number): Labeled2D {
  const xy = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    const t = 1.5 * Math.PI * (1 + 2 * rng.uniform());
    xy[2 * k] = t * Math.cos(t);
    xy[2 * k + 1] = t * Math.sin(t);
  }
  return finish(xy, new Int32Array(n), rng, noise, 1 / 5, 0);
}

function userMixture(opts: Sample2DOptions): GaussianMixture {
  if (opts.mixture === undefined) throw new ConfigError('gmm', "dataset 'gmm' needs a mixture { weights, means, stds }");
  const g = validateGaussianMixture(opts.mixture, 'gmm');
  if (g.means[0]!.length !== 2)
    throw new ConfigError('gmm.means[0]', `must have 2 coordinates for a 2D dataset, got ${g.means[0]!.length}`);
  return g;
}

/** Validates the user's point set into a flat float64 array [m * 2]; DataError names the bad point. */
function userPoints(opts: Sample2DOptions): Float64Array {
  const src = opts.points;
  if (src === undefined) throw new ConfigError('points', "dataset 'points' needs a point set");
  const coord = (v: unknown, i: number, c: number): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new DataError(`points[${i}][${c}] is ${String(v)}; every coordinate must be a finite number`);
    }
    return v;
  };
  let flat: Float64Array;
  if (Array.isArray(src) && src.length > 0 && Array.isArray(src[0])) {
    const rows = src as readonly unknown[];
    flat = new Float64Array(rows.length * 2);
    rows.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== 2) {
        throw new DataError(`points[${i}] must have 2 coordinates, got ${Array.isArray(row) ? row.length : typeof row}`);
      }
      flat[2 * i] = coord(row[0], i, 0);
      flat[2 * i + 1] = coord(row[1], i, 1);
    });
  } else {
    const arr = src as ArrayLike<unknown>;
    if (arr.length % 2 !== 0) throw new DataError(`points: a flat point list needs 2 coordinates per point, got ${arr.length} numbers`);
    flat = new Float64Array(arr.length);
    for (let k = 0; k < arr.length; k++) flat[k] = coord(arr[k], k >> 1, k & 1);
  }
  if (flat.length === 0) throw new DataError('points: the point set is empty');
  return flat;
}

function resample(flat: Float64Array, n: number, rng: Rng): Labeled2D {
  const m = flat.length / 2;
  const points = new Float32Array(2 * n);
  for (let k = 0; k < n; k++) {
    const i = rng.int(m);
    points[2 * k] = flat[2 * i]!;
    points[2 * k + 1] = flat[2 * i + 1]!;
  }
  return { points, labels: new Int32Array(n) };
}
