/**
 * Animated exports of a strip of frames, with no dependency beyond node:zlib: APNG (PNG with the
 * acTL/fcTL/fdAT chunks of the APNG 1.0 spec) and GIF89a (LZW, looping via the NETSCAPE2.0
 * extension). Each encoder has a decoder beside it, used by the tests to check the round trip; an
 * APNG's first frame is a plain PNG IDAT, so any PNG reader (pngjs) shows it too.
 *
 * Frames are 8-bit HWC bytes (grey or RGB), all the same size. GIF has at most 256 colours per frame:
 * grey frames map byte p to palette entry p (lossless); RGB frames are quantised to a fixed 3-3-2
 * palette (8 levels of red and green, 4 of blue), which is lossy. APNG is lossless for both.
 */
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { DataError, ShapeError, ConfigError } from '../../core/errors';
import type { Channels } from '../data';

/** Frames of an animation: `frames[i]` holds width * height * channels bytes (HWC). */
export interface Animation {
  width: number;
  height: number;
  channels: Channels;
  frames: Uint8Array[];
  /** Per frame, how long it shows, in milliseconds. */
  delaysMs: number[];
  /** Times the animation plays; 0 = forever. */
  loops: number;
}

function checkFrames(frames: readonly Uint8Array[], width: number, height: number, channels: Channels): void {
  if (!(Number.isInteger(width) && width >= 1 && width <= 65535)) throw new ConfigError('width', `must be an integer in [1, 65535], got ${width}`);
  if (!(Number.isInteger(height) && height >= 1 && height <= 65535)) throw new ConfigError('height', `must be an integer in [1, 65535], got ${height}`);
  if (channels !== 1 && channels !== 3) throw new ConfigError('channels', `must be 1 or 3, got ${String(channels)}`);
  if (frames.length === 0) throw new ShapeError('an animation needs at least one frame');
  const n = width * height * channels;
  frames.forEach((f, i) => {
    if (f.length !== n) throw new ShapeError(`frame ${i} has ${f.length} bytes; ${width}x${height}x${channels} needs ${n}`);
  });
}

function checkDelay(delayMs: number): void {
  if (!(Number.isFinite(delayMs) && delayMs >= 0 && delayMs <= 65535)) throw new ConfigError('delayMs', `must be a number of milliseconds in [0, 65535], got ${delayMs}`);
}

// ---------------------------------------------------------------------------------------------
// APNG
// ---------------------------------------------------------------------------------------------

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v));
  return out;
}

