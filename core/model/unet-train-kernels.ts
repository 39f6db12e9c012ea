/**
 * The backward kernels of the U-Net's tape-free training path (core/model/unet-train.ts) on the
 * tfjs wasm backend, the counterparts of the forward kernels of core/model/unet-kernels.ts:
 *
 *   FlowConv3x3Grad        of y = conv3x3(xp, W) + b (xp the zero-padded input, stride 1, 'same'):
 *                          dW[i, j] = Σ_{n,y,x} xp[n, y + i, x + j, :] ⊗ dy[n, y, x, :],
 *                          db = Σ_{n,y,x} dy[n, y, x, :], and (optional) the input gradient
 *                          dx[n, y, x, :] = Σ_{i,j} dyp[n, y + i, x + j, :] W[2 - i, 2 - j]ᵀ
 *                          (dyp: dy zero-padded by one pixel), all on the FMA GEMM.
 *   FlowGroupNormActGrad   of y = act(γ (x + e - μ) rstd + β) (FlowGroupNormAct: per (sample, group)
 *                          statistics, act SiLU or none, e a per-(sample, channel) term or none):
 *                          dx, dγ, dβ and de from dy (read from a padded buffer when the forward
 *                          wrote a padded y).
 *
 * The filter gradient as three large GEMMs. Index the positions of the padded batch flat,
 * Q = (n Hp + y) Wp + x, and let dyp be dy embedded at the interior positions (zeros on the border).
 * Then dW[i, j] = Σ_Q xp[Q + (i - 1) Wp + (j - 1)] ⊗ dyp[Q], and for a tap row i the three taps
 * j = 0, 1, 2 read 3 Cin contiguous values from xp at Q + (i - 1) Wp - 1:
 *   dW[i] ([3 Cin, Cout], rows (j, ci)) = A_iᵀ D,  A_i [K, 3 Cin] with row stride Cin,  D = dyp [K, Cout],
 * over Q in [Wp + 1, N Hp Wp - Wp - 1) (the first to past the last interior position: the zero rows of
 * dyp outside it add nothing, and every read of xp stays inside it). One product of depth
 * K ~ N Hp Wp per tap row instead of N H small ones.
 *
 * The border positions of that product are wasted work, a fraction 1 - H W / (Hp Wp) of it: small
 * at 28x28, about 40 % at 7x7. Where it is large (`convGradCompact`), the filter gradient is
 * instead nine products over the interior positions only, one per tap (i, j):
 *   dW[i, j] ([Cin, Cout]) = X_ijᵀ dy,  X_ij [N H W, Cin],  X_ij[(n, y, x)] = xp[n, y + i, x + j, :],
 * X_ij gathered by one row copy per (n, y) (W Cin contiguous values of xp), dy read as it is.
 *
 * The GroupNorm backward (Wu & He 2018, with z = γ x̂ + β and act' on top). Per (sample, group g)
 * with n = HW cg values, x̂ = (x - shift) r (shift = μ - e, r = rstd), dz = dy act'(z):
 *   S1_c = Σ_p dz,  S2_c = Σ_p dz x  (float64, the first pass, which also writes dz)
 *   m1 = (1/n) Σ_{c in g} γ_c S1_c,  m2 = (1/n) Σ_{c in g} γ_c r (S2_c - shift_c S1_c)
 *   dx = r (γ dz - m1 - x̂ m2) = dz (r γ_c) + x (-r² m2) + (r² m2 shift_c - r m1)   (the second pass)
 *   dγ_c = Σ_n r (S2_c - shift_c S1_c),  dβ_c = Σ_n S1_c,
 *   de_c = Σ_p dx = r γ_c S1_c - r² m2 (X_c - HW shift_c) - HW r m1   (X_c = Σ_p x, float64)
 * The statistics and z are recomputed from x with the forward kernel's code (unet-kernels.ts
 * groupShift, groupAffine and the same module passes), so they are the forward's bit for bit.
 *
 * Both are registered with the others by registerFlowKernels (core/kernels/register.ts); tested
 * against float64 references and against the differentiable layers' gradients
 * (test/core/model/unet-train.test.ts).
 */
