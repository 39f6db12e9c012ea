/**
 * PNG and JPEG decoding to 8-bit RGBA, hardened against bad bytes.
 *
 * Why the structural checks before the decoders: pngjs and jpeg-js allocate the full pixel buffer
 * from the header and report truncation with messages such as "There are some read requests waitng
 * on finished stream" (pngjs) or silently decode a cut-off JPEG as a partly grey picture (jpeg-js in
 * tolerant mode). Walking the container first lets us refuse huge dimensions before any allocation
 * and name what is wrong ("truncated PNG: chunk IDAT ..."), and the decoders only see files whose
 * structure is sound. Anything a decoder still throws becomes a reason string, never a crash.
 *
 * Two bounds keep a small file from claiming a huge picture, both checked before a decoder runs:
 * - MAX_IMAGE_PIXELS caps width x height (the one place the limit is set);
 * - the compressed data must be large enough to hold the pixels it declares. Deflate cannot do
 *   better than DEFLATE_MAX_RATIO to 1 (a 258-byte match coded in a single bit, at most), so a PNG
 *   whose IDAT chunks hold fewer than raw / DEFLATE_MAX_RATIO bytes is truncated. A Huffman-coded
 *   JPEG spends at least one bit on every 8x8 block of every component of its first scan (the DC
 *   difference's code; no Huffman code is shorter), so its data after that scan's header must hold
 *   at least blocks / 8 bytes.
 *
 * Why hand-written: the decoders themselves are maintained packages (pngjs, jpeg-js); these walks only
 * guard them, and need what no installed package gives: the size bounds above, before any
 * allocation, with messages that name the defect. The EXIF orientation is one tag of IFD0, read here
 * rather than through an EXIF library (exifr, not installed) for that one value.
 */
import { decode as decodeJpegData } from 'jpeg-js';
import { PNG } from 'pngjs';

/**
 * Largest picture accepted, in pixels (width x height): 40 megapixels, a full-frame camera's photo
 * (e.g. 7728 x 5152). Bigger headers are refused before any pixel memory is allocated; at the limit
 * the decoded RGBA is 160 MB.
 */
export const MAX_IMAGE_PIXELS = 40_000_000;

/** Deflate's best possible compression ratio (output bytes per input byte), see the module comment. */
export const DEFLATE_MAX_RATIO = 1032;

/**
 * What jpeg-js may allocate for one picture, in MB. jpeg-js counts 256 bytes per 8x8 block of each
 * component (4 bytes a pixel at full resolution), 1 byte a pixel per component plane and 4 for the
 * RGBA output: with 4 full-resolution components (CMYK) that is 4*4 + 4 + 4 = 24 bytes a pixel.
 */
export const JPEG_MAX_MEMORY_MB = Math.ceil((MAX_IMAGE_PIXELS * 24) / 2 ** 20);

/** The container formats this module reads. */
export type ImageFormat = 'png' | 'jpeg';

/** A decoded image: 8-bit RGBA, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  /** length width * height * 4 */
  rgba: Uint8Array;
  format: ImageFormat;
  /**
   * EXIF orientation 1..8 (1 = as stored). Cameras store photos unrotated and record how to turn
   * them in this tag; viewers honour it, so we do too (see `orientSquare` in pixels.ts).
   */
  orientation: number;
}

/** Thrown inside this module with a reason only; callers attach the file name. */
export class BadImage extends Error {}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** The format named by the file's first bytes (not its extension: a JPEG saved as .png still loads), or null. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

