/**
 * Named tensors <-> bytes, for checkpoints (model, optimiser, EMA state) in SQLite blobs.
 *
 * New blobs are safetensors (main/models/safetensors.ts: an 8-byte header length, a JSON header,
 * the tensors' bytes), the format the PyTorch engine and every other tool reads, with the tfjs
 * names and layouts ('model/mlp/0/W' is [in, out], conv kernels [kh, kw, cin, cout]). A blob needs
 * no metadata: the checkpoint row's meta says what the tensors are.
 *
 * Blobs stored before that are "FST1", read here forever (stores and exported files keep them):
 *   "FST1" | u32 header length (LE) | JSON header | padding to 4 bytes | tensor data,
 *   header [{ name, dtype, shape, offset, bytes }], offsets relative to the data start.
 * decodeTensors tells the two apart by the first bytes: FST1 starts with its magic; a safetensors
 * file with a u64 header length whose header begins with '{'. Anything else is "not a Flow Studio
 * tensor file".
 */
import { tf, type Tensor } from '../../core/tf';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type SafeTensor } from './safetensors';

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

/** A tensor to store: a tfjs tensor, or one already read from a safetensors file. */
export type StorableTensor = Tensor | SafeTensor;

const isTf = (t: StorableTensor): t is Tensor => typeof (t as Tensor).dataSync === 'function';

/**
 * Serialises tensors (float32 or int32: tfjs tensors, or F32/I32 safetensors entries) by name as
 * safetensors. Reads each tfjs tensor once (dataSync). Tensors are ordered as the safetensors
 * library orders them (by dtype, then name), so a decode gives them back in that order, not in the
 * map's.
 */
export function encodeTensors(tensors: ReadonlyMap<string, StorableTensor>, inspect?: InspectTensor): Uint8Array {
  const entries = new Map<string, SafeTensor>();
  for (const [name, t] of tensors) {
    if (isTf(t)) {
      if (t.dtype !== 'float32' && t.dtype !== 'int32')
        throw new TensorFormatError(`${name}: dtype ${t.dtype} cannot be stored (float32 or int32 only)`);
      const data = t.dataSync() as Float32Array | Int32Array;
      inspect?.(name, data);
      entries.set(name, {
        dtype: t.dtype === 'float32' ? 'F32' : 'I32',
        shape: [...t.shape],
        bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      });
    } else {
      if (t.dtype !== 'F32' && t.dtype !== 'I32')
        throw new TensorFormatError(`${name}: dtype ${t.dtype} cannot be stored (F32 or I32 only)`);
      inspect?.(name, valuesOf(t));
      entries.set(name, t);
    }
  }
  return encodeSafetensors(entries);
}

/** An F32 or I32 entry's values as a typed array (a view when aligned, else a copy). */
function valuesOf(t: SafeTensor): Float32Array | Int32Array {
  const b = t.bytes.byteOffset % 4 === 0 ? t.bytes : new Uint8Array(t.bytes);
  return t.dtype === 'I32'
    ? new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4)
    : new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** The format of a blob, from its first bytes (module comment). */
export function tensorFormatOf(bytes: Uint8Array): 'safetensors' | 'fst1' | null {
  if (bytes.byteLength >= 8 && new TextDecoder().decode(bytes.subarray(0, 4)) === MAGIC) return 'fst1';
  if (bytes.byteLength >= 9) {
    const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
    if (n > 0n && n <= BigInt(bytes.byteLength - 8) && bytes[8] === 0x7b /* '{' */) return 'safetensors';
  }
  return null;
}

/**
 * Parses a blob made by encodeTensors (safetensors) or by an older release (FST1) into new tensors
 * (caller disposes). Validates every entry; only float32 and int32 tensors are accepted.
 * @throws TensorFormatError naming `what` and the defect
 */
export function decodeTensors(bytes: Uint8Array, what = 'checkpoint', inspect?: InspectTensor): Map<string, Tensor> {
  const entries = readTensorBlob(bytes, what, inspect);
  const out = new Map<string, Tensor>();
  for (const [name, t] of entries) out.set(name, tf.tensor(valuesOf(t), [...t.shape], t.dtype === 'I32' ? 'int32' : 'float32'));
  return out;
}

/**
 * The tensors of a blob (safetensors or FST1) as safetensors entries, F32 or I32 only, each with
 * bytes of its own; no tfjs involved. `inspect` sees every tensor's values.
 * @throws TensorFormatError naming `what` and the defect
 */
export function readTensorBlob(bytes: Uint8Array, what = 'checkpoint', inspect?: InspectTensor): Map<string, SafeTensor> {
  const format = tensorFormatOf(bytes);
  if (format === 'fst1') return readFst1(bytes, what, inspect);
  if (format === null) throw new TensorFormatError(`${what}: not a Flow Studio tensor file`);
  let file;
  try {
    file = decodeSafetensors(bytes, what);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new TensorFormatError(e.message);
    throw e;
  }
  for (const [name, t] of file.tensors) {
    if (t.dtype !== 'F32' && t.dtype !== 'I32')
      throw new TensorFormatError(`${what}: tensor '${name}' has dtype ${t.dtype}; checkpoints hold F32 or I32 tensors`);
    inspect?.(name, valuesOf(t));
  }
  return file.tensors;
}

/** An FST1 blob (module comment) as safetensors entries. */
function readFst1(bytes: Uint8Array, what: string, inspect?: InspectTensor): Map<string, SafeTensor> {
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
  const out = new Map<string, SafeTensor>();
  entries.forEach((e, i) => checkEntry(e, i, what));
  for (const e of entries) {
    if (out.has(e.name)) throw new TensorFormatError(`${what}: tensor '${e.name}' appears twice`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (e.bytes !== count * 4 || dataStart + e.offset + e.bytes > bytes.byteLength || e.offset % 4 !== 0)
      throw new TensorFormatError(`${what}: entry '${e.name}' (shape [${e.shape.join(', ')}]) does not fit the data`);
    // Copy into a fresh, aligned buffer: the blob from SQLite may start at any byte offset. Not
    // bytes.slice(): better-sqlite3 returns Buffers, whose slice() is a view into a shared pool.
    const t: SafeTensor = {
      dtype: e.dtype === 'int32' ? 'I32' : 'F32',
      shape: e.shape,
      bytes: new Uint8Array(bytes.subarray(dataStart + e.offset, dataStart + e.offset + e.bytes)),
    };
    inspect?.(e.name, valuesOf(t));
    out.set(e.name, t);
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