import { tf } from '../tf';
import { gemmFor } from '../kernels/gemm';
import { wasmApi } from '../kernels/wasm-asm';
import { asWasmBackend, f32View, HeapScratch, offsetOf, perBackend, type WasmKernelArgs } from '../kernels/wasm-backend';
import { groupNormModule } from './groupnorm-module';
import { groupNormGradModule } from './groupnorm-grad-module';
import { conv3x3Rows, convFor, groupAffine, groupShift, MR, NR, roundUp } from './unet-kernels';

export const FLOW_CONV3X3_GRAD = 'FlowConv3x3Grad';
export const FLOW_GROUP_NORM_ACT_GRAD = 'FlowGroupNormActGrad';

function checkF32(name: string, ts: Array<tf.TensorInfo | undefined>): void {
  for (const t of ts) if (t && t.dtype !== 'float32') throw new Error(`${name}: float32 inputs only, got ${t.dtype}`);
}

export interface Conv3x3GradAttrs {
  /** Also compute the input gradient dx (not needed for the network's input). */
  inputGrad: boolean;
}

/** How the filter gradient is computed: 'auto' (`convGradCompact`), or one way forced (tests, bench). */
export type ConvGradMode = 'auto' | 'flat' | 'compact';
let convGradMode: ConvGradMode = 'auto';

/** Forces the filter gradient's method (tests compare both); returns the previous setting. */
export function useConvGradMode(mode: ConvGradMode): ConvGradMode {
  const prev = convGradMode;
  convGradMode = mode;
  return prev;
}

/**
 * Whether the filter gradient takes the nine compact products (see the file comment): when the
 * border would waste more than 30 % of the flat product, i.e. H W < 0.7 Hp Wp (images up to about
 * 10x10), and Cin is wide enough for a product of Cin rows to use the GEMM's blocks. Below that
 * waste the nine gathers and the three times more packing of dy cost about what they save
 * (bench/unet.ts engineProfile shows the conv kernels' GFLOP/s).
 */
export function convGradCompact(h: number, w: number, cin: number): boolean {
  if (convGradMode !== 'auto') return convGradMode === 'compact';
  return h * w < 0.7 * (h + 2) * (w + 2) && cin >= 8;
}

/** Scratch of the convolution's backward pass (dy padded, the flipped filter, packed blocks). */
const convGradScratch = perBackend(() => new HeapScratch());

/**
 * FlowConv3x3Grad on the wasm backend (registered by core/kernels/register.ts): inputs {xp, dy, w},
 * outputs [dW, db] or [dW, db, dx] (attrs.inputGrad).
 */
