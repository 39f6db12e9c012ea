/**
 * Animated exports of a strip of frames: APNG through upng-js and GIF89a through gifenc.
 *
 * Frames are 8-bit HWC bytes (grey or RGB), all the same size.
 * - APNG is lossless. upng-js stores a palette image when the animation has at most 255 colours and
 *   writes the frames after the first as the rectangle that changed, blended over the previous frame;
 *   a viewer composites them back to the exact frames. A single frame is written as a plain PNG.
 * - GIF has at most 256 colours. When all frames together have at most 256 distinct colours (always
 *   for grey frames) the palette is exactly those colours and the GIF is lossless. Otherwise gifenc
 *   quantises all frames together to one 256-colour palette and maps each pixel with applyPalette,
 *   which picks the palette colour nearest to the first pixel that fell in the same bin of the top 5
 *   bits of r, g and b. So a pixel p comes back as c with |p - c| <= min_j |p - palette_j| + 2 * 7 *
 *   sqrt(3): the triangle inequality through that first pixel q, with |p - q| <= 7 * sqrt(3) in a bin.
 */
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';
import UPNG from 'upng-js';
import { ConfigError, ShapeError } from '../../core/errors';
import type { Channels } from '../data';

// gifenc's CommonJS build defines its exports through getters that Node's ESM loader cannot see (only
// a default import works, and under Vite that default is GIFEncoder itself): require() gives the same
// exports object in Node, the tests and the built app.
const gifenc = createRequire(import.meta.url)('gifenc') as typeof import('gifenc');

function checkFrames(frames: readonly Uint8Array[], width: number, height: number, channels: Channels): void {
  if (!(Number.isInteger(width) && width >= 1 && width <= 65535))
    throw new ConfigError('width', `must be an integer in [1, 65535], got ${width}`);
  if (!(Number.isInteger(height) && height >= 1 && height <= 65535))
    throw new ConfigError('height', `must be an integer in [1, 65535], got ${height}`);
  if (channels !== 1 && channels !== 3) throw new ConfigError('channels', `must be 1 or 3, got ${String(channels)}`);
  if (frames.length === 0) throw new ShapeError('an animation needs at least one frame');
  const n = width * height * channels;
  frames.forEach((f, i) => {
    if (f.length !== n) throw new ShapeError(`frame ${i} has ${f.length} bytes; ${width}x${height}x${channels} needs ${n}`);
  });
}

function checkDelay(delayMs: number): void {
  if (!(Number.isFinite(delayMs) && delayMs >= 0 && delayMs <= 65535))
    throw new ConfigError('delayMs', `must be a number of milliseconds in [0, 65535], got ${delayMs}`);
}

/**
 * Grey or RGB HWC bytes as opaque RGBA, in a buffer of `bytes` (>= 4 * pixels) whose tail repeats the
 * last pixel (so upng-js, which counts colours over the whole buffer, finds none that is not in the frame).
 */
function toRgba(frame: Uint8Array, channels: Channels, pixels: number, bytes = pixels * 4): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < pixels; i++) {
    const s = i * channels;
    out[i * 4] = frame[s]!;
    out[i * 4 + 1] = frame[s + (channels === 3 ? 1 : 0)]!;
    out[i * 4 + 2] = frame[s + (channels === 3 ? 2 : 0)]!;
    out[i * 4 + 3] = 255;
  }
  const last = out.subarray((pixels - 1) * 4, pixels * 4);
  for (let p = pixels * 4; p < bytes; p += 4) out.set(last, p);
  return out;
}

// ---------------------------------------------------------------------------------------------
// APNG
// ---------------------------------------------------------------------------------------------

/** zlib's deflateBound for any settings (pako, upng-js's deflate, is a port of zlib), with the 6-byte zlib wrapper. */
const deflateBound = (len: number): number => len + Math.ceil(len / 8) + Math.ceil(len / 64) + 5 + 6;

/**
 * The most bytes UPNG.encode (2.1.0) can write for `n` RGBA frames: signature 8, IHDR 25, sRGB 13,
 * acTL 20, PLTE 12 + 3 * 256, tRNS 12 + 256, IEND 12; per frame fcTL 38, its IDAT/fdAT chunk 12 + 4
 * and the deflated rows of the whole canvas at 4 bytes a pixel plus a filter byte a row.
 */
function upngBound(width: number, height: number, n: number): number {
  return 8 + 25 + 13 + 20 + (12 + 3 * 256) + (12 + 256) + 12 + n * (38 + 16 + deflateBound(height * (4 * width + 1)));
}

const IEND = Uint8Array.of(0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82);

/** Sets the acTL chunk's num_plays (upng-js always writes 0) and its CRC. */
function setPlays(png: Uint8Array, plays: number): void {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let pos = 8; pos + 12 <= png.length;) {
    const len = view.getUint32(pos);
    if (String.fromCharCode(...png.subarray(pos + 4, pos + 8)) === 'acTL') {
      view.setUint32(pos + 12, plays);
      view.setUint32(pos + 8 + len, crc32(png.subarray(pos + 4, pos + 8 + len)));
      return;
    }
    pos += 12 + len;
  }
  throw new Error('upng-js wrote an animated PNG without an acTL chunk');
}

