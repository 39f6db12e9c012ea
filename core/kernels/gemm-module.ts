/**
 * Generates the GEMM WebAssembly module: C = op(A) · op(B) (+ bias, or + C) in float32, row-major,
 * with register blocking and FMA (f32x4.relaxed_madd where the engine has relaxed SIMD, else
 * f32x4.mul + f32x4.add).
 *
 * The layout follows GotoBLAS / BLIS: both operands are first packed into micro-panels, so one
 * micro-kernel serves every combination of transposes (the packing routines take arbitrary element
 * strides), and the inner loop only streams contiguous memory.
 *
 *   packA(src, rs, cs, mc, kc, dst)   logical A block [mc, kc], element (i, k) at src + i rs + k cs
 *                                     (byte strides) -> panels of MR rows: panel p holds, for each k,
 *                                     the MR values A[p MR + r, k] (zero past mc)
 *   packB(src, rs, cs, kc, nc, dst)   logical B block [kc, nc], element (k, j) at src + k rs + j cs
 *                                     -> panels of NR columns: for each k, B[k, p NR + c] (zero past nc)
 *   macro(pA, pB, C, ldc, mc, nc, kc, mode, bias, tile)
 *                                     C[mc, nc] (row stride ldc bytes) from the packed blocks, tile by
 *                                     tile of MR x NR accumulators in registers:
 *                                     mode 0: C = A B;  mode 1: C = A B + bias (bias: nc values,
 *                                     readable up to a multiple of NR);  mode 2: C = C + A B.
 *                                     Tiles that stick out of C go through `tile` (MR NR floats).
 *
 * MR x NR = 4 x 8 by default: 8 accumulators + 2 B vectors + 1 broadcast A value, within the 16
 * xmm registers V8 allocates on x64 (it keeps one as scratch). Measured alternatives: bench via
 * test/core/kernels (see core/kernels/gemm.ts).
 */
import { F32, I32, ModuleBuilder, Op, Simd, V128, type FuncBuilder } from './wasm-asm';

export interface GemmModuleOptions {
  /** Rows of a register tile. */
  mr: number;
  /** Columns of a register tile (a multiple of 4). */
  nr: number;
  /** Use f32x4.relaxed_madd (fused multiply-add); false: f32x4.mul then f32x4.add. */
  relaxed: boolean;
}

const V = Simd;