export function conv3x3GradWasm(args: WasmKernelArgs): tf.TensorInfo[] {
  const be = asWasmBackend(args.backend);
  const { xp, dy, w } = args.inputs as Record<string, tf.TensorInfo>;
  const { inputGrad } = args.attrs as Conv3x3GradAttrs;
  checkF32(FLOW_CONV3X3_GRAD, [xp, dy, w]);
  const [bsz, hp, wp, cin] = xp!.shape as [number, number, number, number];
  const h = hp - 2;
  const wd = wp - 2;
  const cout = w!.shape[3]!;
  if (xp!.shape.length !== 4 || w!.shape.length !== 4 || w!.shape[0] !== 3 || w!.shape[1] !== 3 || w!.shape[2] !== cin)
    throw new Error(`${FLOW_CONV3X3_GRAD}: xp [B, H + 2, W + 2, C] and a filter [3, 3, C, C'] expected. Got [${xp!.shape}], [${w!.shape}]`);
  if (dy!.shape.length !== 4 || dy!.shape[0] !== bsz || dy!.shape[1] !== h || dy!.shape[2] !== wd || dy!.shape[3] !== cout)
    throw new Error(`${FLOW_CONV3X3_GRAD}: dy [${bsz}, ${h}, ${wd}, ${cout}] expected. Got [${dy!.shape}]`);
  const dw = be.makeOutput([3, 3, cin, cout], 'float32');
  const db = be.makeOutput([cout], 'float32');
  const dx = inputGrad ? be.makeOutput([bsz, h, wd, cin], 'float32') : null;
  const npad = bsz * hp * wp;
  // Scratch: dyp [npad, cout] | flipped filter [3, 3, cout, cin] | 3 packed filter rows | packed A rows | zero bias | tile.
  const kc = 3 * cout;
  const ncp = roundUp(cin, NR);
  const dypBytes = npad * cout * 4;
  const flipBytes = 9 * cin * cout * 4;
  const pbBytes = kc * ncp * 4;
  const paBytes = hp * roundUp(wd, MR) * kc * 4;
  const biasBytes = (ncp + NR) * 4;
  const compact = convGradCompact(h, wd, cin);
  const xcBytes = compact ? bsz * h * wd * cin * 4 : 0;
  const base = convGradScratch(be).at(be, dypBytes + flipBytes + 3 * pbBytes + paBytes + biasBytes + MR * NR * 4 + xcBytes + 64);
  const dyp = base;
  const flip = dyp + dypBytes;
  const pB = [flip + flipBytes, flip + flipBytes + pbBytes, flip + flipBytes + 2 * pbBytes];
  const pA = pB[2]! + pbBytes;
  const bias = pA + paBytes;
  const tile = bias + biasBytes;
  const xc = tile + MR * NR * 4;
  const g = gemmFor(be);
  // (g.run may allocate its scratch and grow the heap: views made before it are not used after it.)
  const heap = new Float32Array(be.wasm.asm.memory.buffer);
  // dyp: zeros, dy's rows at the interior (read by the flat filter gradient and the input gradient).
  const dyOff = offsetOf(be, dy!) >> 2;
  if (!compact || dx) {
    heap.fill(0, dyp >> 2, (dyp + dypBytes) >> 2);
    for (let s = 0; s < bsz; s++) {
      for (let y = 0; y < h; y++) {
        const from = dyOff + (s * h + y) * wd * cout;
        heap.copyWithin((dyp >> 2) + ((s * hp + y + 1) * wp + 1) * cout, from, from + wd * cout);
      }
    }
  }
  const xpOff = offsetOf(be, xp!);
  const dwOff = offsetOf(be, dw);
  if (compact) {
    // dW[i, j] = X_ijᵀ dy over the interior positions (see the file comment).
    const rowLen = wd * cin;
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const hv = new Float32Array(be.wasm.asm.memory.buffer); // again after every g.run (the heap may grow)
        for (let s = 0; s < bsz; s++)
          for (let y = 0; y < h; y++) {
            const from = (xpOff >> 2) + ((s * hp + y + i) * wp + j) * cin;
            hv.copyWithin((xc >> 2) + (s * h + y) * rowLen, from, from + rowLen);
          }
        g.run({
          a: xc,
          aRs: 4,
          aCs: cin * 4,
          b: offsetOf(be, dy!),
          bRs: cout * 4,
          bCs: 4,
          c: dwOff + (i * 3 + j) * cin * cout * 4,
          ldc: cout * 4,
          m: cin,
          n: cout,
          k: bsz * h * wd,
          bias: -1,
        });
      }
  }
  // Filter gradient: dW[i] = A_iᵀ D over the flat positions (see the file comment).
  const q0 = wp + 1;
  const k = npad - wp - 1 - q0;
  for (let i = 0; i < 3 && !compact; i++) {
    g.run({
      a: xpOff + (q0 + (i - 1) * wp - 1) * cin * 4,
      aRs: 4,
      aCs: cin * 4,
      b: dyp + q0 * cout * 4,
      bRs: cout * 4,
      bCs: 4,
      c: dwOff + i * 3 * cin * cout * 4,
      ldc: cout * 4,
      m: 3 * cin,
      n: cout,
      k,
      bias: -1,
    });
  }
  g.sumRows(offsetOf(be, dy!), bsz * h * wd, cout, offsetOf(be, db));
  if (dx) {
    // dx = conv3x3(dyp, W'), W'[i, j] = W[2 - i, 2 - j]ᵀ ([cout, cin]).
    const fx = convFor(be).fx;
    const heap2 = new Float32Array(be.wasm.asm.memory.buffer);
    const ws = f32View(be, w!);
    const fo = flip >> 2;
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const src = ((2 - i) * 3 + (2 - j)) * cin * cout;
        const dst = fo + (i * 3 + j) * cout * cin;
        for (let co = 0; co < cout; co++) for (let ci = 0; ci < cin; ci++) heap2[dst + co * cin + ci] = ws[src + ci * cout + co]!;
      }
    for (let i = 0; i < 3; i++) fx.packB(flip + i * kc * cin * 4, cin * 4, 4, kc, cin, pB[i]!);
    conv3x3Rows(fx, { xp: dyp, bsz, hp, wp, cin: cout, pA, pB, y: offsetOf(be, dx), cout: cin, withBias: false, bias, tile });
  }
  return dx ? [dw, db, dx] : [dw, db];
}

