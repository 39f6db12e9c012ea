/**
 * SiLU and its gradient as single wasm kernels (instead of sigmoid + multiply forward and four
 * elementwise ops backward):
 *
 *   FlowSilu      x -> y = x s,                    s = sigmoid(x) = 1 / (1 + exp(-x))
 *   FlowSiluGrad  (dy, x) -> dx = dy s (1 + x (1 - s))
 *
 * The backward pass recomputes s from x, so the forward pass saves only its input. exp is the
 * Cephes expf scheme in 4 lanes: n = round(x log2 e) (by the 1.5 2^23 trick), r = x - n ln 2 (ln 2 in two parts), a degree-5
 * polynomial for e^r, and 2^n through the exponent bits; |relative error| < 2e-7 on the clamped range
 * [-87.3, 88.3] (checked in test/core/kernels against float64 formulas); e^x = Infinity above ~88.7.
 */
import { tf, type Tensor } from '../tf';
import { hasRelaxedSimd, I32, ModuleBuilder, Op, Simd, V128, wasmApi, type FuncBuilder, type WasmMemory } from './wasm-asm';
import { asWasmBackend, offsetOf, perBackend, sizeOf, type WasmKernelArgs } from './wasm-backend';

/** 1.5 2^23: adding it rounds a float of magnitude < 2^22 to an integer held in the low mantissa bits. */
const MAGIC = 12582912;

/** Every float constant of the exp and sigmoid code, hoisted into locals. */
export const EXP_CONSTANTS = [
  89,
  -87.3,
  Math.LOG2E,
  MAGIC,
  0.693359375,
  -2.1219444e-4,
  1.98756915e-4,
  1.3981999507e-3,
  8.3334519073e-3,
  4.1665795894e-2,
  1.6666665459e-1,
  5.0000001201e-1,
  1,
];

/** v128.const with the same float32 in all 4 lanes. */
export function vconst(f: FuncBuilder, v: number): void {
  f.v128Const(new Uint8Array(new Float32Array([v, v, v, v]).buffer));
}

/**
 * Pushes e^x of the v128 in local `x` (4 lanes) using temporaries; leaves the result on the stack.
 * `fma`: use f32x4.relaxed_madd for the polynomial (shorter dependency chain). `c(v)` pushes the
 * hoisted constant v (one of EXP_CONSTANTS); `bias` is the local holding 127 - bits(1.5 2^23) in
 * every i32 lane. Shared with the GroupNorm backward module (core/model/groupnorm-grad-module.ts).
 */
export function emitExp(
  f: FuncBuilder,
  x: number,
  n: number,
  r: number,
  p: number,
  fma: boolean,
  c: (v: number) => void,
  bias: number,
): void {
  // x = clamp(x, -87.3, 89): above ~88.7 the result overflows to Infinity through 2^128, as exp does.
  // pmin/pmax are single instructions (min/max carry NaN rules that cost a sequence).
  f.get(x);
  c(89);
  f.simd(Simd.f32x4_pmin);
  c(-87.3);
  f.simd(Simd.f32x4_pmax).set(x);
  // y = x log2e + 1.5 2^23 rounds x log2e to the nearest integer n in its low mantissa bits.
  f.get(x);
  c(Math.LOG2E);
  f.simd(Simd.f32x4_mul);
  c(MAGIC);
  f.simd(Simd.f32x4_add).set(n);
  // r = x - n C1 - n C2, n = y - 1.5 2^23 (exact)
  f.get(x).get(n);
  c(MAGIC);
  f.simd(Simd.f32x4_sub).tee(p);
  c(0.693359375);
  f.simd(Simd.f32x4_mul).simd(Simd.f32x4_sub).get(p);
  c(-2.1219444e-4);
  f.simd(Simd.f32x4_mul).simd(Simd.f32x4_sub).set(r);
  // p = ((((c5 r + c4) r + c3) r + c2) r + c1) r + c0; e^r = p r^2 + r + 1
  c(1.98756915e-4);
  for (const k of [1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]) {
    f.get(r);
    if (fma) {
      c(k);
      f.simd(Simd.f32x4_relaxed_madd);
    } else {
      f.simd(Simd.f32x4_mul);
      c(k);
      f.simd(Simd.f32x4_add);
    }
  }
  f.get(r).get(r).simd(Simd.f32x4_mul).simd(Simd.f32x4_mul).get(r).simd(Simd.f32x4_add);
  c(1);
  f.simd(Simd.f32x4_add).set(p);
  // 2^n as float bits: (bits(y) - bits(1.5 2^23) + 127) << 23
  f.get(p).get(n).get(bias).simd(Simd.i32x4_add).i32(23).simd(Simd.i32x4_shl).simd(Simd.f32x4_mul);
}

