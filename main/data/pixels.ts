/**
 * Pixel arithmetic between a decoded RGBA picture and a model-ready square: alpha, channels,
 * center crop, resampling, orientation and the [-1, 1] scale. Pure functions over typed arrays (no
 * Node APIs), so they can be tested against hand-computed answers.
 *
 * All arithmetic is on the stored 8-bit values, i.e. gamma-encoded sRGB, as PIL and torchvision do,
 * so a folder loaded here matches the same folder loaded by the usual Python tools.
 */
import type { Channels } from './types';

/** Luminance weights of ITU-R BT.601 (what PIL's convert('L') uses) for RGB -> grey. */
export const LUMA = [0.299, 0.587, 0.114] as const;

/** How a picture becomes a model-ready square. */
export interface SquareOptions {
  /** Output side in pixels. */
  size: number;
  channels: Channels;
  /**
   * Grey level 0..255 that transparent pixels are composited onto: 255 (white, the default of the
   * loaders) shows a transparent PNG as most viewers do on a light page; 0 suits white-on-transparent
   * drawings meant to look like MNIST. Colour stored under alpha 0 is arbitrary (often black), so
   * dropping alpha instead would expose it.
   */
  background: number;
  /** EXIF orientation 1..8 applied after resizing; 1 (as stored) by default. */
  orientation?: number;
}

/**
 * Resampling weights along one axis: output i is the sum over k of `weights[i][k] * input[start[i] + k]`.
 *
 * Shrinking uses area averaging (a box filter): output i covers the input interval
 * [i * s, (i + 1) * s) with s = inLen / outLen, and each input pixel counts by how much of it lies
 * inside. This is exact for integer factors (a 2x2 block becomes its mean) and, unlike sampling,
 * never drops thin strokes. Enlarging uses linear interpolation between pixel centres (half-pixel
 * aligned, edges clamped), because a box filter would only replicate pixels into blocks.
 */
export function axisWeights(inLen: number, outLen: number): { start: number; weights: Float64Array }[] {
  const out: { start: number; weights: Float64Array }[] = [];
  if (outLen === inLen) {
    for (let i = 0; i < outLen; i++) out.push({ start: i, weights: Float64Array.of(1) });
  } else if (outLen < inLen) {
    const s = inLen / outLen;
    for (let i = 0; i < outLen; i++) {
      const lo = i * s;
      const hi = (i + 1) * s;
      const first = Math.floor(lo);
      const last = Math.min(inLen, Math.ceil(hi)) - 1;
      const weights = new Float64Array(last - first + 1);
      let sum = 0;
      for (let j = first; j <= last; j++) {
        const w = Math.max(0, Math.min(j + 1, hi) - Math.max(j, lo));
        weights[j - first] = w;
        sum += w;
      }
      // Normalise by the actual sum so a constant row stays exactly constant despite rounding in s.
      for (let k = 0; k < weights.length; k++) weights[k] = (weights[k] ?? 0) / sum;
      out.push({ start: first, weights });
    }
  } else {
    for (let i = 0; i < outLen; i++) {
      const x = Math.min(inLen - 1, Math.max(0, ((i + 0.5) * inLen) / outLen - 0.5));
      const j = Math.floor(x);
      const f = x - j;
      out.push(j + 1 < inLen && f > 0 ? { start: j, weights: Float64Array.of(1 - f, f) } : { start: j, weights: Float64Array.of(1) });
    }
  }
  return out;
}

/**
 * Turns 8-bit RGBA into a `size x size x channels` square in [-1, 1]:
 *
 * 1. composite alpha onto `background` (p' = p a/255 + bg (1 - a/255));
 * 2. convert channels: RGB -> grey by BT.601 luminance (a pixel with R = G = B keeps its value
 *    exactly), grey -> RGB by replication (decoders already return grey as R = G = B);
 * 3. center-crop to the largest square, so the subject keeps its aspect ratio instead of being
 *    squashed (a 40x30 picture keeps its middle 30x30; an odd leftover pixel goes to the right/bottom);
 * 4. resize with `axisWeights` (box when shrinking, bilinear when enlarging), rows then columns;
 * 5. apply the EXIF orientation;
 * 6. scale p in 0..255 to p / 127.5 - 1.
 *
 * Memory stays small for large inputs: each cropped row is converted and resampled horizontally
 * as it is read, so the only full-size buffer is the decoder's own.
 */