/** i8x16.shuffle picking float32 lanes: 0-3 from the first operand, 4-7 from the second. */
function shuffle32(f: FuncBuilder, lanes: [number, number, number, number]): void {
  f.shuffle(lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
}

/**
 * Transposes the 4x4 block held in locals r[0..3] (row i = r[i]) into locals c[0..3] (c[j] = column
 * j), with 8 shuffles (unpack low/high, then move low/high halves).
 */
function transpose4(f: FuncBuilder, r: number[], t: number[], c: number[]): void {
  const pairs: Array<[number, number, number, [number, number, number, number]]> = [
    [t[0]!, r[0]!, r[1]!, [0, 4, 1, 5]],
    [t[1]!, r[2]!, r[3]!, [0, 4, 1, 5]],
    [t[2]!, r[0]!, r[1]!, [2, 6, 3, 7]],
    [t[3]!, r[2]!, r[3]!, [2, 6, 3, 7]],
    [c[0]!, t[0]!, t[1]!, [0, 1, 4, 5]],
    [c[1]!, t[0]!, t[1]!, [2, 3, 6, 7]],
    [c[2]!, t[2]!, t[3]!, [0, 1, 4, 5]],
    [c[3]!, t[2]!, t[3]!, [2, 3, 6, 7]],
  ];
  for (const [out, a, b, lanes] of pairs) {
    f.get(a).get(b);
    shuffle32(f, lanes);
    f.set(out);
  }
}

/**
 * Packs 4 k values at a time of 4 strided vectors: vector q (q = 0..3) starts at base + q stride and
 * holds 4 consecutive k; after the transpose, k row j goes to dst + j rowBytes + colOffset. Loops
 * k = 0, 4, ... while k + 4 <= kc; advances dst by 4 rowBytes per step when `advance`. Leaves k at
 * kc & ~3.
 */
function emitPack4x4(
  f: FuncBuilder,
  k: number,
  kc4: number,
  base: number,
  stride: number,
  dst: number,
  rowBytes: number,
  colOffsets: number[],
  q: number,
  regs: { r: number[]; t: number[]; c: number[] },
): void {
  f.forRange(k, kc4, 4, () => {
    colOffsets.forEach((col, g) => {
      // q = base + k 4 + g 4 stride
      f.get(base)
        .get(k)
        .i32(4)
        .op(Op.i32_mul, Op.i32_add)
        .get(stride)
        .i32(4 * g)
        .op(Op.i32_mul, Op.i32_add)
        .set(q);
      for (let i = 0; i < 4; i++) {
        f.get(q).simdMem(V.v128_load, 0, 0).set(regs.r[i]!);
        if (i < 3) f.addLocal(q, stride);
      }
      transpose4(f, regs.r, regs.t, regs.c);
      for (let j = 0; j < 4; j++)
        f.get(dst)
          .get(regs.c[j]!)
          .simdMem(V.v128_store, 0, j * rowBytes + col);
    });
    f.addTo(dst, 4 * rowBytes);
  });
}

/** packA: see the module comment. */
function emitPackA(m: ModuleBuilder, MR: number): void {
  const f = m.func('packA', [I32, I32, I32, I32, I32, I32]);
  const [src, rs, cs, mc, kc, dst] = [0, 1, 2, 3, 4, 5];
  const i0 = f.local(I32);
  const k = f.local(I32);
  const pk = f.local(I32);
  const p = f.local(I32);
  const mr = f.local(I32);
  const kc4 = f.local(I32);
  const q = f.local(I32);
  const vregs = (): number[] => [0, 1, 2, 3].map(() => f.local(V128));
  const regs = { r: vregs(), t: vregs(), c: vregs() };
  f.forRange(i0, mc, MR, () => {
    f.get(mc).get(i0).op(Op.i32_sub).set(mr);
    // pk = src + i0 rs
    f.get(src).get(i0).get(rs).op(Op.i32_mul, Op.i32_add).set(pk);
    f.ifElse(
      () => f.get(mr).i32(MR).op(Op.i32_ge_s),
      () => {
        f.ifElse(
          () =>
            f
              .get(rs)
              .i32(4)
              .op(Op.i32_eq)
              .i32(MR % 4 === 0 ? 1 : 0)
              .op(Op.i32_and),
          () => {
            // A transposed in memory: the MR values of one k are contiguous.
            f.forRange(k, kc, 1, () => {
              for (let v = 0; v < MR / 4; v++)
                f.get(dst)
                  .get(pk)
                  .simdMem(V.v128_load, 0, 16 * v)
                  .simdMem(V.v128_store, 0, 16 * v);
              f.addTo(dst, MR * 4).addLocal(pk, cs);
            });
          },
          () => {
            const scalarFrom = (): void => {
              f.doWhile(
                () => {
                  f.get(pk).set(p);
                  for (let r = 0; r < MR; r++) {
                    f.get(dst)
                      .get(p)
                      .mem(Op.f32_load, 0, 0)
                      .mem(Op.f32_store, 0, 4 * r);
                    if (r < MR - 1) f.addLocal(p, rs);
                  }
                  f.addTo(dst, MR * 4)
                    .addLocal(pk, cs)
                    .addTo(k, 1);
                },
                () => f.get(k).get(kc).op(Op.i32_lt_s),
              );
            };
            if (MR === 4) {
              // A row-major (k contiguous): 4x4 blocks through registers, then the last kc mod 4 one by one.
              f.ifElse(
                () => f.get(cs).i32(4).op(Op.i32_eq),
                () => {
                  f.get(kc).i32(-4).op(Op.i32_and).set(kc4);
                  emitPack4x4(f, k, kc4, pk, rs, dst, 16, [0], q, regs);
                  f.get(pk).get(kc4).i32(4).op(Op.i32_mul, Op.i32_add).set(pk);
                  f.ifElse(() => f.get(k).get(kc).op(Op.i32_lt_s), scalarFrom);
                },
                () => {
                  f.i32(0).set(k);
                  f.ifElse(() => f.get(kc).i32(0).op(Op.i32_gt_s), scalarFrom);
                },
              );
            } else {
              f.i32(0).set(k);
              f.ifElse(() => f.get(kc).i32(0).op(Op.i32_gt_s), scalarFrom);
            }
          },
        );
      },
      () => {
        // Last panel, mr < MR rows: zero the rest.
        f.forRange(k, kc, 1, () => {
          f.get(pk).set(p);
          for (let r = 0; r < MR; r++) {
            f.ifElse(
              () => f.get(mr).i32(r).op(Op.i32_gt_s),
              () =>
                f
                  .get(dst)
                  .get(p)
                  .mem(Op.f32_load, 0, 0)
                  .mem(Op.f32_store, 0, 4 * r),
              () =>
                f
                  .get(dst)
                  .f32(0)
                  .mem(Op.f32_store, 0, 4 * r),
            );
            if (r < MR - 1) f.addLocal(p, rs);
          }
          f.addTo(dst, MR * 4).addLocal(pk, cs);
        });
      },
    );
  });
}

/** packB: see the module comment. */
function emitPackB(m: ModuleBuilder, NR: number): void {
  const f = m.func('packB', [I32, I32, I32, I32, I32, I32]);
  const [src, rs, cs, kc, nc, dst] = [0, 1, 2, 3, 4, 5];
  const j0 = f.local(I32);
  const k = f.local(I32);
  const pk = f.local(I32);
  const p = f.local(I32);
  const nr = f.local(I32);
  const kc4 = f.local(I32);
  const q = f.local(I32);
  const vregs = (): number[] => [0, 1, 2, 3].map(() => f.local(V128));
  const regs = { r: vregs(), t: vregs(), c: vregs() };
  f.forRange(j0, nc, NR, () => {
    f.get(nc).get(j0).op(Op.i32_sub).set(nr);
    f.get(src).get(j0).get(cs).op(Op.i32_mul, Op.i32_add).set(pk);
    f.ifElse(
      () => f.get(nr).i32(NR).op(Op.i32_ge_s),
      () => {
        f.ifElse(
          () => f.get(cs).i32(4).op(Op.i32_eq),
          () => {
            f.forRange(k, kc, 1, () => {
              for (let v = 0; v < NR / 4; v++)
                f.get(dst)
                  .get(pk)
                  .simdMem(V.v128_load, 0, 16 * v)
                  .simdMem(V.v128_store, 0, 16 * v);
              f.addTo(dst, NR * 4).addLocal(pk, rs);
            });
          },
          () => {
            const scalarFrom = (): void => {
              f.doWhile(
                () => {
                  f.get(pk).set(p);
                  for (let c = 0; c < NR; c++) {
                    f.get(dst)
                      .get(p)
                      .mem(Op.f32_load, 0, 0)
                      .mem(Op.f32_store, 0, 4 * c);
                    if (c < NR - 1) f.addLocal(p, cs);
                  }
                  f.addTo(dst, NR * 4)
                    .addLocal(pk, rs)
                    .addTo(k, 1);
                },
                () => f.get(k).get(kc).op(Op.i32_lt_s),
              );
            };
            // B transposed in memory (k contiguous per column): 4x4 blocks through registers.
            f.ifElse(
              () => f.get(rs).i32(4).op(Op.i32_eq),
              () => {
                f.get(kc).i32(-4).op(Op.i32_and).set(kc4);
                emitPack4x4(
                  f,
                  k,
                  kc4,
                  pk,
                  cs,
                  dst,
                  NR * 4,
                  Array.from({ length: NR / 4 }, (_, g) => 16 * g),
                  q,
                  regs,
                );
                f.get(pk).get(kc4).i32(4).op(Op.i32_mul, Op.i32_add).set(pk);
                f.ifElse(() => f.get(k).get(kc).op(Op.i32_lt_s), scalarFrom);
              },
              () => {
                f.i32(0).set(k);
                f.ifElse(() => f.get(kc).i32(0).op(Op.i32_gt_s), scalarFrom);
              },
            );
          },
        );
      },
      () => {
        f.forRange(k, kc, 1, () => {
          f.get(pk).set(p);
          for (let c = 0; c < NR; c++) {
            f.ifElse(
              () => f.get(nr).i32(c).op(Op.i32_gt_s),
              () =>
                f
                  .get(dst)
                  .get(p)
                  .mem(Op.f32_load, 0, 0)
                  .mem(Op.f32_store, 0, 4 * c),
              () =>
                f
                  .get(dst)
                  .f32(0)
                  .mem(Op.f32_store, 0, 4 * c),
            );
            if (c < NR - 1) f.addLocal(p, cs);
          }
          f.addTo(dst, NR * 4).addLocal(pk, rs);
        });
      },
    );
  });
}

/** Copies min(rows, MR) x min(cols, NR) floats between C (row stride ld bytes) and the tile (row stride NR floats). */
function emitEdgeCopy(
  f: FuncBuilder,
  MR: number,
  NR: number,
  toTile: boolean,
  c: number,
  ld: number,
  tile: number,
  rows: number,
  cols: number,
): void {
  const r = f.local(I32);
  const q = f.local(I32);
  const rr = f.local(I32);
  const cc = f.local(I32);
  const pc = f.local(I32);
  const pt = f.local(I32);
  // rr = min(rows, MR), cc = min(cols, NR)
  f.get(rows).i32(MR).get(rows).i32(MR).op(Op.i32_lt_s, Op.select).set(rr);
  f.get(cols).i32(NR).get(cols).i32(NR).op(Op.i32_lt_s, Op.select).set(cc);
  f.forRange(r, rr, 1, () => {
    f.get(c).get(r).get(ld).op(Op.i32_mul, Op.i32_add).set(pc);
    f.get(tile)
      .get(r)
      .i32(NR * 4)
      .op(Op.i32_mul, Op.i32_add)
      .set(pt);
    f.forRange(q, cc, 1, () => {
      if (toTile) f.get(pt).get(pc).mem(Op.f32_load, 0, 0).mem(Op.f32_store, 0, 0);
      else f.get(pc).get(pt).mem(Op.f32_load, 0, 0).mem(Op.f32_store, 0, 0);
      f.addTo(pc, 4).addTo(pt, 4);
    });
  });
}

/** macro: see the module comment. */
function emitMacro(m: ModuleBuilder, MR: number, NR: number, relaxed: boolean): void {
  const NV = NR / 4;
  const f = m.func('macro', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [pA, pB, C, ldc, mc, nc, kc, mode, bias, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const jr = f.local(I32);
  const ir = f.local(I32);
  const nr = f.local(I32);
  const mr = f.local(I32);
  const tp = f.local(I32);
  const ldt = f.local(I32);
  const a = f.local(I32);
  const b = f.local(I32);
  const k = f.local(I32);
  const t = f.local(I32);
  const full = f.local(I32);
  const cTile = f.local(I32);
  const acc: number[] = [];
  for (let i = 0; i < MR * NV; i++) acc.push(f.local(V128));
  const bv: number[] = [];
  for (let v = 0; v < NV; v++) bv.push(f.local(V128));
  const as = f.local(V128);

  f.forRange(jr, nc, NR, () => {
    f.get(nc).get(jr).op(Op.i32_sub).set(nr);
    f.forRange(ir, mc, MR, () => {
      f.get(mc).get(ir).op(Op.i32_sub).set(mr);
      // cTile = C + ir ldc + jr 4: the tile's corner in C.
      f.get(C).get(ir).get(ldc).op(Op.i32_mul, Op.i32_add).get(jr).i32(4).op(Op.i32_mul, Op.i32_add).set(cTile);
      f.get(mr).i32(MR).op(Op.i32_ge_s).get(nr).i32(NR).op(Op.i32_ge_s, Op.i32_and).set(full);
      f.ifElse(
        () => f.get(full),
        () => f.get(cTile).set(tp).get(ldc).set(ldt),
        () => {
          f.get(tile)
            .set(tp)
            .i32(NR * 4)
            .set(ldt);
          f.ifElse(
            () => f.get(mode).i32(2).op(Op.i32_eq),
            () => emitEdgeCopy(f, MR, NR, true, cTile, ldc, tile, mr, nr),
          );
        },
      );
      // Accumulators: 0, the bias row, or the tile of C.
      f.ifElse(
        () => f.get(mode).op(Op.i32_eqz),
        () => {
          f.f32(0).simd(V.f32x4_splat).set(as);
          for (const x of acc) f.get(as).set(x);
        },
        () =>
          f.ifElse(
            () => f.get(mode).i32(1).op(Op.i32_eq),
            () => {
              f.get(bias).get(jr).i32(4).op(Op.i32_mul, Op.i32_add).set(t);
              for (let v = 0; v < NV; v++)
                f.get(t)
                  .simdMem(V.v128_load, 0, 16 * v)
                  .set(bv[v]!);
              for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) f.get(bv[v]!).set(acc[r * NV + v]!);
            },
            () => {
              f.get(tp).set(t);
              for (let r = 0; r < MR; r++) {
                for (let v = 0; v < NV; v++)
                  f.get(t)
                    .simdMem(V.v128_load, 0, 16 * v)
                    .set(acc[r * NV + v]!);
                if (r < MR - 1) f.addLocal(t, ldt);
              }
            },
          ),
      );
      // a = pA + ir kc 4 (panel ir / MR), b = pB + jr kc 4 (panel jr / NR)
      f.get(pA).get(ir).get(kc).op(Op.i32_mul).i32(4).op(Op.i32_mul, Op.i32_add).set(a);
      f.get(pB).get(jr).get(kc).op(Op.i32_mul).i32(4).op(Op.i32_mul, Op.i32_add).set(b);
      f.get(kc).set(k);
      f.doWhile(
        () => {
          for (let v = 0; v < NV; v++)
            f.get(b)
              .simdMem(V.v128_load, 0, 16 * v)
              .set(bv[v]!);
          for (let r = 0; r < MR; r++) {
            f.get(a)
              .simdMem(V.v128_load32_splat, 0, 4 * r)
              .set(as);
            for (let v = 0; v < NV; v++) {
              const x = acc[r * NV + v]!;
              if (relaxed) f.get(as).get(bv[v]!).get(x).simd(V.f32x4_relaxed_madd).set(x);
              else f.get(as).get(bv[v]!).simd(V.f32x4_mul).get(x).simd(V.f32x4_add).set(x);
            }
          }
          f.addTo(a, MR * 4).addTo(b, NR * 4);
        },
        () => f.get(k).i32(1).op(Op.i32_sub).tee(k),
      );
      f.get(tp).set(t);
      for (let r = 0; r < MR; r++) {
        for (let v = 0; v < NV; v++)
          f.get(t)
            .get(acc[r * NV + v]!)
            .simdMem(V.v128_store, 0, 16 * v);
        if (r < MR - 1) f.addLocal(t, ldt);
      }
      f.ifElse(
        () => f.get(full).op(Op.i32_eqz),
        () => emitEdgeCopy(f, MR, NR, false, cTile, ldc, tile, mr, nr),
      );
    });
  });
}

/**
 * colsum(src, rows, cols, dst): dst[j] = sum_i src[i cols + j] (row-major [rows, cols], byte
 * offsets), summed over i in order, 4 columns per vector and the last cols mod 4 one at a time.
 */
function emitColSum(m: ModuleBuilder): void {
  const f = m.func('colsum', [I32, I32, I32, I32]);
  const [src, rows, cols, dst] = [0, 1, 2, 3];
  const j = f.local(I32);
  const i = f.local(I32);
  const p = f.local(I32);
  const c4 = f.local(I32);
  const stride = f.local(I32);
  const acc = f.local(V128);
  const s1 = f.local(F32);
  f.get(cols).i32(4).op(Op.i32_mul).set(stride);
  f.get(cols).i32(-4).op(Op.i32_and).set(c4);
  f.forRange(j, c4, 4, () => {
    f.f32(0).simd(V.f32x4_splat).set(acc);
    f.get(src).get(j).i32(4).op(Op.i32_mul, Op.i32_add).set(p);
    f.forRange(i, rows, 1, () => {
      f.get(acc).get(p).simdMem(V.v128_load, 0, 0).simd(V.f32x4_add).set(acc);
      f.addLocal(p, stride);
    });
    f.get(dst).get(j).i32(4).op(Op.i32_mul, Op.i32_add).get(acc).simdMem(V.v128_store, 0, 0);
  });
  f.get(c4).set(j);
  f.ifElse(
    () => f.get(j).get(cols).op(Op.i32_lt_s),
    () =>
      f.doWhile(
        () => {
          f.f32(0).set(s1);
          f.get(src).get(j).i32(4).op(Op.i32_mul, Op.i32_add).set(p);
          f.forRange(i, rows, 1, () => {
            f.get(s1).get(p).mem(Op.f32_load, 0, 0).op(Op.f32_add).set(s1);
            f.addLocal(p, stride);
          });
          f.get(dst).get(j).i32(4).op(Op.i32_mul, Op.i32_add).get(s1).mem(Op.f32_store, 0, 0);
          f.addTo(j, 1);
        },
        () => f.get(j).get(cols).op(Op.i32_lt_s),
      ),
  );
}

/** The module's bytes; it imports env.memory and exports packA, packB, macro and colsum. */
export function gemmModule(o: GemmModuleOptions): Uint8Array {
  if (!(o.nr % 4 === 0 && o.nr >= 4 && o.mr >= 1)) throw new Error(`gemm tile ${o.mr} x ${o.nr}: nr must be a multiple of 4`);
  const m = new ModuleBuilder();
  emitPackA(m, o.mr);
  emitPackB(m, o.nr);
  emitMacro(m, o.mr, o.nr, o.relaxed);
  emitColSum(m);
  return m.build();
}
