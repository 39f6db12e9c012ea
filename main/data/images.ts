/**
 * Image folders and single image files, read offline in Node, as model-ready arrays; and PNG
 * encoding of arrays for sample grids and exports.
 *
 * Every picture goes through the same pipeline (`rgbaToSquare` in pixels.ts): alpha composited on
 * a background (white unless asked otherwise), converted to the requested channels (BT.601
 * luminance for grey, replication for RGB), center-cropped to a square, resized with area averaging
 * when shrinking and bilinear interpolation when enlarging, turned upright per EXIF, scaled to
 * [-1, 1]. A bad file never crashes the loader: it is either listed in `skipped` or reported as an
 * ImageFileError naming it, as the caller chooses.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { CancelledError, check, checkShape, DataError } from '../../core/errors';
import { BadImage, decodeRgba } from './formats';
import { rgbaToSquare, unitToByte } from './pixels';
import { FolderLimitError, ImageFileError, type Channels, type ImageArray, type ImageDataset } from './types';

/** File name endings read as images (compared case-insensitively). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

/** Largest output side `decodeImage` and the folder loader accept. */
export const MAX_OUTPUT_SIDE = 1024;

/** Files larger than this are refused unread by default (an RGB PNG of noise at MAX_IMAGE_PIXELS is ~120 MB). */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** What transparent pixels are composited onto. See `SquareOptions.background`. */
export type Background = 'white' | 'black';

/** How one picture becomes a model-ready image. */
export interface DecodeOptions {
  /** Output side: the picture is center-cropped to a square and resized to size x size. */
  size: number;
  channels: Channels;
  /** What transparent pixels become; 'white' by default. */
  background?: Background;
}

function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

function checkDecodeOptions(options: DecodeOptions): void {
  const { size, channels, background } = options;
  check(
    Number.isInteger(size) && size >= 1 && size <= MAX_OUTPUT_SIDE,
    'size',
    () => `must be an integer in [1, ${MAX_OUTPUT_SIDE}], got ${String(size)}`,
  );
  check(channels === 1 || channels === 3, 'channels', () => `must be 1 or 3, got ${String(channels)}`);
  check(
    background === undefined || background === 'white' || background === 'black',
    'background',
    () => `must be 'white' or 'black', got ${String(background)}`,
  );
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Decodes and converts; throws BadImage (or whatever a decoder threw) with the reason only. */
function toSquare(bytes: Uint8Array, options: DecodeOptions): Float32Array {
  const img = decodeRgba(bytes);
  return rgbaToSquare(img.rgba, img.width, img.height, {
    size: options.size,
    channels: options.channels,
    background: options.background === 'black' ? 0 : 255,
    orientation: img.orientation,
  });
}

/**
 * Decodes one PNG or JPEG file (format recognised from its bytes, so a JPEG named .png still loads)
 * into a `size x size x channels` image in [-1, 1].
 *
 * @param bytes the file's contents
 * @param name what to call the file in errors, e.g. its path
 * @throws ImageFileError (a DataError) naming `name` and the reason, for empty, truncated,
 *   unrecognised or oversized (over MAX_IMAGE_PIXELS) files; ConfigError for bad options.
 * @example
 *   const img = decodeImage(readFileSync('cat.jpg'), 'cat.jpg', { size: 32, channels: 3 });
 *   // img.data.length === 32 * 32 * 3
 */
export function decodeImage(bytes: Uint8Array, name: string, options: DecodeOptions): ImageArray {
  checkDecodeOptions(options);
  let data: Float32Array;
  try {
    data = toSquare(bytes, options);
  } catch (e) {
    throw new ImageFileError(name, errorText(e));
  }
  return { data, height: options.size, width: options.size, channels: options.channels };
}

/**
 * Reads a user's picture (for the latent studio: encode an image to noise and back) at the model's
 * size and channels. The same as `decodeImage`; despite the name JPEG bytes are accepted too, since
 * users pick files from disk without minding the format.
 *
 * @example
 *   const { data } = decodePngToArray(bytes, 28, 1); // 784 values in [-1, 1], ready for [1, 28, 28, 1]
 */
export function decodePngToArray(bytes: Uint8Array, size: number, channels: Channels, name = 'image'): ImageArray {
  return decodeImage(bytes, name, { size, channels });
}

/**
 * PNG bytes of one image. Float pixels are taken to be in [-1, 1] (clamped; NaN becomes black), bytes
 * (Uint8Array / Uint8ClampedArray) in 0..255. Writes an 8-bit grey PNG for 1 channel, RGB for 3.
 *
 * @param pixels HWC values, length width * height * channels
 * @throws ShapeError when the length does not match; ConfigError for bad sizes or channels
 */
export function encodePng(
  pixels: Float32Array | Float64Array | Uint8Array | Uint8ClampedArray | readonly number[],
  width: number,
  height: number,
  channels: Channels,
): Uint8Array {
  check(Number.isInteger(width) && width >= 1, 'width', () => `must be a positive integer, got ${String(width)}`);
  check(Number.isInteger(height) && height >= 1, 'height', () => `must be a positive integer, got ${String(height)}`);
  check(channels === 1 || channels === 3, 'channels', () => `must be 1 or 3, got ${String(channels)}`);
  const n = width * height * channels;
  checkShape(
    pixels.length === n,
    () => `pixels must have length width*height*channels = ${width}*${height}*${channels} = ${n}. Got ${pixels.length}`,
  );
  let bytes: Buffer;
  if (pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray) {
    bytes = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  } else {
    bytes = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) bytes[i] = unitToByte(pixels[i]!);
  }
  const colorType = channels === 1 ? 0 : 2;
  // pngjs's typings want a PNG instance, but its sync writer only reads width, height and data.
  const png = new PNG();
  png.width = width;
  png.height = height;
  png.data = bytes;
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false, bitDepth: 8 });
}

