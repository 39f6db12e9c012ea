/**
 * Inference-only kernels of the U-Net on the tfjs wasm backend, each ONE tfjs dispatch where the
 * layer-by-layer form takes 10-20 (measured: a batch-1 forward pass of the MNIST U-Net dispatched
 * ~600 kernels, ~7 µs of engine bookkeeping each, about half of its 8-9 ms):
 *
 *   FlowGroupNormAct  y = act(γ (x + e - μ) / sqrt(σ² + eps) + β), μ, σ² per (sample, group) over
 *                     the group's channels and all positions of x + e (two passes, float64 sums);
 *                     e [B, C] = eAct · W + b (a ResBlock's time/class projection, optional) is
 *                     constant over positions; act: SiLU (the wasm kernel of core/kernels/silu.ts,
 *                     in place) or none.
 *   FlowUNetEmbed     eAct = silu(dense(silu(dense(emb(t)))) + E[label]): the time MLP, the class
 *                     row and the SiLU every ResBlock applies to it, for a batch of B.
 *
 * The arithmetic is done in JavaScript on the backend's heap (float64 accumulation, float32 results):
 * these are small (≤ 28·28·48 values a sample) and memory-bound, so the saving is in dispatches and
 * passes, not in FLOPs. They have no gradients: the U-Net uses them only when no gradient tape is
 * recording (see core/model/unet.ts), and outputs agree with the differentiable ops to float32
 * rounding (test/core/model/unet-infer.test.ts).
 */
import { tf, type Tensor } from '../tf';
import { siluInstance } from '../kernels/silu';
import { wasmApi, type WasmMemory } from '../kernels/wasm-asm';
import { timeFrequencies } from './embed';

export const FLOW_GROUP_NORM_ACT = 'FlowGroupNormAct';
export const FLOW_UNET_EMBED = 'FlowUNetEmbed';

interface WasmBackendLike {
  wasm: { asm: { memory: WasmMemory } };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown };

const silus = new WeakMap<object, { silu(x: number, y: number, n: number): void }>();

function siluFor(b: WasmBackendLike): { silu(x: number, y: number, n: number): void } {
  let s = silus.get(b);
  if (!s) {
    s = siluInstance(b.wasm.asm.memory);
    silus.set(b, s);
  }
  return s;
}

/** A float32 view of a tensor's data on the heap (made after every allocation: the heap may grow). */
function view(b: WasmBackendLike, t: tf.TensorInfo): Float32Array {
  const n = t.shape.reduce((a, c) => a * c, 1);
  return new Float32Array(b.wasm.asm.memory.buffer, b.dataIdMap.get(t.dataId)!.memoryOffset, n);
}

function checkF32(name: string, ts: Array<tf.TensorInfo | undefined>): void {
  for (const t of ts) if (t && t.dtype !== 'float32') throw new Error(`${name}: float32 inputs only, got ${t.dtype}`);
}

export interface GroupNormActAttrs {
  groups: number;
  eps: number;
  /** Apply SiLU after the affine map. */
  silu: boolean;
}

