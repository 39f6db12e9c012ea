/**
 * safetensors files: the weights format the studio and the PyTorch engine (python/flow_studio_torch)
 * share. Checkpoints and exported models written by either side are read by the other unchanged.
 *
 * Format (github.com/huggingface/safetensors, README "Format"):
 *   - 8 bytes: N, the header length, unsigned 64-bit little-endian;
 *   - N bytes: UTF-8 JSON beginning with `{`, optionally padded with spaces (0x20):
 *       { "__metadata__": { string: string }, NAME: { "dtype": "F32", "shape": [..], "data_offsets": [BEGIN, END] }, ... }
 *   - the byte buffer: each tensor's bytes (little-endian, row-major) at [BEGIN, END) relative to the
 *     buffer's start. The tensors cover the buffer exactly: no holes, no overlaps, nothing after.
 *
 * The writer serialises as the reference library does (so both give the same bytes; checked in
 * test/main/models/safetensors.test.ts against files the Python library writes): tensors sorted by
 * dtype alignment (largest first), then by name (bytewise UTF-8); compact JSON with `__metadata__`
 * first; the header padded with spaces to a multiple of 8 bytes, so the data start 8-aligned.
 * The library keeps `__metadata__` in a hash map, whose key order varies, so files are
 * byte-identical with at most one metadata key; Flow Studio's files use one, `flow_studio`
 * (FLOW_STUDIO_METADATA_KEY), holding a JSON string.
 *
 * The reader accepts any valid file (any padding, any metadata) and refuses a malformed one with a
 * SafetensorsError naming the defect: truncated, header not JSON, a bad dtype, a shape that does
 * not fit its offsets, overlapping or missing bytes, trailing bytes.
 *
 * Why hand-written: no npm package maintains this format (checked); it is small and fully specified.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tf, type Tensor } from '../../core/tf';
import { FlowStudioError } from '../../core/errors';

/** A malformed or unusable safetensors file; the message names the file and the defect. */
export class SafetensorsError extends FlowStudioError {}

/** The one metadata key of Flow Studio's files: a JSON object (format, modelConfig, step, ...). */
export const FLOW_STUDIO_METADATA_KEY = 'flow_studio';

/** The library's limit on the header length. */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * Bytes per element and rank in the library's Dtype enum, which is declared in increasing
 * alignment order and decides the order of tensors in a file.
 */
const DTYPES = {
  BOOL: { size: 1, rank: 0 },
  U8: { size: 1, rank: 4 },
  I8: { size: 1, rank: 5 },
  I16: { size: 2, rank: 11 },
  U16: { size: 2, rank: 12 },
  F16: { size: 2, rank: 13 },
  BF16: { size: 2, rank: 14 },
  I32: { size: 4, rank: 15 },
  U32: { size: 4, rank: 16 },
  F32: { size: 4, rank: 17 },
  F64: { size: 8, rank: 19 },
  I64: { size: 8, rank: 20 },
  U64: { size: 8, rank: 21 },
} as const;

export type SafetensorsDtype = keyof typeof DTYPES;
export const SAFETENSORS_DTYPES = Object.keys(DTYPES) as SafetensorsDtype[];

/** Valid in the format but not decoded here (sub-byte and 8-bit floats, complex). */
const KNOWN_UNSUPPORTED = new Set(['F4', 'F6_E2M3', 'F6_E3M2', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'C64']);

/** One stored tensor: its dtype, shape and raw little-endian bytes (row-major). */
export interface SafeTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** A decoded file: tensors in file order and the metadata (null when the file has none). */
export interface SafetensorsFile {
  readonly tensors: Map<string, SafeTensor>;
  readonly metadata: Record<string, string> | null;
}

const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A float32 tensor of `shape` holding `data` (copied). */
export function float32Tensor(shape: readonly number[], data: ArrayLike<number>): SafeTensor {
  const arr = Float32Array.from(data);
  checkCount(shape, arr.length, 'float32Tensor');
  return { dtype: 'F32', shape: [...shape], bytes: new Uint8Array(arr.buffer) };
}

