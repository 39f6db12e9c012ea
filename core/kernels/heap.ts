/**
 * Reading tensors of the tfjs wasm backend straight from its heap.
 */
import type { Tensor } from '../tf';
import { currentWasmBackend } from './wasm-backend';

/**
 * Copies the float32 values of `t` into `out` from `offset` on. On the wasm backend this is one copy
 * out of the heap; `dataSync` would first copy into a fresh array (then `set` copies again).
 */
export function readInto(t: Tensor, out: Float32Array, offset = 0): void {
  if (t.dtype !== 'float32') throw new Error(`readInto: float32 tensors only, got ${t.dtype}`);
  const be = currentWasmBackend();
  const info = be?.dataIdMap.get(t.dataId);
  if (be && info && info.memoryOffset !== null) {
    out.set(new Float32Array(be.wasm.asm.memory.buffer, info.memoryOffset, t.size), offset);
  } else {
    out.set(t.dataSync() as Float32Array, offset);
  }
}