function groupNormActWasm(args: KernelArgs): tf.TensorInfo {
  const b = args.backend as WasmBackendLike;
  const { x, gamma, beta, e, ew, eb } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { groups, eps, silu } = args.attrs as GroupNormActAttrs;
  checkF32(FLOW_GROUP_NORM_ACT, [x, gamma, beta, e, ew, eb]);
  const [bsz, h, w, c] = x!.shape as [number, number, number, number];
  if (x!.shape.length !== 4 || c % groups !== 0) throw new Error(`${FLOW_GROUP_NORM_ACT}: x must be [B, H, W, C] with C divisible by ${groups}. Got [${x!.shape}]`);
  const tdim = ew ? ew.shape[0]! : 0;
  if (e && (!ew || !eb || e.shape[0] !== bsz || e.shape[1] !== tdim || ew.shape[1] !== c)) {
    throw new Error(`${FLOW_GROUP_NORM_ACT}: e [${bsz}, K], ew [K, ${c}], eb [${c}] expected. Got e [${e.shape}], ew [${ew?.shape}], eb [${eb?.shape}]`);
  }
  const out = b.makeOutput([bsz, h, w, c], 'float32');
  const xs = view(b, x!);
  const ys = view(b, out);
  const gs = view(b, gamma!);
  const bs = view(b, beta!);
  const es = e ? view(b, e) : null;
  const ews = ew ? view(b, ew) : null;
  const ebs = eb ? view(b, eb) : null;
  const hw = h * w;
  const cg = c / groups;
  const n = hw * cg;
  const ev = new Float64Array(c);
  const sum = new Float64Array(c);
  const shift = new Float64Array(c); // per channel: μ_g - e_c, what x is centred by
  const mul = new Float32Array(c);
  const add = new Float32Array(c);
  for (let s = 0; s < bsz; s++) {
    const base = s * hw * c;
    if (es && ews && ebs) {
      // e_c = eb_c + Σ_k eAct[s, k] ew[k, c], rounded to float32 as the layer-by-layer form stores it.
      for (let j = 0; j < c; j++) ev[j] = 0;
      for (let k = 0; k < tdim; k++) {
        const a = es[s * tdim + k]!;
        const row = k * c;
        for (let j = 0; j < c; j++) ev[j] = ev[j]! + a * ews[row + j]!;
      }
      for (let j = 0; j < c; j++) ev[j] = Math.fround(Math.fround(ev[j]!) + ebs[j]!);
    }
    sum.fill(0);
    for (let p = base, end = base + hw * c; p < end; p += c) {
      for (let j = 0; j < c; j++) sum[j] = sum[j]! + xs[p + j]!;
    }
    for (let g = 0; g < groups; g++) {
      let t = 0;
      for (let j = g * cg; j < (g + 1) * cg; j++) t += sum[j]! + hw * ev[j]!;
      const mu = t / n;
      for (let j = g * cg; j < (g + 1) * cg; j++) shift[j] = mu - ev[j]!;
    }
    sum.fill(0);
    for (let p = base, end = base + hw * c; p < end; p += c) {
      for (let j = 0; j < c; j++) {
        const d = xs[p + j]! - shift[j]!;
        sum[j] = sum[j]! + d * d;
      }
    }
    for (let g = 0; g < groups; g++) {
      let t = 0;
      for (let j = g * cg; j < (g + 1) * cg; j++) t += sum[j]!;
      const rstd = 1 / Math.sqrt(t / n + eps);
      for (let j = g * cg; j < (g + 1) * cg; j++) {
        // y = γ (x - shift) rstd + β = x · mul + add
        mul[j] = gs[j]! * rstd;
        add[j] = bs[j]! - gs[j]! * rstd * shift[j]!;
      }
    }
    for (let p = base, end = base + hw * c; p < end; p += c) {
      for (let j = 0; j < c; j++) ys[p + j] = xs[p + j]! * mul[j]! + add[j]!;
    }
  }
  if (silu) {
    const o = b.dataIdMap.get(out.dataId)!.memoryOffset;
    siluFor(b).silu(o, o, bsz * hw * c);
  }
  return out;
}

export interface UNetEmbedAttrs {
  /** Sinusoidal embedding dimension (even). */
  dim: number;
}

const siluF64 = (v: number): number => v / (1 + Math.exp(-v));

