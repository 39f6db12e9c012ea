// The tfjs-backend-wasm internals core/kernels/wasm-backend.ts relies on, each checked on the real
// backend against tfjs's public API (dataSync, tf.memory). If a tfjs upgrade changes one, the test
// naming it fails: fix the adapter (one file) before anything else.
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import {
  checkWasmBackend,
  f32View,
  HeapScratch,
  i32View,
  offsetOf,
  perBackend,
  wasmBackendProblems,
  WASM_BACKEND_VERSION,
} from '../../../core/kernels/wasm-backend';

const onWasm = tf.getBackend() === 'wasm';

describe.runIf(onWasm)('tfjs-backend-wasm internals (core/kernels/wasm-backend.ts)', () => {
  const backend = (): ReturnType<typeof checkWasmBackend> => checkWasmBackend(tf.backend());

  it(`is the version the adapter was written for, with every internal present (${WASM_BACKEND_VERSION})`, async () => {
    const { version_wasm } = await import('@tensorflow/tfjs-backend-wasm');
    expect(wasmBackendProblems(tf.backend())).toEqual([]);
    // A different version may still work: this line says which one the checks below were written for.
    expect(version_wasm, 'tfjs-backend-wasm was upgraded: run this file, then update WASM_BACKEND_VERSION').toBe(WASM_BACKEND_VERSION);
  });

  it("dataIdMap(...).memoryOffset and wasm.asm.memory: a tensor's values are at that offset of the heap", () => {
    const b = backend();
    const x = tf.tensor([1.5, -2, 3.25, 1e-30, -7], [5]);
    const k = tf.tensor([3, -1, 2147483647], [3], 'int32');
    expect(Array.from(f32View(b, x))).toEqual(Array.from(x.dataSync()));
    expect(Array.from(i32View(b, k))).toEqual([3, -1, 2147483647]);
    expect(offsetOf(b, x) % 4).toBe(0);
    tf.dispose([x, k]);
  });

  it('makeOutput: allocates a tensor on the heap that a kernel writes and tfjs then reads', () => {
    const b = backend();
    const info = b.makeOutput([2, 3], 'float32');
    expect(info.shape).toEqual([2, 3]);
    expect(info.dtype).toBe('float32');
    f32View(b, info).set([1, 2, 3, 4, 5, 6]);
    const t = tf.engine().makeTensorFromTensorInfo(info);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    t.dispose();
  });

  it('wasm._malloc / _free: heap memory that does not overlap live tensors, reusable after free', () => {
    const b = backend();
    const x = tf.tensor([1, 2, 3, 4], [4]);
    const p = b.wasm._malloc(1024);
    expect(p).toBeGreaterThan(0);
    const heap = new Float32Array(b.wasm.asm.memory.buffer);
    heap.fill(42, p >> 2, (p + 1024) >> 2);
    expect(Array.from(x.dataSync())).toEqual([1, 2, 3, 4]);
    b.wasm._free(p);
    x.dispose();
  });

  it("incRef: one more reference keeps a tensor's data alive after its tensor is disposed", () => {
    const b = backend();
    const x = tf.tensor([5, 6, 7], [3]);
    const buffers = tf.memory().numDataBuffers;
    b.incRef(x.dataId);
    const info = { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    const y = tf.engine().makeTensorFromTensorInfo(info);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([5, 6, 7]);
    expect(tf.memory().numDataBuffers).toBe(buffers);
    y.dispose();
    expect(tf.memory().numDataBuffers).toBe(buffers - 1);
  });

  it('HeapScratch grows and stays 16-byte aligned; perBackend makes one value per backend object', () => {
    const b = backend();
    const s = new HeapScratch();
    const p1 = s.at(b, 100);
    expect(p1 % 16).toBe(0);
    expect(s.at(b, 50)).toBe(p1); // big enough: kept
    const p2 = s.at(b, 1 << 20);
    expect(p2 % 16).toBe(0);
    let made = 0;
    const f = perBackend(() => ++made);
    expect([f(b), f(b)]).toEqual([1, 1]);
  });
});

describe('checkWasmBackend', () => {
  it('names each missing internal and the version it was written for', () => {
    const fake = { wasm: { asm: { memory: { buffer: new ArrayBuffer(8) } }, _malloc: () => 8 }, dataIdMap: {}, makeOutput: () => null };
    expect(wasmBackendProblems(fake)).toEqual([
      'backend.wasm._free is not a function',
      'backend.dataIdMap.get is not a function',
      'backend.incRef is not a function',
    ]);
    expect(() => checkWasmBackend(fake)).toThrow(
      `written for tfjs-backend-wasm ${WASM_BACKEND_VERSION}): backend.wasm._free is not a function`,
    );
    expect(wasmBackendProblems({})).toContain('backend.wasm.asm.memory.buffer (the heap) is not an ArrayBuffer');
    expect(wasmBackendProblems(null)).toEqual(['the backend is not an object']);
  });
});