/** Layout of `imageGridPng`. */
export interface GridOptions {
  /** Pixels between cells and around the border; 2 by default. */
  pad?: number;
  /** Value in [-1, 1] of the padding; 0 (mid grey) by default, visible on both black and white images. */
  padValue?: number;
}

/**
 * PNG bytes of `n` images laid out in a grid, row by row: `cols` columns (at most n) and
 * ceil(n / cols) rows, each cell h x w, separated and framed by `pad` pixels. The result is
 * `cols * (w + pad) + pad` wide and `rows * (h + pad) + pad` tall.
 *
 * @param images NHWC values in [-1, 1], length n * h * w * c (e.g. `await samples.data()`)
 * @throws ShapeError when the length does not match
 */
export function imageGridPng(
  images: Float32Array,
  n: number,
  h: number,
  w: number,
  c: Channels,
  cols: number,
  options: GridOptions = {},
): Uint8Array {
  const pad = options.pad ?? 2;
  check(Number.isInteger(n) && n >= 1, 'n', () => `must be a positive integer, got ${String(n)}`);
  check(
    Number.isInteger(h) && h >= 1 && Number.isInteger(w) && w >= 1,
    'h',
    () => `h and w must be positive integers, got ${String(h)}x${String(w)}`,
  );
  check(Number.isInteger(cols) && cols >= 1, 'cols', () => `must be a positive integer, got ${String(cols)}`);
  check(Number.isInteger(pad) && pad >= 0, 'pad', () => `must be a non-negative integer, got ${String(pad)}`);
  check(c === 1 || c === 3, 'channels', () => `must be 1 or 3, got ${String(c)}`);
  checkShape(
    images.length === n * h * w * c,
    () => `images must have length n*h*w*c = ${n}*${h}*${w}*${c} = ${n * h * w * c}. Got ${images.length}`,
  );
  const columns = Math.min(cols, n);
  const rows = Math.ceil(n / columns);
  const width = columns * (w + pad) + pad;
  const height = rows * (h + pad) + pad;
  const out = new Uint8Array(width * height * c).fill(unitToByte(options.padValue ?? 0));
  for (let k = 0; k < n; k++) {
    const top = pad + Math.floor(k / columns) * (h + pad);
    const left = pad + (k % columns) * (w + pad);
    for (let y = 0; y < h; y++) {
      const src = (k * h + y) * w * c;
      const dst = ((top + y) * width + left) * c;
      for (let q = 0; q < w * c; q++) out[dst + q] = unitToByte(images[src + q]!);
    }
  }
  return encodePng(out, width, height, c);
}