/**
 * An animated PNG of equally sized frames (8-bit grey or RGB), every frame shown `delayMs`
 * (stored as the fraction round(delayMs)/1000 s), played `loops` times (0 = forever). Lossless;
 * viewers without APNG support show the first frame. One frame gives a plain PNG.
 */
export function encodeApng(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
  channels: Channels,
  delayMs = 150,
  loops = 0,
): Uint8Array {
  checkFrames(frames, width, height, channels);
  checkDelay(delayMs);
  if (!(Number.isInteger(loops) && loops >= 0 && loops <= 0xffffffff))
    throw new ConfigError('loops', `must be an integer in [0, 4294967295], got ${loops}`);
  const pixels = width * height;
  // UPNG.encode sizes its output buffer as (bytes of frame 0) * frames + 100 and silently drops what
  // does not fit, which truncates the PNG of small frames; it reads only the first width * height
  // pixels of each frame buffer, so longer buffers give it room for the bound above.
  const bytes = Math.max(pixels * 4, 4 * Math.ceil((upngBound(width, height, frames.length) - 100) / frames.length / 4));
  const rgba = frames.map((f) => toRgba(f, channels, pixels, bytes).buffer as ArrayBuffer);
  const png = new Uint8Array(UPNG.encode(rgba, width, height, 0, Array<number>(frames.length).fill(Math.round(delayMs))));
  if (!IEND.every((b, i) => png[png.length - IEND.length + i] === b))
    throw new Error(`upng-js wrote a truncated PNG (${png.length} bytes, no IEND at the end)`);
  if (frames.length > 1 && loops !== 0) setPlays(png, loops);
  return png;
}

// ---------------------------------------------------------------------------------------------
// GIF
// ---------------------------------------------------------------------------------------------

/** The frames' own colours as the palette, or null when they have more than 256. */
function exactPalette(
  frames: readonly Uint8Array[],
  channels: Channels,
  pixels: number,
): { palette: number[][]; indices: Uint8Array[] } | null {
  const colours = new Map<number, number>();
  const indices: Uint8Array[] = [];
  for (const frame of frames) {
    const idx = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) {
      const s = i * channels;
      const rgb = channels === 1 ? frame[s]! * 0x010101 : (frame[s]! << 16) | (frame[s + 1]! << 8) | frame[s + 2]!;
      let k = colours.get(rgb);
      if (k === undefined) {
        if (colours.size === 256) return null;
        k = colours.size;
        colours.set(rgb, k);
      }
      idx[i] = k;
    }
    indices.push(idx);
  }
  return { palette: [...colours.keys()].map((c) => [c >> 16, (c >> 8) & 255, c & 255]), indices };
}

/** One palette for all frames and each frame's indices into it (see the module comment). */
function gifIndexed(frames: readonly Uint8Array[], channels: Channels, pixels: number): { palette: number[][]; indices: Uint8Array[] } {
  const exact = exactPalette(frames, channels, pixels);
  if (exact) return exact;
  const all = new Uint8Array(frames.length * pixels * 4);
  frames.forEach((f, i) => all.set(toRgba(f, channels, pixels), i * pixels * 4));
  // The quantizer merges histogram bins pairwise, in time quadratic in the bins in use: its 4-4-4
  // histogram (at most 4096 bins) bounds that for any frame size; the mapping keeps 5-5-5 bins.
  const palette = gifenc.quantize(all, 256, { format: 'rgb444' });
  const mapped = gifenc.applyPalette(all, palette);
  return { palette, indices: frames.map((_, i) => mapped.subarray(i * pixels, (i + 1) * pixels)) };
}

/**
 * An animated GIF89a of equally sized frames, every frame shown `delayMs` (rounded to GIF's 1/100 s),
 * with the NETSCAPE2.0 loop count `loops` (0 = forever). Lossless up to 256 colours; more are
 * quantised (see the module comment).
 */
export function encodeGif(
  frames: readonly Uint8Array[],
  width: number,
  height: number,
  channels: Channels,
  delayMs = 150,
  loops = 0,
): Uint8Array {
  checkFrames(frames, width, height, channels);
  checkDelay(delayMs);
  if (!(Number.isInteger(loops) && loops >= 0 && loops <= 65535))
    throw new ConfigError('loops', `must be an integer in [0, 65535], got ${loops}`);
  const { palette, indices } = gifIndexed(frames, channels, width * height);
  const gif = gifenc.GIFEncoder();
  indices.forEach((idx, i) =>
    gif.writeFrame(idx, width, height, i === 0 ? { palette, delay: delayMs, repeat: loops } : { delay: delayMs }),
  );
  gif.finish();
  return gif.bytes();
}
