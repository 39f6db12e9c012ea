// The WebAssembly GEMM (core/kernels) against a float64 reference product: every transpose
// combination, shapes that are not multiples of the register tile or the blocks, bias, accumulation
// over several depth blocks, batched operands; on its own memory and as the tfjs wasm kernel.
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { Gemm, gemm, gemmKernelActive, gemmUsesFma, sumRows, useGemmKernel, type GemmConfig } from '../../../core/kernels/gemm';
import { hasRelaxedSimd, wasmApi, type WasmMemory } from '../../../core/kernels/wasm-asm';
import { readInto } from '../../../core/kernels/heap';

/** op(A) op(B) (+ bias) in float64; A stored [m, k] or [k, m] (transposed), B [k, n] or [n, k]. */
function reference(
  A: Float32Array,
  B: Float32Array,
  m: number,
  n: number,
  k: number,
  tA: boolean,
  tB: boolean,
  bias?: Float32Array,
): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j]! : 0;
      for (let q = 0; q < k; q++) s += (tA ? A[q * m + i]! : A[i * k + q]!) * (tB ? B[j * k + q]! : B[q * n + j]!);
      C[i * n + j] = s;
    }
  }
  return C;
}

/** max |C - R| over max(1, max |R|): float32 rounding of k-term sums stays far below 1e-5 here. */
function relErr(C: ArrayLike<number>, R: Float64Array): number {
  let err = 0;
  let scale = 1;
  for (let i = 0; i < R.length; i++) {
    err = Math.max(err, Math.abs(C[i]! - R[i]!));
    scale = Math.max(scale, Math.abs(R[i]!));
  }
  return err / scale;
}

/** A bump allocator over a fresh memory, with a guard band of NaNs around every block. */
function testHeap(): { memory: WasmMemory; malloc(n: number): number; free(): void; f32(): Float32Array } {
  const memory = new wasmApi.Memory({ initial: 256 });
  let top = 4096;
  return {
    memory,
    malloc(n: number) {
      const p = (top + 63) & ~63;
      top = p + n + 64;
      new Float32Array(memory.buffer).fill(NaN, (p + n) >> 2, (p + n + 64) >> 2);
      return p;
    },
    free() {},
    f32: () => new Float32Array(memory.buffer),
  };
}

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [5, 7, 3],
  [13, 9, 17],
  [4, 8, 256],
  [33, 257, 300],
  [256, 2, 256],
  [3, 256, 70],
  [130, 70, 600],
];