/** Options of `loadImageFolder`. */
export interface LoadImageFolderOptions extends DecodeOptions {
  folder: string;
  /** What a corrupt or unreadable file does: 'skip' lists it in `skipped` and goes on, 'reject' throws. */
  onCorrupt: 'skip' | 'reject';
  /**
   * Label each image by the immediate subfolder it is in (class ids follow the sorted subfolder
   * names; subfolders without image files are not classes). Images directly in `folder` are then
   * listed in `skipped`. Off: every image under `folder` is read, unlabelled.
   */
  labelsFromSubfolders?: boolean;
  /** Load at most this many images. With labels, files are taken round-robin over classes so any limit stays balanced. */
  limit?: number;
  /** Files larger than this many bytes are treated as corrupt without being read. */
  maxFileBytes?: number;
  signal?: AbortSignal;
  /** Called after each file with the files handled so far and the total to handle. */
  onProgress?: (done: number, total: number) => void;
}

export interface Candidate {
  /** Path relative to the folder, with '/'. */
  rel: string;
  abs: string;
  label: number;
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Bounds on listing a folder, for checks that must finish in bounded time whatever the folder (a
 * huge tree, a slow network drive). Exceeding one throws FolderLimitError; the loader lists without.
 */
export interface ListingBounds {
  /** Files and folders listed, at most (every folder entry counts, images or not). */
  maxEntries: number;
  /** Folder levels below the top one, at most (files in the top folder are at depth 0). */
  maxDepth: number;
  /** Seconds the listing may take (checked after each folder is read). */
  seconds: number;
}

/** A listing in progress under bounds: the folder for messages, the count so far, the deadline. */
interface Budget extends ListingBounds {
  folder: string;
  entries: number;
  /** performance.now() after which the listing stops. */
  deadline: number;
}

function spend(b: Budget | null, entries: number): void {
  if (!b) return;
  if (performance.now() > b.deadline)
    throw new FolderLimitError(
      b.folder,
      'seconds',
      `image folder "${b.folder}": listing took longer than ${b.seconds} s, the check's limit (a slow or network drive?)`,
    );
  b.entries += entries;
  if (b.entries > b.maxEntries)
    throw new FolderLimitError(
      b.folder,
      'entries',
      `image folder "${b.folder}" has more than ${b.maxEntries} files and folders, the most the check lists`,
    );
}

/**
 * Image files under `dir`, depth first in code-unit order (locale-independent, so every machine
 * loads the same order). Hidden entries are ignored: macOS leaves "._name.png" AppleDouble files
 * beside real images, which are not images at all. Symlinked folders are not followed (no cycles).
 * `depth` is how many folders below the top `dir` is.
 */
async function listImages(
  dir: string,
  rel: string,
  out: string[],
  unreadable: { file: string; reason: string }[],
  budget: Budget | null,
  depth: number,
): Promise<void> {
  if (budget && depth > budget.maxDepth)
    throw new FolderLimitError(
      budget.folder,
      'depth',
      `image folder "${budget.folder}": "${rel}" is ${depth} folders deep; the check looks at most ${budget.maxDepth} deep`,
    );
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    unreadable.push({ file: rel || '.', reason: `cannot list folder: ${errorText(e)}` });
    return;
  }
  spend(budget, entries.length);
  entries.sort((a, b) => byCodeUnit(a.name, b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) await listImages(join(dir, entry.name), childRel, out, unreadable, budget, depth + 1);
    else if ((entry.isFile() || entry.isSymbolicLink()) && isImageName(entry.name)) out.push(childRel);
  }
}

/** The image files of a folder, in the order the loader reads them. */
export interface FoundImages {
  candidates: Candidate[];
  /** Class names by label, with labelsFromSubfolders. */
  classNames?: string[];
  /** Images outside every class subfolder (labelsFromSubfolders): skipped, never an error. */
  outsideClasses: { file: string; reason: string }[];
  /** Subfolders that could not be listed: bad like a corrupt file. */
  unreadable: { file: string; reason: string }[];
}

