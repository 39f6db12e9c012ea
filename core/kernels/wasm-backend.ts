/**
 * The one adapter onto tfjs-backend-wasm's internals: a typed view of its backend object, for the
 * kernels of core/kernels and core/model/unet-kernels.ts, which read and write tensors in place on
 * the backend's heap and run our own WebAssembly modules over that same memory.
 *
 * What it relies on, as of @tensorflow/tfjs-backend-wasm 4.22.0 (dist/backend_wasm.d.ts and the
 * Emscripten glue in wasm-out/): none of it is public API, so test/core/kernels/wasm-backend.test.ts
 * checks each item on the real backend and fails, naming the item, when an upgrade changes it.
 *
 *   backend.wasm.asm.memory     the WebAssembly.Memory of the heap (Emscripten keeps the module's raw
 *                               exports as Module.asm). Its buffer is replaced when the heap grows,
 *                               so views on it are made after every allocation.
 *   backend.wasm._malloc(n)     Emscripten's allocator on that heap: byte offset of n bytes (0 when
 *   backend.wasm._free(p)       it fails), and its release.
 *   backend.dataIdMap.get(id)   the record of a tensor's data; .memoryOffset is the byte offset of its
 *                               values on the heap (float32 and int32: 4 bytes a value, row-major).
 *   backend.makeOutput(s, d)    a new tensor's TensorInfo of shape s, dtype d, its values allocated on
 *                               the heap (uninitialised): a kernel writes them and returns the info.
 *   backend.incRef(id)          one more reference to a tensor's data (the shared Identity).
 *
 * Kernels receive the backend as `args.backend` (public tfjs kernel API) and view it through
 * `asWasmBackend`, a cast with no checks (it runs on every kernel call); `checkWasmBackend` is the
 * full check, run once by registerFlowKernels (core/kernels/register.ts) when the backend is chosen.
 */
import { tf } from '../tf';
import type { WasmMemory } from './wasm-asm';

/** The tfjs-backend-wasm version whose internals this adapter was written against. */
export const WASM_BACKEND_VERSION = '4.22.0';

/** The parts of tfjs-backend-wasm's BackendWasm that the kernels use (see the file comment). */
export interface WasmBackend {
  wasm: {
    asm: { memory: WasmMemory };
    _malloc(bytes: number): number;
    _free(ptr: number): void;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): tf.TensorInfo;
  incRef(dataId: object): void;
}

/** What tfjs passes a kernel function. */
export interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: unknown;
}

/** A kernel function of ours for the wasm backend. */
export type WasmKernelFunc = (args: WasmKernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** The backend a kernel was called with, typed (no checks: see checkWasmBackend). */
export function asWasmBackend(backend: unknown): WasmBackend {
  return backend as WasmBackend;
}

/**
 * The internals this adapter needs that `backend` lacks, one line each (empty when all are there).
 * Structural only; test/core/kernels/wasm-backend.test.ts also checks what each one does.
 */
export function wasmBackendProblems(backend: unknown): string[] {
  const problems: string[] = [];
  const b = backend as Partial<Record<string, unknown>> | null;
  if (!b || typeof b !== 'object') return ['the backend is not an object'];
  const wasm = b.wasm as Partial<Record<string, unknown>> | undefined;
  const asm = wasm?.asm as Partial<Record<string, unknown>> | undefined;
  const memory = asm?.memory as Partial<WasmMemory> | undefined;
  if (!(memory?.buffer instanceof ArrayBuffer)) problems.push('backend.wasm.asm.memory.buffer (the heap) is not an ArrayBuffer');
  if (typeof wasm?._malloc !== 'function') problems.push('backend.wasm._malloc is not a function');
  if (typeof wasm?._free !== 'function') problems.push('backend.wasm._free is not a function');
  if (typeof (b.dataIdMap as { get?: unknown } | undefined)?.get !== 'function') problems.push('backend.dataIdMap.get is not a function');
  if (typeof b.makeOutput !== 'function') problems.push('backend.makeOutput is not a function');
  if (typeof b.incRef !== 'function') problems.push('backend.incRef is not a function');
  return problems;
}

/**
 * `backend` as a WasmBackend after checking every internal the kernels use; throws naming the ones
 * missing (a tfjs-backend-wasm upgrade that changed them) and the version this was written for.
 */
export function checkWasmBackend(backend: unknown): WasmBackend {
  const problems = wasmBackendProblems(backend);
  if (problems.length > 0) {
    throw new Error(
      `the tfjs wasm backend does not have the internals core/kernels/wasm-backend.ts relies on (written for tfjs-backend-wasm ${WASM_BACKEND_VERSION}): ${problems.join('; ')}`,
    );
  }
  return backend as WasmBackend;
}

/** The wasm backend when it is the current one (its heap holds the tensors), else null. */
export function currentWasmBackend(): WasmBackend | null {
  return tf.getBackend() === 'wasm' ? asWasmBackend(tf.backend()) : null;
}

/** The heap's memory (its buffer changes when the heap grows). */
export function heapMemory(b: WasmBackend): WasmMemory {
  return b.wasm.asm.memory;
}

/** Byte offset of a tensor's values on the heap. */
export function offsetOf(b: WasmBackend, t: tf.TensorInfo): number {
  const d = b.dataIdMap.get(t.dataId);
  if (!d) throw new Error(`wasm backend: tensor of shape [${t.shape}] has no data on this backend (disposed, or on another backend)`);
  return d.memoryOffset;
}

/** Number of values of a tensor (the product of its shape). */
export function sizeOf(t: tf.TensorInfo): number {
  return t.shape.reduce((a, c) => a * c, 1);
}

/** A float32 view of a tensor's values on the heap (make it after every allocation: the heap may grow). */
export function f32View(b: WasmBackend, t: tf.TensorInfo): Float32Array {
  return new Float32Array(b.wasm.asm.memory.buffer, offsetOf(b, t), sizeOf(t));
}

/** An int32 view of a tensor's values on the heap (same rule as f32View). */
export function i32View(b: WasmBackend, t: tf.TensorInfo): Int32Array {
  return new Int32Array(b.wasm.asm.memory.buffer, offsetOf(b, t), sizeOf(t));
}

/**
 * A value made once per backend object and kept as long as it lives (an instance of one of our
 * modules over its heap, a GEMM with its scratch): `const gemmFor = perBackend((b) => new Gemm(...))`.
 */
export function perBackend<T>(make: (b: WasmBackend) => T): (b: WasmBackend) => T {
  const made = new WeakMap<WasmBackend, T>();
  return (b) => {
    let v = made.get(b);
    if (v === undefined) {
      v = make(b);
      made.set(b, v);
    }
    return v;
  };
}

/** Scratch memory of one kernel on the heap: allocated on first use, grown (at least doubled) as needed, kept. */
export class HeapScratch {
  private ptr = 0;
  private bytes = 0;

  /** Byte offset of at least `bytes` bytes, 16-byte aligned (the contents are not kept across growth). */
  at(b: WasmBackend, bytes: number): number {
    if (bytes > this.bytes) {
      if (this.ptr) b.wasm._free(this.ptr);
      this.bytes = Math.max(bytes, 2 * this.bytes);
      this.ptr = b.wasm._malloc(this.bytes + 16);
      if (!this.ptr) throw new Error(`could not allocate ${this.bytes} bytes of kernel scratch on the wasm heap`);
    }
    return (this.ptr + 15) & ~15;
  }
}
