// Readers for the animated exports through decoders the project did not write: upng-js's APNG
// decoder (it composites the blended sub-rectangle frames back to whole frames) and omggif's GIF
// decoder. Both return whole frames as RGBA bytes.
import { GifReader } from 'omggif';
import UPNG from 'upng-js';

export interface ReadAnimation {
  width: number;
  height: number;
  /** Per frame, width * height * 4 bytes (RGBA). */
  frames: Uint8Array[];
  delaysMs: number[];
  /** APNG: acTL num_plays (undefined for a plain PNG); GIF: the NETSCAPE2.0 loop count (null without one). */
  loops: number | null | undefined;
}

/** An APNG (or plain PNG) through UPNG.decode + UPNG.toRGBA8. */
export function readApng(bytes: Uint8Array): ReadAnimation & { numFrames: number | undefined } {
  const img = UPNG.decode(Uint8Array.from(bytes).buffer);
  return {
    width: img.width,
    height: img.height,
    frames: UPNG.toRGBA8(img).map((b) => new Uint8Array(b)),
    delaysMs: img.frames.map((f) => f.delay),
    loops: img.tabs.acTL?.num_plays,
    numFrames: img.tabs.acTL?.num_frames,
  };
}

/** A GIF through omggif's GifReader. */
export function readGif(bytes: Uint8Array): ReadAnimation {
  const reader = new GifReader(bytes);
  const frames: Uint8Array[] = [];
  const delaysMs: number[] = [];
  for (let i = 0; i < reader.numFrames(); i++) {
    const rgba = new Uint8Array(reader.width * reader.height * 4);
    reader.decodeAndBlitFrameRGBA(i, rgba);
    frames.push(rgba);
    delaysMs.push(reader.frameInfo(i).delay * 10);
  }
  return { width: reader.width, height: reader.height, frames, delaysMs, loops: reader.loopCount() };
}

/** HWC grey or RGB bytes as the RGBA a decoder gives for an opaque image. */
export function rgbaOf(frame: Uint8Array, channels: 1 | 3): Uint8Array {
  const n = frame.length / channels;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) out[i * 4 + k] = frame[i * channels + (channels === 3 ? k : 0)]!;
    out[i * 4 + 3] = 255;
  }
  return out;
}