export function rgbaToSquare(rgba: Uint8Array, width: number, height: number, options: SquareOptions): Float32Array {
  const { size, channels: c, background } = options;
  const side = Math.min(width, height);
  const x0 = Math.floor((width - side) / 2);
  const y0 = Math.floor((height - side) / 2);
  const wx = axisWeights(side, size);
  const wy = axisWeights(side, size);

  const row = new Float64Array(side * c);
  // Cropped rows, each already resampled to `size` columns: side x size x c.
  const narrow = new Float64Array(side * size * c);
  for (let y = 0; y < side; y++) {
    let p = ((y0 + y) * width + x0) * 4;
    for (let x = 0; x < side; x++, p += 4) {
      const r = rgba[p] ?? 0;
      const g = rgba[p + 1] ?? 0;
      const b = rgba[p + 2] ?? 0;
      const a = rgba[p + 3] ?? 255;
      const keep = a / 255;
      const under = background * (1 - keep);
      if (c === 1) {
        const grey = r === g && g === b ? r : LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
        row[x] = a === 255 ? grey : grey * keep + under;
      } else {
        const q = x * 3;
        row[q] = a === 255 ? r : r * keep + under;
        row[q + 1] = a === 255 ? g : g * keep + under;
        row[q + 2] = a === 255 ? b : b * keep + under;
      }
    }
    const base = y * size * c;
    for (let ox = 0; ox < size; ox++) {
      const { start, weights } = wx[ox]!;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < weights.length; k++) acc += weights[k]! * row[(start + k) * c + ch]!;
        narrow[base + ox * c + ch] = acc;
      }
    }
  }

  const square = new Float32Array(size * size * c);
  const rowLen = size * c;
  for (let oy = 0; oy < size; oy++) {
    const { start, weights } = wy[oy]!;
    for (let q = 0; q < rowLen; q++) {
      let acc = 0;
      for (let k = 0; k < weights.length; k++) acc += weights[k]! * narrow[(start + k) * rowLen + q]!;
      square[oy * rowLen + q] = acc / 127.5 - 1;
    }
  }
  const orientation = options.orientation ?? 1;
  return orientation === 1 ? square : orientSquare(square, size, c, orientation);
}

/**
 * Turns a stored `n x n x c` square into its displayed orientation per the EXIF tag:
 * 1 as is, 2 mirror left-right, 3 rotate 180, 4 mirror top-bottom, 5 transpose, 6 rotate 90
 * clockwise, 7 transverse, 8 rotate 90 anticlockwise. Doing it on the small square is equivalent
 * to doing it on the photo first, since center crop and the square resize commute with these
 * symmetries (up to the odd-pixel crop offset).
 */
export function orientSquare(data: Float32Array, n: number, c: number, orientation: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const [sx, sy] = orientedSource(x, y, n - 1, orientation);
      const from = (sy * n + sx) * c;
      const to = (y * n + x) * c;
      for (let ch = 0; ch < c; ch++) out[to + ch] = data[from + ch]!;
    }
  }
  return out;
}

/**
 * A value in [-1, 1] as a byte: round((v + 1) * 127.5), clamped to 0..255; NaN becomes 0.
 * The exact inverse of p / 127.5 - 1 for every byte p, so save -> load -> save is lossless.
 */
export function unitToByte(v: number): number {
  const p = Math.round((v + 1) * 127.5);
  return p >= 255 ? 255 : p > 0 ? p : 0; // NaN fails both tests and lands on 0
}

/** Where displayed pixel (x, y) of an oriented square with last index m = n - 1 is stored. */
function orientedSource(x: number, y: number, m: number, orientation: number): [number, number] {
  switch (orientation) {
    case 2:
      return [m - x, y];
    case 3:
      return [m - x, m - y];
    case 4:
      return [x, m - y];
    case 5:
      return [y, x];
    case 6:
      return [y, m - x];
    case 7:
      return [m - y, m - x];
    case 8:
      return [m - y, x];
    default:
      return [x, y];
  }
}
