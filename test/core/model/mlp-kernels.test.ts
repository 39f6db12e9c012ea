// The MLP's kernels: FlowTimeInput (core/model/mlp-kernels.ts) against the float64 formula and the
// tensor ops it replaces (timeEmbedding + concat); FlowMatMul with its SiLU epilogue against
// siluForward(gemm); the MLP's outputs through them (tape off) and through the tensor ops (tape on).
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { createModel } from '../../../core/model';
import { timeEmbedding, timeFrequencies } from '../../../core/model/embed';
import { timeInput, timeInputKernelActive } from '../../../core/model/mlp-kernels';
import { gemm, gemmSilu } from '../../../core/kernels/gemm';
import { siluForward } from '../../../core/kernels/silu';

const onWasm = tf.getBackend() === 'wasm';

describe.runIf(onWasm)('MLP kernels (wasm): FlowTimeInput, FlowMatMul with SiLU', () => {
  it('equals the float64 formula rounded to float32 (and [x, timeEmbedding(t)] to a few ulps), for distinct, repeated and constant t', () => {
    expect(timeInputKernelActive()).toBe(true);
    const rng = new Rng(4);
    for (const [bsz, d, dim, tKind] of [
      [7, 2, 32, 'random'],
      [5, 3, 2, 'random'],
      [9, 2, 8, 'runs'],
      [64, 2, 32, 'constant'],
    ] as const) {
      const xv = rng.normals(bsz * d);
      const tv = new Float32Array(bsz);
      for (let i = 0; i < bsz; i++) tv[i] = tKind === 'constant' ? 0.375 : tKind === 'runs' ? Math.floor(i / 3) / 4 : rng.uniform();
      const [got, ref] = tf.tidy(() => {
        const x = tf.tensor(xv, [bsz, d]);
        const t = tf.tensor1d(tv);
        return [timeInput(x, t, dim).arraySync() as number[][], tf.concat([x, timeEmbedding(t, dim)], 1).arraySync() as number[][]];
      });
      const freqs = timeFrequencies(dim);
      const half = dim / 2;
      for (let s = 0; s < bsz; s++) {
        expect(got[s]!.slice(0, d)).toEqual(Array.from(xv.subarray(s * d, (s + 1) * d)));
        for (let i = 0; i < half; i++) {
          const a = Math.fround(tv[s]! * freqs[i]!);
          for (const [k, want] of [
            [d + i, Math.sin(a)],
            [d + half + i, Math.cos(a)],
          ] as const) {
            expect(Math.abs(got[s]![k]! - want)).toBeLessThanOrEqual(6e-8 * Math.max(1, Math.abs(want)) + 1e-30);
            // The stock Sin / Cos kernels are a few float32 ulps from the float64 value (ours within one).
            expect(Math.abs(got[s]![k]! - ref[s]![k]!)).toBeLessThanOrEqual(5e-7);
          }
        }
      }
    }
  });

  it('gemmSilu (SiLU fused into the product) equals siluForward(gemm) bit for bit, over several blocks of m, n and k', () => {
    const rng = new Rng(12);
    // m > MC (128), n > NC (512: blocks narrower than a row) and k > KC (256: SiLU only after the last depth block).
    for (const [m, k, n] of [
      [7, 5, 3],
      [300, 34, 256],
      [130, 300, 600],
    ] as const) {
      const [fused, ref] = tf.tidy(() => {
        const a = tf.tensor(rng.normals(m * k), [m, k]);
        const b = tf.tensor(
          Float32Array.from(rng.normals(k * n), (v) => v / Math.sqrt(k)),
          [k, n],
        );
        const bias = tf.tensor(rng.normals(n), [n]);
        return [gemmSilu(a, b, bias).dataSync(), siluForward(gemm(a, b, { bias })).dataSync()];
      });
      expect(fused.length).toBe(m * n);
      expect(Array.from(fused)).toEqual(Array.from(ref));
    }
  });

  it('rejects shapes that do not match, naming them', () => {
    const x = tf.zeros([3, 2]);
    const t = tf.zeros([4]);
    expect(() => timeInput(x, t, 8)).toThrow(/x \[B, d\] and t \[B\] expected. Got \[3,2\], \[4\]/);
    expect(() => timeInput(x, tf.zeros([3]), 3)).toThrow(/dim must be an even number >= 2. Got 3/);
    tf.dispose([x, t]);
  });

  it('an MLP gives the same outputs through the kernel (tape off) as through the tensor ops (tape on)', () => {
    const m = createModel({ kind: 'mlp', dim: 2, width: 32, depth: 2, activation: 'silu', timeEmbedDim: 16, numClasses: 0 }, 3);
    const rng = new Rng(8);
    for (const v of m.variables)
      v.assign(
        tf.tensor(
          Float32Array.from(rng.normals(v.size), (z) => 0.5 * z),
          v.shape,
        ),
      );
    const x = tf.tensor(rng.normals(40), [20, 2]);
    const t = tf.fill([20], 0.6);
    const off = m.apply(x, t).arraySync() as number[][];
    // Inside a gradient scope the tape records, so apply takes timeEmbedding + concat.
    let on: number[][] = [];
    tf.variableGrads(() => {
      const y = m.apply(x, t);
      on = y.arraySync() as number[][];
      return tf.sum(y) as tf.Scalar;
    }).value.dispose();
    expect(off.flat().every((v) => v !== 0)).toBe(true);
    for (let i = 0; i < off.length; i++) for (let j = 0; j < 2; j++) expect(Math.abs(off[i]![j]! - on[i]![j]!)).toBeLessThan(1e-5);
    tf.dispose([x, t]);
    m.dispose();
  });
});
