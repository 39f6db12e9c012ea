import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, DataError, ShapeError } from '../../../core/errors';
import { decodeImage, decodePngToArray, encodePng, ImageFileError, imageGridPng, orientSquare, sniffFormat } from '../../../main/data';
import { byteStream, gradientRgba, handPng, jpegBytes, randomBytes, toBytes, withExifOrientation, withPngSize } from './helpers';

const readPng = (bytes: Uint8Array) => PNG.sync.read(Buffer.from(bytes));

/** Calls `f` and returns what it threw (failing the test if nothing was thrown). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('PNG round trip', () => {
  it('is exact for 8-bit grey', () => {
    const px = randomBytes(9 * 9, 1);
    const png = encodePng(px, 9, 9, 1);
    expect(sniffFormat(png)).toBe('png');
    expect(png[25]).toBe(0); // IHDR colour type: greyscale
    const img = decodeImage(png, 'grey.png', { size: 9, channels: 1 });
    expect([img.height, img.width, img.channels]).toEqual([9, 9, 1]);
    expect(toBytes(img.data)).toEqual(Array.from(px));
  });

  it('is exact for 8-bit RGB', () => {
    const px = randomBytes(6 * 6 * 3, 2);
    const png = encodePng(px, 6, 6, 3);
    expect(png[25]).toBe(2); // IHDR colour type: truecolour
    const img = decodeImage(png, 'rgb.png', { size: 6, channels: 3 });
    expect(toBytes(img.data)).toEqual(Array.from(px));
  });

  it('is exact for [-1, 1] floats that came from bytes, and clamps the rest', () => {
    const px = randomBytes(5 * 5, 3);
    const floats = Float32Array.from(px, (p) => p / 127.5 - 1);
    expect(toBytes(decodeImage(encodePng(floats, 5, 5, 1), 'f.png', { size: 5, channels: 1 }).data)).toEqual(Array.from(px));
    const wild = Float32Array.of(-7, 7, Number.NaN, 0);
    expect(Array.from(readPng(encodePng(wild, 2, 2, 1)).data.filter((_, i) => i % 4 === 0))).toEqual([0, 255, 0, 128]);
  });

  it('writes non-square images with the right header', () => {
    const png = readPng(encodePng(new Uint8Array(7 * 3 * 3), 7, 3, 3));
    expect([png.width, png.height]).toEqual([7, 3]);
  });

  it('rejects a pixel count that does not match, naming the sizes', () => {
    expect(() => encodePng(new Uint8Array(10), 3, 3, 1)).toThrow(ShapeError);
    expect(() => encodePng(new Uint8Array(10), 3, 3, 1)).toThrow(/3\*3\*1 = 9. Got 10/);
    expect(() => encodePng(new Uint8Array(9), 0, 3, 1)).toThrow(ConfigError);
  });

  it('decodePngToArray reads a picture at the model size', () => {
    const png = encodePng(new Uint8Array(40 * 40).fill(255), 40, 40, 1);
    const img = decodePngToArray(png, 28, 1);
    expect(img.data.length).toBe(28 * 28);
    expect(img.data.every((v) => v === 1)).toBe(true);
    const rgb = decodePngToArray(png, 32, 3);
    expect(rgb.data.length).toBe(32 * 32 * 3);
  });

  it('reads 16-bit and grey+alpha PNGs (reduced to 8 bits, alpha composited)', () => {
    const png16 = new PNG({ width: 1, height: 1, bitDepth: 16, colorType: 6, inputColorType: 6 });
    // pngjs's 16-bit writer expects a Uint16Array as data
    (png16 as unknown as { data: Uint16Array }).data = new Uint16Array([65535, 0, 0, 65535]);
    const bytes16 = PNG.sync.write(png16, { bitDepth: 16, colorType: 6, inputColorType: 6 });
    expect(Array.from(decodeImage(bytes16, 'deep.png', { size: 1, channels: 3 }).data)).toEqual([1, -1, -1]);

    const ga = new PNG({ width: 1, height: 1 });
    ga.data = Buffer.from([0, 0, 0, 0]);
    const gaBytes = PNG.sync.write(ga, { colorType: 4 });
    expect(Array.from(decodeImage(gaBytes, 'ga.png', { size: 1, channels: 1 }).data)).toEqual([1]);
    expect(Array.from(decodeImage(gaBytes, 'ga.png', { size: 1, channels: 1, background: 'black' }).data)).toEqual([-1]);
  });
});

describe('PNG kinds our encoder does not write', () => {
  it('reads palette PNGs, with tRNS transparency', () => {
    // 2x2, 8-bit indices into red, green, blue, and a transparent 4th entry
    const png = handPng(
      { width: 2, height: 2, bitDepth: 8, colorType: 3 },
      [
        [0, 1],
        [2, 3],
      ],
      [
        ['PLTE', [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]],
        ['tRNS', [255, 255, 255, 0]],
      ],
    );
    const img = decodeImage(png, 'pal.png', { size: 2, channels: 3 });
    expect(toBytes(img.data)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
  });

  it('reads 2-bit palette and 1-bit grey PNGs', () => {
    const pal = handPng(
      { width: 4, height: 4, bitDepth: 2, colorType: 3 },
      Array.from({ length: 4 }, () => [0b00011011]),
      [['PLTE', [0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255]]],
    );
    expect(toBytes(decodeImage(pal, 'pal2.png', { size: 4, channels: 1 }).data.subarray(0, 4))).toEqual([0, 85, 170, 255]);
    const bits = handPng(
      { width: 8, height: 8, bitDepth: 1, colorType: 0 },
      Array.from({ length: 8 }, () => [0b10101010]),
    );
    const img = decodeImage(bits, 'bits.png', { size: 8, channels: 1 });
    expect(toBytes(img.data.subarray(0, 8))).toEqual([255, 0, 255, 0, 255, 0, 255, 0]);
    // shrunk by 2, each output averages one white and one black column
    expect(toBytes(decodeImage(bits, 'bits.png', { size: 4, channels: 1 }).data).every((p) => p === 128)).toBe(true);
  });

  it('rejects a palette PNG without a palette as an ImageFileError', () => {
    const png = handPng({ width: 2, height: 1, bitDepth: 8, colorType: 3 }, [[0, 1]]);
    expect(() => decodeImage(png, 'nopal.png', { size: 2, channels: 1 })).toThrow(ImageFileError);
  });
});

describe('JPEG', () => {
  it('decodes a jpeg-js encoded picture within lossy tolerance', () => {
    const rgba = gradientRgba(24, 24);
    const jpeg = jpegBytes(rgba, 24, 24, 95);
    expect(sniffFormat(jpeg)).toBe('jpeg');
    const img = decodeImage(jpeg, 'g.jpg', { size: 24, channels: 3 });
    const got = toBytes(img.data);
    let worst = 0;
    for (let i = 0; i < 24 * 24; i++)
      for (let ch = 0; ch < 3; ch++) worst = Math.max(worst, Math.abs(got[i * 3 + ch]! - rgba[i * 4 + ch]!));
    expect(worst).toBeLessThanOrEqual(12);
  });

  it('decodes by content, so a JPEG named .png loads', () => {
    const jpeg = jpegBytes(gradientRgba(8, 8), 8, 8);
    expect(decodeImage(jpeg, 'actually-a-jpeg.png', { size: 8, channels: 1 }).data.length).toBe(64);
  });

  it('honours the EXIF orientation, in either byte order', () => {
    // Bright top-left quadrant; orientation 6 (rotate 90 clockwise) moves it to the top right.
    const w = 16;
    const rgba = new Uint8Array(w * w * 4);
    for (let i = 0; i < w * w; i++) {
      const on = i % w < 8 && Math.floor(i / w) < 8;
      rgba.set([on ? 255 : 0, on ? 255 : 0, on ? 255 : 0, 255], i * 4);
    }
    const plain = jpegBytes(rgba, w, w);
    const upright = decodeImage(plain, 'plain.jpg', { size: w, channels: 1 }).data;
    for (const little of [true, false]) {
      const turned = decodeImage(withExifOrientation(plain, 6, little), 'turned.jpg', { size: w, channels: 1 }).data;
      expect(Array.from(turned)).toEqual(Array.from(orientSquare(upright, w, 1, 6)));
      expect(turned[2 * w + (w - 3)]).toBeGreaterThan(0.8); // top right is bright
      expect(turned[2 * w + 2]).toBeLessThan(-0.8); // top left is dark
    }
  });
});

describe('bad bytes', () => {
  const opts = { size: 8, channels: 1 as const };
  const png = encodePng(randomBytes(12 * 12, 5), 12, 12, 1);
  const jpeg = jpegBytes(gradientRgba(16, 16), 16, 16);

  function reason(bytes: Uint8Array, name = 'f.png'): string {
    const e = thrown(() => decodeImage(bytes, name, opts));
    expect(e).toBeInstanceOf(ImageFileError);
    expect(e).toBeInstanceOf(DataError);
    expect((e as ImageFileError).file).toBe(name);
    expect((e as Error).message.startsWith(`${name}: `)).toBe(true);
    return (e as ImageFileError).reason;
  }

  it('names an empty file', () => {
    expect(reason(new Uint8Array(0))).toBe('empty file (0 bytes)');
  });

  it('names bytes that are neither PNG nor JPEG', () => {
    expect(reason(randomBytes(300, 9))).toMatch(/^not a PNG or JPEG file \(it starts with bytes [0-9a-f ]+\)$/);
    expect(reason(new TextEncoder().encode('hello'))).toMatch(/not a PNG or JPEG/);
  });

  it('reports every truncation of a PNG as an ImageFileError', () => {
    for (let cut = 1; cut < png.length; cut++) reason(png.subarray(0, cut));
    expect(reason(png.subarray(0, 40))).toBe('truncated PNG: file ends at byte 40 inside the header of the chunk at byte 33');
    expect(reason(png.subarray(0, 50))).toMatch(/^truncated PNG: chunk "IDAT" at byte 33 needs \d+ bytes, 9 remain$/);
    expect(reason(png.subarray(0, png.length - 12))).toMatch(/^truncated PNG: file ends at byte \d+ with no IEND chunk$/);
  });

  it('reports every truncation of a JPEG as an ImageFileError', () => {
    for (let cut = 1; cut < jpeg.length; cut++) reason(jpeg.subarray(0, cut), 'f.jpg');
    expect(reason(jpeg.subarray(0, jpeg.length - 2), 'f.jpg')).toBe('truncated JPEG: no end-of-image marker after the image data');
  });

  it('never throws anything but ImageFileError on corrupted bytes', () => {
    const next = byteStream(11);
    for (const original of [png, jpeg]) {
      for (let trial = 0; trial < 300; trial++) {
        const bytes = Uint8Array.from(original);
        const flips = 1 + (next() % 4);
        for (let k = 0; k < flips; k++) bytes[(next() * 256 + next()) % bytes.length] = next();
        try {
          decodeImage(bytes, 'fuzz', opts);
        } catch (e) {
          expect(e).toBeInstanceOf(ImageFileError);
        }
      }
    }
  });

  it('refuses huge dimensions, and headers their data cannot fill, before decoding', () => {
    // The limit is MAX_IMAGE_PIXELS (40 megapixels) on width x height, whatever the shape.
    expect(reason(withPngSize(png, 10000, 4001))).toBe('PNG is 10000x4001 (40 megapixels); the largest accepted is 40 megapixels');
    expect(reason(withPngSize(png, 12, 2 ** 31 + 5))).toMatch(/the largest accepted is 40 megapixels/);
    // 1000 x 1000 grey is 10^6 bytes of pixels; deflate needs at least 10^6 / 1032 bytes for them.
    expect(reason(withPngSize(png, 1000, 1000))).toMatch(
      /^truncated PNG: \d+ bytes of image data cannot hold 1000x1000 pixels \(1000000 bytes; deflate needs at least 969\)$/,
    );
    expect(reason(withPngSize(png, 0, 12))).toBe('invalid PNG: dimensions 0x12');
    // JPEG: rewrite the frame header's height and width.
    const big = Uint8Array.from(jpeg);
    let sof = 2;
    while (!(big[sof] === 0xff && big[sof + 1] === 0xc0)) sof += 2 + ((big[sof + 2]! << 8) | big[sof + 3]!);
    big.set([9000 >> 8, 9000 & 0xff, 9000 >> 8, 9000 & 0xff], sof + 5);
    expect(reason(big, 'big.jpg')).toBe('JPEG is 9000x9000 (81 megapixels); the largest accepted is 40 megapixels');
  });

  it('reports a bad CRC through the decoder', () => {
    const bad = Uint8Array.from(png);
    bad[29] = bad[29]! ^ 0xff; // IHDR CRC
    expect(reason(bad)).toMatch(/^invalid PNG: /);
  });

  it('rejects bad options naming the field', () => {
    expect(() => decodeImage(png, 'f.png', { size: 0, channels: 1 })).toThrow(/^size: /);
    expect(() => decodeImage(png, 'f.png', { size: 8, channels: 2 as 1 })).toThrow(/^channels: /);
  });
});

describe('imageGridPng', () => {
  it('lays n images out in rows of cols with padding', () => {
    const n = 10;
    const [h, w] = [28, 20];
    const images = new Float32Array(n * h * w).map((_, i) => (Math.floor(i / (h * w)) / 9) * 2 - 1); // image k is all k/9
    const grid = readPng(imageGridPng(images, n, h, w, 1, 4));
    // 4 columns, 3 rows, 2 px padding between and around
    expect([grid.width, grid.height]).toEqual([4 * (w + 2) + 2, 3 * (h + 2) + 2]);
    const at = (x: number, y: number) => grid.data[(y * grid.width + x) * 4]!;
    expect(at(0, 0)).toBe(128); // padding: mid grey
    expect(at(2, 2)).toBe(0); // image 0 at the top left
    // image 9: row 2, column 1
    expect(at(2 + 1 * (w + 2) + 5, 2 + 2 * (h + 2) + 5)).toBe(255);
    // image 6: row 1, column 2, value round((6/9 * 2 - 1 + 1) * 127.5) = 170
    expect(at(2 + 2 * (w + 2), 2 + 1 * (h + 2))).toBe(170);
  });

  it('uses at most n columns, keeps colour and accepts pad 0', () => {
    const grid = readPng(imageGridPng(new Float32Array(3 * 4 * 4 * 3).fill(1), 3, 4, 4, 3, 8, { pad: 0 }));
    expect([grid.width, grid.height]).toEqual([12, 4]);
    expect(grid.data.every((v) => v === 255)).toBe(true);
  });

  it('rejects images of the wrong length', () => {
    expect(() => imageGridPng(new Float32Array(5), 2, 2, 2, 1, 2)).toThrow(ShapeError);
  });
});
