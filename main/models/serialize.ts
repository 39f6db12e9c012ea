/**
 * Named tensors <-> bytes, for checkpoints (model, optimiser, EMA state) in SQLite blobs.
 *
 * Layout: "FST1" | u32 header length (LE) | JSON header | padding to 4 bytes | tensor data.
 * Header: [{ name, dtype, shape, offset, bytes }]; offsets are relative to the data start and 4-byte
 * aligned, so float32/int32 views can be made without copying. Little-endian, as every platform
 * Electron runs on.
 *
 * Why not safetensors (main/models/safetensors.ts, the format shared with the PyTorch engine): every
 * checkpoint blob already stored and the shipped weights.fst files are in this layout, so this reader
 * stays in any case; moving new blobs to safetensors would be a store migration of its own.
 */
import { tf, type Tensor } from '../../core/tf';

const MAGIC = 'FST1';

export class TensorFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TensorFormatError';
  }
}

interface Entry {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  offset: number;
  bytes: number;
}

/**
 * Sees each tensor's values as they are encoded or decoded (e.g. to refuse NaN); throwing from it
 * stops the encoding or decoding (decoded tensors made so far are disposed).
 */
export type InspectTensor = (name: string, values: Float32Array | Int32Array) => void;

/** Serialises tensors (float32 or int32) by name. Reads each tensor once (dataSync). */
export function encodeTensors(tensors: ReadonlyMap<string, Tensor>, inspect?: InspectTensor): Uint8Array {
  const entries: Entry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32')
      throw new TensorFormatError(`${name}: dtype ${t.dtype} cannot be stored (float32 or int32 only)`);
    const data = t.dataSync() as Float32Array | Int32Array;
    inspect?.(name, data);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], offset, bytes: bytes.byteLength });
    parts.push(bytes);
    offset += bytes.byteLength; // multiples of 4 already
  }
  const header = new TextEncoder().encode(JSON.stringify(entries));
  const headerPadded = (header.byteLength + 3) & ~3;
  const out = new Uint8Array(8 + headerPadded + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(4, header.byteLength, true);
  out.set(header, 8);
  let at = 8 + headerPadded;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Parses bytes made by encodeTensors into new tensors (caller disposes). Validates every entry. */
export function decodeTensors(bytes: Uint8Array, what = 'checkpoint', inspect?: InspectTensor): Map<string, Tensor> {
  if (bytes.byteLength < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC)
    throw new TensorFormatError(`${what}: not a Flow Studio tensor file`);
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + headerLen > bytes.byteLength) throw new TensorFormatError(`${what}: header length ${headerLen} exceeds the data`);
  let entries: Entry[];
  try {
    entries = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Entry[];
  } catch {
    throw new TensorFormatError(`${what}: unreadable header`);
  }
  if (!Array.isArray(entries)) throw new TensorFormatError(`${what}: header is not a list of tensors`);
  const dataStart = 8 + ((headerLen + 3) & ~3);
  const out = new Map<string, Tensor>();
  try {
    entries.forEach((e, i) => checkEntry(e, i, what));
    for (const e of entries) {
      if (out.has(e.name)) throw new TensorFormatError(`${what}: tensor '${e.name}' appears twice`);
      const count = e.shape.reduce((a, b) => a * b, 1);
      if (e.bytes !== count * 4 || dataStart + e.offset + e.bytes > bytes.byteLength || e.offset % 4 !== 0)
        throw new TensorFormatError(`${what}: entry '${e.name}' (shape [${e.shape.join(', ')}]) does not fit the data`);
      // Copy into a fresh, aligned buffer: the blob from SQLite may start at any byte offset. Not
      // bytes.slice(): better-sqlite3 returns Buffers, whose slice() is a view into a shared pool.
      const copy = new Uint8Array(bytes.subarray(dataStart + e.offset, dataStart + e.offset + e.bytes));
      const view = e.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
      inspect?.(e.name, view);
      out.set(e.name, tf.tensor(view, e.shape, e.dtype));
    }
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * The header is JSON from a file: check each entry's fields before using them, so a damaged header
 * fails here with the entry and field named instead of deeper in tfjs (or, for an unknown dtype,
 * not at all: the bytes would silently be read as float32).
 */
function checkEntry(e: unknown, i: number, what: string): asserts e is Entry {
  if (typeof e !== 'object' || e === null) throw new TensorFormatError(`${what}: header entry ${i} is not an object`);
  const r = e as Record<string, unknown>;
  const label = typeof r.name === 'string' && r.name !== '' ? ` ('${r.name}')` : '';
  const bad = (field: string, detail: string): never => {
    throw new TensorFormatError(`${what}: header entry ${i}${label}: ${field} ${detail}`);
  };
  if (typeof r.name !== 'string' || r.name === '') bad('name', 'must be a non-empty string');
  if (r.dtype !== 'float32' && r.dtype !== 'int32') bad('dtype', `must be float32 or int32, got ${JSON.stringify(r.dtype)}`);
  if (!Array.isArray(r.shape) || !r.shape.every(isCount)) bad('shape', `must be a list of integers >= 0, got ${JSON.stringify(r.shape)}`);
  if (!isCount(r.offset)) bad('offset', `must be an integer >= 0, got ${JSON.stringify(r.offset)}`);
  if (!isCount(r.bytes)) bad('bytes', `must be an integer >= 0, got ${JSON.stringify(r.bytes)}`);
}
