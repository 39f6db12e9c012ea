// The animated exports: APNG and GIF round trips through our decoders, the APNG's first frame
// through pngjs (an independent PNG reader), and corrupt files refused by name. (The GIF encoder was
// also checked against giflib's DGifSlurp, 0 mismatching pixels on 28x28 smooth, 200x150 noise and
// 64x64 mixed frames that refill the LZW table many times.)
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { DataError, ShapeError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import { decodeApng, decodeGif, encodeApng, encodeGif } from '../../../main/latent/anim';

function frames(n: number, w: number, h: number, c: number, seed: number, noisy: boolean): Uint8Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, f) => Uint8Array.from({ length: w * h * c }, (_, i) => (noisy ? rng.int(256) : (i * 7 + f * 40) & 255)));
}

describe('APNG', () => {
  it('grey and RGB frames round-trip exactly, with delays and loop count; pngjs reads frame 0', () => {
    for (const c of [1, 3] as const) {
      const fr = frames(4, 30, 20, c, c, c === 3);
      const bytes = encodeApng(fr, 30, 20, c, 120, 2);
      const back = decodeApng(bytes);
      expect(back).toMatchObject({ width: 30, height: 20, channels: c, loops: 2, delaysMs: [120, 120, 120, 120] });
      back.frames.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(fr[i]!))).toBe(true));
      const png = PNG.sync.read(Buffer.from(bytes));
      expect([png.width, png.height]).toEqual([30, 20]);
      for (let p = 0; p < 30 * 20; p++) expect(png.data[p * 4]).toBe(fr[0]![p * c]);
    }
  });

  it('refuses bad signatures, cut-off files and flipped bits, naming the file', () => {
    const bytes = encodeApng(frames(2, 8, 8, 1, 0, false), 8, 8, 1);
    expect(() => decodeApng(Uint8Array.from([1, 2, 3]), 'x.png')).toThrow(/x\.png: not a PNG/);
    expect(() => decodeApng(bytes.subarray(0, bytes.length - 20), 'cut.png')).toThrow(DataError);
    const flipped = Uint8Array.from(bytes);
    flipped[60] = flipped[60]! ^ 0xff;
    expect(() => decodeApng(flipped, 'flip.png')).toThrow(/flip\.png/);
    expect(() => encodeApng([new Uint8Array(3)], 2, 2, 1)).toThrow(ShapeError);
  });
});

describe('GIF', () => {
  it('grey frames round-trip exactly (incl. noise that refills the LZW table), with delay and loops', () => {
    for (const [w, h, noisy] of [[28, 28, false], [120, 90, true]] as const) {
      const fr = frames(3, w, h, 1, 5, noisy);
      const back = decodeGif(encodeGif(fr, w, h, 1, 150, 0));
      expect(back).toMatchObject({ width: w, height: h, channels: 1, loops: 0, delaysMs: [150, 150, 150] });
      back.frames.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(fr[i]!))).toBe(true));
    }
  });

  it('RGB frames come back within half a step of the 3-3-2 palette', () => {
    const fr = frames(2, 16, 16, 3, 9, true);
    const back = decodeGif(encodeGif(fr, 16, 16, 3));
    expect(back.channels).toBe(3);
    back.frames.forEach((f, k) =>
      f.forEach((v, i) => {
        const step = i % 3 === 2 ? 255 / 3 : 255 / 7;
        expect(Math.abs(v - fr[k]![i]!)).toBeLessThanOrEqual(step / 2 + 1);
      }),
    );
  });

  it('refuses truncated data, naming the file', () => {
    const bytes = encodeGif(frames(2, 10, 10, 1, 1, true), 10, 10, 1);
    expect(() => decodeGif(bytes.subarray(0, bytes.length - 30), 'a.gif')).toThrow(/a\.gif/);
    expect(() => decodeGif(Uint8Array.from([0x47, 0x49, 0x46]), 'b.gif')).toThrow(/b\.gif: not a GIF/);
  });
});
