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
 * rounding (test/core/model/unet-infer.test.ts). The kernels are registered with the others by
 * registerFlowKernels (core/kernels/register.ts) and reach the backend through
 * core/kernels/wasm-backend.ts.
 */
import { tf, type Tensor } from '../tf';
import { siluFor } from '../kernels/silu';
import { gemmModule } from '../kernels/gemm-module';
import { DEFAULT_GEMM, gemmUsesFma } from '../kernels/gemm';
import { wasmApi } from '../kernels/wasm-asm';
import { asWasmBackend, f32View, HeapScratch, i32View, offsetOf, perBackend, sizeOf, type WasmKernelArgs } from '../kernels/wasm-backend';
import { groupNormModule } from './groupnorm-module';
import { timeFrequencies } from './embed';

export const FLOW_GROUP_NORM_ACT = 'FlowGroupNormAct';
export const FLOW_UNET_EMBED = 'FlowUNetEmbed';
export const FLOW_CONV3X3 = 'FlowConv3x3';

function checkF32(name: string, ts: Array<tf.TensorInfo | undefined>): void {
  for (const t of ts) if (t && t.dtype !== 'float32') throw new Error(`${name}: float32 inputs only, got ${t.dtype}`);
}

export interface GroupNormActAttrs {
  groups: number;
  eps: number;
  /** Apply SiLU after the affine map. */
  silu: boolean;
  /** Write the result zero-padded by one pixel on each side, [B, H + 2, W + 2, C] (the input of FlowConv3x3). */
  pad?: boolean;
}

interface GroupNormFx {
  colsum(src: number, rows: number, c: number, dst: number): void;
  colsqdev(src: number, rows: number, c: number, shift: number, dst: number): void;
  affine(src: number, dst: number, rows: number, c: number, ldd: number, mul: number, add: number): void;
}

let gnCompiled: object | null = null;

/** The GroupNorm module over a backend's heap, with its scratch. */
const gnFor = perBackend((b) => {
  gnCompiled ??= new wasmApi.Module(groupNormModule());
  const fx = new wasmApi.Instance(gnCompiled, { env: { memory: b.wasm.asm.memory } }).exports as unknown as GroupNormFx;
  return { fx, scratch: new HeapScratch() };
});

