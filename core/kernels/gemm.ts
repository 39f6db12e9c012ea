/**
 * Matrix products on our own WebAssembly GEMM (core/kernels/gemm-module.ts) for the tfjs wasm
 * backend: C = op(A) op(B) (+ bias), with transposed operands handled natively (no transpose op, no
 * copy), computed in place on the backend's heap (the module imports the backend's
 * WasmMemory, so tensors are read and written where tfjs keeps them).
 *
 * Why: tfjs-backend-wasm runs matMul on XNNPACK built for 128-bit SIMD without FMA (~25 GFLOP/s on
 * one core here), and its transposed matMul is 10-14x slower still. With relaxed SIMD
 * (f32x4.relaxed_madd -> vfmadd on x64) a register-blocked kernel does a multiply-add per lane per
 * instruction.
 *
 * `gemm(a, b, {transposeA, transposeB, bias})` runs the kernel 'FlowMatMul' where it is registered
 * (by registerFlowKernels, core/kernels/register.ts: the wasm backend, when the engine validates
 * 128-bit SIMD) and falls back to explicit transposes and tfjs's plain matMul elsewhere. Numerics: float32 products summed in k order (fused when
 * relaxed_madd fuses), so results differ from tfjs's kernels by rounding only; the same machine
 * gives the same bits every time.
 */
import { tf, type Tensor } from '../tf';
import { gemmModule } from './gemm-module';
import { hasRelaxedSimd, wasmApi, type WasmMemory } from './wasm-asm';
import { asWasmBackend, offsetOf, perBackend, type WasmKernelArgs } from './wasm-backend';
import { siluFor } from './silu';

/** Block sizes and register tile of a Gemm. */
export interface GemmConfig {
  mr: number;
  nr: number;
  /** Depth of a packed block (k values). */
  kc: number;
  /** Rows of a packed A block. */
  mc: number;
  /** Columns of a packed B block. */
  nc: number;
  relaxed: boolean;
}

export const DEFAULT_GEMM: GemmConfig = { mr: 4, nr: 8, kc: 256, mc: 128, nc: 512, relaxed: true };

/** Where a Gemm finds memory: the heap and its allocator. */
export interface GemmHeap {
  memory: WasmMemory;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

/**
 * One operand or result, all in bytes of the heap: element (i, j) of the logical matrix at
 * ptr + i rs + j cs.
 */
export interface GemmArgs {
  a: number;
  aRs: number;
  aCs: number;
  b: number;
  bRs: number;
  bCs: number;
  /** C is row-major with row stride ldc bytes. */
  c: number;
  ldc: number;
  m: number;
  n: number;
  k: number;
  /** Byte offset of n bias values added to every row, or -1. */
  bias: number;
  /**
   * Called once per finished block of C (rows `rows` from byte offset `c`, `cols` columns, row
   * stride ldc), right after its last depth block: an elementwise epilogue reads it while it is in
   * cache (FlowMatMul's SiLU).
   */
  epilogue?: (c: number, rows: number, cols: number) => void;
}

interface GemmExports {
  packA(src: number, rs: number, cs: number, mc: number, kc: number, dst: number): void;
  packB(src: number, rs: number, cs: number, kc: number, nc: number, dst: number): void;
  macro(pA: number, pB: number, c: number, ldc: number, mc: number, nc: number, kc: number, mode: number, bias: number, tile: number): void;
  colsum(src: number, rows: number, cols: number, dst: number): void;
}

const modules = new Map<string, object>();

function compiled(cfg: GemmConfig): object {
  const key = `${cfg.mr}x${cfg.nr}/${cfg.relaxed}`;
  let mod = modules.get(key);
  if (!mod) {
    mod = new wasmApi.Module(gemmModule(cfg));
    modules.set(key, mod);
  }
  return mod;
}

let relaxedSupported: boolean | null = null;

/** True when this engine has relaxed SIMD (the kernel then uses fused multiply-adds). */
export function gemmUsesFma(): boolean {
  relaxedSupported ??= hasRelaxedSimd();
  return relaxedSupported;
}

/** A GEMM bound to one heap, with its own scratch (packed blocks, edge tile, padded bias). */
export class Gemm {
  readonly config: GemmConfig;
  private readonly fx: GemmExports;
  private scratch = 0;
  private scratchBytes = 0;

