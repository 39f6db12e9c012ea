/**
 * The WebAssembly module behind FlowGroupNormActGrad (core/model/unet-train-kernels.ts): the two
 * elementwise passes of the backward pass of y = act(z), z = x mul + add (GroupNorm's affine map
 * per channel, act SiLU or none), over NHWC rows of c channels, 4 channels per SIMD vector.
 *
 *   pass1(x, dy, dz, rows, c, mul, add, s1, s2)         act = none: dz = dy
 *   pass1silu(x, dy, dz, rows, c, mul, add, s1, s2)     act = SiLU: z = x mul + add, s = sigmoid(z),
 *                                                       dz = dy s (1 + z (1 - s))
 *       both then accumulate, per channel j, s1[j] += Σ_r dz[r, j] and s2[j] += Σ_r dz[r, j] x[r, j]
 *       in float64 (each float promoted, the product formed in float64: exact)
 *   affine2(dz, x, dst, rows, c, a, b, k)               dst[r, j] = dz[r, j] a[j] + x[r, j] b[j] + k[j]
 *                                                       (float32; dst may be dz)
 *
 * Pointers are byte offsets into the imported memory; x, dy, dz, dst, mul, add, a, b, k float32, s1
 * and s2 float64; rows of c floats, c a multiple of 4. z is formed as the forward kernel forms it
 * (f32x4.mul then f32x4.add, groupnorm-module.ts affine), so it is the forward's pre-activation bit
 * for bit; sigmoid uses the exp of core/kernels/silu.ts (Cephes scheme, without FMA here).
 */
import { I32, ModuleBuilder, Op, Simd, V128, type FuncBuilder } from '../kernels/wasm-asm';
import { emitExp, EXP_CONSTANTS, vconst } from '../kernels/silu';

function zero(f: FuncBuilder): FuncBuilder {
  return f.v128Const(new Uint8Array(16));
}

/** Byte lanes moving floats 2 and 3 of the first operand to lanes 0 and 1 (promote_low then reads them). */
const UPPER = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** Pushes floats 2 and 3 of v128 local `v` as an f64x2. */
function promoteHigh(f: FuncBuilder, v: number): void {
  f.get(v).get(v).shuffle(UPPER).simd(Simd.f64x2_promote_low_f32x4);
}

/** Adds the 4 floats of v128 local `v`, promoted to float64, into the f64x2 accumulators lo, hi. */
function accumulate(f: FuncBuilder, v: number, lo: number, hi: number): void {
  f.get(lo).get(v).simd(Simd.f64x2_promote_low_f32x4).simd(Simd.f64x2_add).set(lo);
  f.get(hi);
  promoteHigh(f, v);
  f.simd(Simd.f64x2_add).set(hi);
}

/** Adds the products a b of the 4 floats of v128 locals a and b, each promoted to float64, into lo, hi. */
function accumulateProduct(f: FuncBuilder, a: number, b: number, lo: number, hi: number): void {
  f.get(lo).get(a).simd(Simd.f64x2_promote_low_f32x4).get(b).simd(Simd.f64x2_promote_low_f32x4).simd(Simd.f64x2_mul);
  f.simd(Simd.f64x2_add).set(lo);
  f.get(hi);
  promoteHigh(f, a);
  promoteHigh(f, b);
  f.simd(Simd.f64x2_mul).simd(Simd.f64x2_add).set(hi);
}

