// Shared test helpers: fresh temp folders and small synthetic pictures with known pixels.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { encode as encodeJpeg } from 'jpeg-js';
import { afterEach } from 'vitest';

const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A new empty folder, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flow-studio-data-'));
  dirs.push(dir);
  return dir;
}

/** A seeded generator of bytes (an LCG: tests must repeat). */
export function byteStream(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  };
}

/** n random bytes from a seed. */
export function randomBytes(n: number, seed: number): Uint8Array {
  const next = byteStream(seed);
  return Uint8Array.from({ length: n }, next);
}

/** A smooth RGBA picture (JPEG-friendly): r along x, g along y, b constant, opaque. */
export function gradientRgba(width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      out[p] = Math.round((255 * x) / Math.max(1, width - 1));
      out[p + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      out[p + 2] = 90;
      out[p + 3] = 255;
    }
  return out;
}

/** JPEG bytes of an RGBA picture. */
export function jpegBytes(rgba: Uint8Array, width: number, height: number, quality = 95): Uint8Array {
  return new Uint8Array(encodeJpeg({ width, height, data: rgba }, quality).data);
}

/** Rewrites the IHDR width and height of a PNG and fixes its CRC, giving a well-formed header that claims any size. */
export function withPngSize(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = Uint8Array.from(png);
  const view = new DataView(out.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  view.setUint32(29, crc32(out.subarray(12, 29))); // CRC over type + 13 data bytes
  return out;
}

/** Inserts an APP1 Exif segment with the given orientation right after a JPEG's SOI marker. */
export function withExifOrientation(jpeg: Uint8Array, orientation: number, little = true): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 12 + 4);
  const v = new DataView(tiff.buffer);
  tiff.set(little ? [0x49, 0x49] : [0x4d, 0x4d], 0);
  v.setUint16(2, 42, little);
  v.setUint32(4, 8, little); // IFD0 right after the header
  v.setUint16(8, 1, little); // one entry
  v.setUint16(10, 0x0112, little); // Orientation
  v.setUint16(12, 3, little); // SHORT
  v.setUint32(14, 1, little); // count
  v.setUint16(18, orientation, little);
  const payload = new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff]);
  const segment = new Uint8Array(4 + payload.length);
  segment.set([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff], 0);
  segment.set(payload, 4);
  const out = new Uint8Array(jpeg.length + segment.length);
  out.set(jpeg.subarray(0, 2), 0);
  out.set(segment, 2);
  out.set(jpeg.subarray(2), 2 + segment.length);
  return out;
}

/** Bytes in 0..255 back from [-1, 1] values (exact inverse of p / 127.5 - 1). */
export function toBytes(values: Float32Array): number[] {
  return Array.from(values, (v) => Math.round((v + 1) * 127.5));
}

/**
 * A PNG built chunk by chunk, for the kinds our encoder never writes (palette, low bit depths):
 * `rows` are packed scanlines without the filter byte (filter 0 is added).
 */
export function handPng(
  header: { width: number; height: number; bitDepth: number; colorType: number },
  rows: number[][],
  extra: [string, number[]][] = [],
): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, header.width);
  v.setUint32(4, header.height);
  ihdr.set([header.bitDepth, header.colorType, 0, 0, 0], 8);
  const raw = Uint8Array.from(rows.flatMap((r) => [0, ...r]));
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', ihdr),
    ...extra.map(([type, data]) => chunk(type, Uint8Array.from(data))),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Bytes of several arrays, one after the other. */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A PNG whose header claims `width x height` (colour type and depth as given) and whose single IDAT
 * chunk holds exactly `idat` (not necessarily enough, or even valid, compressed data).
 */
export function pngWithData(header: { width: number; height: number; bitDepth: number; colorType: number }, idat: Uint8Array): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, header.width);
  v.setUint32(4, header.height);
  ihdr.set([header.bitDepth, header.colorType, 0, 0, 0], 8);
  return concat([
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * A baseline JPEG built marker by marker: a quantisation table, a frame header claiming
 * `width x height` with the given components' sampling factors [h, v], one-code Huffman tables, one
 * scan over every component, then `data` as the entropy-coded bytes and the end-of-image marker.
 */
export function jpegWithData(
  width: number,
  height: number,
  data: Uint8Array,
  components: [number, number][] = [
    [1, 1],
    [1, 1],
    [1, 1],
  ],
): Uint8Array {
  const segment = (marker: number, payload: number[]) =>
    Uint8Array.from([0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload]);
  const dqt = segment(0xdb, [0, ...new Array<number>(64).fill(1)]);
  const sof = segment(0xc0, [
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    components.length,
    ...components.flatMap(([h, v], k) => [k + 1, (h << 4) | v, 0]),
  ]);
  // One symbol (category 0) of code length 1 in each table: the shortest code Huffman coding allows.
  const oneCode = [1, ...new Array<number>(15).fill(0), 0];
  const dht = concat([segment(0xc4, [0x00, ...oneCode]), segment(0xc4, [0x10, ...oneCode])]);
  const sos = segment(0xda, [components.length, ...components.flatMap((_, k) => [k + 1, 0x00]), 0, 63, 0]);
  return concat([Uint8Array.of(0xff, 0xd8), dqt, sof, dht, sos, data, Uint8Array.of(0xff, 0xd9)]);
}

/**
 * A large 1-bit grey PNG of noise (seeded): `width x height` pixels in width*height/8 bytes of
 * incompressible scanlines, so decoding it costs time in proportion to its pixels while the file
 * stays small on disk.
 */
export function noisePng1Bit(width: number, height: number, seed: number): Uint8Array {
  const rowBytes = Math.ceil(width / 8);
  const raw = new Uint8Array(height * (1 + rowBytes));
  const next = byteStream(seed);
  for (let y = 0; y < height; y++) for (let x = 0; x < rowBytes; x++) raw[y * (1 + rowBytes) + 1 + x] = next();
  return pngWithData({ width, height, bitDepth: 1, colorType: 0 }, deflateSync(raw, { level: 1 }));
}