/**
 * Lists a folder's image files (after checking it exists and is a folder) in load order: depth
 * first in code-unit order, or with `labelsFromSubfolders` round-robin over the sorted class
 * subfolders so any prefix of the list stays balanced. With `bounds`, stops with FolderLimitError
 * past any of them.
 *
 * @throws DataError naming the folder when it is missing or not a folder, has no class subfolders
 *   with images (labelsFromSubfolders), or has no image files and no unreadable subfolders
 */
export async function findImages(folder: string, labelsFromSubfolders: boolean, bounds?: ListingBounds): Promise<FoundImages> {
  const budget: Budget | null = bounds ? { ...bounds, folder, entries: 0, deadline: performance.now() + bounds.seconds * 1000 } : null;
  let folderStat;
  try {
    folderStat = await stat(folder);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(
      code === 'ENOENT' ? `image folder "${folder}" does not exist` : `image folder "${folder}" cannot be read: ${errorText(e)}`,
    );
  }
  if (!folderStat.isDirectory()) throw new DataError(`image folder "${folder}" is not a folder`);

  const unreadable: { file: string; reason: string }[] = [];
  const outsideClasses: { file: string; reason: string }[] = [];
  let candidates: Candidate[];
  let classNames: string[] | undefined;
  if (labelsFromSubfolders) {
    let top;
    try {
      top = await readdir(folder, { withFileTypes: true });
    } catch (e) {
      throw new DataError(`image folder "${folder}" cannot be listed: ${errorText(e)}`);
    }
    spend(budget, top.length);
    top.sort((a, b) => byCodeUnit(a.name, b.name));
    const perClass: Candidate[][] = [];
    classNames = [];
    for (const entry of top) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) {
        const files: string[] = [];
        await listImages(join(folder, entry.name), entry.name, files, unreadable, budget, 1);
        if (files.length === 0) continue;
        const label = classNames.length;
        classNames.push(entry.name);
        perClass.push(files.map((rel) => ({ rel, abs: join(folder, rel), label })));
      } else if (isImageName(entry.name)) {
        // Not an error of the file, so never a reason to reject the whole folder.
        outsideClasses.push({ file: entry.name, reason: 'not inside a class subfolder (labelsFromSubfolders is on)' });
      }
    }
    if (perClass.length === 0)
      throw new DataError(
        `image folder "${folder}" has no subfolders with PNG or JPEG files (labelsFromSubfolders is on: each subfolder is a class)`,
      );
    // Round-robin over classes: a limit, or a run stopped early, still sees every class.
    candidates = [];
    const total = perClass.reduce((sum, files) => sum + files.length, 0);
    for (let i = 0; candidates.length < total; i++)
      for (const files of perClass) {
        const c = files[i];
        if (c) candidates.push(c);
      }
  } else {
    const files: string[] = [];
    await listImages(folder, '', files, unreadable, budget, 0);
    candidates = files.map((rel) => ({ rel, abs: join(folder, rel), label: -1 }));
  }
  // With unreadable subfolders the caller decides first (onCorrupt 'reject' names one of them).
  if (candidates.length === 0 && unreadable.length === 0) throw noImages(folder);
  return { candidates, ...(classNames ? { classNames } : {}), outsideClasses, unreadable };
}

/** The error for a folder without image files. */
export function noImages(folder: string): DataError {
  return new DataError(
    `image folder "${folder}" contains no PNG or JPEG files (looked for ${IMAGE_EXTENSIONS.join(', ')} in it and its subfolders)`,
  );
}

/**
 * Reads and decodes one listed file; throws BadImage (or an fs error) with the reason only. Anything
 * but a regular file (a FIFO or a device behind a symlink would block or never end) and files over
 * `maxFileBytes` are refused unread.
 */