function emitPass1(m: ModuleBuilder, silu: boolean): void {
  const f = m.func(silu ? 'pass1silu' : 'pass1', [I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [x, dy, dz, rows, c, mul, add, s1, s2] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const j = f.local(I32);
  const r = f.local(I32);
  const o = f.local(I32); // byte offset of (row r, channel j)
  const cb = f.local(I32); // row stride in bytes
  const cj = f.local(I32); // channel offset in bytes (j 4)
  const [a1lo, a1hi, a2lo, a2hi, vm, va, xv, g] = [0, 1, 2, 3, 4, 5, 6, 7].map(() => f.local(V128)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const consts = new Map<number, number>();
  let bias = -1;
  let z = -1;
  let t = -1;
  let n = -1;
  let rr = -1;
  let p = -1;
  let sg = -1;
  if (silu) {
    for (const v of EXP_CONSTANTS) {
      const l = f.local(V128);
      vconst(f, v);
      f.set(l);
      consts.set(v, l);
    }
    bias = f.local(V128);
    f.i32(127 - 0x4b400000)
      .simd(Simd.i32x4_splat)
      .set(bias); // 127 - bits(1.5 2^23), as in silu.ts
    [z, t, n, rr, p, sg] = [0, 1, 2, 3, 4, 5].map(() => f.local(V128)) as [number, number, number, number, number, number];
  }
  const cst = (v: number): void => {
    const l = consts.get(v);
    if (l === undefined) throw new Error(`groupnorm-grad: constant ${v} not hoisted`);
    f.get(l);
  };
  f.get(c).i32(4).op(Op.i32_mul).set(cb);
  f.forRange(j, c, 4, () => {
    f.get(j).i32(4).op(Op.i32_mul).set(cj);
    zero(f).set(a1lo);
    zero(f).set(a1hi);
    zero(f).set(a2lo);
    zero(f).set(a2hi);
    if (silu) {
      f.get(mul).get(cj).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0).set(vm);
      f.get(add).get(cj).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0).set(va);
    }
    f.get(cj).set(o);
    f.forRange(r, rows, 1, () => {
      f.get(x).get(o).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0).set(xv);
      f.get(dy).get(o).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0).set(g);
      if (silu) {
        // z = x mul + add; s = 1 / (1 + e^-z); dz = dy s (1 + z (1 - s))
        f.get(xv).get(vm).simd(Simd.f32x4_mul).get(va).simd(Simd.f32x4_add).set(z);
        f.get(z).simd(Simd.f32x4_neg).set(t);
        emitExp(f, t, n, rr, p, false, cst, bias);
        cst(1);
        f.simd(Simd.f32x4_add).set(t);
        cst(1);
        f.get(t).simd(Simd.f32x4_div).set(sg);
        f.get(g).get(sg).simd(Simd.f32x4_mul);
        cst(1);
        f.get(z);
        cst(1);
        f.get(sg).simd(Simd.f32x4_sub).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
        f.simd(Simd.f32x4_mul).set(g);
      }
      f.get(dz).get(o).op(Op.i32_add).get(g).simdMem(Simd.v128_store, 0, 0);
      accumulate(f, g, a1lo, a1hi);
      accumulateProduct(f, g, xv, a2lo, a2hi);
      f.addLocal(o, cb);
    });
    // s1[j..j+3] += (a1lo, a1hi); s2 likewise (float64: 8 bytes a channel).
    for (const [s, lo, hi] of [
      [s1, a1lo, a1hi],
      [s2, a2lo, a2hi],
    ] as const) {
      f.get(s).get(cj).i32(2).op(Op.i32_mul, Op.i32_add).set(o);
      f.get(o).get(o).simdMem(Simd.v128_load, 0, 0).get(lo).simd(Simd.f64x2_add).simdMem(Simd.v128_store, 0, 0);
      f.get(o).get(o).simdMem(Simd.v128_load, 0, 16).get(hi).simd(Simd.f64x2_add).simdMem(Simd.v128_store, 0, 16);
    }
  });
}

function emitAffine2(m: ModuleBuilder): void {
  const f = m.func('affine2', [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [dz, x, dst, rows, c, a, b, k] = [0, 1, 2, 3, 4, 5, 6, 7];
  const r = f.local(I32);
  const j = f.local(I32);
  const cb = f.local(I32);
  f.get(c).i32(4).op(Op.i32_mul).set(cb);
  f.forRange(r, rows, 1, () => {
    f.forRange(j, cb, 16, () => {
      f.get(dst).get(j).op(Op.i32_add);
      f.get(dz).get(j).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0);
      f.get(a).get(j).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0).simd(Simd.f32x4_mul);
      f.get(x).get(j).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0);
      f.get(b).get(j).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
      f.get(k).get(j).op(Op.i32_add).simdMem(Simd.v128_load, 0, 0).simd(Simd.f32x4_add);
      f.simdMem(Simd.v128_store, 0, 0);
    });
    f.addLocal(dz, cb).addLocal(x, cb).addLocal(dst, cb);
  });
}

/** The module's bytes (imports env.memory; exports pass1, pass1silu, affine2). */
export function groupNormGradModule(): Uint8Array {
  const m = new ModuleBuilder();
  emitPass1(m, false);
  emitPass1(m, true);
  emitAffine2(m);
  return m.build();
}
