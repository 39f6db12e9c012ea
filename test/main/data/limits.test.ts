/**
 * Decoding refuses pictures that would cost memory their file cannot justify, before a decoder
 * allocates anything: over MAX_IMAGE_PIXELS, or with less compressed data than the declared pixels
 * need (PNG: deflate's best ratio, 1032:1; JPEG: one bit per 8x8 block of the first scan). Headers are
 * hand-built; the process's memory is measured around each refusal, and a real decode of a large
 * picture shows the same measurement does see a large allocation.
 *
 * ArrayBuffer memory is the measure (both decoders allocate their pixels as ArrayBuffers); the
 * process's peak RSS, a high-water mark that only rises, must not rise either.
 */
import { deflateSync, constants as zlib } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeImage, ImageFileError, MAX_IMAGE_PIXELS } from '../../../main/data';
import { checkJpegStructure, checkPngStructure, decodeRgba, DEFLATE_MAX_RATIO } from '../../../main/data/formats';
import { handPng, jpegWithData, pngWithData } from './helpers';

const MB = 2 ** 20;

/** Growth of the process's external (ArrayBuffer) memory and of its peak RSS while `f` runs. */
function memoryGrowth(f: () => void): { arrayBuffersMB: number; peakRssMB: number } {
  const before = process.memoryUsage().arrayBuffers;
  const peakBefore = process.resourceUsage().maxRSS; // KiB
  f();
  const after = process.memoryUsage().arrayBuffers;
  const peakAfter = process.resourceUsage().maxRSS;
  return { arrayBuffersMB: (after - before) / MB, peakRssMB: (peakAfter - peakBefore) / 1024 };
}

/** The reason decodeImage gives for refusing `bytes`, with the memory that refusing cost. */
function refusal(bytes: Uint8Array): { reason: string; arrayBuffersMB: number; peakRssMB: number } {
  let reason = '';
  const growth = memoryGrowth(() => {
    try {
      decodeImage(bytes, 'crafted', { size: 8, channels: 3 });
    } catch (e) {
      expect(e).toBeInstanceOf(ImageFileError);
      reason = (e as Error).message;
    }
  });
  expect(reason, 'the picture was refused').not.toBe('');
  return { reason, ...growth };
}

// An RGBA picture just under the pixel limit: 160 MB decoded, 144 MB of raw PNG scanlines.
const W = 6000;
const H = 6000;

describe('refused before anything large is allocated', () => {
  it('a PNG header of 6000x6000 RGBA with 10 bytes of data is truncated, not a 144 MB allocation', () => {
    const crafted = pngWithData({ width: W, height: H, bitDepth: 8, colorType: 6 }, deflateSync(new Uint8Array(64 * 1024)).subarray(0, 10));
    expect(crafted.length).toBeLessThan(100);
    const r = refusal(crafted);
    const needed = Math.ceil((W * H * 4) / DEFLATE_MAX_RATIO);
    expect(r.reason).toBe(
      `crafted: truncated PNG: 10 bytes of image data cannot hold ${W}x${H} pixels (${W * H * 4} bytes; deflate needs at least ${needed})`,
    );
    expect(r.arrayBuffersMB).toBeLessThan(8);
    expect(r.peakRssMB).toBeLessThan(32);
  });

  it('a JPEG header of 6000x6000 with 10 bytes of scan data is truncated, not a jpeg-js block allocation', () => {
    const crafted = jpegWithData(W, H, new Uint8Array(10));
    const r = refusal(crafted);
    const blocks = 3 * (W / 8) * (H / 8);
    expect(r.reason).toBe(
      `crafted: truncated JPEG: 10 bytes of image data cannot hold ${W}x${H} pixels (its first scan has ${blocks} blocks of at least one bit each)`,
    );
    expect(r.arrayBuffersMB).toBeLessThan(8);
    expect(r.peakRssMB).toBeLessThan(32);
  });

  it('dimensions over MAX_IMAGE_PIXELS are refused by name, whatever the data', () => {
    expect(MAX_IMAGE_PIXELS).toBe(40_000_000);
    const png = refusal(pngWithData({ width: 8000, height: 8000, bitDepth: 8, colorType: 6 }, new Uint8Array(70_000)));
    expect(png.reason).toBe('crafted: PNG is 8000x8000 (64 megapixels); the largest accepted is 40 megapixels');
    expect(png.peakRssMB).toBeLessThan(32);
    const jpeg = refusal(jpegWithData(8000, 8000, new Uint8Array(300_000)));
    expect(jpeg.reason).toBe('crafted: JPEG is 8000x8000 (64 megapixels); the largest accepted is 40 megapixels');
    // The limit is on the count, so a long thin picture is held to it too, and one pixel over is over.
    expect(refusal(pngWithData({ width: 40_000_001, height: 1, bitDepth: 1, colorType: 0 }, new Uint8Array(10_000))).reason).toMatch(
      /40000001x1 \(40 megapixels\); the largest accepted is 40 megapixels/,
    );
    expect(() =>
      checkPngStructure(pngWithData({ width: 40_000_000, height: 1, bitDepth: 1, colorType: 0 }, new Uint8Array(10_000))),
    ).not.toThrow();
  });

  it('a header with an impossible bit depth for its colour type is refused', () => {
    expect(refusal(pngWithData({ width: 4, height: 4, bitDepth: 3, colorType: 2 }, deflateSync(new Uint8Array(60)))).reason).toBe(
      'crafted: invalid PNG: bit depth 3 with colour type 2',
    );
  });
});