function u16be(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

function u32be(b: Uint8Array, i: number): number {
  // >>> 0 keeps lengths above 2^31 positive so the bounds checks below catch them.
  return (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
}

function checkDimensions(width: number, height: number, what: string): void {
  if (width < 1 || height < 1) throw new BadImage(`invalid ${what}: dimensions ${width}x${height}`);
  if (width * height > MAX_IMAGE_PIXELS)
    throw new BadImage(
      `${what} is ${width}x${height} (${megapixels(width * height)} megapixels); the largest accepted is ${megapixels(MAX_IMAGE_PIXELS)} megapixels`,
    );
}

function megapixels(n: number): string {
  return String(Math.round(n / 1e5) / 10);
}

/** Samples per pixel of each PNG colour type (grey, RGB, palette index, grey + alpha, RGBA). */
const PNG_SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Bit depths each PNG colour type allows. */
const PNG_DEPTHS: Record<number, readonly number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/**
 * Walks the PNG chunk list: IHDR first, every chunk inside the file, an IEND at the end, and enough
 * compressed data for the declared pixels. Returns the dimensions from IHDR. CRCs and the compressed
 * data itself are left to pngjs.
 */
export function checkPngStructure(bytes: Uint8Array): { width: number; height: number } {
  let offset = 8;
  let width = 0;
  let height = 0;
  let bitsPerPixel = 0;
  let idatBytes = 0;
  let sawIdat = false;
  for (let index = 0; ; index++) {
    if (offset + 8 > bytes.length)
      throw new BadImage(
        offset >= bytes.length
          ? `truncated PNG: file ends at byte ${bytes.length} with no IEND chunk`
          : `truncated PNG: file ends at byte ${bytes.length} inside the header of the chunk at byte ${offset}`,
      );
    const length = u32be(bytes, offset);
    const type = String.fromCharCode(bytes[offset + 4] ?? 0, bytes[offset + 5] ?? 0, bytes[offset + 6] ?? 0, bytes[offset + 7] ?? 0);
    const remaining = bytes.length - offset - 8;
    if (length + 4 > remaining)
      throw new BadImage(
        `truncated PNG: chunk ${JSON.stringify(type)} at byte ${offset} needs ${length + 4} bytes, ${Math.max(0, remaining)} remain`,
      );
    if (index === 0) {
      if (type !== 'IHDR' || length !== 13) throw new BadImage(`invalid PNG: first chunk is ${JSON.stringify(type)}, expected IHDR`);
      width = u32be(bytes, offset + 8);
      height = u32be(bytes, offset + 12);
      checkDimensions(width, height, 'PNG');
      const depth = bytes[offset + 16] ?? 0;
      const colorType = bytes[offset + 17] ?? 0;
      if (!PNG_DEPTHS[colorType]?.includes(depth)) throw new BadImage(`invalid PNG: bit depth ${depth} with colour type ${colorType}`);
      bitsPerPixel = PNG_SAMPLES[colorType]! * depth;
    }
    if (type === 'IDAT') {
      sawIdat = true;
      idatBytes += length;
    }
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  if (!sawIdat) throw new BadImage('invalid PNG: no image data (IDAT chunk)');
  // The pixels' bytes alone (interlaced or not; the filter bytes would only add) bound the inflated size.
  const raw = Math.ceil((width * height * bitsPerPixel) / 8);
  const needed = Math.ceil(raw / DEFLATE_MAX_RATIO);
  if (idatBytes < needed)
    throw new BadImage(
      `truncated PNG: ${idatBytes} bytes of image data cannot hold ${width}x${height} pixels (${raw} bytes; deflate needs at least ${needed})`,
    );
  return { width, height };
}

/**
 * Walks the JPEG marker segments up to the first scan: the frame header (SOFn) gives the
 * dimensions, an APP1 "Exif" segment may give the orientation. Then requires an end-of-image marker
 * after the scan data, since jpeg-js decodes a cut-off file without complaint.
 */
export function checkJpegStructure(bytes: Uint8Array): { width: number; height: number; orientation: number } {
  let offset = 2;
  let width = -1;
  let height = -1;
  let orientation = 1;
  let scanStart = -1;
  let huffman = false;
  /** Sampling factors of the frame's components by id. */
  const sampling = new Map<number, { h: number; v: number }>();
  let scanComponents: number[] = [];
  while (scanStart < 0) {
    if (offset + 2 > bytes.length) throw new BadImage(`truncated JPEG: file ends at byte ${bytes.length} before the image data`);
    if (bytes[offset] !== 0xff) throw new BadImage(`invalid JPEG: expected a marker at byte ${offset}`);
    const marker = bytes[offset + 1] ?? 0;
    if (marker === 0xff) {
      offset += 1; // fill byte before a marker
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9) throw new BadImage('invalid JPEG: end-of-image marker before any image data');
    if (offset + 4 > bytes.length) throw new BadImage(`truncated JPEG: file ends at byte ${bytes.length} inside a segment header`);
    const length = u16be(bytes, offset + 2);
    if (length < 2) throw new BadImage(`invalid JPEG: segment at byte ${offset} has length ${length}`);
    const end = offset + 2 + length;
    if (end > bytes.length)
      throw new BadImage(`truncated JPEG: segment 0x${marker.toString(16)} at byte ${offset} extends past the end of the file`);
    // SOF0..SOF15 carry the frame size; C4 (DHT), C8 (reserved) and CC (DAC) share the range but are not frames.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (length < 8) throw new BadImage(`invalid JPEG: frame header at byte ${offset} is too short`);
      height = u16be(bytes, offset + 5);
      width = u16be(bytes, offset + 7);
      // SOF0..2 are the Huffman-coded frames jpeg-js decodes; the others (lossless, arithmetic) it refuses.
      huffman = marker <= 0xc2;
      const count = bytes[offset + 9] ?? 0;
      if (length < 8 + 3 * count) throw new BadImage(`invalid JPEG: frame header at byte ${offset} is too short for ${count} components`);
      for (let k = 0; k < count; k++) {
        const f = bytes[offset + 11 + 3 * k] ?? 0;
        sampling.set(bytes[offset + 10 + 3 * k] ?? 0, { h: f >> 4, v: f & 15 });
      }
    } else if (marker === 0xe1 && orientation === 1) {
      orientation = exifOrientation(bytes.subarray(offset + 4, end));
    } else if (marker === 0xda) {
      const count = bytes[offset + 4] ?? 0;
      scanComponents = Array.from({ length: Math.min(count, (length - 3) >> 1) }, (_, k) => bytes[offset + 5 + 2 * k] ?? 0);
      scanStart = end;
    }
    offset = end;
  }
  if (width < 0) throw new BadImage('invalid JPEG: no frame header (SOF) before the image data');
  // A height of 0 means "defined later by a DNL marker"; jpeg-js cannot decode those, and they are rare.
  checkDimensions(width, height, 'JPEG');
  // In entropy-coded data a literal 0xFF is always followed by 0x00 (stuffing) or a restart marker,
  // so 0xFF 0xD9 after the first scan is the end-of-image marker. Searched from the end, where it
  // normally is; the search stops at the first scan so an EXIF thumbnail's own marker does not count.
  let endAt = -1;
  for (let i = bytes.length - 2; i >= scanStart; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) {
      endAt = i;
      break;
    }
  }
  if (endAt < 0) throw new BadImage('truncated JPEG: no end-of-image marker after the image data');
  if (huffman) {
    const blocks = firstScanBlocks(width, height, sampling, scanComponents);
    const needed = Math.ceil(blocks / 8);
    const available = endAt - scanStart;
    if (available < needed)
      throw new BadImage(
        `truncated JPEG: ${available} bytes of image data cannot hold ${width}x${height} pixels (its first scan has ${blocks} blocks of at least one bit each)`,
      );
  }
  return { width, height, orientation };
}

/**
 * 8x8 blocks the first scan codes: for each of its components, ceil(ceil(W/8) * h / hmax) x
 * ceil(ceil(H/8) * v / vmax) (a component sampled at h/hmax of full width has that share of the
 * columns). A scan naming no known component counts as none (the decoder then refuses it).
 */
function firstScanBlocks(width: number, height: number, sampling: Map<number, { h: number; v: number }>, scan: number[]): number {
  let hmax = 1;
  let vmax = 1;
  for (const { h, v } of sampling.values()) {
    hmax = Math.max(hmax, h);
    vmax = Math.max(vmax, v);
  }
  let blocks = 0;
  for (const id of scan) {
    const f = sampling.get(id);
    if (!f || f.h < 1 || f.v < 1) continue;
    blocks += Math.ceil((Math.ceil(width / 8) * f.h) / hmax) * Math.ceil((Math.ceil(height / 8) * f.v) / vmax);
  }
  return blocks;
}

/** The Orientation tag (0x0112) of IFD0 in an APP1 payload, or 1 when absent or malformed (never throws). */
export function exifOrientation(app1: Uint8Array): number {
  // "Exif\0\0", then a TIFF header: byte order "II"/"MM", 42, offset of IFD0 from the TIFF start.
  const isExif =
    app1.length >= 14 && app1[0] === 0x45 && app1[1] === 0x78 && app1[2] === 0x69 && app1[3] === 0x66 && app1[4] === 0 && app1[5] === 0;
  if (!isExif) return 1;
  const tiff = app1.subarray(6);
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return 1;
  const u16 = (i: number) => (little ? (tiff[i] ?? 0) | ((tiff[i + 1] ?? 0) << 8) : u16be(tiff, i));
  const u32 = (i: number) => (little ? (u16(i) | (u16(i + 2) << 16)) >>> 0 : u32be(tiff, i));
  if (u16(2) !== 42) return 1;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return 1;
  const entries = u16(ifd);
  for (let k = 0; k < entries; k++) {
    const e = ifd + 2 + 12 * k;
    if (e + 12 > tiff.length) return 1;
    if (u16(e) === 0x0112 && u16(e + 2) === 3) {
      const value = u16(e + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Decodes PNG or JPEG bytes to 8-bit RGBA. The format comes from the bytes, not a file name.
 * 16-bit PNGs are reduced to 8 bits and palette/grey PNGs expanded, by pngjs; grey JPEGs come back
 * with R = G = B. Throws BadImage with a reason for anything unusable.
 */
export function decodeRgba(bytes: Uint8Array): RgbaImage {
  if (bytes.length === 0) throw new BadImage('empty file (0 bytes)');
  const format = sniffFormat(bytes);
  if (format === 'png') {
    const { width, height } = checkPngStructure(bytes);
    let png: { width: number; height: number; data: Uint8Array };
    try {
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      throw new BadImage(`invalid PNG: ${describeError(e)}`);
    }
    if (png.width !== width || png.height !== height || png.data.length !== width * height * 4)
      throw new BadImage(`invalid PNG: decoded ${png.data.length} bytes for ${width}x${height}`);
    return { width, height, rgba: png.data, format, orientation: 1 };
  }
  if (format === 'jpeg') {
    const { width, height, orientation } = checkJpegStructure(bytes);
    let jpeg: { width: number; height: number; data: Uint8Array };
    try {
      jpeg = decodeJpegData(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        // The structure check already bounds the size; jpeg-js checks the same bounds again before
        // it allocates (its own defaults are 100 megapixels and 512 MB).
        maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
        maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
      });
    } catch (e) {
      throw new BadImage(`invalid JPEG: ${describeError(e)}`);
    }
    if (jpeg.width !== width || jpeg.height !== height || jpeg.data.length !== width * height * 4)
      throw new BadImage(`invalid JPEG: decoded ${jpeg.data.length} bytes for ${width}x${height}`);
    return { width, height, rgba: jpeg.data, format, orientation };
  }
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new BadImage(`not a PNG or JPEG file (it starts with bytes ${head})`);
}