export interface GroupNormActGradAttrs {
  groups: number;
  eps: number;
  /** The forward applied SiLU after the affine map. */
  silu: boolean;
  /** dy is [B, H + 2, W + 2, C] (the forward wrote a padded y); its border is ignored. */
  padded: boolean;
}

interface GroupNormFx {
  colsum(src: number, rows: number, c: number, dst: number): void;
  colsqdev(src: number, rows: number, c: number, shift: number, dst: number): void;
}

interface GroupNormGradFx {
  pass1(x: number, dy: number, dz: number, rows: number, c: number, mul: number, add: number, s1: number, s2: number): void;
  pass1silu(x: number, dy: number, dz: number, rows: number, c: number, mul: number, add: number, s1: number, s2: number): void;
  affine2(dz: number, x: number, dst: number, rows: number, c: number, a: number, b: number, k: number): void;
}

let gnCompiled: object | null = null;
let gnGradCompiled: object | null = null;

/** Both GroupNorm modules over a backend's heap, with the backward pass's scratch. */
const gnGradFor = perBackend((b) => {
  gnCompiled ??= new wasmApi.Module(groupNormModule());
  gnGradCompiled ??= new wasmApi.Module(groupNormGradModule());
  const env = { env: { memory: b.wasm.asm.memory } };
  return {
    fwd: new wasmApi.Instance(gnCompiled, env).exports as unknown as GroupNormFx,
    grad: new wasmApi.Instance(gnGradCompiled, env).exports as unknown as GroupNormGradFx,
    scratch: new HeapScratch(),
  };
});

/**
 * FlowGroupNormActGrad on the wasm backend (registered by core/kernels/register.ts): inputs
 * {x, gamma, beta, dy, e?} with x [B, H, W, C] (C a multiple of 4), e [B, C]; outputs
 * [dx, dgamma, dbeta] or [dx, dgamma, dbeta, de].
 */