/** FlowGroupNormAct on the wasm backend (registered by core/kernels/register.ts). */
export function groupNormActWasm(args: WasmKernelArgs): tf.TensorInfo {
  const b = asWasmBackend(args.backend);
  const { x, x2, gamma, beta, e, ew, eb, ed } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { groups, eps, silu, pad } = args.attrs as GroupNormActAttrs;
  checkF32(FLOW_GROUP_NORM_ACT, [x, x2, gamma, beta, e, ew, eb, ed]);
  const [bsz, h, w, c1] = x!.shape as [number, number, number, number];
  const c2 = x2 ? x2.shape[3]! : 0;
  const c = c1 + c2;
  if (x!.shape.length !== 4 || c % groups !== 0)
    throw new Error(`${FLOW_GROUP_NORM_ACT}: x must be [B, H, W, C] with C divisible by ${groups}. Got [${x!.shape}]`);
  if (x2 && (x2.shape.length !== 4 || x2.shape[0] !== bsz || x2.shape[1] !== h || x2.shape[2] !== w))
    throw new Error(`${FLOW_GROUP_NORM_ACT}: x2 must be [${bsz}, ${h}, ${w}, C2]. Got [${x2.shape}]`);
  if (gamma!.shape[0] !== c || beta!.shape[0] !== c) throw new Error(`${FLOW_GROUP_NORM_ACT}: gamma and beta must have ${c} values`);
  const tdim = ew ? ew.shape[0]! : 0;
  if (e && (!ew || !eb || e.shape[0] !== bsz || e.shape[1] !== tdim || ew.shape[1] !== c)) {
    throw new Error(
      `${FLOW_GROUP_NORM_ACT}: e [${bsz}, K], ew [K, ${c}], eb [${c}] expected. Got e [${e.shape}], ew [${ew?.shape}], eb [${eb?.shape}]`,
    );
  }
  if (ed && (e || ed.shape.length !== 2 || ed.shape[0] !== bsz || ed.shape[1] !== c))
    throw new Error(`${FLOW_GROUP_NORM_ACT}: ed [${bsz}, ${c}] expected (and no e). Got [${ed.shape}]`);
  const pd = pad ? 1 : 0;
  const out = b.makeOutput([bsz, h + 2 * pd, w + 2 * pd, c], 'float32');
  const hw = h * w;
  const cg = c / groups;
  // The input as parts along channels (x, then x2: their concatenation without a copy).
  const parts = x2
    ? [
        { t: x!, c: c1, at: 0 },
        { t: x2, c: c2, at: c1 },
      ]
    : [{ t: x!, c: c1, at: 0 }];
  const simd = parts.every((q) => q.c % 4 === 0);
  const ev = new Float64Array(c);
  // Per channel: the sums, μ_g - e_c (what x is centred by), and the affine map x · mul + add. On the
  // SIMD path they live in heap scratch (the module reads and writes them there).
  let sum = new Float64Array(c);
  let shift = new Float64Array(c);
  let mul = new Float32Array(c);
  let add = new Float32Array(c);
  let ptr = { sum: 0, shift: 0, mul: 0, add: 0 };
  let gx: GroupNormFx | null = null;
  if (simd) {
    const g = gnFor(b);
    gx = g.fx;
    const base = g.scratch.at(b, 24 * c + 64);
    ptr = { sum: base, shift: base + 8 * c, mul: base + 16 * c, add: base + 20 * c };
    const buf = b.wasm.asm.memory.buffer;
    sum = new Float64Array(buf, ptr.sum, c);
    shift = new Float64Array(buf, ptr.shift, c);
    mul = new Float32Array(buf, ptr.mul, c);
    add = new Float32Array(buf, ptr.add, c);
  }
  const yo = offsetOf(b, out);
  const ys = f32View(b, out);
  const srcs = parts.map((q) => ({ ...q, off: offsetOf(b, q.t), v: f32View(b, q.t) }));
  const gs = f32View(b, gamma!);
  const bs = f32View(b, beta!);
  const es = e ? f32View(b, e) : null;
  const ews = ew ? f32View(b, ew) : null;
  const ebs = eb ? f32View(b, eb) : null;
  const eds = ed ? f32View(b, ed) : null;
  for (let s = 0; s < bsz; s++) {
    if (eds) for (let j = 0; j < c; j++) ev[j] = eds[s * c + j]!;
    else if (es && ews && ebs) {
      // e_c = eb_c + Σ_k eAct[s, k] ew[k, c], rounded to float32 as the layer-by-layer form stores it.
      for (let j = 0; j < c; j++) ev[j] = 0;
      for (let k = 0; k < tdim; k++) {
        const a = es[s * tdim + k]!;
        const row = k * c;
        for (let j = 0; j < c; j++) ev[j] = ev[j]! + a * ews[row + j]!;
      }
      for (let j = 0; j < c; j++) ev[j] = Math.fround(Math.fround(ev[j]!) + ebs[j]!);
    }
    for (const q of srcs) {
      const base = s * hw * q.c;
      if (gx) gx.colsum(q.off + 4 * base, hw, q.c, ptr.sum + 8 * q.at);
      else {
        for (let j = 0; j < q.c; j++) sum[q.at + j] = 0;
        for (let p = base, end = base + hw * q.c; p < end; p += q.c) {
          for (let j = 0; j < q.c; j++) sum[q.at + j] = sum[q.at + j]! + q.v[p + j]!;
        }
      }
    }
    groupShift(sum, ev, hw, groups, cg, shift);
    for (const q of srcs) {
      const base = s * hw * q.c;
      if (gx) gx.colsqdev(q.off + 4 * base, hw, q.c, ptr.shift + 8 * q.at, ptr.sum + 8 * q.at);
      else {
        for (let j = 0; j < q.c; j++) sum[q.at + j] = 0;
        for (let p = base, end = base + hw * q.c; p < end; p += q.c) {
          for (let j = 0; j < q.c; j++) {
            const d = q.v[p + j]! - shift[q.at + j]!;
            sum[q.at + j] = sum[q.at + j]! + d * d;
          }
        }
      }
    }
    groupAffine(sum, shift, gs, bs, groups, cg, hw, eps, mul, add, null);
    /** rows pixels of every part, from pixel `from` of sample s, to output element `to` (row stride c). */
    const affine = (from: number, to: number, rows: number): void => {
      for (const q of srcs) {
        const src = (s * hw + from) * q.c;
        if (gx) gx.affine(q.off + 4 * src, yo + 4 * (to + q.at), rows, q.c, c, ptr.mul + 4 * q.at, ptr.add + 4 * q.at);
        else {
          for (let p = src, o = to + q.at, end = src + rows * q.c; p < end; p += q.c, o += c) {
            for (let j = 0; j < q.c; j++) ys[o + j] = q.v[p + j]! * mul[q.at + j]! + add[q.at + j]!;
          }
        }
      }
    };
    if (!pd) affine(0, s * hw * c, hw);
    else {
      const wp = w + 2;
      const sb = s * (h + 2) * wp * c;
      ys.fill(0, sb, sb + (wp + 1) * c); // top row and the left pad of row 0
      for (let r = 0; r < h; r++) {
        const q = sb + ((r + 1) * wp + 1) * c;
        affine(r * w, q, w);
        ys.fill(0, q + w * c, q + (w + 2) * c); // right pad of this row, left pad of the next
      }
      ys.fill(0, sb + ((h + 1) * wp + 1) * c, sb + (h + 2) * wp * c);
    }
  }
  if (silu) {
    // silu(0) = 0: the pad stays zero.
    const o = offsetOf(b, out);
    siluFor(b).silu(o, o, sizeOf(out));
  }
  return out;
}