/** silu(x, y, n) and siluGrad(dy, x, dx, n); byte offsets, n values. */
export function siluModule(fma: boolean): Uint8Array {
  const m = new ModuleBuilder();
  for (const grad of [false, true]) {
    const f = m.func(grad ? 'siluGrad' : 'silu', grad ? [I32, I32, I32, I32] : [I32, I32, I32]);
    const [pdy, px, pout, pn] = grad ? [0, 1, 2, 3] : [0, 0, 1, 2];
    const i = f.local(I32);
    const nv = f.local(I32);
    // Constants live in locals, set once (V8 would otherwise materialise each v128.const in the loop).
    const consts = new Map<number, number>();
    for (const v of EXP_CONSTANTS) {
      const l = f.local(V128);
      vconst(f, v);
      f.set(l);
      consts.set(v, l);
    }
    const bias127 = f.local(V128);
    f.i32(127 - 0x4b400000)
      .simd(Simd.i32x4_splat)
      .set(bias127); // 127 - bits(1.5 2^23)
    const c = (v: number): void => {
      const l = consts.get(v);
      if (l === undefined) throw new Error(`silu: constant ${v} not hoisted`);
      f.get(l);
    };
    const regs = (): number[] => [0, 1, 2, 3, 4, 5, 6, 7].map(() => f.local(V128));
    const A = regs();
    const B = regs();
    /** out = f(in) for the 4 lanes `load` pushes (byte offset `o` past element i); `store` writes the v128 in local res. */
    const lanes = (R: number[], load: (ptr: number, o: number) => void, store: (res: number, o: number) => void, o: number): void => {
      const [x, t, nn, r, p, sg, dy, res] = R as [number, number, number, number, number, number, number, number];
      load(px, o);
      f.set(x);
      if (grad) {
        load(pdy, o);
        f.set(dy);
      }
      // s = 1 / (1 + exp(-x))
      f.get(x).simd(Simd.f32x4_neg).set(t);
      emitExp(f, t, nn, r, p, fma, c, bias127);
      c(1);
      f.simd(Simd.f32x4_add).set(t);
      c(1);
      f.get(t).simd(Simd.f32x4_div).set(sg);
      if (!grad) {
        f.get(x).get(sg).simd(Simd.f32x4_mul);
      } else {
        // dx = dy s (1 + x (1 - s))
        f.get(dy).get(sg).simd(Simd.f32x4_mul);
        c(1);
        f.get(x);
        c(1);
        f.get(sg).simd(Simd.f32x4_sub).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
        f.simd(Simd.f32x4_mul);
      }
      f.set(res);
      store(res, o);
    };
    const at = (ptr: number): FuncBuilder => f.get(ptr).get(i).i32(4).op(Op.i32_mul, Op.i32_add);
    const vload = (ptr: number, o: number): void => void at(ptr).simdMem(Simd.v128_load, 0, o);
    const vstore = (res: number, o: number): void => void at(pout).get(res).simdMem(Simd.v128_store, 0, o);
    // Two vectors per iteration (independent dependency chains), then one, then single values.
    f.get(pn).i32(-8).op(Op.i32_and).set(nv);
    f.forRange(i, nv, 8, () => {
      lanes(A, vload, vstore, 0);
      lanes(B, vload, vstore, 16);
    });
    f.get(nv).set(i);
    f.ifElse(
      () => f.get(pn).get(i).op(Op.i32_sub).i32(4).op(Op.i32_ge_s),
      () => {
        lanes(A, vload, vstore, 0);
        f.addTo(i, 4);
      },
    );
    // Tail: one value at a time, broadcast to 4 lanes, lane 0 stored.
    f.ifElse(
      () => f.get(i).get(pn).op(Op.i32_lt_s),
      () =>
        f.doWhile(
          () => {
            lanes(
              A,
              (ptr, o) => void at(ptr).simdMem(Simd.v128_load32_splat, 0, o),
              (res, o) => void at(pout).get(res).lane(Simd.f32x4_extract_lane, 0).mem(Op.f32_store, 0, o),
              0,
            );
            f.addTo(i, 1);
          },
          () => f.get(i).get(pn).op(Op.i32_lt_s),
        ),
    );
  }
  return m.build();
}

