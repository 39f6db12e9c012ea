/**
 * One-pass Adam / AdamW update and gradient sum of squares for the tfjs wasm backend, as two
 * kernels over the backend's heap (the same in-place access as core/kernels/gemm.ts):
 *
 *   FlowSumSquares  inputs g0..g{n-1}                     -> float32 scalar  sum_i sum_j g_i[j]^2
 *                   (accumulated in float64)
 *   FlowAdam        inputs g0..g{n-1} (or one flat g), w0..w{n-1}, m, v, ema (flat, all variables
 *                   concatenated) -> outputs w0'..w{n-1}', m', v', ema'
 *
 * Per value, with host scalars (attrs) folded exactly as core/train/optim.ts does:
 *
 *   g'   = g gs + w wd                      (gs: clip factor or 1; wd: L2-coupled decay or 0)
 *   m'   = m b1 + g' c1
 *   v'   = v b2 + (g' g') c2
 *   w'   = w dw - (m' / (sqrt(v') + epsS)) stepS     (dw: AdamW's 1 - lr wd, else 1)
 *   ema' = ema d + w' dm
 *
 * Each line is the float32 operation sequence of the tensor path (separate multiply and add, no
 * FMA), so the update gives the same bits as the per-op path; the point is one kernel dispatch over
 * all parameters instead of ~35 ops, two concats and the split through the host.
 */
import { tf, type Tensor } from '../tf';
import { F32, F64, I32, ModuleBuilder, Op, Simd, V128, wasmApi, type FuncBuilder, type ValType, type WasmMemory } from './wasm-asm';
import { asWasmBackend, f32View, offsetOf, perBackend, sizeOf, type WasmKernelArgs } from './wasm-backend';

/** The scalars of one update (see the module comment). */
export interface AdamScalars {
  gs: number;
  wd: number;
  b1: number;
  c1: number;
  b2: number;
  c2: number;
  epsS: number;
  dw: number;
  stepS: number;
  d: number;
  dm: number;
}

const SCALARS: (keyof AdamScalars)[] = ['gs', 'wd', 'b1', 'c1', 'b2', 'c2', 'epsS', 'dw', 'stepS', 'd', 'dm'];