export function groupNormActGradWasm(args: WasmKernelArgs): tf.TensorInfo[] {
  const b = asWasmBackend(args.backend);
  const { x, gamma, beta, dy, e } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { groups, eps, silu, padded } = args.attrs as GroupNormActGradAttrs;
  checkF32(FLOW_GROUP_NORM_ACT_GRAD, [x, gamma, beta, dy, e]);
  const [bsz, h, w, c] = x!.shape as [number, number, number, number];
  if (x!.shape.length !== 4 || c % groups !== 0 || c % 4 !== 0)
    throw new Error(`${FLOW_GROUP_NORM_ACT_GRAD}: x must be [B, H, W, C] with C divisible by ${groups} and by 4. Got [${x!.shape}]`);
  const pd = padded ? 1 : 0;
  if (dy!.shape.length !== 4 || dy!.shape[0] !== bsz || dy!.shape[1] !== h + 2 * pd || dy!.shape[2] !== w + 2 * pd || dy!.shape[3] !== c)
    throw new Error(`${FLOW_GROUP_NORM_ACT_GRAD}: dy [${bsz}, ${h + 2 * pd}, ${w + 2 * pd}, ${c}] expected. Got [${dy!.shape}]`);
  if (gamma!.shape[0] !== c || beta!.shape[0] !== c) throw new Error(`${FLOW_GROUP_NORM_ACT_GRAD}: gamma and beta must have ${c} values`);
  if (e && (e.shape.length !== 2 || e.shape[0] !== bsz || e.shape[1] !== c))
    throw new Error(`${FLOW_GROUP_NORM_ACT_GRAD}: e [${bsz}, ${c}] expected. Got [${e.shape}]`);
  const dx = b.makeOutput([bsz, h, w, c], 'float32');
  const dg = b.makeOutput([c], 'float32');
  const dbt = b.makeOutput([c], 'float32');
  const de = e ? b.makeOutput([bsz, c], 'float32') : null;
  const ctx = gnGradFor(b);
  // Scratch: float64 sum, shift, S1, S2 [c] | float32 mul, add, A, B, K [c].
  const base = ctx.scratch.at(b, 4 * 8 * c + 5 * 4 * c + 64);
  const ptr = { sum: base, shift: base + 8 * c, s1: base + 16 * c, s2: base + 24 * c, mul: base + 32 * c };
  const fp = { add: ptr.mul + 4 * c, a: ptr.mul + 8 * c, b: ptr.mul + 12 * c, k: ptr.mul + 16 * c };
  const buf = b.wasm.asm.memory.buffer;
  const sum = new Float64Array(buf, ptr.sum, c);
  const shift = new Float64Array(buf, ptr.shift, c);
  const s1 = new Float64Array(buf, ptr.s1, c);
  const s2 = new Float64Array(buf, ptr.s2, c);
  const mul = new Float32Array(buf, ptr.mul, c);
  const add = new Float32Array(buf, fp.add, c);
  const av = new Float32Array(buf, fp.a, c);
  const bv = new Float32Array(buf, fp.b, c);
  const kv = new Float32Array(buf, fp.k, c);
  const gs = f32View(b, gamma!);
  const bs = f32View(b, beta!);
  const es = e ? f32View(b, e) : null;
  const des = de ? f32View(b, de) : null;
  const hw = h * w;
  const cg = c / groups;
  const n = hw * cg;
  const ev = new Float64Array(c);
  const xsum = new Float64Array(c);
  const rstd = new Float64Array(groups);
  const dgAcc = new Float64Array(c);
  const dbAcc = new Float64Array(c);
  const xOff = offsetOf(b, x!);
  const dyOff = offsetOf(b, dy!);
  const dxOff = offsetOf(b, dx);
  const pass = silu ? ctx.grad.pass1silu : ctx.grad.pass1;
  for (let s = 0; s < bsz; s++) {
    const xs = xOff + 4 * s * hw * c;
    const dxs = dxOff + 4 * s * hw * c;
    if (es) for (let j = 0; j < c; j++) ev[j] = es[s * c + j]!;
    // The forward's statistics and affine map (unet-kernels.ts groupNormActWasm, same code).
    ctx.fwd.colsum(xs, hw, c, ptr.sum);
    xsum.set(sum);
    groupShift(sum, ev, hw, groups, cg, shift);
    ctx.fwd.colsqdev(xs, hw, c, ptr.shift, ptr.sum);
    groupAffine(sum, shift, gs, bs, groups, cg, hw, eps, mul, add, rstd);
    // Pass 1: dz into dx, S1 and S2.
    s1.fill(0);
    s2.fill(0);
    if (!pd) pass(xs, dyOff + 4 * s * hw * c, dxs, hw, c, ptr.mul, fp.add, ptr.s1, ptr.s2);
    else {
      for (let y = 0; y < h; y++) {
        const dyRow = dyOff + 4 * ((s * (h + 2) + y + 1) * (w + 2) + 1) * c;
        pass(xs + 4 * y * w * c, dyRow, dxs + 4 * y * w * c, w, c, ptr.mul, fp.add, ptr.s1, ptr.s2);
      }
    }
    for (let g = 0; g < groups; g++) {
      const r = rstd[g]!;
      let m1 = 0;
      let m2 = 0;
      for (let j = g * cg; j < (g + 1) * cg; j++) {
        m1 += gs[j]! * s1[j]!;
        m2 += gs[j]! * r * (s2[j]! - shift[j]! * s1[j]!);
      }
      m1 /= n;
      m2 /= n;
      for (let j = g * cg; j < (g + 1) * cg; j++) {
        av[j] = r * gs[j]!;
        bv[j] = -r * r * m2;
        kv[j] = r * r * m2 * shift[j]! - r * m1;
        dgAcc[j] = dgAcc[j]! + r * (s2[j]! - shift[j]! * s1[j]!);
        dbAcc[j] = dbAcc[j]! + s1[j]!;
        if (des) des[s * c + j] = r * gs[j]! * s1[j]! - r * r * m2 * (xsum[j]! - hw * shift[j]!) - hw * r * m1;
      }
    }
    // Pass 2: dx = dz A + x B + K, in place.
    ctx.grad.affine2(dxs, xs, dxs, hw, c, fp.a, fp.b, fp.k);
  }
  const dgs = f32View(b, dg);
  const dbs = f32View(b, dbt);
  for (let j = 0; j < c; j++) {
    dgs[j] = dgAcc[j]!;
    dbs[j] = dbAcc[j]!;
  }
  return de ? [dx, dg, dbt, de] : [dx, dg, dbt];
}