/** An int32 tensor of `shape` holding `data` (copied). */
export function int32Tensor(shape: readonly number[], data: ArrayLike<number>): SafeTensor {
  const arr = Int32Array.from(data);
  checkCount(shape, arr.length, 'int32Tensor');
  return { dtype: 'I32', shape: [...shape], bytes: new Uint8Array(arr.buffer) };
}

function checkCount(shape: readonly number[], n: number, what: string): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new SafetensorsError(`${what}: shape must be integers >= 0, got [${shape.join(', ')}]`);
  if (elementCount(shape) !== n)
    throw new SafetensorsError(`${what}: shape [${shape.join(', ')}] needs ${elementCount(shape)} values, got ${n}`);
}

/** The values of an F32 tensor (a copy, so the view is aligned). */
export function toFloat32(t: SafeTensor, name = 'tensor'): Float32Array {
  if (t.dtype !== 'F32') throw new SafetensorsError(`${name}: expected dtype F32, got ${t.dtype}`);
  return new Float32Array(new Uint8Array(t.bytes).buffer);
}

/** The values of an I32 tensor (a copy). */
export function toInt32(t: SafeTensor, name = 'tensor'): Int32Array {
  if (t.dtype !== 'I32') throw new SafetensorsError(`${name}: expected dtype I32, got ${t.dtype}`);
  return new Int32Array(new Uint8Array(t.bytes).buffer);
}