  constructor(
    private readonly heap: GemmHeap,
    config: Partial<GemmConfig> = {},
  ) {
    const cfg = { ...DEFAULT_GEMM, ...config };
    if (cfg.relaxed && !gemmUsesFma()) cfg.relaxed = false;
    if (cfg.mc % cfg.mr !== 0 || cfg.nc % cfg.nr !== 0)
      throw new Error(`gemm: mc must be a multiple of mr and nc of nr (${JSON.stringify(cfg)})`);
    this.config = cfg;
    const inst = new wasmApi.Instance(compiled(cfg), { env: { memory: heap.memory } });
    this.fx = inst.exports as unknown as GemmExports;
  }

  /** Byte offsets of the scratch regions (allocated on first use, grown as needed). */
  private regions(n: number): { pA: number; pB: number; tile: number; bias: number } {
    const { mr, nr, kc, mc, nc } = this.config;
    const aBytes = mc * kc * 4;
    const bBytes = nc * kc * 4;
    const tileBytes = mr * nr * 4;
    const biasBytes = (Math.ceil(n / nr) * nr + nr) * 4;
    const need = aBytes + bBytes + tileBytes + biasBytes + 64;
    if (need > this.scratchBytes) {
      if (this.scratch) this.heap.free(this.scratch);
      this.scratchBytes = Math.max(need, 2 * this.scratchBytes);
      this.scratch = this.heap.malloc(this.scratchBytes);
      if (!this.scratch) throw new Error(`gemm: could not allocate ${this.scratchBytes} bytes of scratch`);
    }
    const base = (this.scratch + 15) & ~15;
    return { pA: base, pB: base + aBytes, tile: base + aBytes + bBytes, bias: base + aBytes + bBytes + tileBytes };
  }

  /** C = A B (+ bias): see GemmArgs. */
  run(g: GemmArgs): void {
    const { m, n, k } = g;
    if (m === 0 || n === 0) return;
    const { kc: KC, mc: MC, nc: NC } = this.config;
    const r = this.regions(n);
    if (g.bias >= 0) {
      const heap = new Float32Array(this.heap.memory.buffer);
      heap.copyWithin(r.bias >> 2, g.bias >> 2, (g.bias >> 2) + n);
      heap.fill(0, (r.bias >> 2) + n, (r.bias >> 2) + Math.ceil(n / this.config.nr) * this.config.nr);
    }
    if (k === 0) {
      const heap = new Float32Array(this.heap.memory.buffer);
      for (let i = 0; i < m; i++) {
        const row = (g.c + i * g.ldc) >> 2;
        if (g.bias >= 0) heap.copyWithin(row, r.bias >> 2, (r.bias >> 2) + n);
        else heap.fill(0, row, row + n);
      }
      return;
    }
    const fx = this.fx;
    for (let k0 = 0; k0 < k; k0 += KC) {
      const kc = Math.min(KC, k - k0);
      const mode = k0 > 0 ? 2 : g.bias >= 0 ? 1 : 0;
      for (let j0 = 0; j0 < n; j0 += NC) {
        const nc = Math.min(NC, n - j0);
        fx.packB(g.b + k0 * g.bRs + j0 * g.bCs, g.bRs, g.bCs, kc, nc, r.pB);
        for (let i0 = 0; i0 < m; i0 += MC) {
          const mc = Math.min(MC, m - i0);
          fx.packA(g.a + i0 * g.aRs + k0 * g.aCs, g.aRs, g.aCs, mc, kc, r.pA);
          fx.macro(r.pA, r.pB, g.c + i0 * g.ldc + j0 * 4, g.ldc, mc, nc, kc, mode, r.bias + j0 * 4, r.tile);
          if (g.epilogue && k0 + kc >= k) g.epilogue(g.c + i0 * g.ldc + j0 * 4, mc, nc);
        }
      }
    }
  }

