// The SiLU kernels (core/kernels/silu.ts) against float64 formulas, on their own memory (every
// length 1..13 for the vector loop and its tail, extreme inputs) and as tfjs kernels through ops.silu.
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { siluInstance, siluKernelActive, useSiluKernel } from '../../../core/kernels/silu';
import { wasmApi } from '../../../core/kernels/wasm-asm';
import { silu } from '../../../core/model/ops';

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

describe('SiLU kernels', () => {
  it('match x sigmoid(x) and its derivative in float64 for all lengths and extreme inputs', () => {
    const memory = new wasmApi.Memory({ initial: 4 });
    const k = siluInstance(memory);
    const f32 = new Float32Array(memory.buffer);
    const rng = new Rng(2);
    const special = [0, -0, 1e-30, -1e-30, 20, -20, 87, -87, 90, -90, 200, -200, 1e30, -1e30];
    for (let n = 1; n <= 13 + special.length; n++) {
      const x = n <= 13 ? rng.normals(n).map((v) => v * 6) : Float32Array.from(special.slice(0, n - 13));
      const dy = rng.normals(x.length);
      const [px, pdy, py, pdx] = [0, 1, 2, 3].map((i) => 1024 + i * 4096) as [number, number, number, number];
      f32.set(x, px >> 2);
      f32.set(dy, pdy >> 2);
      f32.fill(NaN, py >> 2, (py >> 2) + x.length + 4);
      f32.fill(NaN, pdx >> 2, (pdx >> 2) + x.length + 4);
      k.silu(px, py, x.length);
      k.siluGrad(pdy, px, pdx, x.length);
      for (let i = 0; i < x.length; i++) {
        const xi = x[i]!;
        const s = sig(xi);
        const y = xi * s;
        const d = dy[i]! * s * (1 + xi * (1 - s));
        expect(Math.abs(f32[(py >> 2) + i]! - y), `y(${xi})`).toBeLessThanOrEqual(1e-6 * Math.max(1e-30, Math.abs(y)) + 1e-37);
        expect(Math.abs(f32[(pdx >> 2) + i]! - d), `dx(${xi})`).toBeLessThanOrEqual(
          1e-6 * Math.max(Math.abs(d), Math.abs(dy[i]!) * 1e-6) + 1e-37,
        );
      }
      expect(Number.isNaN(f32[(py >> 2) + x.length]!)).toBe(true); // nothing written past the end
      expect(Number.isNaN(f32[(pdx >> 2) + x.length]!)).toBe(true);
    }
  });

  it('ops.silu gives the same value and gradient with and without the kernels', () => {
    const rng = new Rng(8);
    const x = tf.tensor(
      rng.normals(3 * 37).map((v) => v * 4),
      [3, 37],
    );
    const w = tf.tensor(rng.normals(3 * 37), [3, 37]);
    const run = (): [Float32Array, Float32Array] =>
      tf.tidy(() => {
        const g = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(silu(z), w)))(x);
        return [silu(x).dataSync() as Float32Array, g.dataSync() as Float32Array];
      });
    const active = siluKernelActive();
    const [y1, g1] = run();
    const prev = useSiluKernel(false);
    let y2: Float32Array;
    let g2: Float32Array;
    try {
      [y2, g2] = run();
    } finally {
      useSiluKernel(prev);
    }
    for (let i = 0; i < y1.length; i++) {
      expect(Math.abs(y1[i]! - y2[i]!)).toBeLessThan(3e-6 * Math.max(1, Math.abs(y2[i]!)));
      expect(Math.abs(g1[i]! - g2[i]!)).toBeLessThan(3e-6 * Math.max(1, Math.abs(g2[i]!)));
    }
    if (tf.getBackend() === 'wasm') expect(active).toBe(true);
    tf.dispose([x, w]);
  });
});