describe('Gemm on its own memory', () => {
  it('relaxed SIMD detection agrees with what the kernel uses', () => {
    expect(gemmUsesFma()).toBe(hasRelaxedSimd());
  });

  // Small blocks (kc 16, mc 8, nc 16) force the depth accumulation (mode 2) and partial blocks.
  const configs: Array<Partial<GemmConfig>> = [{}, { kc: 16, mc: 8, nc: 16 }, { relaxed: false }, { mr: 3, nr: 12, mc: 6, nc: 24, kc: 32 }];
  for (const cfg of configs) {
    it(`matches the float64 product for all transposes, with and without bias (${JSON.stringify(cfg)})`, () => {
      const heap = testHeap();
      const g = new Gemm(heap, cfg);
      const rng = new Rng(7);
      for (const [m, n, k] of SHAPES) {
        for (const tA of [false, true]) {
          for (const tB of [false, true]) {
            for (const withBias of [false, true]) {
              const A = rng.normals(m * k);
              const B = rng.normals(k * n);
              const bias = withBias ? rng.normals(n) : undefined;
              const a = heap.malloc(m * k * 4);
              const b = heap.malloc(k * n * 4);
              const c = heap.malloc(m * n * 4);
              const bp = bias ? heap.malloc(n * 4) : -1;
              heap.f32().set(A, a >> 2);
              heap.f32().set(B, b >> 2);
              if (bias) heap.f32().set(bias, bp >> 2);
              heap.f32().fill(NaN, c >> 2, (c >> 2) + m * n); // every output must be written
              g.run({
                a,
                aRs: tA ? 4 : k * 4,
                aCs: tA ? m * 4 : 4,
                b,
                bRs: tB ? 4 : n * 4,
                bCs: tB ? k * 4 : 4,
                c,
                ldc: n * 4,
                m,
                n,
                k,
                bias: bp,
              });
              const C = heap.f32().subarray(c >> 2, (c >> 2) + m * n);
              const e = relErr(C, reference(A, B, m, n, k, tA, tB, bias));
              expect(e, `${m}x${n}x${k} tA ${tA} tB ${tB} bias ${withBias}`).toBeLessThan(1e-5);
              // Nothing written past C.
              expect(Number.isNaN(heap.f32()[(c >> 2) + m * n]!)).toBe(true);
            }
          }
        }
      }
    });
  }

  it('writes into a wider C (row stride ldc) without touching the gaps, and K = 0 gives the bias', () => {
    const heap = testHeap();
    const g = new Gemm(heap);
    const rng = new Rng(3);
    const [m, n, k, ld] = [9, 10, 5, 16];
    const A = rng.normals(m * k);
    const B = rng.normals(k * n);
    const a = heap.malloc(m * k * 4);
    const b = heap.malloc(k * n * 4);
    const c = heap.malloc(m * ld * 4);
    heap.f32().set(A, a >> 2);
    heap.f32().set(B, b >> 2);
    heap.f32().fill(-7, c >> 2, (c >> 2) + m * ld);
    g.run({ a, aRs: k * 4, aCs: 4, b, bRs: n * 4, bCs: 4, c, ldc: ld * 4, m, n, k, bias: -1 });
    const R = reference(A, B, m, n, k, false, false);
    const f = heap.f32();
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < ld; j++) {
        const v = f[(c >> 2) + i * ld + j]!;
        if (j < n) expect(Math.abs(v - R[i * n + j]!)).toBeLessThan(1e-5);
        else expect(v).toBe(-7);
      }
    }
    const bias = heap.malloc(n * 4);
    f.set(rng.normals(n), bias >> 2);
    g.run({ a, aRs: 0, aCs: 4, b, bRs: n * 4, bCs: 4, c, ldc: n * 4, m: 2, n, k: 0, bias });
    expect(Array.from(heap.f32().subarray(c >> 2, (c >> 2) + 2 * n))).toEqual([
      ...Array.from(f.subarray(bias >> 2, (bias >> 2) + n)),
      ...Array.from(f.subarray(bias >> 2, (bias >> 2) + n)),
    ]);
  });
});