/** adam(g, w, m, v, ema, wOut, mOut, vOut, emaOut, n, ...scalars) and sumsq(p, n) -> f64. */
export function adamModule(): Uint8Array {
  const m = new ModuleBuilder();
  const f = m.func('adam', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, ...SCALARS.map((): ValType => F32)]);
  const ptrs = [0, 1, 2, 3, 4, 5, 6, 7, 8]; // g w m v ema wOut mOut vOut emaOut
  const n = 9;
  const s = Object.fromEntries(SCALARS.map((k, i) => [k, 10 + i])) as Record<keyof AdamScalars, number>;
  const sv = Object.fromEntries(SCALARS.map((k) => [k, f.local(V128)])) as Record<keyof AdamScalars, number>;
  const i = f.local(I32);
  const n4 = f.local(I32);
  const [gl, wl, ml, vl, el] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const [gs1, ws1, ms1, vs1, es1] = [f.local(F32), f.local(F32), f.local(F32), f.local(F32), f.local(F32)];
  for (const k of SCALARS) f.get(s[k]).simd(Simd.f32x4_splat).set(sv[k]);
  f.get(n).i32(-4).op(Op.i32_and).set(n4);

  /** The update on locals (g, w, m, v, ema) with vector or scalar opcodes; leaves them updated (w = w', ...). */
  const body = (vec: boolean, g: number, w: number, mm: number, v: number, e: number, sc: Record<keyof AdamScalars, number>): void => {
    const bin = (opV: number, opS: number): void => void (vec ? f.simd(opV) : f.op(opS));
    const mul = (): void => bin(Simd.f32x4_mul, Op.f32_mul);
    const add = (): void => bin(Simd.f32x4_add, Op.f32_add);
    const sub = (): void => bin(Simd.f32x4_sub, Op.f32_sub);
    const div = (): void => bin(Simd.f32x4_div, Op.f32_div);
    // g' = g gs + w wd
    f.get(g).get(sc.gs);
    mul();
    f.get(w).get(sc.wd);
    mul();
    add();
    f.set(g);
    // m' = m b1 + g' c1
    f.get(mm).get(sc.b1);
    mul();
    f.get(g).get(sc.c1);
    mul();
    add();
    f.set(mm);
    // v' = v b2 + (g' g') c2
    f.get(v).get(sc.b2);
    mul();
    f.get(g).get(g);
    mul();
    f.get(sc.c2);
    mul();
    add();
    f.set(v);
    // w' = w dw - (m' / (sqrt(v') + epsS)) stepS
    f.get(w).get(sc.dw);
    mul();
    f.get(mm).get(v);
    if (vec) f.simd(Simd.f32x4_sqrt);
    else f.op(Op.f32_sqrt);
    f.get(sc.epsS);
    add();
    div();
    f.get(sc.stepS);
    mul();
    sub();
    f.set(w);
    // ema' = ema d + w' dm
    f.get(e).get(sc.d);
    mul();
    f.get(w).get(sc.dm);
    mul();
    add();
    f.set(e);
  };

  const addr = (p: number): FuncBuilder => f.get(ptrs[p]!).get(i).i32(4).op(Op.i32_mul, Op.i32_add);
  f.forRange(i, n4, 4, () => {
    [gl, wl, ml, vl, el].forEach((l, p) => addr(p).simdMem(Simd.v128_load, 0, 0).set(l));
    body(true, gl, wl, ml, vl, el, sv);
    [wl, ml, vl, el].forEach((l, q) =>
      addr(5 + q)
        .get(l)
        .simdMem(Simd.v128_store, 0, 0),
    );
  });
  // Tail (n mod 4 values), scalar.
  f.get(n4).set(i);
  f.ifElse(
    () => f.get(i).get(n).op(Op.i32_lt_s),
    () =>
      f.doWhile(
        () => {
          [gs1, ws1, ms1, vs1, es1].forEach((l, p) => addr(p).mem(Op.f32_load, 0, 0).set(l));
          body(false, gs1, ws1, ms1, vs1, es1, s);
          [ws1, ms1, vs1, es1].forEach((l, q) =>
            addr(5 + q)
              .get(l)
              .mem(Op.f32_store, 0, 0),
          );
          f.addTo(i, 1);
        },
        () => f.get(i).get(n).op(Op.i32_lt_s),
      ),
  );

  // sumsq(p, n) -> f64: four float64 accumulators over the float32 values.
  const q = m.func('sumsq', [I32, I32], [F64]);
  const j = q.local(I32);
  const acc = [0, 1, 2, 3].map(() => q.local(F64));
  const x = q.local(F64);
  const n4q = q.local(I32);
  q.get(1).i32(-4).op(Op.i32_and).set(n4q);
  const term = (off: number, a: number): void => {
    q.get(0)
      .get(j)
      .i32(4)
      .op(Op.i32_mul, Op.i32_add)
      .mem(Op.f32_load, 0, off)
      .op(Op.f64_promote_f32)
      .tee(x)
      .get(x)
      .op(Op.f64_mul)
      .get(a)
      .op(Op.f64_add)
      .set(a);
  };
  q.forRange(j, n4q, 4, () => [0, 1, 2, 3].forEach((k) => term(4 * k, acc[k]!)));
  q.get(n4q).set(j);
  q.ifElse(
    () => q.get(j).get(1).op(Op.i32_lt_s),
    () =>
      q.doWhile(
        () => (term(0, acc[0]!), q.addTo(j, 1)),
        () => q.get(j).get(1).op(Op.i32_lt_s),
      ),
  );
  q.get(acc[0]!).get(acc[1]!).op(Op.f64_add).get(acc[2]!).get(acc[3]!).op(Op.f64_add, Op.f64_add);

  // combine2(a, b, out, n, wa, wb): out[i] = float32(wa a[i] + wb b[i]) in float64, the operations of
  // core/train/shard.ts combineShards for two shards (so the same bits).
  const c = m.func('combine2', [I32, I32, I32, I32, F64, F64]);
  const ci = c.local(I32);
  const at = (p: number): void => void c.get(p).get(ci).i32(4).op(Op.i32_mul, Op.i32_add);
  c.forRange(ci, 3, 1, () => {
    at(2);
    at(0);
    c.mem(Op.f32_load, 0, 0).op(Op.f64_promote_f32).get(4).op(Op.f64_mul);
    at(1);
    c.mem(Op.f32_load, 0, 0).op(Op.f64_promote_f32).get(5).op(Op.f64_mul).op(Op.f64_add).op(Op.f32_demote_f64).mem(Op.f32_store, 0, 0);
  });
  return m.build();
}

interface AdamExports {
  adam(
    g: number,
    w: number,
    m: number,
    v: number,
    e: number,
    wo: number,
    mo: number,
    vo: number,
    eo: number,
    n: number,
    ...s: number[]
  ): void;
  sumsq(p: number, n: number): number;
  combine2(a: number, b: number, out: number, n: number, wa: number, wb: number): void;
}

let compiled: object | null = null;

/** Instantiates the module over a heap (tests use their own memory). */
export function adamInstance(memory: WasmMemory): AdamExports {
  compiled ??= new wasmApi.Module(adamModule());
  return new wasmApi.Instance(compiled, { env: { memory } }).exports as unknown as AdamExports;
}

export const FLOW_ADAM = 'FlowAdam';
export const FLOW_COMBINE2 = 'FlowCombine2';
export const FLOW_SUM_SQUARES = 'FlowSumSquares';

const instanceFor = perBackend((b) => adamInstance(b.wasm.asm.memory));

/** FlowSumSquares on the wasm backend (registered by core/kernels/register.ts). */
export function sumSquaresWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const x = instanceFor(backend);
  const { count } = args.attrs as { count: number };
  let s = 0;
  for (let i = 0; i < count; i++) {
    const g = args.inputs[`g${i}`]!;
    s += x.sumsq(offsetOf(backend, g), sizeOf(g));
  }
  const out = backend.makeOutput([], 'float32');
  f32View(backend, out)[0] = s;
  return out;
}