/** Bytewise comparison of UTF-8 encodings (Rust's String order, which the library sorts by). */
function compareUtf8(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

/**
 * The bytes of a safetensors file holding `tensors` and optional string metadata.
 *
 * @throws SafetensorsError for an unknown dtype, bytes that do not fit the shape, an empty or
 *   reserved name, or a non-string metadata value.
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafeTensor> | Readonly<Record<string, SafeTensor>>,
  metadata?: Readonly<Record<string, string>> | null,
): Uint8Array {
  const entries: [string, SafeTensor][] =
    tensors instanceof Map
      ? [...(tensors as ReadonlyMap<string, SafeTensor>).entries()]
      : Object.entries(tensors as Record<string, SafeTensor>);
  for (const [name, t] of entries) {
    if (name === '' || name === '__metadata__') throw new SafetensorsError(`invalid tensor name '${name}'`);
    const info = DTYPES[t.dtype as SafetensorsDtype];
    if (!info)
      throw new SafetensorsError(`tensor '${name}': unknown dtype ${JSON.stringify(t.dtype)}; one of ${SAFETENSORS_DTYPES.join(', ')}`);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new SafetensorsError(`tensor '${name}': shape must be integers >= 0, got [${t.shape.join(', ')}]`);
    const need = elementCount(t.shape) * info.size;
    if (t.bytes.byteLength !== need) {
      throw new SafetensorsError(
        `tensor '${name}': dtype ${t.dtype} shape [${t.shape.join(', ')}] needs ${need} bytes, got ${t.bytes.byteLength}`,
      );
    }
  }
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`__metadata__ values must be strings; '${k}' is ${typeof v}`);
    }
  }
  entries.sort(([na, a], [nb, b]) => DTYPES[b.dtype].rank - DTYPES[a.dtype].rank || compareUtf8(na, nb));
  const head: Record<string, unknown> = {};
  if (metadata) {
    const sorted: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort(compareUtf8)) sorted[k] = metadata[k]!;
    head.__metadata__ = sorted;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    head[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
  }
  const json = Buffer.from(JSON.stringify(head), 'utf8');
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + padded);
  let at = 8 + padded;
  for (const [, t] of entries) {
    out.set(t.bytes, at);
    at += t.bytes.byteLength;
  }
  return out;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Parses a safetensors file. Tensor bytes are copied (the result does not keep `bytes` alive).
 *
 * @param what names the file in error messages.
 * @throws SafetensorsError naming the defect (see the module comment).
 */
export function decodeSafetensors(bytes: Uint8Array, what = 'safetensors data'): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${what}: ${msg}`);
  };
  if (bytes.byteLength < 8) fail(`truncated: a safetensors file starts with an 8-byte header length, got ${bytes.byteLength} bytes`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n64} exceeds the limit of ${MAX_HEADER_BYTES} bytes (not a safetensors file?)`);
  const n = Number(n64);
  if (8 + n > bytes.byteLength) fail(`truncated: the header length is ${n} bytes but only ${bytes.byteLength - 8} follow`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('the header is not UTF-8');
  }
  if (!text.startsWith('{')) fail("the header must begin with '{'");
  let head: unknown;
  try {
    head = JSON.parse(text);
  } catch (e) {
    return fail(`the header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof head !== 'object' || head === null || Array.isArray(head)) return fail('the header must be a JSON object');
  const obj = head as Record<string, unknown>;
  let metadata: Record<string, string> | null = null;
  if ('__metadata__' in obj) {
    const m = obj.__metadata__;
    if (typeof m !== 'object' || m === null || Array.isArray(m) || !Object.values(m).every((v) => typeof v === 'string')) {
      fail('__metadata__ must be an object of string values');
    }
    metadata = { ...(m as Record<string, string>) };
  }
  interface Entry {
    name: string;
    dtype: SafetensorsDtype;
    shape: number[];
    begin: number;
    end: number;
  }
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(obj)) {
    if (name === '__metadata__') continue;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      fail(`tensor '${name}': entry must be an object with dtype, shape, data_offsets`);
    const e = raw as Record<string, unknown>;
    const dtype = e.dtype;
    if (typeof dtype === 'string' && KNOWN_UNSUPPORTED.has(dtype))
      fail(`tensor '${name}': dtype ${dtype} is valid safetensors but not supported here`);
    if (typeof dtype !== 'string' || !(dtype in DTYPES))
      fail(`tensor '${name}': unknown dtype ${JSON.stringify(dtype)}; one of ${SAFETENSORS_DTYPES.join(', ')}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every(isCount))
      fail(`tensor '${name}': shape must be a list of integers >= 0, got ${JSON.stringify(shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount) || (off[1] as number) < (off[0] as number)) {
      fail(`tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    const need = elementCount(shape as number[]) * DTYPES[dtype as SafetensorsDtype].size;
    if (end - begin !== need) {
      fail(
        `tensor '${name}': dtype ${dtype as string} shape [${(shape as number[]).join(', ')}] needs ${need} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev = '';
  for (const e of entries) {
    if (e.begin < at) fail(`tensor '${e.name}' overlaps tensor '${prev}' (data_offsets start at ${e.begin}, '${prev}' ends at ${at})`);
    if (e.begin > at) fail(`bytes [${at}, ${e.begin}) of the buffer belong to no tensor (before '${e.name}')`);
    at = e.end;
    prev = e.name;
  }
  const start = 8 + n;
  const bufferLen = bytes.byteLength - start;
  if (at > bufferLen) fail(`truncated: the tensors need ${at} bytes of data, the file holds ${bufferLen}`);
  if (at < bufferLen) fail(`${bufferLen - at} bytes after the last tensor belong to no tensor`);
  const tensors = new Map<string, SafeTensor>();
  // A copy into a buffer of its own (aligned, and not a view into a pool: a Buffer's slice() is a view).
  for (const e of entries)
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: new Uint8Array(bytes.subarray(start + e.begin, start + e.end)) });
  return { tensors, metadata };
}

/** Reads and decodes a file (SafetensorsError names the path). */
export async function readSafetensorsFile(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new SafetensorsError(`${path}: cannot read (${e instanceof Error ? e.message : String(e)})`);
  }
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/**
 * Writes a file atomically: to a temporary name in the same folder, then renamed over `path`, so a
 * reader never sees a partial file and an existing file survives a failed write.
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: ReadonlyMap<string, SafeTensor> | Readonly<Record<string, SafeTensor>>,
  metadata?: Readonly<Record<string, string>> | null,
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** tfjs tensors (float32, int32 or bool) as safetensors entries, by name. Reads each tensor once. */
export function fromTfTensors(tensors: ReadonlyMap<string, Tensor>): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  for (const [name, t] of tensors) {
    const data = t.dataSync();
    if (t.dtype === 'float32') out.set(name, float32Tensor(t.shape, data));
    else if (t.dtype === 'int32') out.set(name, int32Tensor(t.shape, data));
    else if (t.dtype === 'bool') out.set(name, { dtype: 'BOOL', shape: [...t.shape], bytes: Uint8Array.from(data as ArrayLike<number>) });
    else throw new SafetensorsError(`tensor '${name}': tfjs dtype ${t.dtype} cannot be stored`);
  }
  return out;
}

/**
 * Safetensors entries as new tfjs tensors (the caller disposes them): F32 -> float32, I32 -> int32,
 * BOOL -> bool. Other dtypes throw a SafetensorsError naming the tensor (tfjs has no such dtype;
 * convert them explicitly if ever needed).
 */
export function toTfTensors(tensors: ReadonlyMap<string, SafeTensor>, what = 'safetensors file'): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  try {
    for (const [name, t] of tensors) {
      if (t.dtype === 'F32') out.set(name, tf.tensor(toFloat32(t, name), [...t.shape], 'float32'));
      else if (t.dtype === 'I32') out.set(name, tf.tensor(toInt32(t, name), [...t.shape], 'int32'));
      else if (t.dtype === 'BOOL') out.set(name, tf.tensor(Uint8Array.from(t.bytes), [...t.shape], 'bool'));
      else throw new SafetensorsError(`${what}: tensor '${name}' has dtype ${t.dtype}; tfjs takes F32, I32 or BOOL`);
    }
  } catch (e) {
    tf.dispose([...out.values()]);
    throw e;
  }
  return out;
}

/** The JSON object under FLOW_STUDIO_METADATA_KEY, or null when the file has none. */
export function flowStudioMetadata(file: SafetensorsFile, what = 'safetensors file'): Record<string, unknown> | null {
  const raw = file.metadata?.[FLOW_STUDIO_METADATA_KEY];
  if (raw === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new SafetensorsError(`${what}: __metadata__.${FLOW_STUDIO_METADATA_KEY} is not valid JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new SafetensorsError(`${what}: __metadata__.${FLOW_STUDIO_METADATA_KEY} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** Images (or points) handed to the PyTorch engine: what main/data's loaders return. */
export interface DataArrays {
  /** Row-major values: [count, height, width, channels] images in [-1, 1] (NHWC), or [count, dim] points. */
  readonly images: Float32Array;
  readonly count: number;
  /** Per-sample shape: [height, width, channels] for images, [dim] for points. */
  readonly shape: readonly number[];
  /** One class per row in [0, numClasses), or null for unlabelled data. */
  readonly labels: Int32Array | null;
  readonly numClasses: number;
  readonly classNames?: readonly string[];
}

/**
 * The data file of a PyTorch job (docs/pytorch-engine.md): `x` float32 [count, ...shape], `labels`
 * int32 [count] when labelled, and metadata `flow_studio` = {numClasses, classNames}.
 *
 * @example
 *   const ds = await loadImageData(config.data);
 *   await writeDataFile(join(dir, 'data.safetensors'), { ...ds, shape: [ds.height, ds.width, ds.channels] });
 */
export async function writeDataFile(path: string, d: DataArrays): Promise<void> {
  const tensors = new Map<string, SafeTensor>([['x', float32Tensor([d.count, ...d.shape], d.images)]]);
  if (d.labels) {
    if (d.labels.length !== d.count) throw new SafetensorsError(`labels: one per row (${d.count}) needed, got ${d.labels.length}`);
    tensors.set('labels', int32Tensor([d.count], d.labels));
  }
  const meta = { numClasses: d.numClasses, ...(d.classNames ? { classNames: [...d.classNames] } : {}) };
  await writeSafetensorsFile(path, tensors, { [FLOW_STUDIO_METADATA_KEY]: JSON.stringify(meta) });
}