/** Scanlines with filter type 0 (none) each, deflated: the IDAT/fdAT payload of one frame. */
function deflateFrame(frame: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const row = width * channels;
  const raw = new Uint8Array(height * (row + 1));
  for (let y = 0; y < height; y++) raw.set(frame.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  return deflateSync(raw, { level: 9 });
}

/**
 * An animated PNG of equally sized frames (8-bit grey or RGB), every frame shown `delayMs`
 * (stored as the fraction delayMs/1000 s), looping `loops` times (0 = forever). Each frame is
 * stored whole (fcTL covering the full canvas, dispose NONE, blend SOURCE), so decoding needs no
 * compositing. Viewers without APNG support show the first frame.
 */
export function encodeApng(frames: readonly Uint8Array[], width: number, height: number, channels: Channels, delayMs = 150, loops = 0): Uint8Array {
  checkFrames(frames, width, height, channels);
  checkDelay(delayMs);
  if (!(Number.isInteger(loops) && loops >= 0)) throw new ConfigError('loops', `must be an integer >= 0, got ${loops}`);
  const colorType = channels === 1 ? 0 : 2;
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, colorType, 0, 0, 0], 8);
  const parts: Uint8Array[] = [PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('acTL', u32s(frames.length, loops))];
  let seq = 0;
  const delayNum = Math.round(delayMs);
  frames.forEach((frame, i) => {
    const fctl = new Uint8Array(26);
    const v = new DataView(fctl.buffer);
    v.setUint32(0, seq++);
    v.setUint32(4, width);
    v.setUint32(8, height);
    v.setUint32(12, 0); // x offset
    v.setUint32(16, 0); // y offset
    v.setUint16(20, delayNum);
    v.setUint16(22, 1000);
    fctl[24] = 0; // dispose: none
    fctl[25] = 0; // blend: source
    parts.push(chunk('fcTL', fctl));
    const data = deflateFrame(frame, width, height, channels);
    if (i === 0) {
      parts.push(chunk('IDAT', data));
    } else {
      const fdat = new Uint8Array(4 + data.length);
      new DataView(fdat.buffer).setUint32(0, seq++);
      fdat.set(data, 4);
      parts.push(chunk('fdAT', fdat));
    }
  });
  parts.push(chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** Undoes the PNG row filters (0-4) of one frame's inflated data in place into `out`. */
function unfilter(raw: Uint8Array, width: number, height: number, bpp: number, name: string): Uint8Array {
  const row = width * bpp;
  if (raw.length < height * (row + 1)) throw new DataError(`${name}: frame data is ${raw.length} bytes, expected ${height * (row + 1)}`);
  const out = new Uint8Array(height * row);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (row + 1)]!;
    const src = raw.subarray(y * (row + 1) + 1, (y + 1) * (row + 1));
    const cur = out.subarray(y * row, (y + 1) * row);
    const prev = y > 0 ? out.subarray((y - 1) * row, y * row) : null;
    for (let i = 0; i < row; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev ? prev[i]! : 0;
      const c = prev && i >= bpp ? prev[i - bpp]! : 0;
      let pred: number;
      switch (type) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new DataError(`${name}: unknown PNG filter type ${type} in row ${y}`);
      }
      cur[i] = (src[i]! + pred) & 0xff;
    }
  }
  return out;
}

/**
 * Reads an APNG written by `encodeApng` (8-bit grey or RGB, full-canvas frames): every frame's
 * pixels and delay. A plain PNG reads as one frame. CRCs are checked.
 *
 * @throws DataError naming `name` for anything else (other bit depths, palettes, partial frames,
 *   truncated or corrupt chunks).
 */