/** FlowAdam on the wasm backend (registered by core/kernels/register.ts). */
export function adamWasm(args: WasmKernelArgs): tf.TensorInfo[] {
  const backend = asWasmBackend(args.backend);
  const x = instanceFor(backend);
  const attrs = args.attrs as { count: number; flatGrad: boolean; scalars: AdamScalars };
  const inp = args.inputs;
  const off = (t: tf.TensorInfo): number => offsetOf(backend, t);
  const m = inp.m!;
  const total = m.shape[0]!;
  const mo = backend.makeOutput([total], 'float32');
  const vo = backend.makeOutput([total], 'float32');
  const eo = backend.makeOutput([total], 'float32');
  const [pm, pv, pe, pmo, pvo, peo] = [off(m), off(inp.v!), off(inp.ema!), off(mo), off(vo), off(eo)];
  const s = SCALARS.map((k) => attrs.scalars[k]);
  const outs: tf.TensorInfo[] = [];
  const gFlat = attrs.flatGrad ? off(inp.g0!) : 0;
  let o = 0;
  for (let i = 0; i < attrs.count; i++) {
    const w = inp[`w${i}`]!;
    const n = sizeOf(w);
    const wo = backend.makeOutput([...w.shape], 'float32');
    const pg = attrs.flatGrad ? gFlat + 4 * o : off(inp[`g${i}`]!);
    x.adam(pg, off(w), pm + 4 * o, pv + 4 * o, pe + 4 * o, off(wo), pmo + 4 * o, pvo + 4 * o, peo + 4 * o, n, ...s);
    outs.push(wo);
    o += n;
  }
  if (o !== total) throw new Error(`${FLOW_ADAM}: the variables hold ${o} values, the moments ${total}`);
  return [...outs, mo, vo, eo];
}

/** FlowCombine2 on the wasm backend (registered by core/kernels/register.ts). */
export function combine2Wasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { wa, wb } = args.attrs as { wa: number; wb: number };
  const n = sizeOf(a);
  if (sizeOf(b) !== n || a.dtype !== 'float32' || b.dtype !== 'float32')
    throw new Error(`${FLOW_COMBINE2}: two float32 tensors of the same size expected`);
  const out = backend.makeOutput([n], 'float32');
  instanceFor(backend).combine2(offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out), n, wa, wb);
  return out;
}

let fastPath = true;

/** Testing aid: off makes core/train/optim.ts use its per-op tensor path on every backend. Returns the previous setting. */
export function useAdamKernel(on: boolean): boolean {
  const prev = fastPath;
  fastPath = on;
  return prev;
}

/** True when the fused kernels run on the current backend (asks only; registerFlowKernels registers). */
export function adamKernelActive(): boolean {
  return fastPath && tf.getKernel(FLOW_ADAM, tf.getBackend()) !== undefined;
}

/**
 * float32(wa a + wb b) per value, computed in float64 (kernel path only): the two-shard gradient
 * combination of core/train/shard.ts combineShards, bit for bit, on tensors already in the heap.
 */
export function combine2(a: Tensor, b: Tensor, wa: number, wb: number): Tensor {
  return tf.engine().runKernel(FLOW_COMBINE2, { a, b }, { wa, wb } as unknown as tf.NamedAttrMap) as Tensor;
}

/** sum of squares of all values of `grads` (float64 accumulation), read to the host. Kernel path only. */
export function sumSquares(grads: readonly Tensor[]): number {
  const inputs: tf.NamedTensorMap = {};
  grads.forEach((g, i) => (inputs[`g${i}`] = g));
  const s = tf.engine().runKernel(FLOW_SUM_SQUARES, inputs, { count: grads.length } as unknown as tf.NamedAttrMap) as Tensor;
  const v = s.dataSync()[0]!;
  s.dispose();
  return v;
}

/**
 * The fused update (kernel path only): `grads` one per weight, or one flat gradient; m, v, ema flat.
 * Returns new weights (one per input weight) and the new m, v, ema; the caller owns them.
 */
export function adamUpdate(
  grads: readonly Tensor[],
  weights: readonly Tensor[],
  m: Tensor,
  v: Tensor,
  ema: Tensor,
  scalars: AdamScalars,
): { weights: Tensor[]; m: Tensor; v: Tensor; ema: Tensor } {
  const flatGrad = grads.length === 1 && weights.length !== 1;
  const inputs: tf.NamedTensorMap = { m, v, ema };
  grads.forEach((g, i) => (inputs[`g${i}`] = g));
  weights.forEach((w, i) => (inputs[`w${i}`] = w));
  const out = tf
    .engine()
    .runKernel(FLOW_ADAM, inputs, { count: weights.length, flatGrad, scalars } as unknown as tf.NamedAttrMap) as Tensor[];
  const k = weights.length;
  return { weights: out.slice(0, k), m: out[k]!, v: out[k + 1]!, ema: out[k + 2]! };
}