/**
 * What x is centred by, per channel: shift_j = μ_g - e_j, μ_g = Σ_{j in g} (sum_j + hw e_j) / (hw cg)
 * (the mean of x + e over the group). sum: Σ over positions of x, per channel. Shared by the
 * forward and backward kernels, so the backward pass recomputes the forward's numbers bit for bit.
 */
export function groupShift(sum: Float64Array, ev: Float64Array, hw: number, groups: number, cg: number, shift: Float64Array): void {
  const n = hw * cg;
  for (let g = 0; g < groups; g++) {
    let t = 0;
    for (let j = g * cg; j < (g + 1) * cg; j++) t += sum[j]! + hw * ev[j]!;
    const mu = t / n;
    for (let j = g * cg; j < (g + 1) * cg; j++) shift[j] = mu - ev[j]!;
  }
}

/**
 * GroupNorm's affine map per channel from the squared deviations sq_j = Σ (x - shift_j)²:
 * rstd_g = 1 / sqrt(Σ_{j in g} sq_j / (hw cg) + eps), y = γ (x - shift) rstd + β = x mul + add.
 * rstd (optional) receives rstd_g per group. Shared by the forward and backward kernels.
 */
export function groupAffine(
  sq: Float64Array,
  shift: Float64Array,
  gs: Float32Array,
  bs: Float32Array,
  groups: number,
  cg: number,
  hw: number,
  eps: number,
  mul: Float32Array,
  add: Float32Array,
  rstdOut: Float64Array | null,
): void {
  const n = hw * cg;
  for (let g = 0; g < groups; g++) {
    let t = 0;
    for (let j = g * cg; j < (g + 1) * cg; j++) t += sq[j]!;
    const rstd = 1 / Math.sqrt(t / n + eps);
    if (rstdOut) rstdOut[g] = rstd;
    for (let j = g * cg; j < (g + 1) * cg; j++) {
      mul[j] = gs[j]! * rstd;
      add[j] = bs[j]! - gs[j]! * rstd * shift[j]!;
    }
  }
}

export interface UNetEmbedAttrs {
  /** Sinusoidal embedding dimension (even). */
  dim: number;
}

const siluF64 = (v: number): number => v / (1 + Math.exp(-v));