describe('the bounds are tight enough that real files pass', () => {
  it('the most compressible PNG zlib can make (1-bit, all zero, level 9) holds more than the bound asks', () => {
    // 8000 x 5000 1-bit grey: 40 megapixels in 5 MB of scanlines.
    const width = 8000;
    const height = 5000;
    const raw = new Uint8Array(height * (1 + width / 8)); // filter byte 0 and zero pixels per row
    const idat = deflateSync(raw, { level: 9, strategy: zlib.Z_DEFAULT_STRATEGY });
    const bound = Math.ceil((width * height) / 8 / DEFLATE_MAX_RATIO);
    expect(idat.length).toBeGreaterThanOrEqual(bound);
    expect(raw.length / idat.length).toBeLessThan(DEFLATE_MAX_RATIO); // deflate's real best stays under the bound's ratio
    expect(checkPngStructure(pngWithData({ width, height, bitDepth: 1, colorType: 0 }, idat))).toEqual({ width, height });
    // One byte short of the bound is refused (the check is on the count, not on the content).
    expect(() => checkPngStructure(pngWithData({ width, height, bitDepth: 1, colorType: 0 }, new Uint8Array(bound - 1)))).toThrow(
      /truncated PNG/,
    );
  });

  it('a small real 1-bit PNG decodes after passing the check', () => {
    const png = handPng({ width: 16, height: 2, bitDepth: 1, colorType: 0 }, [
      [0xff, 0x00],
      [0x00, 0xff],
    ]);
    const img = decodeRgba(png);
    expect([img.width, img.height]).toEqual([16, 2]);
    expect(img.rgba[0]).toBe(255);
    expect(img.rgba[8 * 4]).toBe(0);
  });

  it('a JPEG at two bits a block (one-bit DC and end-of-block codes) passes and decodes to flat grey', () => {
    // Every block codes DC difference 0 and EOB: bits "00", so all-zero bytes are a valid scan.
    const width = 64;
    const height = 48;
    const blocks = 3 * (width / 8) * (height / 8);
    const jpeg = jpegWithData(width, height, new Uint8Array(Math.ceil((2 * blocks) / 8)));
    expect(checkJpegStructure(jpeg)).toMatchObject({ width, height });
    const img = decodeRgba(jpeg);
    expect([img.width, img.height]).toEqual([width, height]);
    expect(new Set(img.rgba.filter((_, i) => i % 4 !== 3))).toEqual(new Set([128]));
    // Below one bit a block it cannot be a picture of that size.
    expect(() => checkJpegStructure(jpegWithData(width, height, new Uint8Array(Math.ceil(blocks / 8) - 1)))).toThrow(/truncated JPEG/);
    // Subsampled chroma (4:2:0) has a quarter of the blocks: the bound follows the sampling factors.
    const sub = (4 * (width / 8) * (height / 8)) / 4 + 2 * (width / 16) * (height / 16);
    expect(sub).toBe((width / 8) * (height / 8) * 1.5);
    expect(() =>
      checkJpegStructure(
        jpegWithData(width, height, new Uint8Array(Math.ceil(sub / 8)), [
          [2, 2],
          [1, 1],
          [1, 1],
        ]),
      ),
    ).not.toThrow();
    expect(() =>
      checkJpegStructure(
        jpegWithData(width, height, new Uint8Array(Math.ceil(sub / 8) - 1), [
          [2, 2],
          [1, 1],
          [1, 1],
        ]),
      ),
    ).toThrow(/truncated JPEG/);
  });
});

describe('the measurement sees a large allocation', () => {
  it('decoding a real 4000x4000 PNG grows ArrayBuffer memory by its 64 MB of RGBA', () => {
    const side = 4000;
    const png = pngWithData({ width: side, height: side, bitDepth: 8, colorType: 0 }, deflateSync(new Uint8Array(side * (side + 1))));
    let img: ReturnType<typeof decodeRgba> | null = null;
    const growth = memoryGrowth(() => {
      img = decodeRgba(png);
    });
    expect(img!.rgba.length).toBe(side * side * 4);
    expect(growth.arrayBuffersMB).toBeGreaterThanOrEqual((side * side * 4) / MB);
    // (Peak RSS is a high-water mark: it rises only past the process's earlier peak, so it is an
    // upper bound for the refusals above but no measure of this allocation.)
  });
});
