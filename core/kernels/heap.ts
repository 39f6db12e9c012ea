/**
 * Reading tensors of the tfjs wasm backend straight from its heap.
 */
import { tf, type Tensor } from '../tf';
import type { WasmMemory } from './wasm-asm';

interface WasmBackendLike {
  wasm?: { asm?: { memory?: WasmMemory } };
  dataIdMap?: { get(id: object): { memoryOffset: number | null } | undefined };
}

/**
 * Copies the float32 values of `t` into `out` from `offset` on. On the wasm backend this is one copy
 * out of the heap; `dataSync` would first copy into a fresh array (then `set` copies again).
 */
export function readInto(t: Tensor, out: Float32Array, offset = 0): void {
  if (t.dtype !== 'float32') throw new Error(`readInto: float32 tensors only, got ${t.dtype}`);
  const be = tf.backend() as unknown as WasmBackendLike;
  const mem = be.wasm?.asm?.memory;
  const info = be.dataIdMap?.get(t.dataId);
  if (mem && info && info.memoryOffset !== null && tf.getBackend() === 'wasm') {
    out.set(new Float32Array(mem.buffer, info.memoryOffset, t.size), offset);
  } else {
    out.set(t.dataSync() as Float32Array, offset);
  }
}