function unetEmbedWasm(args: KernelArgs): tf.TensorInfo {
  const b = args.backend as WasmBackendLike;
  const { t, labels, w0, b0, w1, b1, table } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { dim } = args.attrs as UNetEmbedAttrs;
  checkF32(FLOW_UNET_EMBED, [t, w0, b0, w1, b1, table]);
  const bsz = t!.shape[0]!;
  const td = w0!.shape[1]!;
  if (w0!.shape[0] !== dim || w1!.shape[0] !== td || w1!.shape[1] !== td) throw new Error(`${FLOW_UNET_EMBED}: W0 [${dim}, D], W1 [D, D] expected. Got [${w0!.shape}], [${w1!.shape}]`);
  if (table && (!labels || labels.dtype !== 'int32' || labels.shape[0] !== bsz || table.shape[1] !== td)) throw new Error(`${FLOW_UNET_EMBED}: labels [${bsz}] int32 and table [K, ${td}] expected`);
  const out = b.makeOutput([bsz, td], 'float32');
  const ts = view(b, t!);
  const w0s = view(b, w0!);
  const b0s = view(b, b0!);
  const w1s = view(b, w1!);
  const b1s = view(b, b1!);
  const tab = table ? view(b, table) : null;
  const rows = table ? table.shape[0]! : 0;
  const labs = labels && table ? new Int32Array(b.wasm.asm.memory.buffer, b.dataIdMap.get(labels.dataId)!.memoryOffset, bsz) : null;
  const ys = view(b, out);
  const freqs = timeFrequencies(dim);
  const half = dim / 2;
  const emb = new Float32Array(dim);
  const h = new Float32Array(td);
  const acc = new Float64Array(td);
  for (let s = 0; s < bsz; s++) {
    for (let i = 0; i < half; i++) {
      const a = Math.fround(ts[s]! * freqs[i]!);
      emb[i] = Math.sin(a);
      emb[half + i] = Math.cos(a);
    }
    acc.fill(0);
    for (let k = 0; k < dim; k++) {
      const v = emb[k]!;
      for (let j = 0; j < td; j++) acc[j] = acc[j]! + v * w0s[k * td + j]!;
    }
    for (let j = 0; j < td; j++) h[j] = siluF64(Math.fround(Math.fround(acc[j]!) + b0s[j]!));
    acc.fill(0);
    for (let k = 0; k < td; k++) {
      const v = h[k]!;
      for (let j = 0; j < td; j++) acc[j] = acc[j]! + v * w1s[k * td + j]!;
    }
    const lab = labs ? labs[s]! : -1;
    const row = tab && lab >= 0 && lab < rows ? lab * td : -1;
    for (let j = 0; j < td; j++) {
      let v = Math.fround(Math.fround(acc[j]!) + b1s[j]!);
      if (row >= 0) v = Math.fround(v + tab![row + j]!);
      ys[s * td + j] = siluF64(v);
    }
  }
  return out;
}

let registered: boolean | null = null;

/** Registers the kernels for the wasm backend (once); false where wasm SIMD is missing. */
function register(): boolean {
  if (registered !== null) return registered;
  registered = false;
  try {
    // The SiLU module needs 128-bit SIMD; instantiate it once over a scratch memory to find out.
    siluInstance(new wasmApi.Memory({ initial: 1 }));
  } catch {
    return false;
  }
  for (const [kernelName, kernelFunc] of [
    [FLOW_GROUP_NORM_ACT, groupNormActWasm],
    [FLOW_UNET_EMBED, unetEmbedWasm],
  ] as const) {
    if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  registered = true;
  return true;
}

let enabled = true;

/** Testing aid: off makes the U-Net use its differentiable layers for inference too. Returns the previous setting. */
export function useUNetKernels(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/** True when the inference kernels run on the current backend (the wasm backend with SIMD). */
export function unetKernelsActive(): boolean {
  return enabled && tf.getBackend() === 'wasm' && register();
}

/**
 * GroupNorm (+ optional per-(sample, channel) term e = eAct · ew + eb added before normalising) and
 * optional SiLU, one kernel. x [B, H, W, C], gamma, beta [C], eAct [B, K], ew [K, C], eb [C].
 */
export function groupNormAct(x: Tensor, gamma: Tensor, beta: Tensor, attrs: GroupNormActAttrs, temb?: { eAct: Tensor; w: Tensor; b: Tensor }): Tensor {
  const inputs: tf.NamedTensorMap = { x, gamma, beta };
  if (temb) Object.assign(inputs, { e: temb.eAct, ew: temb.w, eb: temb.b });
  return tf.engine().runKernel(FLOW_GROUP_NORM_ACT, inputs, attrs as unknown as tf.NamedAttrMap) as Tensor;
}

/** The U-Net's activated embedding silu(time MLP(t) + class row) [B, D], one kernel. labels int32. */
export function unetEmbed(t: Tensor, dim: number, time0: { w: Tensor; b: Tensor }, time1: { w: Tensor; b: Tensor }, cls?: { labels: Tensor; table: Tensor }): Tensor {
  const inputs: tf.NamedTensorMap = { t, w0: time0.w, b0: time0.b, w1: time1.w, b1: time1.b };
  if (cls) Object.assign(inputs, { labels: cls.labels, table: cls.table });
  return tf.engine().runKernel(FLOW_UNET_EMBED, inputs, { dim } as unknown as tf.NamedAttrMap) as Tensor;
}