/** FlowUNetEmbed on the wasm backend (registered by core/kernels/register.ts). */
export function unetEmbedWasm(args: WasmKernelArgs): tf.TensorInfo {
  const b = asWasmBackend(args.backend);
  const { t, labels, w0, b0, w1, b1, table } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { dim } = args.attrs as UNetEmbedAttrs;
  checkF32(FLOW_UNET_EMBED, [t, w0, b0, w1, b1, table]);
  const bsz = t!.shape[0]!;
  const td = w0!.shape[1]!;
  if (w0!.shape[0] !== dim || w1!.shape[0] !== td || w1!.shape[1] !== td)
    throw new Error(`${FLOW_UNET_EMBED}: W0 [${dim}, D], W1 [D, D] expected. Got [${w0!.shape}], [${w1!.shape}]`);
  if (table && (!labels || labels.dtype !== 'int32' || labels.shape[0] !== bsz || table.shape[1] !== td))
    throw new Error(`${FLOW_UNET_EMBED}: labels [${bsz}] int32 and table [K, ${td}] expected`);
  const out = b.makeOutput([bsz, td], 'float32');
  const ts = f32View(b, t!);
  const w0s = f32View(b, w0!);
  const b0s = f32View(b, b0!);
  const w1s = f32View(b, w1!);
  const b1s = f32View(b, b1!);
  const tab = table ? f32View(b, table) : null;
  const rows = table ? table.shape[0]! : 0;
  const labs = labels && table ? i32View(b, labels) : null;
  const ys = f32View(b, out);
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

// ---------------------------------------------------------------------------------------------
// 3x3 convolution on the FMA GEMM
// ---------------------------------------------------------------------------------------------

/** The GEMM module's exports (core/kernels/gemm-module.ts). */
export interface GemmFx {
  packA(src: number, rs: number, cs: number, mc: number, kc: number, dst: number): void;
  packB(src: number, rs: number, cs: number, kc: number, nc: number, dst: number): void;
  macro(pA: number, pB: number, c: number, ldc: number, mc: number, nc: number, kc: number, mode: number, bias: number, tile: number): void;
}

export const MR = DEFAULT_GEMM.mr;
export const NR = DEFAULT_GEMM.nr;
/** Rows of A packed at a time in the 1x1 (skip) product. */
const MC = 128;
let gemmCompiled: object | null = null;

/** The GEMM module over a backend's heap, with the convolution's scratch. */
export const convFor = perBackend((b) => {
  gemmCompiled ??= new wasmApi.Module(gemmModule({ mr: MR, nr: NR, relaxed: gemmUsesFma() }));
  const fx = new wasmApi.Instance(gemmCompiled, { env: { memory: b.wasm.asm.memory } }).exports as unknown as GemmFx;
  return { fx, scratch: new HeapScratch() };
});

export const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

/** Where conv3x3Rows reads and writes (byte offsets on the heap). */
export interface ConvRows {
  /** Padded input [bsz, hp, wp, cin]. */
  xp: number;
  bsz: number;
  hp: number;
  wp: number;
  cin: number;
  /** Scratch for the packed rows of one sample: hp rows of roundUp(wp - 2, MR) 3 cin floats. */
  pA: number;
  /** The three packed filter rows, each [3 cin, cout] packed by packB. */
  pB: readonly number[];
  /** Output [bsz, hp - 2, wp - 2, cout]. */
  y: number;
  cout: number;
  /** Start each output row from the bias (cout values, readable up to a multiple of NR), else from 0. */
  withBias: boolean;
  bias: number;
  tile: number;
}

/**
 * The 3x3 'same' convolution of a padded input on the GEMM module: per output row y, the three
 * filter rows are three GEMMs [W, 3 cin] · [3 cin, cout] accumulated in place, A read from the padded
 * rows y, y + 1, y + 2 (their 3 cin values of three taps are contiguous); each padded row is packed
 * once per sample and serves the three output rows it is a tap row of.
 */
export function conv3x3Rows(fx: GemmFx, o: ConvRows): void {
  const h = o.hp - 2;
  const wd = o.wp - 2;
  const kc = 3 * o.cin;
  const rowBytes = roundUp(wd, MR) * kc * 4;
  const ldc = o.cout * 4;
  for (let s = 0; s < o.bsz; s++) {
    for (let y = 0; y < o.hp; y++) fx.packA(o.xp + (s * o.hp + y) * o.wp * o.cin * 4, o.cin * 4, 4, wd, kc, o.pA + y * rowBytes);
    for (let y = 0; y < h; y++) {
      const c = o.y + (s * h + y) * wd * ldc;
      for (let i = 0; i < 3; i++) {
        const mode = i > 0 ? 2 : o.withBias ? 1 : 0;
        fx.macro(o.pA + (y + i) * rowBytes, o.pB[i]!, c, ldc, wd, o.cout, kc, mode, o.bias, o.tile);
      }
    }
  }
}

/**
 * y = conv3x3(x, W) + b (+ sx · Ws + bs, a 1x1 skip conv) (+ r, an identity skip), stride 1, 'same':
 * xp is x zero-padded by one pixel [B, H + 2, W + 2, Cin] (FlowGroupNormAct with pad). Per output
 * row, the three filter rows are three GEMMs [W, 3 Cin] · [3 Cin, Cout] accumulated in place: the
 * 3 Cin values of a row's three taps are contiguous in xp, so A is read with strides, no im2col;
 * each padded row is packed once and serves the three output rows it is a tap row of.
 */
export function conv3x3Wasm(args: WasmKernelArgs): tf.TensorInfo {
  const be = asWasmBackend(args.backend);
  const { xp, w, b, sx, sx2, sw, sb, r } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  checkF32(FLOW_CONV3X3, [xp, w, b, sx, sx2, sw, sb, r]);
  const [bsz, hp, wp, cin] = xp!.shape as [number, number, number, number];
  const h = hp - 2;
  const wd = wp - 2;
  const cout = w!.shape[3]!;
  if (w!.shape[0] !== 3 || w!.shape[1] !== 3 || w!.shape[2] !== cin || b!.shape[0] !== cout)
    throw new Error(`${FLOW_CONV3X3}: filter [3, 3, ${cin}, C] and bias [C] expected. Got [${w!.shape}], [${b!.shape}]`);
  // The skip conv's input: sx, or the concatenation of sx and sx2 along channels (never built).
  const skipParts = sx ? (sx2 ? [sx, sx2] : [sx]) : [];
  const cs = skipParts.reduce((a, q) => a + q.shape[3]!, 0);
  const okSkip = skipParts.every((q) => q.shape[0] === bsz && q.shape[1] === h && q.shape[2] === wd);
  if (sx && (!sw || !sb || !okSkip || sw.shape[2] !== cs || sw.shape[3] !== cout))
    throw new Error(`${FLOW_CONV3X3}: skip input [${bsz}, ${h}, ${wd}, C'] with filter [1, 1, C', ${cout}] expected`);
  if (r && r.shape.reduce((a, v) => a * v, 1) !== bsz * h * wd * cout)
    throw new Error(`${FLOW_CONV3X3}: residual [${bsz}, ${h}, ${wd}, ${cout}] expected. Got [${r.shape}]`);
  const out = be.makeOutput([bsz, h, wd, cout], 'float32');
  const ctx = convFor(be);
  const kc = 3 * cin;
  const ncp = roundUp(cout, NR);
  const bBytes = kc * ncp * 4;
  // Packed A of every padded row of one sample (a row serves three output rows, one per tap row).
  const rowBytes = roundUp(wd, MR) * kc * 4;
  const aBytes = Math.max(hp * rowBytes, MC * cs * 4);
  const sBytes = cs * ncp * 4;
  const base = ctx.scratch.at(be, 3 * bBytes + sBytes + aBytes + (ncp + NR) * 4 + MR * NR * 4 + 64);
  const pB = [base, base + bBytes, base + 2 * bBytes];
  const pS = base + 3 * bBytes;
  const pA = pS + sBytes;
  const bias = pA + aBytes;
  const tile = bias + (ncp + NR) * 4;
  const off = (t: tf.TensorInfo): number => offsetOf(be, t);
  const fx = ctx.fx;
  const heap = new Float32Array(be.wasm.asm.memory.buffer);
  const bv = f32View(be, b!);
  const sbv = sb ? f32View(be, sb) : null;
  for (let j = 0; j < ncp + NR; j++) heap[(bias >> 2) + j] = j < cout ? (sbv ? Math.fround(bv[j]! + sbv[j]!) : bv[j]!) : 0;
  const wOff = off(w!);
  for (let i = 0; i < 3; i++) fx.packB(wOff + i * kc * cout * 4, cout * 4, 4, kc, cout, pB[i]!);
  const xOff = off(xp!);
  const yOff = off(out);
  const ldc = cout * 4;
  conv3x3Rows(fx, { xp: xOff, bsz, hp, wp, cin, pA, pB, y: yOff, cout, withBias: true, bias, tile });
  let row0 = 0; // first row of the skip filter for this part
  for (const q of skipParts) {
    const cq = q.shape[3]!;
    fx.packB(off(sw!) + row0 * cout * 4, cout * 4, 4, cq, cout, pS);
    row0 += cq;
    const rows = bsz * h * wd;
    const sOff = off(q);
    for (let i0 = 0; i0 < rows; i0 += MC) {
      const mc = Math.min(MC, rows - i0);
      fx.packA(sOff + i0 * cq * 4, cq * 4, 4, mc, cq, pA);
      fx.macro(pA, pS, yOff + i0 * ldc, ldc, mc, cout, cq, 2, bias, tile);
    }
  }
  if (r) {
    const ys = f32View(be, out);
    const rs = f32View(be, r);
    for (let i = 0; i < ys.length; i++) ys[i] = ys[i]! + rs[i]!;
  }
  return out;
}

let enabled = true;

/** Testing aid: off makes the U-Net use its differentiable layers for inference too. Returns the previous setting. */
export function useUNetKernels(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/** The U-Net's inference kernels: all three registered, or none used. */
const UNET_KERNELS = [FLOW_GROUP_NORM_ACT, FLOW_UNET_EMBED, FLOW_CONV3X3];

/**
 * True when the inference kernels run on the current backend (the wasm backend with SIMD, after
 * registerFlowKernels). Asks only.
 */
export function unetKernelsActive(): boolean {
  if (!enabled) return false;
  const be = tf.getBackend();
  return UNET_KERNELS.every((k) => tf.getKernel(k, be) !== undefined);
}

/**
 * GroupNorm (+ optional per-(sample, channel) term e = eAct · ew + eb added before normalising) and
 * optional SiLU, one kernel. x [B, H, W, C], or a pair [B, H, W, C1], [B, H, W, C2] normalised as
 * their concatenation along channels (C = C1 + C2); gamma, beta [C], eAct [B, K], ew [K, C], eb [C].
 */
export function groupNormAct(
  x: Tensor | [Tensor, Tensor],
  gamma: Tensor,
  beta: Tensor,
  attrs: GroupNormActAttrs,
  temb?: { eAct: Tensor; w: Tensor; b: Tensor },
): Tensor {
  const inputs: tf.NamedTensorMap = Array.isArray(x) ? { x: x[0], x2: x[1], gamma, beta } : { x, gamma, beta };
  if (temb) Object.assign(inputs, { e: temb.eAct, ew: temb.w, eb: temb.b });
  return tf.engine().runKernel(FLOW_GROUP_NORM_ACT, inputs, attrs as unknown as tf.NamedAttrMap) as Tensor;
}

/** The U-Net's activated embedding silu(time MLP(t) + class row) [B, D], one kernel. labels int32. */
export function unetEmbed(
  t: Tensor,
  dim: number,
  time0: { w: Tensor; b: Tensor },
  time1: { w: Tensor; b: Tensor },
  cls?: { labels: Tensor; table: Tensor },
): Tensor {
  const inputs: tf.NamedTensorMap = { t, w0: time0.w, b0: time0.b, w1: time1.w, b1: time1.b };
  if (cls) Object.assign(inputs, { labels: cls.labels, table: cls.table });
  return tf.engine().runKernel(FLOW_UNET_EMBED, inputs, { dim } as unknown as tf.NamedAttrMap) as Tensor;
}

/**
 * 3x3 'same' convolution + bias from a zero-padded input xp [B, H + 2, W + 2, Cin] (see
 * FlowConv3x3), plus optionally a 1x1 skip conv of x (or of the channel concatenation of a pair) or
 * an identity residual. -> [B, H, W, Cout].
 */
export function conv3x3(
  xp: Tensor,
  w: Tensor,
  b: Tensor,
  skip?: { x: Tensor | [Tensor, Tensor]; w: Tensor; b: Tensor } | { residual: Tensor },
): Tensor {
  const inputs: tf.NamedTensorMap = { xp, w, b };
  if (skip && 'residual' in skip) inputs.r = skip.residual;
  else if (skip)
    Object.assign(inputs, Array.isArray(skip.x) ? { sx: skip.x[0], sx2: skip.x[1] } : { sx: skip.x }, { sw: skip.w, sb: skip.b });
  return tf.engine().runKernel(FLOW_CONV3X3, inputs) as Tensor;
}
