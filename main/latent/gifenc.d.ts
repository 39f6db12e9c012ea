// Types for the parts of gifenc (1.0.x, which ships none) that main/latent/anim.ts uses. From its
// README and src/index.js: palettes are arrays of [r, g, b] bytes, pixel buffers are RGBA.
declare module 'gifenc' {
  /** A colour table: at most 256 entries of [r, g, b]. */
  export type Palette = number[][];

  export interface GifFrameOptions {
    /** Required on the first frame (it becomes the global colour table); later frames reuse it when omitted. */
    palette?: Palette;
    /** Milliseconds; stored as round(delay / 10) hundredths of a second. */
    delay?: number;
    /** Read on the first frame: -1 = play once (no NETSCAPE2.0 block), 0 = forever, n = the NETSCAPE2.0 loop count n. */
    repeat?: number;
  }

  export interface GifStream {
    writeFrame(index: Uint8Array, width: number, height: number, opts?: GifFrameOptions): void;
    /** Writes the trailer byte. */
    finish(): void;
    /** A copy of the bytes written so far. */
    bytes(): Uint8Array;
  }

  export function GIFEncoder(opts?: { auto?: boolean; initialCapacity?: number }): GifStream;

  /** At most `maxColors` colours for the RGBA pixels: pairwise nearest neighbour clustering of a histogram of 5-6-5 (default) or 4-4-4 bins. */
  export function quantize(rgba: Uint8Array, maxColors: number, options?: { format?: 'rgb565' | 'rgb444' }): Palette;

  /**
   * Per pixel, the index of the palette colour nearest (Euclidean RGB) to the first pixel of `rgba` that
   * fell in the same bin of the top 5 bits of r, g and b (the result is cached per bin).
   */
  export function applyPalette(rgba: Uint8Array, palette: Palette, format?: 'rgb565' | 'rgb444'): Uint8Array;
}
