/**
 * Data handed to a model on the command line: JSON vectors (points, latents; a file or stdin) or
 * image files, checked against the model's shape and stacked into one [batch, ...shape] tensor.
 */
import { readFileSync } from 'node:fs';
import { tf, type Tensor } from '../../core/tf';
import { DataError } from '../../core/errors';
import type { LoadedModel } from '../models/load';
import { decodePngToArray, ImageFileError, type Channels } from '../data';
import { UsageError } from './errors';
import { readVectors } from './io';
import type { Context } from './context';
import { dimOf } from './modeling';

/** A batch read from the command line. */
export interface ModelInput {
  /** [batch, ...model.shape], float32. Caller disposes. */
  x: Tensor;
  /** Where each row came from ('points.json[3]', 'cat.png'). */
  names: string[];
  /** For images: the 8-bit pixel values (for dequantisation), one Uint8Array per image. */
  pixels?: Uint8Array[];
}

/**
 * Reads the input of a command from `--VECTORS FILE|-` or `--IMAGES FILE...` (extra positionals
 * count as more image files, so shell globs work: --images faces/*.png).
 */
export async function readModelInput(
  ctx: Context,
  model: LoadedModel,
  flags: { vectors: string; images: string; what: string },
): Promise<ModelInput> {
  const { args } = ctx;
  const imageFiles = [...args.strings(flags.images), ...(args.has(flags.images) ? args.positionals : [])];
  if (args.positionals.length > 0 && !args.has(flags.images))
    throw new UsageError(`unexpected argument '${args.positionals[0]}'`, args.command);
  args.exclusive(flags.vectors, flags.images);
  if (imageFiles.length > 0) return readImages(model, imageFiles, `--${flags.images}`);
  const file = args.required(
    flags.vectors,
    `is required (a JSON array of ${flags.what}, or - for stdin)${model.shape.length > 1 ? `, or --${flags.images} FILE.png` : ''}`,
  );
  const rows = await readVectors(file, { dim: dimOf(model), what: flags.what }, ctx.streams.stdin);
  const x = tf.tensor(rows.flat(), [rows.length, ...model.shape], 'float32');
  return { x, names: rows.map((_, i) => `${file === '-' ? 'stdin' : file}[${i}]`) };
}

/** Decodes image files at the model's size and channels. @throws ImageFileError naming the file */
export function readImages(model: LoadedModel, files: readonly string[], flag: string): ModelInput {
  if (model.shape.length !== 3) throw new UsageError(`${flag}: ${model.label} models points of dimension ${dimOf(model)}, not images`);
  const [h, w, c] = model.shape as [number, number, Channels];
  if (h !== w) throw new DataError(`${model.label} has non-square images ${h}x${w}; image files cannot be fitted to it`);
  const data = new Float32Array(files.length * h * w * c);
  const pixels: Uint8Array[] = [];
  files.forEach((file, k) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new ImageFileError(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message);
    }
    const img = decodePngToArray(bytes, h, c, file);
    data.set(img.data, k * h * w * c);
    // decodeImage maps byte p to p / 127.5 - 1; invert it exactly for dequantisation.
    pixels.push(Uint8Array.from(img.data, (v) => Math.round((v + 1) * 127.5)));
  });
  return { x: tf.tensor(data, [files.length, h, w, c], 'float32'), names: [...files], pixels };
}
