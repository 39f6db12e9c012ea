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
import { checkPixels, classesFor, condOf, imageShape, parseRequest } from './common';
import { imageSourceSchema, type IMAGE_BACKGROUNDS, type ImageSource, type LatentControl, type LatentImage } from '../../common/latent';

/** How an image file or its bytes are fitted to the model (see ImageSource). */
interface FileOptions {
  exactSize?: boolean | undefined;
  background?: (typeof IMAGE_BACKGROUNDS)[number] | undefined;
}

/** Largest image file read (bytes); bigger files are refused before reading. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Decodes PNG/JPEG bytes to the model's size and channels (centre crop, area resize, BT.601 grey).
 *
 * @throws ImageFileError naming `name`: unreadable, corrupt, or (exactSize) of another size.
 */
export function imageFromBytes(model: LoadedModel, bytes: Uint8Array, name: string, opts: FileOptions = {}): LatentImage {
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
  const data = rgbaToSquare(img.rgba, img.width, img.height, {
    size: h,
    channels: c,
    background: opts.background === 'black' ? 0 : 255,
    orientation: img.orientation,
  });
  return { pixels: Array.from(data), shape: [h, w, c], source: name };
}

/** Reads an image file at the model's shape. @throws ImageFileError naming the file */
export async function imageFromFile(model: LoadedModel, path: string, opts: FileOptions = {}): Promise<LatentImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a folder, not an image file'
          : code === 'EACCES'
            ? 'permission denied'
            : (e as Error).message;
    throw new ImageFileError(path, why);
  }
  if (bytes.length > MAX_FILE_BYTES)
    throw new ImageFileError(path, `file is ${bytes.length} bytes; the largest accepted is ${MAX_FILE_BYTES}`);
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
export async function pickImage(model: LoadedModel, input: ImageSource, ctl: LatentControl = {}): Promise<LatentImage> {
  const [h, w, c] = imageShape(model);
  const source = parseRequest(imageSourceSchema, input, 'source');
  switch (source.kind) {
    case 'dataset': {
      if (h !== 28 || w !== 28 || c !== 1) throw new ConfigError('source', `MNIST digits are 28x28x1; ${model.label} takes ${h}x${w}x${c}`);
      const count = mnistClassCounts()[source.classId]!;
      if (source.index >= count)
        throw new ConfigError('source.index', `must be an integer in [0, ${count}) for digit ${source.classId}, got ${source.index}`);
      const img = mnistDigit(source.classId, source.index);
      return { pixels: Array.from(img.data), shape: [28, 28, 1], source: `mnist ${source.classId}/${source.index}`, label: source.classId };
    }
    case 'file':
      return imageFromFile(model, source.path, source);
    case 'bytes':
      return imageFromBytes(model, Buffer.from(source.base64, 'base64'), source.name, source);
    case 'pixels': {
      // The count against the model first: a list of the wrong size says so before its values do.
      const name = source.name ?? 'pixels';
      checkPixels(model, source.pixels, name);
      const byte = source.range === 'byte';
      const [lo, hi] = byte ? [0, 255] : [-1, 1];
      const bad = source.pixels.findIndex((v) => v < lo || v > hi);
      if (bad >= 0)
        throw new DataError(
          `${name}: value ${bad} is ${source.pixels[bad]}, outside [${lo}, ${hi}]${byte ? '' : " (give range: 'byte' for 0..255)"}`,
        );
      const pixels = byte ? source.pixels.map((p) => p / 127.5 - 1) : [...source.pixels];
      const label = source.label;
      if (label !== undefined) classesFor(model, label, 1, 'source.label');
      return { pixels, shape: [h, w, c], source: name, ...(label !== undefined ? { label } : {}) };
    }
    case 'sample': {
      const seed = source.seed ?? 0;
      const [cls] = classesFor(model, source.classLabel ?? null, 1, 'source.classLabel');
      const spec = source.solver ?? { method: 'heun', steps: 20 };
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
        return {
          pixels,
          shape: [h, w, c],
          source: `sample${cls !== null ? ` class ${cls}` : ''} seed ${seed}`,
          ...(cls !== null ? { label: cls } : {}),
        };
      } finally {
        cond?.dispose();
      }
    }
  }
}