  /** dst[j] = sum_i src[i cols + j] over a row-major [rows, cols] matrix (byte offsets), rows in order. */
  sumRows(src: number, rows: number, cols: number, dst: number): void {
    this.fx.colsum(src, rows, cols, dst);
  }

  /** Frees the scratch. */
  dispose(): void {
    if (this.scratch) this.heap.free(this.scratch);
    this.scratch = 0;
    this.scratchBytes = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// The tfjs kernel
// ---------------------------------------------------------------------------------------------

/** Kernel name of the GEMM: inputs {a, b, bias?}, attrs {transposeA, transposeB}. */
export const FLOW_MATMUL = 'FlowMatMul';

/** The Gemm over a backend's heap (one per backend, with its scratch): for kernels that run several products. */
export const gemmFor = perBackend((b) => {
  const w = b.wasm;
  return new Gemm({ memory: w.asm.memory, malloc: (n) => w._malloc(n), free: (p) => w._free(p) });
});

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  /** y = silu(op(A) op(B) + bias), the SiLU module's code applied to each block of C in place. */
  silu: boolean;
}

/** FlowMatMul on the wasm backend (registered by core/kernels/register.ts). */
export function flowMatMulWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const { a, b, bias } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo };
  const { transposeA, transposeB, silu } = (args.attrs ?? {}) as Partial<MatMulAttrs>;
  const tA = transposeA === true;
  const tB = transposeB === true;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const batchA = ra === 3 ? a.shape[0]! : 1;
  const batchB = rb === 3 ? b.shape[0]! : 1;
  const m = tA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = tA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = tB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb || (batchA !== batchB && batchA !== 1 && batchB !== 1) || ra < 2 || rb < 2 || ra > 3 || rb > 3) {
    throw new Error(`${FLOW_MATMUL}: shapes [${a.shape}] (transposeA ${tA}) and [${b.shape}] (transposeB ${tB}) do not multiply`);
  }
  if (bias && bias.shape.reduce((x, y) => x * y, 1) !== n)
    throw new Error(`${FLOW_MATMUL}: bias must have ${n} values, got [${bias.shape}]`);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || (bias && bias.dtype !== 'float32'))
    throw new Error(`${FLOW_MATMUL}: float32 operands only`);
  const batch = Math.max(batchA, batchB);
  const out = backend.makeOutput(ra === 3 || rb === 3 ? [batch, m, n] : [m, n], 'float32');
  const off = (t: tf.TensorInfo): number => offsetOf(backend, t);
  const g = gemmFor(backend);
  const aOff = off(a);
  const bOff = off(b);
  const cOff = off(out);
  const biasOff = bias ? off(bias) : -1;
  let epilogue: GemmArgs['epilogue'];
  if (silu === true) {
    const fx = siluFor(backend);
    // A block spans whole rows when it spans all n columns: one call over rows x n values.
    epilogue = (c, rows, cols) => {
      if (cols === n) fx.silu(c, c, rows * n);
      else for (let r = 0; r < rows; r++) fx.silu(c + r * n * 4, c + r * n * 4, cols);
    };
  }
  for (let i = 0; i < batch; i++) {
    g.run({
      a: aOff + (batchA === 1 ? 0 : i * m * k * 4),
      aRs: tA ? 4 : k * 4,
      aCs: tA ? m * 4 : 4,
      b: bOff + (batchB === 1 ? 0 : i * k * n * 4),
      bRs: tB ? 4 : n * 4,
      bCs: tB ? k * 4 : 4,
      c: cOff + i * m * n * 4,
      ldc: n * 4,
      m,
      n,
      k,
      bias: biasOff,
      epilogue,
    });
  }
  return out;
}

/** Kernel name of the column sum of a 2-D tensor: input {x} [n, m] -> [m]. */
export const FLOW_SUM_ROWS = 'FlowSumRows';

