/**
 * Image datasets for Node: MNIST from the bundled package and PNG/JPEG folders, as plain NHWC
 * Float32Arrays in [-1, 1] that core turns into tensors; plus PNG encoding for grids and exports.
 * No Electron imports: Electron main, worker threads and the CLI all use it.
 */
import type { DataInput } from '../../common/config';
import { loadImageFolder, type LoadImageFolderOptions } from './images';
import { loadMnist } from './mnist';
import type { ImageDataset } from './types';

export { ImageFileError, type Channels, type ImageArray, type ImageDataset } from './types';
export {
  loadMnist,
  mnistDigit,
  mnistClassCounts,
  mnistDigitsDir,
  clearMnistCache,
  MNIST_SIDE,
  MNIST_CLASS_NAMES,
  type LoadMnistOptions,
} from './mnist';
export {
  loadImageFolder,
  decodeImage,
  decodePngToArray,
  encodePng,
  imageGridPng,
  IMAGE_EXTENSIONS,
  MAX_OUTPUT_SIDE,
  DEFAULT_MAX_FILE_BYTES,
  type Background,
  type DecodeOptions,
  type GridOptions,
  type LoadImageFolderOptions,
} from './images';
export { MAX_IMAGE_PIXELS, sniffFormat, type ImageFormat } from './formats';
export { LUMA, axisWeights, rgbaToSquare, orientSquare, unitToByte, type SquareOptions } from './pixels';

/** The image kinds of the experiment schema's data spec. */
export type ImageDataSpec = Extract<DataInput, { kind: 'mnist' | 'images' }>;

/**
 * Loads the images an experiment's data spec names (the schema's input form: defaults optional).
 * `extra` passes what the schema does not carry (abort signal, progress, a limit).
 *
 * @example
 *   const ds = await loadImageData(config.data, { signal });
 */
export async function loadImageData(
  spec: ImageDataSpec,
  extra: Pick<LoadImageFolderOptions, 'signal' | 'onProgress' | 'limit' | 'labelsFromSubfolders' | 'background'> = {},
): Promise<ImageDataset> {
  if (spec.kind === 'mnist')
    return loadMnist({ ...(spec.digits ? { digits: spec.digits } : {}), ...(extra.limit ? { limit: extra.limit } : {}) });
  return loadImageFolder({
    ...extra,
    folder: spec.folder,
    size: spec.size,
    channels: spec.channels,
    onCorrupt: spec.onCorrupt ?? 'skip',
    labelsFromSubfolders: spec.labelsFromSubfolders ?? extra.labelsFromSubfolders ?? false,
  });
}