export async function readCandidate(abs: string, options: DecodeOptions, maxFileBytes: number): Promise<Float32Array> {
  const info = await stat(abs);
  if (!info.isFile()) throw new BadImage('not a regular file');
  if (info.size > maxFileBytes) throw new BadImage(`file is ${info.size} bytes; the largest accepted is ${maxFileBytes}`);
  return toSquare(await readFile(abs), options);
}

/**
 * Loads every PNG and JPEG file of a folder into one NHWC array in [-1, 1].
 *
 * Files are recognised by extension (.png, .jpg, .jpeg, any case) and decoded by content. With
 * `labelsFromSubfolders`, `folder/<class>/**` gives class ids in sorted class-name order.
 *
 * @throws DataError naming the folder when it is missing, not a folder, has no image files, or
 *   none of them could be read; ImageFileError (a DataError) naming the first bad file and why,
 *   when `onCorrupt` is 'reject'; CancelledError when `signal` aborts; ConfigError for bad options.
 * @example
 *   const ds = await loadImageFolder({ folder: '/data/faces', size: 32, channels: 3, onCorrupt: 'skip' });
 *   const x = tf.tensor4d(ds.images, [ds.count, ds.height, ds.width, ds.channels]);
 */
export async function loadImageFolder(options: LoadImageFolderOptions): Promise<ImageDataset> {
  checkDecodeOptions(options);
  const { folder, onCorrupt, size, channels, limit, signal, onProgress } = options;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  check(typeof folder === 'string' && folder.length > 0, 'folder', () => 'must be a non-empty path');
  check(onCorrupt === 'skip' || onCorrupt === 'reject', 'onCorrupt', () => `must be 'skip' or 'reject', got ${String(onCorrupt)}`);
  check(limit === undefined || (Number.isInteger(limit) && limit >= 1), 'limit', () => `must be a positive integer, got ${String(limit)}`);

  const skipped: { file: string; reason: string }[] = [];
  const bad = (c: { rel: string; abs: string }, reason: string): void => {
    if (onCorrupt === 'reject') throw new ImageFileError(c.abs, reason);
    skipped.push({ file: c.rel, reason });
  };

  // Find the files (and classes) first, so the array is allocated once and progress has a total.
  const found = await findImages(folder, options.labelsFromSubfolders ?? false);
  const { candidates, classNames } = found;
  skipped.push(...found.outsideClasses);
  for (const u of found.unreadable) bad({ rel: u.file, abs: join(folder, u.file) }, u.reason);
  if (candidates.length === 0) throw noImages(folder);

  const capacity = Math.min(candidates.length, limit ?? Infinity);
  const per = size * size * channels;
  const images = new Float32Array(capacity * per);
  const labels = classNames ? new Int32Array(capacity) : null;
  const names: string[] = [];
  let count = 0;
  for (let i = 0; i < candidates.length && count < capacity; i++) {
    if (signal?.aborted) throw new CancelledError('loading images');
    const c = candidates[i]!;
    let square: Float32Array | null = null;
    try {
      square = await readCandidate(c.abs, options, maxFileBytes);
    } catch (e) {
      if (e instanceof ImageFileError) throw e; // from bad() in 'reject' mode
      // BadImage carries a reason; anything else (EACCES, a decoder's internal error) is reported as is.
      bad(c, e instanceof BadImage ? e.message : `cannot read: ${errorText(e)}`);
    }
    if (square) {
      images.set(square, count * per);
      if (labels) labels[count] = c.label;
      names.push(c.rel);
      count++;
    }
    onProgress?.(i + 1, candidates.length);
  }
  if (count === 0) {
    const first = skipped.find((s) => !s.reason.startsWith('not inside'));
    throw new DataError(
      `no image in "${folder}" could be loaded: ${skipped.length} file(s) skipped${first ? ` (first: ${first.file}: ${first.reason})` : ''}`,
    );
  }
  return {
    images: count === capacity ? images : images.slice(0, count * per),
    labels: labels && count < capacity ? labels.slice(0, count) : labels,
    numClasses: classNames?.length ?? 0,
    height: size,
    width: size,
    channels,
    count,
    names,
    ...(classNames ? { classNames } : {}),
    skipped,
  };
}
