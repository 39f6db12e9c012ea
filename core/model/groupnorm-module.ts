/**
 * The WebAssembly module behind FlowGroupNormAct (core/model/unet-kernels.ts): per-channel
 * statistics and the per-channel affine map of an NHWC tensor, 4 channels per SIMD vector.
 *
 *   colsum(src, rows, c, dst)             dst[j] = Σ_r src[r c + j]                 (float64 sums)
 *   colsqdev(src, rows, c, shift, dst)    dst[j] = Σ_r (src[r c + j] - shift[j])²   (float64)
 *   affine(src, dst, rows, c, ldd, mul, add)
 *                                         dst[r ldd + j] = src[r c + j] mul[j] + add[j] (float32;
 *                                         ldd: dst's row stride in floats, so a part of a wider
 *                                         tensor can be written)
 *
 * Pointers are byte offsets into the imported memory; src, dst are float32, shift and the sums
 * float64, mul and add float32; c is a multiple of 4. The sums promote each pair of floats to
 * float64 (v128.load64_zero + f64x2.promote_low_f32x4), so a 28·28-position mean is exact to
 * float64 rounding, like the two-pass float32 form it replaces up to its rounding.
 */
import { I32, ModuleBuilder, Op, Simd, V128, type FuncBuilder } from '../kernels/wasm-asm';

function zero(f: FuncBuilder): FuncBuilder {
  return f.v128Const(new Uint8Array(16));
}

/** Pushes two f64x2 (lanes 0-1 then 2-3) of the 4 floats at local `p`: leaves them in locals lo, hi. */
function load4As64(f: FuncBuilder, p: number, lo: number, hi: number): void {
  f.get(p).simdMem(Simd.v128_load64_zero, 0, 0).simd(Simd.f64x2_promote_low_f32x4).set(lo);
  f.get(p).simdMem(Simd.v128_load64_zero, 0, 8).simd(Simd.f64x2_promote_low_f32x4).set(hi);
}

function emitColStat(m: ModuleBuilder, sq: boolean): void {
  const f = m.func(sq ? 'colsqdev' : 'colsum', sq ? [I32, I32, I32, I32, I32] : [I32, I32, I32, I32]);
  const [src, rows, c, shift, dst] = sq ? [0, 1, 2, 3, 4] : [0, 1, 2, -1, 3];
  const j = f.local(I32);
  const r = f.local(I32);
  const p = f.local(I32);
  const stride = f.local(I32);
  const a0 = f.local(V128);
  const a1 = f.local(V128);
  const lo = f.local(V128);
  const hi = f.local(V128);
  const s0 = f.local(V128);
  const s1 = f.local(V128);
  f.get(c).i32(4).op(Op.i32_mul).set(stride);
  f.forRange(j, c, 4, () => {
    zero(f).set(a0);
    zero(f).set(a1);
    if (sq) {
      f.get(shift).get(j).i32(8).op(Op.i32_mul, Op.i32_add).simdMem(Simd.v128_load, 0, 0).set(s0);
      f.get(shift).get(j).i32(8).op(Op.i32_mul, Op.i32_add).simdMem(Simd.v128_load, 0, 16).set(s1);
    }
    f.get(src).get(j).i32(4).op(Op.i32_mul, Op.i32_add).set(p);
    f.forRange(r, rows, 1, () => {
      load4As64(f, p, lo, hi);
      if (sq) {
        f.get(lo).get(s0).simd(Simd.f64x2_sub).tee(lo).get(lo).simd(Simd.f64x2_mul).set(lo);
        f.get(hi).get(s1).simd(Simd.f64x2_sub).tee(hi).get(hi).simd(Simd.f64x2_mul).set(hi);
      }
      f.get(a0).get(lo).simd(Simd.f64x2_add).set(a0);
      f.get(a1).get(hi).simd(Simd.f64x2_add).set(a1);
      f.addLocal(p, stride);
    });
    f.get(dst).get(j).i32(8).op(Op.i32_mul, Op.i32_add).get(a0).simdMem(Simd.v128_store, 0, 0);
    f.get(dst).get(j).i32(8).op(Op.i32_mul, Op.i32_add).get(a1).simdMem(Simd.v128_store, 0, 16);
  });
}

function emitAffine(m: ModuleBuilder): void {
  const f = m.func('affine', [I32, I32, I32, I32, I32, I32, I32]);
  const [src, dst, rows, c, ldd, mul, add] = [0, 1, 2, 3, 4, 5, 6];
  const r = f.local(I32);
  const j = f.local(I32);
  const cb = f.local(I32);
  f.get(c).i32(4).op(Op.i32_mul).set(cb);
  f.get(ldd).i32(4).op(Op.i32_mul).set(ldd);
  f.forRange(r, rows, 1, () => {
    f.forRange(j, cb, 16, () => {
      f.get(dst).get(j).op(Op.i32_add);
      f.get(src).get(j).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0);
      f.get(mul).get(j).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0).simd(Simd.f32x4_mul);
      f.get(add).get(j).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0).simd(Simd.f32x4_add);
      f.simdMem(Simd.v128_store, 0, 0);
    });
    f.addLocal(src, cb).addLocal(dst, ldd);
  });
}

/** The module's bytes (imports env.memory). */
export function groupNormModule(): Uint8Array {
  const m = new ModuleBuilder();
  emitColStat(m, false);
  emitColStat(m, true);
  emitAffine(m);
  return m.build();
}
