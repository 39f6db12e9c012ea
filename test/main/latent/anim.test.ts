// The animated exports read back through decoders the project did not write: upng-js's APNG decoder
// (every frame, composited), pngjs (the APNG's first frame, as any PNG reader sees it) and omggif
// (every GIF frame). APNG frames come back exactly; GIF frames exactly up to 256 colours and, past
// that, within the error bound that follows from the palette and gifenc's palette mapping.
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { ConfigError, ShapeError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import { encodeApng, encodeGif } from '../../../main/latent/anim';
import { readApng, readGif, rgbaOf } from './anim-readers';

function frames(n: number, w: number, h: number, c: number, seed: number, noisy: boolean): Uint8Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, f) =>
    Uint8Array.from({ length: w * h * c }, (_, i) => (noisy ? rng.int(256) : (i * 7 + f * 40) & 255)),
  );
}

/** A square moving over a noisy background, played a..b..a as interpolationAnimation's bounce does. */
function bounce(w: number, h: number, c: 1 | 3): Uint8Array[] {
  const rng = new Rng(11);
  const bg = Uint8Array.from({ length: w * h * c }, () => rng.int(256));
  const forward = Array.from({ length: 5 }, (_, f) => {
    const fr = Uint8Array.from(bg);
    for (let y = 4; y < 10; y++)
      for (let x = 2 + 3 * f; x < 8 + 3 * f; x++) for (let k = 0; k < c; k++) fr[(y * w + x) * c + k] = 40 * f + 30 * k;
    return fr;
  });
  return [...forward, forward[4]!, ...forward.slice(1, -1).reverse()];
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

describe('APNG (upng-js)', () => {
  it('grey and RGB frames come back exactly through upng-js, with frame count, delays and loop count; pngjs reads frame 0', () => {
    const cases = [
      { c: 1, fr: frames(4, 30, 20, 1, 1, false), what: 'smooth grey (palette PNG)' },
      { c: 3, fr: frames(4, 30, 20, 3, 3, true), what: 'noisy RGB (RGBA PNG)' },
      { c: 1, fr: bounce(30, 20, 1), what: 'grey bounce (changed rectangles, a repeated frame)' },
      { c: 3, fr: bounce(30, 20, 3), what: 'RGB bounce' },
      { c: 3, fr: [0, 1, 0, 1, 0].map((k) => bounce(30, 20, 3)[k]!), what: 'blinking (dispose to the previous frame)' },
    ] as const;
    for (const { c, fr, what } of cases) {
      const bytes = encodeApng(fr, 30, 20, c, 120, 2);
      const back = readApng(bytes);
      expect(back, what).toMatchObject({ width: 30, height: 20, loops: 2, numFrames: fr.length, delaysMs: fr.map(() => 120) });
      expect(back.frames, what).toHaveLength(fr.length);
      back.frames.forEach((f, i) => expect(same(f, rgbaOf(fr[i]!, c)), `${what}: frame ${i}`).toBe(true));
      const png = PNG.sync.read(Buffer.from(bytes));
      expect([png.width, png.height]).toEqual([30, 20]);
      expect(same(png.data, rgbaOf(fr[0]!, c)), `${what}: pngjs frame 0`).toBe(true);
    }
  });

  it('small frames are whole (upng-js 2.1.0 alone truncates them) and the delay is kept to the millisecond', () => {
    for (const [w, h, n] of [
      [1, 1, 2],
      [2, 2, 3],
      [4, 4, 4],
      [8, 8, 4],
      [12, 12, 6],
      [3, 40, 3],
    ] as const) {
      const fr = frames(n, w, h, 3, w * 100 + n, true);
      const back = readApng(encodeApng(fr, w, h, 3, 33.4));
      expect(back).toMatchObject({ width: w, height: h, loops: 0, numFrames: n, delaysMs: fr.map(() => 33) });
      back.frames.forEach((f, i) => expect(same(f, rgbaOf(fr[i]!, 3)), `${w}x${h}x${n} frame ${i}`).toBe(true));
    }
  });

  it('one frame is a plain PNG that pngjs reads exactly', () => {
    for (const [w, h] of [
      [1, 1],
      [5, 3],
      [30, 20],
    ] as const) {
      const [f] = frames(1, w, h, 3, w, true);
      const bytes = encodeApng([f!], w, h, 3);
      expect(readApng(bytes).numFrames).toBeUndefined();
      expect(same(PNG.sync.read(Buffer.from(bytes)).data, rgbaOf(f!, 3))).toBe(true);
    }
  });

  it('refuses frames of the wrong size, bad delays and loop counts, naming the value', () => {
    expect(() => encodeApng([new Uint8Array(3)], 2, 2, 1)).toThrow(ShapeError);
    expect(() => encodeApng([], 2, 2, 1)).toThrow(ShapeError);
    expect(() => encodeApng([new Uint8Array(4)], 2, 2, 1, -1)).toThrow(/delayMs/);
    expect(() => encodeApng([new Uint8Array(4)], 2, 2, 1, 100, 1.5)).toThrow(ConfigError);
    expect(() => encodeApng([new Uint8Array(4)], 2, 2, 2 as 1)).toThrow(/channels/);
  });
});

describe('GIF (gifenc)', () => {
  it('grey frames come back exactly through omggif (incl. noise that refills the LZW table), with delays and loop count', () => {
    for (const [w, h, noisy, delay, loops] of [
      [28, 28, false, 150, 0],
      [120, 90, true, 123, 3],
    ] as const) {
      const fr = frames(3, w, h, 1, 5, noisy);
      const back = readGif(encodeGif(fr, w, h, 1, delay, loops));
      // GIF stores hundredths of a second: round(delay / 10) * 10 ms.
      expect(back).toMatchObject({ width: w, height: h, loops, delaysMs: fr.map(() => Math.round(delay / 10) * 10) });
      expect(back.frames).toHaveLength(3);
      back.frames.forEach((f, i) => expect(same(f, rgbaOf(fr[i]!, 1)), `${w}x${h} frame ${i}`).toBe(true));
    }
  });

  it('RGB frames with exactly 256 colours come back exactly', () => {
    const rng = new Rng(4);
    const colours = Array.from({ length: 256 }, () => [rng.int(256), rng.int(256), rng.int(256)]);
    // Every colour appears (the first 256 pixels take them in turn), the rest are drawn at random.
    const rgb = Array.from({ length: 3 }, (_, f) => {
      const fr = new Uint8Array(40 * 30 * 3);
      for (let i = 0; i < 40 * 30; i++) fr.set(colours[f === 0 && i < 256 ? i : rng.int(256)]!, i * 3);
      return fr;
    });
    const back = readGif(encodeGif(rgb, 40, 30, 3));
    back.frames.forEach((f, i) => expect(same(f, rgbaOf(rgb[i]!, 3)), `frame ${i}`).toBe(true));
  });

  it('RGB frames with more colours come back within their distance to the palette plus 2 * 7 * sqrt(3)', () => {
    // Gradients with noise: thousands of colours, many pixels to each 5-5-5 bin.
    const rng = new Rng(9);
    const [w, h] = [48, 40];
    const fr = Array.from({ length: 3 }, (_, f) =>
      Uint8Array.from({ length: w * h * 3 }, (_, i) => {
        const [x, y, k] = [Math.floor(i / 3) % w, Math.floor(i / 3 / w), i % 3];
        const base = k === 0 ? (x * 255) / (w - 1) : k === 1 ? (y * 255) / (h - 1) : (f * 80 + x + y) % 256;
        return Math.min(255, Math.max(0, Math.round(base + rng.int(13) - 6)));
      }),
    );
    const back = readGif(encodeGif(fr, w, h, 3));
    // The colours the decoder shows are palette entries; the nearest of them is no nearer than the
    // nearest of the whole palette, so this bound is implied by the one in main/latent/anim.ts.
    const used = new Map<number, number[]>();
    back.frames.forEach((f) => {
      for (let p = 0; p < f.length; p += 4) used.set((f[p]! << 16) | (f[p + 1]! << 8) | f[p + 2]!, [f[p]!, f[p + 1]!, f[p + 2]!]);
    });
    expect(used.size).toBeLessThanOrEqual(256);
    expect(used.size).toBeGreaterThan(128);
    const dist = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);
    let worst = -Infinity;
    back.frames.forEach((f, k) => {
      for (let i = 0; i < w * h; i++) {
        const p = fr[k]!.subarray(i * 3, i * 3 + 3);
        const nearest = Math.min(...[...used.values()].map((u) => dist(p, u)));
        worst = Math.max(worst, dist(p, f.subarray(i * 4, i * 4 + 3)) - nearest);
        expect(f[i * 4 + 3]).toBe(255);
      }
    });
    expect(worst).toBeLessThanOrEqual(2 * 7 * Math.sqrt(3));
  });

  it('refuses frames of the wrong size and bad loop counts, naming the value', () => {
    expect(() => encodeGif([new Uint8Array(3)], 2, 2, 1)).toThrow(ShapeError);
    expect(() => encodeGif([new Uint8Array(4)], 2, 2, 1, 100, 70000)).toThrow(/loops/);
    expect(() => encodeGif([new Uint8Array(4)], 0, 2, 1)).toThrow(/width/);
  });
});
