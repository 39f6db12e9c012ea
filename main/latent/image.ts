/**
 * Picking the image to work on: a dataset digit, a file (or its bytes), pixels, or a fresh sample.
 * Everything comes back as a `LatentImage` at the model's shape, or fails with an error naming the
 * file or field (ImageFileError for files, so the CLI exits 2 and the app shows which file).
 */
import { readFile } from 'node:fs/promises';
import { tf } from '../../core/tf';
import { ConfigError, DataError } from '../../core/errors';
import { sampleFromField } from '../../core/train/sample';
import { sourceScale } from '../../core/path/scheduler';
import { ImageFileError, mnistClassCounts, mnistDigit, rgbaToSquare } from '../data';
import { decodeRgba } from '../data/formats';
import type { LoadedModel } from '../models/load';
import { checkPixels, checkSolver, classesFor, condOf, imageShape } from './common';
import type { ImageSource, LatentControl, LatentImage } from '../../common/latent';

/** Largest image file read (bytes); bigger files are refused before reading. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Decodes PNG/JPEG bytes to the model's size and channels (centre crop, area resize, BT.601 grey).
 *
 * @throws ImageFileError naming `name`: unreadable, corrupt, or (exactSize) of another size.
 */
export function imageFromBytes(model: LoadedModel, bytes: Uint8Array, name: string, opts: { exactSize?: boolean; background?: 'white' | 'black' } = {}): LatentImage {
  const [h, w, c] = imageShape(model);
  if (h !== w) throw new DataError(`${model.label} takes ${h}x${w} images; image files are fitted to square models only`);
  if (bytes.length === 0) throw new ImageFileError(name, 'the file is empty');
  let img;
  try {
    img = decodeRgba(bytes);
  } catch (e) {
    throw new ImageFileError(name, e instanceof Error ? e.message : String(e));
  }
  if (opts.exactSize && (img.width !== w || img.height !== h)) {
    throw new ImageFileError(name, `is ${img.width}x${img.height} pixels; ${model.label} takes ${w}x${h} (exact size required)`);
  }
  const data = rgbaToSquare(img.rgba, img.width, img.height, { size: h, channels: c, background: opts.background === 'black' ? 0 : 255, orientation: img.orientation });
  return { pixels: Array.from(data), shape: [h, w, c], source: name };
}

/** Reads an image file at the model's shape. @throws ImageFileError naming the file */
export async function imageFromFile(model: LoadedModel, path: string, opts: { exactSize?: boolean; background?: 'white' | 'black' } = {}): Promise<LatentImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not an image file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new ImageFileError(path, why);
  }
  if (bytes.length > MAX_FILE_BYTES) throw new ImageFileError(path, `file is ${bytes.length} bytes; the largest accepted is ${MAX_FILE_BYTES}`);
  return imageFromBytes(model, bytes, path, opts);
}

/**
 * The image a request names, at the model's shape.
 *
 * @example
 *   const digit = await pickImage(model, { kind: 'dataset', classId: 7, index: 0 });
 *   const photo = await pickImage(model, { kind: 'file', path: 'seven.png' });
 * @throws ImageFileError (files), ConfigError / ShapeError (bad fields), naming what is wrong.
 */
export async function pickImage(model: LoadedModel, source: ImageSource, ctl: LatentControl = {}): Promise<LatentImage> {
  const [h, w, c] = imageShape(model);
  if (!source || typeof source !== 'object') throw new ConfigError('source', 'must be an object with a kind');
  switch (source.kind) {
    case 'dataset': {
      if ((source.dataset ?? 'mnist') !== 'mnist') throw new ConfigError('source.dataset', `only 'mnist' is bundled, got '${String(source.dataset)}'`);
      if (h !== 28 || w !== 28 || c !== 1) throw new ConfigError('source', `MNIST digits are 28x28x1; ${model.label} takes ${h}x${w}x${c}`);
      const counts = mnistClassCounts();
      if (!(Number.isInteger(source.classId) && source.classId >= 0 && source.classId <= 9)) throw new ConfigError('source.classId', `must be a digit 0..9, got ${String(source.classId)}`);
      if (!(Number.isInteger(source.index) && source.index >= 0 && source.index < counts[source.classId]!)) {
        throw new ConfigError('source.index', `must be an integer in [0, ${counts[source.classId]}) for digit ${source.classId}, got ${String(source.index)}`);
      }
      const img = mnistDigit(source.classId, source.index);
      return { pixels: Array.from(img.data), shape: [28, 28, 1], source: `mnist ${source.classId}/${source.index}`, label: source.classId };
    }
    case 'file':
      if (typeof source.path !== 'string' || source.path === '') throw new ConfigError('source.path', 'must be a file path');
      return imageFromFile(model, source.path, source);
    case 'bytes': {
      if (typeof source.base64 !== 'string') throw new ConfigError('source.base64', 'must be a base64 string');
      return imageFromBytes(model, Buffer.from(source.base64, 'base64'), source.name || 'image', source);
    }
    case 'pixels': {
      const name = source.name ?? 'pixels';
      if (!Array.isArray(source.pixels)) throw new ConfigError('source.pixels', 'must be an array of numbers');
      checkPixels(model, source.pixels, name);
      const byte = source.range === 'byte';
      const lo = byte ? 0 : -1;
      const hi = byte ? 255 : 1;
      const bad = source.pixels.findIndex((v) => v < lo || v > hi);
      if (bad >= 0) throw new DataError(`${name}: value ${bad} is ${source.pixels[bad]}, outside [${lo}, ${hi}]${byte ? '' : " (give range: 'byte' for 0..255)"}`);
      const pixels = byte ? source.pixels.map((p) => p / 127.5 - 1) : [...source.pixels];
      const label = source.label;
      if (label !== undefined) classesFor(model, label, 1, 'source.label');
      return { pixels, shape: [h, w, c], source: name, ...(label !== undefined ? { label } : {}) };
    }
    case 'sample': {
      const seed = source.seed ?? 0;
      if (!Number.isInteger(seed)) throw new ConfigError('source.seed', `must be an integer, got ${String(seed)}`);
      const [cls] = classesFor(model, source.classLabel ?? null, 1, 'source.classLabel');
      const spec = checkSolver(source.solver ?? { method: 'heun', steps: 20 }, 'source.solver');
      const cond = condOf(model, [cls!]);
      try {
        const r = sampleFromField(model.field(source.cfg ?? 0), {
          n: 1,
          shape: model.shape,
          seed,
          solver: spec.method,
          ...(spec.steps !== undefined ? { steps: spec.steps } : {}),
          ...(spec.rtol !== undefined ? { rtol: spec.rtol } : {}),
          ...(spec.atol !== undefined ? { atol: spec.atol } : {}),
          ...(cond ? { cond } : {}),
          scale: sourceScale(model.scheduler),
          t0: model.timeRange.lo,
          t1: model.timeRange.hi,
          ...(ctl.signal ? { signal: ctl.signal } : {}),
        });
        const pixels = Array.from(r.x.dataSync());
        tf.dispose([r.x, r.x0, ...(r.trajectory ?? [])]);
        return { pixels, shape: [h, w, c], source: `sample${cls !== null ? ` class ${cls}` : ''} seed ${seed}`, ...(cls !== null ? { label: cls } : {}) };
      } finally {
        cond?.dispose();
      }
    }
    default:
      throw new ConfigError('source.kind', `must be dataset, file, bytes, pixels or sample, got '${String((source as { kind?: unknown }).kind)}'`);
  }
}
