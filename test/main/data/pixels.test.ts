import { describe, expect, it } from 'vitest';
import { axisWeights, orientSquare, rgbaToSquare, unitToByte } from '../../../main/data';
import { randomBytes } from './helpers';

/** An opaque grey RGBA picture from grey values. */
function greyRgba(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  for (let i = 0; i < values.length; i++) out.set([values[i]!, values[i]!, values[i]!, 255], i * 4);
  return out;
}

const unit = (p: number) => p / 127.5 - 1;

describe('axisWeights', () => {
  it('area-averages when shrinking by a non-integer factor (3 -> 2)', () => {
    const w = axisWeights(3, 2);
    expect(w.map((x) => x.start)).toEqual([0, 1]);
    expect(Array.from(w[0]!.weights)).toEqual([2 / 3, 1 / 3].map((v) => expect.closeTo(v, 12)));
    expect(Array.from(w[1]!.weights)).toEqual([1 / 3, 2 / 3].map((v) => expect.closeTo(v, 12)));
  });

  it('interpolates linearly between pixel centres when enlarging (2 -> 4), clamping at the edges', () => {
    const w = axisWeights(2, 4);
    // centres of the outputs in input coordinates: -0.25, 0.25, 0.75, 1.25
    expect(w.map((x) => [x.start, ...x.weights])).toEqual([
      [0, 1],
      [0, 0.75, 0.25],
      [0, 0.25, 0.75],
      [1, 1],
    ]);
  });

  it('has weights summing to 1 for every output', () => {
    for (const [a, b] of [
      [100, 28],
      [45, 28],
      [28, 32],
      [7, 32],
      [32, 32],
      [8192, 28],
    ] as const)
      for (const { weights } of axisWeights(a, b)) expect(weights.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
  });
});

describe('rgbaToSquare', () => {
  const opts = { channels: 1 as const, background: 255 };

  it('keeps a constant picture constant when shrinking, enlarging and at odd ratios', () => {
    for (const [side, size] of [
      [100, 28],
      [45, 28],
      [20, 32],
      [28, 28],
      [3, 32],
    ] as const) {
      const out = rgbaToSquare(greyRgba(new Array<number>(side * side).fill(77)), side, side, { ...opts, size });
      expect(out.length).toBe(size * size);
      for (const v of out) expect(v).toBeCloseTo(unit(77), 6);
    }
  });

  it('box-downsamples a 56x56 picture to the exact means of its 2x2 blocks', () => {
    const px = randomBytes(56 * 56, 7);
    const out = rgbaToSquare(greyRgba(px), 56, 56, { ...opts, size: 28 });
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        const at = (dy: number, dx: number) => px[(2 * y + dy) * 56 + 2 * x + dx]!;
        const mean = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4;
        expect(out[y * 28 + x]).toBeCloseTo(unit(mean), 6);
      }
  });

  it('passes pixels through unchanged when no resize is needed', () => {
    const px = randomBytes(32 * 32, 3);
    const out = rgbaToSquare(greyRgba(px), 32, 32, { ...opts, size: 32 });
    expect(out.map(unitToByte)).toEqual(Float32Array.from(px));
  });

  it('converts RGB to grey by BT.601 luminance and grey to RGB by replication', () => {
    const rgba = new Uint8Array([200, 100, 50, 255]);
    const grey = rgbaToSquare(rgba, 1, 1, { ...opts, size: 1 });
    expect(grey[0]).toBeCloseTo(unit(0.299 * 200 + 0.587 * 100 + 0.114 * 50), 6); // 124.2
    const rgb = rgbaToSquare(rgba, 1, 1, { channels: 3, background: 255, size: 1 });
    expect(Array.from(rgb, unitToByte)).toEqual([200, 100, 50]);
    const fromGrey = rgbaToSquare(greyRgba([42]), 1, 1, { channels: 3, background: 255, size: 1 });
    expect(Array.from(fromGrey, unitToByte)).toEqual([42, 42, 42]);
  });

  it('composites alpha onto the background', () => {
    const onWhite = (p: number[]) => rgbaToSquare(new Uint8Array(p), 1, 1, { channels: 1, background: 255, size: 1 })[0]!;
    const onBlack = (p: number[]) => rgbaToSquare(new Uint8Array(p), 1, 1, { channels: 1, background: 0, size: 1 })[0]!;
    expect(onWhite([0, 0, 0, 0])).toBe(1); // fully transparent: the background
    expect(onWhite([10, 20, 30, 0])).toBe(1); // whatever colour hides under alpha 0
    expect(onBlack([10, 20, 30, 0])).toBe(-1);
    expect(onWhite([0, 0, 0, 255])).toBe(-1);
    expect(onWhite([0, 0, 0, 51])).toBeCloseTo(unit(255 * (1 - 51 / 255)), 6); // 20% black on white = 204
    const rgbOnWhite = rgbaToSquare(new Uint8Array([255, 0, 0, 51]), 1, 1, { channels: 3, background: 255, size: 1 });
    expect(Array.from(rgbOnWhite, unitToByte)).toEqual([255, 204, 204]);
  });

  it('center-crops to a square: a 40x30 picture keeps its middle 30x30', () => {
    // Columns 0-4 and 35-39 are 0, the middle 30 columns 200.
    const w = 40;
    const h = 30;
    const px = Array.from({ length: w * h }, (_, i) => (i % w < 5 || i % w >= 35 ? 0 : 200));
    const out = rgbaToSquare(greyRgba(px), w, h, { ...opts, size: 30 });
    expect(new Set(Array.from(out, unitToByte))).toEqual(new Set([200]));
    // and tall pictures the same way
    const tall = rgbaToSquare(
      greyRgba(Array.from({ length: w * h }, (_, i) => (Math.floor(i / h) < 5 || Math.floor(i / h) >= 35 ? 0 : 200))),
      h,
      w,
      { ...opts, size: 30 },
    );
    expect(new Set(Array.from(tall, unitToByte))).toEqual(new Set([200]));
  });
});

describe('orientSquare', () => {
  // 0 1
  // 2 3
  const sq = Float32Array.of(0, 1, 2, 3);
  it.each([
    [1, [0, 1, 2, 3]],
    [2, [1, 0, 3, 2]], // mirror left-right
    [3, [3, 2, 1, 0]], // rotate 180
    [4, [2, 3, 0, 1]], // mirror top-bottom
    [5, [0, 2, 1, 3]], // transpose
    [6, [2, 0, 3, 1]], // rotate 90 clockwise: the left column becomes the top row, read bottom-up
    [7, [3, 1, 2, 0]], // transverse
    [8, [1, 3, 0, 2]], // rotate 90 anticlockwise
  ])('orientation %i', (o, expected) => {
    expect(Array.from(orientSquare(sq, 2, 1, o))).toEqual(expected);
  });

  it('moves whole pixels of multi-channel images', () => {
    const rgb = Float32Array.of(0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3);
    expect(Array.from(orientSquare(rgb, 2, 3, 6))).toEqual([2, 2, 2, 0, 0, 0, 3, 3, 3, 1, 1, 1]);
  });
});

describe('unitToByte', () => {
  it('inverts p / 127.5 - 1 exactly for every byte, also through float32', () => {
    for (let p = 0; p < 256; p++) expect(unitToByte(Math.fround(p / 127.5 - 1))).toBe(p);
  });
  it('clamps out-of-range values and maps NaN to 0', () => {
    expect([unitToByte(-3), unitToByte(5), unitToByte(Number.NaN), unitToByte(Infinity), unitToByte(-Infinity)]).toEqual([
      0, 255, 0, 255, 0,
    ]);
  });
});