describe('gemm as a tfjs kernel', () => {
  it('runs the FlowMatMul kernel on the wasm backend and matches the float64 product (rank 2 and 3, broadcast batch, bias)', () => {
    if (tf.getBackend() !== 'wasm') return;
    expect(gemmKernelActive()).toBe(true);
    const rng = new Rng(11);
    const cases: Array<{ a: number[]; b: number[]; tA: boolean; tB: boolean; bias: boolean }> = [
      { a: [37, 19], b: [19, 45], tA: false, tB: false, bias: true },
      { a: [19, 37], b: [45, 19], tA: true, tB: true, bias: false },
      { a: [3, 6, 5], b: [3, 5, 7], tA: false, tB: false, bias: false },
      { a: [3, 5, 6], b: [1, 7, 5], tA: true, tB: true, bias: false },
      { a: [6, 5], b: [2, 5, 7], tA: false, tB: false, bias: false },
    ];
    for (const cs of cases) {
      const A = rng.normals(cs.a.reduce((x, y) => x * y, 1));
      const B = rng.normals(cs.b.reduce((x, y) => x * y, 1));
      const ra = cs.a.length;
      const rb = cs.b.length;
      const m = cs.tA ? cs.a[ra - 1]! : cs.a[ra - 2]!;
      const k = cs.tA ? cs.a[ra - 2]! : cs.a[ra - 1]!;
      const n = cs.tB ? cs.b[rb - 2]! : cs.b[rb - 1]!;
      const bias = cs.bias ? rng.normals(n) : undefined;
      const batchA = ra === 3 ? cs.a[0]! : 1;
      const batchB = rb === 3 ? cs.b[0]! : 1;
      const batch = Math.max(batchA, batchB);
      const out = tf.tidy(() => {
        const y = gemm(tf.tensor(A, cs.a), tf.tensor(B, cs.b), {
          transposeA: cs.tA,
          transposeB: cs.tB,
          ...(bias ? { bias: tf.tensor1d(bias) } : {}),
        });
        return { shape: y.shape, data: y.dataSync() as Float32Array };
      });
      expect(out.shape).toEqual(ra === 3 || rb === 3 ? [batch, m, n] : [m, n]);
      for (let i = 0; i < batch; i++) {
        const Ai = A.subarray(batchA === 1 ? 0 : i * m * k, (batchA === 1 ? 0 : i * m * k) + m * k);
        const Bi = B.subarray(batchB === 1 ? 0 : i * k * n, (batchB === 1 ? 0 : i * k * n) + k * n);
        const R = reference(Ai, Bi, m, n, k, cs.tA, cs.tB, bias);
        expect(relErr(out.data.subarray(i * m * n, (i + 1) * m * n), R), JSON.stringify(cs)).toBeLessThan(1e-5);
      }
    }
  });

  it('the fallback (tfjs transposes and matMul) gives the same products', () => {
    const rng = new Rng(5);
    const A = rng.normals(7 * 4);
    const B = rng.normals(9 * 4);
    const run = (): Float32Array =>
      tf.tidy(
        () =>
          gemm(tf.tensor(A, [4, 7]), tf.tensor(B, [9, 4]), {
            transposeA: true,
            transposeB: true,
            bias: tf.ones([9]),
          }).dataSync() as Float32Array,
      );
    const fast = run();
    const prev = useGemmKernel(false);
    try {
      expect(gemmKernelActive()).toBe(false);
      const slow = run();
      const R = reference(A, B, 7, 9, 4, true, true, new Float32Array(9).fill(1));
      expect(relErr(fast, R)).toBeLessThan(1e-5);
      expect(relErr(slow, R)).toBeLessThan(1e-5);
    } finally {
      useGemmKernel(prev);
    }
  });

  it('gives the same bits on every call (a seeded run stays reproducible)', () => {
    const rng = new Rng(9);
    const A = tf.tensor(rng.normals(64 * 300), [64, 300]);
    const B = tf.tensor(rng.normals(300 * 40), [300, 40]);
    const one = gemm(A, B).dataSync();
    const two = gemm(A, B).dataSync();
    expect(Array.from(two)).toEqual(Array.from(one));
    tf.dispose([A, B]);
  });
});

describe('Identity on wasm', () => {
  it('shares the data of its input (no copy) and keeps it alive while either tensor lives', () => {
    if (!gemmKernelActive()) return; // the override comes with the kernels
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const before = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId); // one buffer for both
    expect(tf.memory().numDataBuffers).toBe(before);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    const z = tf.add(y, 1);
    expect(Array.from(z.dataSync())).toEqual([2, 3, 4, 5]);
    tf.dispose([y, z]);
    expect(tf.memory().numDataBuffers).toBe(before - 1);
  });
});

describe('readInto', () => {
  it('copies a tensor into a host array at an offset (straight from the wasm heap there)', () => {
    const t = tf.tensor([1.5, -2, 3], [3]);
    const out = new Float32Array(6).fill(9);
    readInto(t, out, 2);
    expect(Array.from(out)).toEqual([9, 9, 1.5, -2, 3, 9]);
    t.dispose();
  });
});

describe('sumRows', () => {
  it('sums a [n, m] tensor over its rows for widths with and without a tail of 4', () => {
    const rng = new Rng(12);
    for (const [n, m] of [
      [1, 1],
      [5, 3],
      [7, 8],
      [130, 257],
    ] as const) {
      const x = rng.normals(n * m);
      const got = tf.tidy(() => sumRows(tf.tensor(x, [n, m])).dataSync() as Float32Array);
      expect(got.length).toBe(m);
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += x[i * m + j]!;
        expect(Math.abs(got[j]! - s)).toBeLessThan(1e-5 * Math.max(1, Math.abs(s)) * Math.sqrt(n));
      }
    }
  });
});