/** FlowSumRows on the wasm backend (registered by core/kernels/register.ts). */
export function flowSumRowsWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend);
  const x = args.inputs.x!;
  if (x.shape.length !== 2 || x.dtype !== 'float32')
    throw new Error(`${FLOW_SUM_ROWS}: a 2-D float32 input expected, got [${x.shape}] ${x.dtype}`);
  const [n, m] = x.shape as [number, number];
  const out = backend.makeOutput([m], 'float32');
  gemmFor(backend).sumRows(offsetOf(backend, x), n, m, offsetOf(backend, out));
  return out;
}

/**
 * Column sums of a 2-D tensor x [n, m] -> [m] (sum over rows, in row order): one pass on wasm; a
 * plain matMul ones[1, n] · x elsewhere (tf.sum over axis 0 transposes on wasm).
 */
export function sumRows(x: Tensor): Tensor {
  if (gemmKernelActive() && x.dtype === 'float32' && x.rank === 2) return tf.engine().runKernel(FLOW_SUM_ROWS, { x }) as Tensor;
  return tf.tidy(() => tf.reshape(tf.matMul(tf.ones([1, x.shape[0]!]), x), [x.shape[1]!]));
}

let fastPath = true;

/** Testing aid: off makes `gemm` use the tfjs fallback on every backend. Returns the previous setting. */
export function useGemmKernel(on: boolean): boolean {
  const prev = fastPath;
  fastPath = on;
  return prev;
}

/** True when `gemm` runs the FlowMatMul kernel on the current backend (asks only; registerFlowKernels registers). */
export function gemmKernelActive(): boolean {
  return fastPath && tf.getKernel(FLOW_MATMUL, tf.getBackend()) !== undefined;
}

function transposeLast2(x: Tensor): Tensor {
  return x.rank === 3 ? tf.transpose(x, [0, 2, 1]) : tf.transpose(x);
}

/**
 * silu(a · b + bias) for rank-2 float32 tensors as one FlowMatMul (kernel path only: callers check
 * gemmKernelActive and siluKernelActive). The same values as siluForward(gemm(a, b, { bias })): the
 * SiLU module's code runs on each block of the product right after it is computed. No gradient.
 */
export function gemmSilu(a: Tensor, b: Tensor, bias: Tensor): Tensor {
  return tf
    .engine()
    .runKernel(FLOW_MATMUL, { a, b, bias }, { transposeA: false, transposeB: false, silu: true } as unknown as tf.NamedAttrMap) as Tensor;
}

/**
 * op(a) · op(b) (+ bias) for rank-2 or rank-3 (batched; a batch of 1 broadcasts) float32 tensors,
 * op = transpose of the last two axes when asked. bias: [n] added to every row. No gradient (use it
 * inside a custom gradient, as core/model/ops/ does).
 */
export function gemm(a: Tensor, b: Tensor, opts: { transposeA?: boolean; transposeB?: boolean; bias?: Tensor } = {}): Tensor {
  const tA = opts.transposeA === true;
  const tB = opts.transposeB === true;
  if (gemmKernelActive()) {
    // Like tf.matMul, other dtypes (a one-hot int32 matrix) are multiplied as float32.
    const f32 = (x: Tensor): Tensor => (x.dtype === 'float32' ? x : tf.cast(x, 'float32'));
    const [a2, b2, bias2] = [f32(a), f32(b), opts.bias ? f32(opts.bias) : undefined];
    const inputs: tf.NamedTensorMap = bias2 ? { a: a2, b: b2, bias: bias2 } : { a: a2, b: b2 };
    const y = tf.engine().runKernel(FLOW_MATMUL, inputs, { transposeA: tA, transposeB: tB } as unknown as tf.NamedAttrMap) as Tensor;
    for (const [x, x2] of [
      [a, a2],
      [b, b2],
      [opts.bias, bias2],
    ] as const)
      if (x2 && x2 !== x) x2.dispose();
    return y;
  }
  return tf.tidy(() => {
    const a2 = tA ? transposeLast2(a) : a;
    const b2 = tB ? transposeLast2(b) : b;
    return opts.bias && a2.rank === 2 && b2.rank === 2
      ? tf.fused.matMul({ a: a2, b: b2, bias: opts.bias })
      : opts.bias
        ? tf.add(tf.matMul(a2, b2), opts.bias)
        : tf.matMul(a2, b2);
  });
}
