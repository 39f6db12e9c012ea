/**
 * The shapes main/data hands to the rest of the app: plain typed arrays, no tensors, so the loaders
 * run anywhere Node runs (Electron main, worker threads, the CLI) and core decides when to make a
 * tensor (e.g. `tf.tensor4d(ds.images, [ds.count, ds.height, ds.width, ds.channels])`).
 */
import { DataError } from '../../core/errors';

/** Channels an image can be loaded with: grayscale or RGB. */
export type Channels = 1 | 3;

/**
 * A set of equally sized images in one flat array.
 *
 * `images` holds `count * height * width * channels` values in NHWC order, scaled to [-1, 1]
 * (pixel value p in 0..255 becomes p / 127.5 - 1, so 0 -> -1 and 255 -> 1).
 */
export interface ImageDataset {
  /** NHWC pixels in [-1, 1]; length `count * height * width * channels`. */
  images: Float32Array;
  /** One class id per image in [0, numClasses), or null for an unlabelled set. */
  labels: Int32Array | null;
  /** Number of classes labels may take (10 for MNIST even when filtered to a few digits; 0 when unlabelled). */
  numClasses: number;
  height: number;
  width: number;
  channels: Channels;
  /** Number of images. */
  count: number;
  /** Per image: its file path relative to the folder (with '/'), or an id such as "7/123" for MNIST. */
  names?: string[];
  /** Per class id: its name (the subfolder name, or the digit). */
  classNames?: string[];
  /** Files that were found but not loaded, each with why. Empty when everything loaded. */
  skipped: { file: string; reason: string }[];
}

/** One image: HWC pixels in [-1, 1]. */
export interface ImageArray {
  /** HWC pixels in [-1, 1]; length `height * width * channels`. */
  data: Float32Array;
  height: number;
  width: number;
  channels: Channels;
}

/**
 * An image file could not be used. `file` names it (the path, or the name the caller gave) and
 * `reason` says what is wrong with it, e.g. "truncated PNG: chunk IDAT at byte 33 needs 120 bytes,
 * 40 remain". The UI can show the two apart; the message joins them.
 */
export class ImageFileError extends DataError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/** Which bound of a bounded folder listing was exceeded. */
export type FolderBound = 'entries' | 'depth' | 'seconds';

/**
 * A bounded look at an image folder (the API's check before a run is created) stopped at one of its
 * bounds. The message names the folder and the bound; nothing about the folder's files is implied.
 */
export class FolderLimitError extends DataError {
  constructor(
    readonly folder: string,
    readonly bound: FolderBound,
    message: string,
  ) {
    super(message);
  }
}