export const FLOW_SPLIT_CHANNELS = 'FlowSplitChannels';

export interface SplitChannelsAttrs {
  /** Channels of the first part. */
  c1: number;
}

/**
 * FlowSplitChannels on the wasm backend (registered by core/kernels/register.ts): x [..., C] ->
 * [x[..., :c1], x[..., c1:]], the gradient of a channel concatenation (the up path's [h, skip]).
 * Row copies on the heap; tfjs-backend-wasm's SplitV slices the whole tensor once per part.
 */
export function splitChannelsWasm(args: WasmKernelArgs): tf.TensorInfo[] {
  const b = asWasmBackend(args.backend);
  const x = args.inputs.x!;
  const { c1 } = args.attrs as SplitChannelsAttrs;
  checkF32(FLOW_SPLIT_CHANNELS, [x]);
  const c = x.shape[x.shape.length - 1]!;
  if (!(Number.isInteger(c1) && c1 > 0 && c1 < c)) throw new Error(`${FLOW_SPLIT_CHANNELS}: c1 must be in [1, ${c - 1}], got ${c1}`);
  const c2 = c - c1;
  const lead = x.shape.slice(0, -1);
  const a = b.makeOutput([...lead, c1], 'float32');
  const z = b.makeOutput([...lead, c2], 'float32');
  const rows = lead.reduce((p, q) => p * q, 1);
  const heap = new Float32Array(b.wasm.asm.memory.buffer);
  const xo = offsetOf(b, x) >> 2;
  const ao = offsetOf(b, a) >> 2;
  const zo = offsetOf(b, z) >> 2;
  for (let r = 0; r < rows; r++) {
    const src = xo + r * c;
    heap.copyWithin(ao + r * c1, src, src + c1);
    heap.copyWithin(zo + r * c2, src + c1, src + c);
  }
  return [a, z];
}

export const FLOW_CONCAT_CHANNELS = 'FlowConcatChannels';

/**
 * FlowConcatChannels on the wasm backend (registered by core/kernels/register.ts): a [..., C1],
 * b [..., C2] -> [..., C1 + C2], the up path's [h, skip] (row copies on the heap, as
 * FlowSplitChannels).
 */
export function concatChannelsWasm(args: WasmKernelArgs): tf.TensorInfo {
  const be = asWasmBackend(args.backend);
  const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
  checkF32(FLOW_CONCAT_CHANNELS, [a, b]);
  const r = a!.shape.length;
  const lead = a!.shape.slice(0, -1);
  if (b!.shape.length !== r || lead.some((d, i) => d !== b!.shape[i]))
    throw new Error(`${FLOW_CONCAT_CHANNELS}: a [${a!.shape}] and b [${b!.shape}] differ before the last axis`);
  const c1 = a!.shape[r - 1]!;
  const c2 = b!.shape[r - 1]!;
  const c = c1 + c2;
  const out = be.makeOutput([...lead, c], 'float32');
  const rows = lead.reduce((p, q) => p * q, 1);
  const heap = new Float32Array(be.wasm.asm.memory.buffer);
  const ao = offsetOf(be, a!) >> 2;
  const bo = offsetOf(be, b!) >> 2;
  const oo = offsetOf(be, out) >> 2;
  for (let i = 0; i < rows; i++) {
    heap.copyWithin(oo + i * c, ao + i * c1, ao + (i + 1) * c1);
    heap.copyWithin(oo + i * c + c1, bo + i * c2, bo + (i + 1) * c2);
  }
  return out;
}

/** The backward kernels (and the channel concatenation): all registered, or the tape-free training path is not used. */
export const UNET_TRAIN_KERNELS = [FLOW_CONV3X3_GRAD, FLOW_GROUP_NORM_ACT_GRAD, FLOW_SPLIT_CHANNELS, FLOW_CONCAT_CHANNELS];