export function decodeApng(bytes: Uint8Array, name = 'APNG'): Animation {
  if (bytes.length < 8 || !PNG_SIGNATURE.every((b, i) => bytes[i] === b)) throw new DataError(`${name}: not a PNG (bad signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels: Channels = 1;
  let loops = 0;
  const frames: Uint8Array[] = [];
  const delaysMs: number[] = [];
  let pending: Uint8Array[] = [];
  let pendingDelay = 0;
  let haveFctl = false;
  const flush = (): void => {
    if (pending.length === 0) return;
    const raw = inflateSync(Buffer.concat(pending));
    frames.push(unfilter(raw, width, height, channels, name));
    delaysMs.push(pendingDelay);
    pending = [];
  };
  for (;;) {
    if (pos + 12 > bytes.length) throw new DataError(`${name}: truncated PNG at byte ${pos}`);
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + len > bytes.length) throw new DataError(`${name}: truncated PNG: chunk ${type} at byte ${pos} needs ${len} bytes`);
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (view.getUint32(pos + 8 + len) !== crc32(bytes.subarray(pos + 4, pos + 8 + len))) throw new DataError(`${name}: bad CRC in chunk ${type} at byte ${pos}`);
    pos += 12 + len;
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (type === 'IHDR') {
      width = dv.getUint32(0);
      height = dv.getUint32(4);
      const [depth, colorType, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || (colorType !== 0 && colorType !== 2) || interlace !== 0) {
        throw new DataError(`${name}: only 8-bit, non-interlaced grey or RGB PNGs are read here (bit depth ${depth}, colour type ${colorType})`);
      }
      channels = colorType === 0 ? 1 : 3;
    } else if (type === 'acTL') {
      loops = dv.getUint32(4);
    } else if (type === 'fcTL') {
      flush();
      haveFctl = true;
      if (dv.getUint32(4) !== width || dv.getUint32(8) !== height || dv.getUint32(12) !== 0 || dv.getUint32(16) !== 0) {
        throw new DataError(`${name}: partial frames are not supported`);
      }
      const num = dv.getUint16(20);
      const den = dv.getUint16(22) || 100;
      pendingDelay = (1000 * num) / den;
    } else if (type === 'IDAT') {
      pending.push(data);
    } else if (type === 'fdAT') {
      pending.push(data.subarray(4));
    } else if (type === 'IEND') {
      flush();
      break;
    }
  }
  if (frames.length === 0) throw new DataError(`${name}: no image data`);
  if (!haveFctl) delaysMs[0] = 0;
  return { width, height, channels, frames, delaysMs, loops };
}

// ---------------------------------------------------------------------------------------------
// GIF
// ---------------------------------------------------------------------------------------------

/** The palette and the byte -> index map of a frame kind (see the module comment). */
function gifPalette(channels: Channels): Uint8Array {
  const pal = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    if (channels === 1) pal.set([i, i, i], i * 3);
    else pal.set([Math.round(((i >> 5) * 255) / 7), Math.round((((i >> 2) & 7) * 255) / 7), Math.round(((i & 3) * 255) / 3)], i * 3);
  }
  return pal;
}

function gifIndices(frame: Uint8Array, channels: Channels): Uint8Array {
  if (channels === 1) return frame;
  const n = frame.length / 3;
  const out = new Uint8Array(n);
  // Nearest level per channel: round(v * 7 / 255) for red and green, round(v * 3 / 255) for blue.
  for (let i = 0; i < n; i++) {
    const r = Math.round((frame[i * 3]! * 7) / 255);
    const g = Math.round((frame[i * 3 + 1]! * 7) / 255);
    const b = Math.round((frame[i * 3 + 2]! * 3) / 255);
    out[i] = (r << 5) | (g << 2) | b;
  }
  return out;
}

/**
 * GIF's variable-length LZW (min code size 8: 256 literals, clear = 256, end = 257, codes of 9 to 12
 * bits packed LSB first). A clear code is sent whenever the 4096-entry table fills.
 */
function lzwEncode(indices: Uint8Array): Uint8Array {
  const clear = 256;
  const eoi = 257;
  const out: number[] = [];
  let acc = 0;
  let nbits = 0;
  let size = 9;
  const emit = (code: number): void => {
    acc |= code << nbits;
    nbits += size;
    while (nbits >= 8) {
      out.push(acc & 0xff);
      acc >>>= 8;
      nbits -= 8;
    }
  };
  let table = new Map<number, number>();
  let next = eoi + 1;
  emit(clear);
  if (indices.length === 0) {
    emit(eoi);
    if (nbits > 0) out.push(acc & 0xff);
    return Uint8Array.from(out);
  }
  let prefix = indices[0]!;
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i]!;
    const key = (prefix << 8) | k;
    const found = table.get(key);
    if (found !== undefined) {
      prefix = found;
      continue;
    }
    emit(prefix);
    if (next === 4096) {
      emit(clear);
      table = new Map();
      next = eoi + 1;
      size = 9;
    } else {
      // The decoder adds this entry one code later; it widens its codes after adding the entry that
      // fills the current width, which is exactly when the encoder is about to add the next one.
      if (next >= 1 << size) size++;
      table.set(key, next++);
    }
    prefix = k;
  }
  emit(prefix);
  emit(eoi);
  if (nbits > 0) out.push(acc & 0xff);
  return Uint8Array.from(out);
}

function lzwDecode(data: Uint8Array, minSize: number, expected: number, name: string): Uint8Array {
  const clear = 1 << minSize;
  const eoi = clear + 1;
  const out = new Uint8Array(expected);
  let outPos = 0;
  // Each entry: prefix code and last byte; lengths for fast output.
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let i = 0; i < clear; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    length[i] = 1;
  }
  let size = minSize + 1;
  let next = eoi + 1;
  let prev = -1;
  let acc = 0;
  let nbits = 0;
  let pos = 0;
  const firstByte = (code: number): number => {
    let c = code;
    while (prefix[c]! >= 0) c = prefix[c]!;
    return suffix[c]!;
  };
  const write = (code: number): void => {
    const len = length[code]!;
    if (outPos + len > expected) throw new DataError(`${name}: frame holds more pixels than its ${expected}`);
    let c = code;
    for (let j = len - 1; j >= 0; j--) {
      out[outPos + j] = suffix[c]!;
      c = prefix[c]!;
    }
    outPos += len;
  };
  for (;;) {
    while (nbits < size) {
      if (pos >= data.length) throw new DataError(`${name}: LZW data ends without an end code`);
      acc |= data[pos++]! << nbits;
      nbits += 8;
    }
    const code = acc & ((1 << size) - 1);
    acc >>>= size;
    nbits -= size;
    if (code === clear) {
      size = minSize + 1;
      next = eoi + 1;
      prev = -1;
      continue;
    }
    if (code === eoi) break;
    if (prev === -1) {
      if (code >= clear) throw new DataError(`${name}: LZW code ${code} before any entry`);
      write(code);
      prev = code;
      continue;
    }
    let k: number;
    if (code < next) k = firstByte(code);
    else if (code === next) k = firstByte(prev); // the KwKwK case: the entry being defined
    else throw new DataError(`${name}: LZW code ${code} beyond the table (${next})`);
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = k;
      length[next] = length[prev]! + 1;
      next++;
      if (next >= 1 << size && size < 12) size++;
    }
    write(code);
    prev = code;
  }
  if (outPos !== expected) throw new DataError(`${name}: frame has ${outPos} pixels, expected ${expected}`);
  return out;
}

/**
 * An animated GIF89a of equally sized frames, every frame shown `delayMs` (rounded to GIF's 1/100 s),
 * looping `loops` times (0 = forever). Grey frames are lossless; RGB frames use a 3-3-2 palette.
 */
export function encodeGif(frames: readonly Uint8Array[], width: number, height: number, channels: Channels, delayMs = 150, loops = 0): Uint8Array {
  checkFrames(frames, width, height, channels);
  checkDelay(delayMs);
  if (!(Number.isInteger(loops) && loops >= 0 && loops <= 65535)) throw new ConfigError('loops', `must be an integer in [0, 65535], got ${loops}`);
  const parts: Uint8Array[] = [];
  const header = new Uint8Array(13);
  header.set([0x47, 0x49, 0x46, 0x38, 0x39, 0x61]); // GIF89a
  const hv = new DataView(header.buffer);
  hv.setUint16(6, width, true);
  hv.setUint16(8, height, true);
  header[10] = 0x80 | (7 << 4) | 7; // global colour table of 2^(7+1) = 256 entries, 8-bit colour resolution
  parts.push(header, gifPalette(channels));
  // NETSCAPE2.0 application extension: loop count.
  parts.push(Uint8Array.of(0x21, 0xff, 0x0b, ...Array.from('NETSCAPE2.0', (ch) => ch.charCodeAt(0)), 0x03, 0x01, loops & 0xff, loops >> 8, 0x00));
  const delay = Math.round(delayMs / 10);
  for (const frame of frames) {
    parts.push(Uint8Array.of(0x21, 0xf9, 0x04, 0x04 /* dispose: do not dispose */, delay & 0xff, delay >> 8, 0x00, 0x00));
    const desc = new Uint8Array(10);
    desc[0] = 0x2c;
    const dv = new DataView(desc.buffer);
    dv.setUint16(5, width, true);
    dv.setUint16(7, height, true);
    parts.push(desc, Uint8Array.of(8));
    const lzw = lzwEncode(gifIndices(frame, channels));
    for (let i = 0; i < lzw.length; i += 255) {
      const block = lzw.subarray(i, Math.min(lzw.length, i + 255));
      parts.push(Uint8Array.of(block.length), block);
    }
    parts.push(Uint8Array.of(0));
  }
  parts.push(Uint8Array.of(0x3b));
  return Buffer.concat(parts);
}

/**
 * Reads a GIF written by `encodeGif` (global palette, full-canvas non-interlaced frames) back into
 * frames of palette colours: grey (1 channel) when every palette entry has R = G = B, else RGB.
 *
 * @throws DataError naming `name` for other GIFs or corrupt data.
 */
export function decodeGif(bytes: Uint8Array, name = 'GIF'): Animation {
  const sig = String.fromCharCode(...bytes.subarray(0, 6));
  if (sig !== 'GIF89a' && sig !== 'GIF87a') throw new DataError(`${name}: not a GIF (bad signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (pos: number, n: number): void => {
    if (pos + n > bytes.length) throw new DataError(`${name}: truncated GIF at byte ${pos}`);
  };
  need(0, 13);
  const width = view.getUint16(6, true);
  const height = view.getUint16(8, true);
  const flags = bytes[10]!;
  if (!(flags & 0x80)) throw new DataError(`${name}: no global colour table`);
  const palSize = 2 << (flags & 7);
  let pos = 13;
  need(pos, palSize * 3);
  const pal = bytes.subarray(pos, pos + palSize * 3);
  pos += palSize * 3;
  let grey = true;
  for (let i = 0; i < palSize; i++) if (pal[i * 3] !== pal[i * 3 + 1] || pal[i * 3] !== pal[i * 3 + 2]) grey = false;
  const channels: Channels = grey ? 1 : 3;
  const frames: Uint8Array[] = [];
  const delaysMs: number[] = [];
  let loops = 1;
  let delay = 0;
  const subBlocks = (): Uint8Array => {
    const chunks: Uint8Array[] = [];
    for (;;) {
      need(pos, 1);
      const n = bytes[pos++]!;
      if (n === 0) break;
      need(pos, n);
      chunks.push(bytes.subarray(pos, pos + n));
      pos += n;
    }
    return Buffer.concat(chunks);
  };
  for (;;) {
    need(pos, 1);
    const intro = bytes[pos++]!;
    if (intro === 0x3b) break;
    if (intro === 0x21) {
      need(pos, 1);
      const label = bytes[pos++]!;
      const body = subBlocks();
      if (label === 0xf9 && body.length >= 4) delay = (body[1]! | (body[2]! << 8)) * 10;
      else if (label === 0xff && body.length >= 14 && String.fromCharCode(...body.subarray(0, 11)) === 'NETSCAPE2.0') loops = body[12]! | (body[13]! << 8);
      continue;
    }
    if (intro !== 0x2c) throw new DataError(`${name}: unexpected block 0x${intro.toString(16)} at byte ${pos - 1}`);
    need(pos, 10);
    const fw = view.getUint16(pos + 4, true);
    const fh = view.getUint16(pos + 6, true);
    const fflags = bytes[pos + 8]!;
    pos += 9;
    if (fw !== width || fh !== height || view.getUint16(pos - 9, true) !== 0 || view.getUint16(pos - 7, true) !== 0) throw new DataError(`${name}: partial frames are not supported`);
    if (fflags & 0xc0) throw new DataError(`${name}: local palettes and interlacing are not supported`);
    const minSize = bytes[pos++]!;
    const idx = lzwDecode(subBlocks(), minSize, width * height, name);
    const frame = new Uint8Array(width * height * channels);
    for (let i = 0; i < idx.length; i++) {
      const p = idx[i]! * 3;
      if (channels === 1) frame[i] = pal[p]!;
      else frame.set(pal.subarray(p, p + 3), i * 3);
    }
    frames.push(frame);
    delaysMs.push(delay);
  }
  if (frames.length === 0) throw new DataError(`${name}: no frames`);
  return { width, height, channels, frames, delaysMs, loops };
}