interface SiluExports {
  silu(x: number, y: number, n: number): void;
  siluGrad(dy: number, x: number, dx: number, n: number): void;
}

let compiled: object | null = null;

/** Instantiates the module over a heap (tests use their own memory). */
export function siluInstance(memory: WasmMemory): SiluExports {
  compiled ??= new wasmApi.Module(siluModule(hasRelaxedSimd()));
  return new wasmApi.Instance(compiled, { env: { memory } }).exports as unknown as SiluExports;
}

export const FLOW_SILU = 'FlowSilu';
export const FLOW_SILU_GRAD = 'FlowSiluGrad';

/** The module's instance over a backend's heap. */
export const siluFor = perBackend((b) => siluInstance(b.wasm.asm.memory));

function checkF32(name: string, ...ts: tf.TensorInfo[]): void {
  if (ts.some((t) => t.dtype !== 'float32')) throw new Error(`${name}: float32 inputs only`);
}

/** FlowSilu on the wasm backend (registered by core/kernels/register.ts). */
export function siluWasm(args: WasmKernelArgs): tf.TensorInfo {
  const b = asWasmBackend(args.backend);
  const x = args.inputs.x!;
  checkF32(FLOW_SILU, x);
  const y = b.makeOutput([...x.shape], 'float32');
  siluFor(b).silu(offsetOf(b, x), offsetOf(b, y), sizeOf(x));
  return y;
}

/** FlowSiluGrad on the wasm backend (registered by core/kernels/register.ts). */
export function siluGradWasm(args: WasmKernelArgs): tf.TensorInfo {
  const b = asWasmBackend(args.backend);
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  checkF32(FLOW_SILU_GRAD, dy, x);
  if (sizeOf(dy) !== sizeOf(x)) throw new Error(`${FLOW_SILU_GRAD}: dy [${dy.shape}] and x [${x.shape}] differ in size`);
  const dx = b.makeOutput([...x.shape], 'float32');
  siluFor(b).siluGrad(offsetOf(b, dy), offsetOf(b, x), offsetOf(b, dx), sizeOf(x));
  return dx;
}

let fastPath = true;

/** Testing aid: off makes core/model/ops/activation.ts use tfjs sigmoid and elementwise ops. Returns the previous setting. */
export function useSiluKernel(on: boolean): boolean {
  const prev = fastPath;
  fastPath = on;
  return prev;
}

/** True when FlowSilu / FlowSiluGrad run on the current backend (asks only; registerFlowKernels registers). */
export function siluKernelActive(): boolean {
  return fastPath && tf.getKernel(FLOW_SILU, tf.getBackend()) !== undefined;
}

/** y = x sigmoid(x) (kernel path only). */
export function siluForward(x: Tensor): Tensor {
  return tf.engine().runKernel(FLOW_SILU, { x }) as Tensor;
}

/** dx = dy s (1 + x (1 - s)), s = sigmoid(x) (kernel path only). */
export function siluBackward(dy: Tensor, x: Tensor): Tensor {
  return tf.engine().runKernel(FLOW_SILU_GRAD, { dy, x }) as Tensor;
}
