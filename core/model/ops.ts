/**
 * Differentiable building blocks with hand-written gradients that stay on the wasm backend's fast
 * kernels.
 *
 * Why: on tfjs-backend-wasm a plain matMul runs on XNNPACK, while matMul with transposeA/transposeB
 * (what the built-in matMul gradient uses) falls back to a loop 10-14x slower; conv2d's filter
 * gradient (Conv2DBackpropFilter) is not registered at all, and its input gradient
 * (Conv2DBackpropInput) is ~10x slower than a forward conv. Every gradient here is written from
 * plain matMul, forward conv2d, avgPool, explicit transposes and cheap reshapes, and is checked
 * against the cpu backend's built-in gradients (test/core/model/ops.test.ts per op, and whole
 * models through useBuiltinGradients in test/core/model/models.test.ts).
 *
 * On wasm the dense products go to our own FMA GEMM (core/kernels/gemm.ts), which takes transposed
 * operands natively, SiLU to one kernel each way (core/kernels/silu.ts), and a SiLU MLP body can
 * run as one op (siluStack) or without the tape at all (siluStackForward / siluStackBackward, used
 * by the MLP's mseLossAndGrads): a small MLP's step is otherwise dominated by per-op overhead.
 *
 * All functions work on any backend; they only avoid the slow wasm paths. They follow the tfjs
 * convention that the caller owns inputs and outputs (nothing is disposed here; wrap in tf.tidy).
 * First-order gradients only: differentiating a gradient of these ops again is not supported.
 */
import { tf, type Tensor } from '../tf';
import { checkShape } from '../errors';
import { gemm, gemmKernelActive, sumRows as gemmSumRows } from '../kernels/gemm';
import { siluBackward, siluForward, siluKernelActive } from '../kernels/silu';

type GradFunc = (dy: Tensor, saved: Tensor[]) => Tensor[];
type Save = (tensors: Tensor[]) => void;

/**
 * tf.customGrad with a typed signature: `forward(inputs, save)` returns the value and the gradient
 * function (one gradient per input, same order). Inside `forward` no tape is recorded.
 *
 * The gradient function runs inside tf.tidy: tfjs calls a customGrad gradient in the scope of the
 * whole backward pass, so without it every intermediate of every layer's backward would stay alive
 * until backprop ends (measured: 3.8 GB peak for a U-Net step at batch 64, instead of 1.6 GB).
 */
function customOp(
  forward: (inputs: Tensor[], save: Save) => { value: Tensor; gradFunc: GradFunc },
): (...inputs: Tensor[]) => Tensor {
  const op = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as Tensor[];
    const { value, gradFunc } = forward(inputs, save);
    return { value, gradFunc: (dy: Tensor, saved: Tensor[]) => tf.tidy(() => gradFunc(dy, saved)) };
  });
  return (...inputs: Tensor[]) => op(...inputs);
}

/** Sum of a 2-D [n, m] tensor over its rows (core/kernels/gemm.ts sumRows; sum over axis 0 transposes on wasm). */
function sumRows(dy2: Tensor): Tensor {
  return gemmSumRows(dy2);
}

let builtinGradients = false;

/**
 * Testing aid: when on, every op here is computed from tfjs built-ins with tfjs's own gradients
 * (slow or missing on wasm; use it on the cpu backend). A whole model can then be differentiated
 * both ways and compared. Returns the previous setting.
 */
export function useBuiltinGradients(on: boolean): boolean {
  const prev = builtinGradients;
  builtinGradients = on;
  return prev;
}

// ---------------------------------------------------------------------------------------------
// Dense
// ---------------------------------------------------------------------------------------------

// Inputs needed by a backward pass go through save() (a cheap clone kept by the tape), never a
// closure: the caller may dispose its own handles (e.g. in a tf.tidy) before the backward pass runs.
// gemm (core/kernels/gemm.ts) takes transposed operands natively on wasm (our FMA kernel) and
// falls back to an explicit transpose and a plain tfjs matMul elsewhere.
const matMulOp = customOp(([a, b], save) => {
  save([a!, b!]);
  return {
    value: gemm(a!, b!),
    gradFunc: (dy, [a, b]) => [gemm(dy, b!, { transposeB: true }), gemm(a!, dy, { transposeA: true })],
  };
});

const denseBiasOp = customOp(([x, w, b], save) => {
  save([x!, w!]);
  return {
    // One kernel for x·W + b.
    value: gemm(x!, w!, { bias: b! }),
    gradFunc: (dy, [x, w]) => [gemm(dy, w!, { transposeB: true }), gemm(x!, dy, { transposeA: true }), sumRows(dy)],
  };
});

/**
 * Plain 2-D matrix product a·b, a [n, k], b [k, m] -> [n, m], with gradients
 * da = dy · bᵀ and db = aᵀ · dy computed by explicit transposes and plain matMuls.
 */
export function matMul(a: Tensor, b: Tensor): Tensor {
  checkShape(a.rank === 2 && b.rank === 2 && a.shape[1] === b.shape[0], () =>
    `matMul expects [n, k] · [k, m]. Got [${a.shape}] · [${b.shape}]`,
  );
  return builtinGradients ? tf.matMul(a, b) : matMulOp(a, b);
}

/**
 * Affine layer y = x W + b applied over the last axis.
 *
 * x: [..., in], w: [in, out], b: [out] (optional) -> [..., out].
 * Gradients: dx = dy · Wᵀ, dW = xᵀ · dy, db = Σ_rows dy, all as plain matMuls after explicit
 * transposes (the built-in matMul gradient uses the transposed matMul that is slow on wasm).
 */
export function dense(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const inDim = w.shape[0]!;
  const outDim = w.shape[1]!;
  checkShape(w.rank === 2 && x.shape[x.rank - 1] === inDim, () =>
    `dense: x [..., ${inDim}] expected for W [${w.shape}]. Got x [${x.shape}]`,
  );
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, inDim]);
  let y2: Tensor;
  if (builtinGradients) y2 = b ? tf.add(tf.matMul(x2, w), b) : tf.matMul(x2, w);
  else y2 = b ? denseBiasOp(x2, w, b) : matMulOp(x2, w);
  return x.rank === 2 ? y2 : tf.reshape(y2, [...lead, outDim]);
}

// ---------------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------------

// On wasm: one kernel each way (core/kernels/silu.ts); the backward pass recomputes sigmoid from x.
const siluKernelOp = customOp(([x], save) => {
  save([x!]);
  return { value: siluForward(x!), gradFunc: (dy, [x]) => [siluBackward(dy, x!)] };
});

const siluOp = customOp(([x], save) => {
  const s = tf.sigmoid(x!);
  const y = tf.mul(x!, s);
  save([s, y]);
  return {
    value: y,
    // silu'(x) = s (1 + x (1 - s)) = s + y - y s, with s = sigmoid(x), y = x s.
    gradFunc: (dy, [s, y]) => [tf.mul(dy, tf.sub(tf.add(s!, y!), tf.mul(y!, s!)))],
  };
});

/** SiLU (swish): y = x · sigmoid(x); dy/dx = s + y (1 - s). Elementwise, any shape. */
export function silu(x: Tensor): Tensor {
  if (builtinGradients) return tf.mul(x, tf.sigmoid(x));
  return x.dtype === 'float32' && siluKernelActive() ? siluKernelOp(x) : siluOp(x);
}

// ---------------------------------------------------------------------------------------------
// A stack of dense + SiLU layers as one op
// ---------------------------------------------------------------------------------------------

/**
 * h_{l+1} = silu(h_l W_l + b_l (+ e for l = 0)) for the hidden layers, then out = h_L W_out + b_out,
 * as ONE custom op with a hand-written backward pass through all layers. The same kernels as
 * dense + silu layer by layer (so the same numbers), but one tape node instead of 2 per layer: each
 * tape node costs the engine tens of microseconds of bookkeeping, which is a large share of a small
 * MLP's step. Inputs: [h0, e | none, W_0, b_0, ..., W_out, b_out]; e (optional) is added to the first
 * pre-activation (a class embedding), and gets a gradient like every input.
 */
function siluStackOp(hasExtra: boolean, hidden: number): (...inputs: Tensor[]) => Tensor {
  return customOp((inputs, save) => {
    const h0 = inputs[0]!;
    const e = hasExtra ? inputs[1]! : undefined;
    const params = inputs.slice(hasExtra ? 2 : 1);
    const f = siluStackForward(h0, params, e);
    save([...f.hs, ...f.zs, ...params.filter((_, i) => i % 2 === 0)]);
    return {
      value: f.out,
      gradFunc: (dy, saved) => {
        const b = siluStackBackward(dy, saved.slice(0, hidden + 1), saved.slice(hidden + 1, 2 * hidden + 1), saved.slice(2 * hidden + 1));
        return e ? [b.dh0, b.dz0, ...b.grads] : [b.dh0, ...b.grads];
      },
    };
  });
}

/** What the backward pass of a SiLU stack needs from its forward pass. */
export interface SiluStackForward {
  out: Tensor;
  /** Layer inputs h_0 .. h_L (h_0 is the caller's). */
  hs: Tensor[];
  /** Pre-activations z_0 .. z_{L-1}. */
  zs: Tensor[];
}

/** Forward pass of a SiLU stack (kernel path; no tape). params: [W_0, b_0, ..., W_out, b_out]. */
export function siluStackForward(h0: Tensor, params: readonly Tensor[], extra?: Tensor): SiluStackForward {
  const hidden = params.length / 2 - 1;
  const zs: Tensor[] = [];
  const hs: Tensor[] = [h0];
  let h = h0;
  for (let l = 0; l < hidden; l++) {
    let z = gemm(h, params[2 * l]!, { bias: params[2 * l + 1]! });
    if (l === 0 && extra) z = tf.add(z, extra);
    zs.push(z);
    h = siluForward(z);
    hs.push(h);
  }
  return { out: gemm(h, params[2 * hidden]!, { bias: params[2 * hidden + 1]! }), hs, zs };
}

/**
 * Backward pass of a SiLU stack from dL/dout: gradients [dW_0, db_0, ..., dW_out, db_out], dL/dh_0
 * and dL/dz_0 (the gradient of an extra term added to z_0). ws: [W_0, ..., W_out].
 */
export function siluStackBackward(dy: Tensor, hs: readonly Tensor[], zs: readonly Tensor[], ws: readonly Tensor[]): { grads: Tensor[]; dh0: Tensor; dz0: Tensor } {
  const hidden = zs.length;
  const grads: Tensor[] = new Array<Tensor>(2 * hidden + 2);
  grads[2 * hidden] = gemm(hs[hidden]!, dy, { transposeA: true });
  grads[2 * hidden + 1] = sumRows(dy);
  let dh = gemm(dy, ws[hidden]!, { transposeB: true });
  let dz = dy;
  for (let l = hidden - 1; l >= 0; l--) {
    dz = siluBackward(dh, zs[l]!);
    grads[2 * l] = gemm(hs[l]!, dz, { transposeA: true });
    grads[2 * l + 1] = sumRows(dz);
    dh = gemm(dz, ws[l]!, { transposeB: true });
  }
  return { grads, dh0: dh, dz0: dz };
}

/** True when siluStack, siluStackForward and siluStackBackward run on the wasm kernels. */
export function siluStackAvailable(): boolean {
  return !builtinGradients && siluKernelActive() && gemmKernelActive();
}

const siluStacks = new Map<string, (...inputs: Tensor[]) => Tensor>();

/**
 * The SiLU MLP body as one op where the wasm kernels run (else null: use dense + silu per layer).
 * h0: [B, in]; layers: [W_0, b_0, ..., W_{L-1}, b_{L-1}, W_out, b_out] (W [in, out], b [out]);
 * extra: [B, width] added to the first pre-activation. Returns [B, out].
 */
export function siluStack(h0: Tensor, layers: readonly Tensor[], extra?: Tensor): Tensor | null {
  if (!siluStackAvailable() || h0.rank !== 2 || h0.dtype !== 'float32') return null;
  const hidden = layers.length / 2 - 1;
  const key = `${extra ? 1 : 0}/${hidden}`;
  let op = siluStacks.get(key);
  if (!op) {
    op = siluStackOp(extra !== undefined, hidden);
    siluStacks.set(key, op);
  }
  return extra ? op(h0, extra, ...layers) : op(h0, ...layers);
}

// ---------------------------------------------------------------------------------------------
// Batched matMul (attention)
// ---------------------------------------------------------------------------------------------

const bmmOp = customOp(([a, b], save) => {
  save([a!, b!]);
  return {
    value: gemm(a!, b!),
    gradFunc: (dy, [a, b]) => [gemm(dy, b!, { transposeB: true }), gemm(a!, dy, { transposeA: true })],
  };
});

/**
 * Batched matrix product a [n, p, k] · b [n, k, q] -> [n, p, q] with gradients
 * da = dy · bᵀ, db = aᵀ · dy (explicit transposes of the last two axes, then plain matMuls).
 */
export function bmm(a: Tensor, b: Tensor): Tensor {
  checkShape(
    a.rank === 3 && b.rank === 3 && a.shape[0] === b.shape[0] && a.shape[2] === b.shape[1],
    () => `bmm expects [n, p, k] · [n, k, q]. Got [${a.shape}] · [${b.shape}]`,
  );
  return builtinGradients ? tf.matMul(a, b) : bmmOp(a, b);
}

// ---------------------------------------------------------------------------------------------
// conv2d
// ---------------------------------------------------------------------------------------------

/** Takes rows [start, end) of `axis` (1 or 2) of a 4-D tensor, zero-padding where out of range. */
function window4d(t: Tensor, axis: 1 | 2, start: number, end: number): Tensor {
  const size = t.shape[axis]!;
  const lo = Math.max(0, start);
  const hi = Math.min(size, end);
  let out = t;
  if (lo > 0 || hi < size) {
    const begin = [0, 0, 0, 0];
    const sz = [-1, -1, -1, -1];
    begin[axis] = lo;
    sz[axis] = Math.max(0, hi - lo);
    out = tf.slice(out, begin, sz);
  }
  const before = Math.max(0, -start);
  const after = Math.max(0, end - Math.max(size, start));
  if (before > 0 || after > 0) {
    const pads: Array<[number, number]> = [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ];
    pads[axis] = [before, after];
    out = tf.pad(out, pads);
  }
  return out;
}

/**
 * Geometry of the input gradient along one spatial axis, as a stride-1 convolution of dy followed
 * by depth-to-space.
 *
 * Forward: y[o] = Σ_i x[s·o + i - p] f[i]. Writing an input index as s·q + r (phase r < s),
 * dx[s·q + r] = Σ_d dy[q + d] f[r + p - s·d] over the d with 0 <= r + p - s·d < k.
 * So one conv over dy with a kernel of size dmax - dmin + 1 whose output channels hold the s
 * phases yields every phase at once; depth-to-space interleaves them.
 */
interface PhasePlan {
  /** Offsets of dy relative to q covered by the combined kernel: d = kd + dmin. */
  dmin: number;
  size: number;
  /** tap[kd][r]: index i into the forward filter, or -1 where no tap contributes. */
  tap: number[][];
  /** Number of q positions (ceil(inSize / s)). */
  q: number;
}

function phasePlan(k: number, s: number, pad: number, inSize: number): PhasePlan {
  let dmin = Infinity;
  let dmax = -Infinity;
  for (let r = 0; r < s; r++) {
    for (let i = 0; i < k; i++) {
      const num = r + pad - i;
      if (num % s === 0) {
        const d = num / s;
        dmin = Math.min(dmin, d);
        dmax = Math.max(dmax, d);
      }
    }
  }
  if (!Number.isFinite(dmin)) {
    dmin = 0;
    dmax = 0;
  }
  const size = dmax - dmin + 1;
  const tap: number[][] = [];
  for (let kd = 0; kd < size; kd++) {
    const row: number[] = [];
    for (let r = 0; r < s; r++) {
      const i = r + pad - s * (kd + dmin);
      row.push(i >= 0 && i < k ? i : -1);
    }
    tap.push(row);
  }
  return { dmin, size, tap, q: Math.ceil(inSize / s) };
}

/** Everything the backward pass needs about one conv call; depends on shapes only, so cached. */
interface ConvPlan {
  stride: number;
  kh: number;
  kw: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  ho: number;
  wo: number;
  padTop: number;
  padLeft: number;
  ph: PhasePlan;
  pw: PhasePlan;
  /** Gather indices into the zero-padded flattened filter, ordered (kdh, kdw, rh, rw). */
  gatherIdx: Int32Array;
  /** For each tap (i, j): its row in the filter-gradient blocks, ordered (offset a, b, phase). */
  filterIdx: Int32Array;
}

const planCache = new Map<string, ConvPlan>();

function convPlan(xShape: number[], fShape: number[], stride: number, pad: 'same' | 'valid'): ConvPlan {
  const key = `${xShape}|${fShape}|${stride}|${pad}`;
  const cached = planCache.get(key);
  if (cached) return cached;
  const [, h, w, cin] = xShape as [number, number, number, number];
  const [kh, kw, , cout] = fShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    fShape as [number, number, number, number],
    stride,
    1,
    pad,
  );
  const ph = phasePlan(kh, stride, info.padInfo.top, h);
  const pw = phasePlan(kw, stride, info.padInfo.left, w);
  const zero = kh * (kw + 1) + kw; // a row or column index past the filter lands in the zero pad
  const idx = new Int32Array(ph.size * pw.size * stride * stride);
  let n = 0;
  for (let a = 0; a < ph.size; a++) {
    for (let b = 0; b < pw.size; b++) {
      for (let rh = 0; rh < stride; rh++) {
        for (let rw = 0; rw < stride; rw++) {
          const i = ph.tap[a]![rh]!;
          const j = pw.tap[b]![rw]!;
          idx[n++] = i < 0 || j < 0 ? zero : i * (kw + 1) + j;
        }
      }
    }
  }
  const sAw = Math.floor((kw - 1) / stride) + 1; // offsets per row in convFilterGrad's loop
  const filterIdx = new Int32Array(kh * kw);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const group = Math.floor(i / stride) * sAw + Math.floor(j / stride);
      filterIdx[i * kw + j] = group * stride * stride + (i % stride) * stride + (j % stride);
    }
  }
  const plan: ConvPlan = {
    stride,
    kh,
    kw,
    cin,
    cout,
    h,
    w,
    ho: info.outHeight,
    wo: info.outWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    ph,
    pw,
    gatherIdx: idx,
    filterIdx,
  };
  if (planCache.size > 256) planCache.clear();
  planCache.set(key, plan);
  return plan;
}

/**
 * dL/dx of y = conv2d(x, f, stride, pad) without Conv2DBackpropInput: one stride-1 'valid' conv of
 * (windowed) dy with a filter gathered from f that holds all stride² phases as output channels,
 * then the phases are interleaved by a reshape-transpose-reshape (depth-to-space; tf.depthToSpace
 * itself is ~15x slower on wasm). For stride 1 the gathered filter is f flipped with its in/out
 * channels swapped. FLOPs: ceil(k/s)² taps × s² phases, the forward's for k = 3, s = 1 and 16/9
 * of it for k = 3, s = 2 (zero insertion would cost 4x).
 */
function convInputGrad(dy: Tensor, f: Tensor, p: ConvPlan): Tensor {
  const s = p.stride;
  const fpad = tf.pad(f, [
    [0, 1],
    [0, 1],
    [0, 0],
    [0, 0],
  ]);
  const flat = tf.reshape(fpad, [(p.kh + 1) * (p.kw + 1), p.cin, p.cout]);
  const g = tf.gather(flat, tf.tensor1d(p.gatherIdx, 'int32'), 0);
  // [Kh·Kw, s², Cin, Cout] -> [Kh·Kw, Cout, s², Cin]: output channel index (rh·s + rw)·Cin + ci.
  const g4 = tf.transpose(tf.reshape(g, [p.ph.size * p.pw.size, s * s, p.cin, p.cout]), [0, 3, 1, 2]);
  const filt = tf.reshape(g4, [p.ph.size, p.pw.size, p.cout, s * s * p.cin]);
  let win = window4d(dy, 1, p.ph.dmin, p.ph.dmin + p.ph.q + p.ph.size - 1);
  win = window4d(win, 2, p.pw.dmin, p.pw.dmin + p.pw.q + p.pw.size - 1);
  let dx = tf.conv2d(win as tf.Tensor4D, filt as tf.Tensor4D, 1, 'valid');
  if (s > 1) {
    // [B, Qh, Qw, (rh, rw, c)] -> [B, Qh, rh, Qw, (rw, c)] = [B, s·Qh, s·Qw, C].
    const b = dy.shape[0]!;
    const t = tf.transpose(tf.reshape(dx, [b * p.ph.q, p.pw.q, s, s * p.cin]), [0, 2, 1, 3]);
    dx = tf.reshape(t, [b, s * p.ph.q, s * p.pw.q, p.cin]);
  }
  if (dx.shape[1] !== p.h || dx.shape[2] !== p.w) dx = tf.slice(dx, [0, 0, 0, 0], [-1, p.h, p.w, -1]);
  return dx;
}

/**
 * dL/df and dL/db of y = conv2d(x, f, stride, pad) + b without Conv2DBackpropFilter.
 *
 * dF[i, j] = Σ_{n, oh, ow} xpad[n, s·oh + i, s·ow + j, :] ⊗ dy[n, oh, ow, :]. Write a tap as
 * (i, j) = (s·a + ri, s·b + rj): phase (ri, rj), offset (a, b). Split the padded input into its s²
 * phases, each a grid [B, Hh, Wh] with Hh = Ho + floor((kh - 1)/s), channel-major:
 * X [s²·Cin, B·Hh·Wh]. Embed dy in the same grid (zeros past Ho, Wo), flattened to D [rows, Cout].
 * The offset (a, b) is then a shift by a·Wh + b columns of X, and
 *   dF[(a, b), (ri, rj)] = shift(X) · D      (one plain matMul [s²·Cin, rows] · [rows, Cout]).
 * The zeros of the embedded dy cancel the columns that wrap around a row or image.
 *
 * Why this arrangement on wasm: XNNPACK repacks the right operand of a matMul whenever it changes
 * (~2x the multiply itself here), so the right operand is D, the same tensor for every offset; the
 * shift is a C++ pad (both sides of the data move) because tf.slice on wasm first copies its whole
 * source; spaceToBatchND is avoided for the same reason as depthToSpace.
 */
function convFilterGrad(x: Tensor, dy: Tensor, p: ConvPlan): [Tensor, Tensor] {
  const s = p.stride;
  const bsz = x.shape[0]!;
  const ah = Math.floor((p.kh - 1) / s);
  const aw = Math.floor((p.kw - 1) / s);
  const hh = p.ho + ah;
  const wh = p.wo + aw;
  const rows = bsz * hh * wh;
  const maxOff = ah * wh + aw;
  let xw = window4d(x, 1, -p.padTop, -p.padTop + s * hh);
  xw = window4d(xw, 2, -p.padLeft, -p.padLeft + s * wh);
  let xT: Tensor;
  if (s === 1) {
    xT = tf.transpose(tf.reshape(xw, [rows, p.cin]));
  } else {
    // [B·Hh, ri, Wh·s·Cin] -> [ri, B·Hh, Wh, (rj, c)] -> [ri, (rj, c), B·Hh·Wh]: rows (ri, rj, c).
    const t1 = tf.transpose(tf.reshape(xw, [bsz * hh, s, wh * s * p.cin]), [1, 0, 2]);
    const t2 = tf.transpose(tf.reshape(t1, [s, rows, s * p.cin]), [0, 2, 1]);
    xT = tf.reshape(t2, [s * s * p.cin, rows]);
  }
  const dyw = tf.pad(dy, [
    [0, 0],
    [0, ah],
    [0, aw],
    [0, 0],
  ]);
  const d = tf.pad(tf.reshape(dyw, [rows, p.cout]), [
    [maxOff, 0],
    [0, 0],
  ]);
  const parts: Tensor[] = [];
  for (let a = 0; a <= ah; a++) {
    for (let b = 0; b <= aw; b++) {
      const off = a * wh + b;
      const shifted = tf.pad(xT, [
        [0, 0],
        [maxOff - off, off],
      ]);
      parts.push(tf.matMul(shifted, d)); // [s²·Cin, Cout], rows (ri, rj, c)
      shifted.dispose(); // one shifted copy alive at a time: 9 of them at once can exhaust the wasm heap
    }
  }
  const all = tf.reshape(parts.length === 1 ? parts[0]! : tf.concat(parts, 0), [
    parts.length * s * s,
    p.cin,
    p.cout,
  ]);
  const df = tf.reshape(tf.gather(all, tf.tensor1d(p.filterIdx, 'int32'), 0), [p.kh, p.kw, p.cin, p.cout]);
  const db = tf.reshape(tf.matMul(tf.ones([1, rows + maxOff]), d), [p.cout]);
  return [df, db];
}

function makeConvOp(stride: number, pad: 'same' | 'valid') {
  return customOp(([x, f, b], save) => {
    save([x!, f!]);
    const value = tf.fused.conv2d({ x: x! as tf.Tensor4D, filter: f! as tf.Tensor4D, strides: stride, pad, bias: b! });
    return {
      value,
      gradFunc: (dy, [x, f]) => {
        const plan = convPlan(x!.shape, f!.shape, stride, pad);
        const dx = convInputGrad(dy, f!, plan);
        const [df, db] = convFilterGrad(x!, dy, plan);
        return [dx, df, db];
      },
    };
  });
}

const convOps = new Map<string, (...inputs: Tensor[]) => Tensor>();

/**
 * 2-D convolution with bias, NHWC: x [B, H, W, Cin], f [kh, kw, Cin, Cout], b [Cout]
 * -> [B, Ho, Wo, Cout], with Ho = ceil(H / stride) for 'same' and floor((H - kh) / stride) + 1 for
 * 'valid' (TensorFlow's padding rule: the odd extra pad row goes at the bottom/right).
 *
 * The gradient avoids Conv2DBackpropFilter (missing on wasm) and Conv2DBackpropInput (slow on wasm);
 * see convInputGrad and convFilterGrad. Any stride >= 1 works; 1 and 2 are tested.
 */
export function conv2d(x: Tensor, f: Tensor, b: Tensor, stride = 1, pad: 'same' | 'valid' = 'same'): Tensor {
  checkShape(x.rank === 4 && f.rank === 4 && x.shape[3] === f.shape[2], () =>
    `conv2d: x [B, H, W, ${f.shape[2]}] expected for filter [${f.shape}]. Got x [${x.shape}]`,
  );
  checkShape(b.rank === 1 && b.shape[0] === f.shape[3], () =>
    `conv2d: bias must have shape [${f.shape[3]}]. Got [${b.shape}]`,
  );
  if (builtinGradients) return tf.add(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, stride, pad), b);
  const key = `${stride}|${pad}`;
  let op = convOps.get(key);
  if (!op) {
    op = makeConvOp(stride, pad);
    convOps.set(key, op);
  }
  return op(x, f, b);
}

// ---------------------------------------------------------------------------------------------
// GroupNorm
// ---------------------------------------------------------------------------------------------

/**
 * Per-(sample, channel) spatial mean of x [B, H, W, C] -> [B, 1, 1, C]. A global avgPool runs on
 * XNNPACK in NHWC order; mean over axes [1, 2] would transpose the whole tensor first on wasm.
 */
function spatialMean(x: Tensor): Tensor {
  const [, h, w] = x.shape as [number, number, number, number];
  return tf.avgPool(x as tf.Tensor4D, [h, w], 1, 'valid');
}

/** Mean over each group of channels of m [B, 1, 1, C], broadcast back to [B, 1, 1, C]. */
function groupMean(m: Tensor, groups: number): Tensor {
  const [bsz, , , c] = m.shape as [number, number, number, number];
  const cg = c / groups;
  if (cg === 1) return m;
  const g = tf.mean(tf.reshape(m, [bsz, groups, cg]), 2, true);
  return tf.reshape(tf.broadcastTo(g, [bsz, groups, cg]), [bsz, 1, 1, c]);
}

function makeGroupNormOp(groups: number, eps: number) {
  return customOp(([x, gamma, beta], save) => {
    const mu = groupMean(spatialMean(x!), groups);
    const d = tf.sub(x!, mu);
    // Two passes (mean, then mean of squared deviations): stable where E[x²] - E[x]² is not.
    const variance = groupMean(spatialMean(tf.square(d)), groups);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(d, rstd);
    const value = tf.add(tf.mul(xhat, gamma!), beta!);
    save([xhat, rstd]);
    return {
      value,
      gradFunc: (dy, [xhat, rstd]) => {
        const [bsz, h, w, c] = dy.shape as [number, number, number, number];
        const p1 = spatialMean(dy); // [B,1,1,C]: mean over space of dy
        const p2 = spatialMean(tf.mul(dy, xhat!)); // mean over space of dy·x̂
        const hw = h * w;
        const dbeta = tf.mul(tf.sum(tf.reshape(p1, [bsz, c]), 0), hw);
        const dgamma = tf.mul(tf.sum(tf.reshape(p2, [bsz, c]), 0), hw);
        // dx = rstd (γ dy - mean_g(γ dy) - x̂ mean_g(γ dy x̂)), means over a sample's group.
        const m1 = groupMean(tf.mul(p1, gamma!), groups);
        const m2 = groupMean(tf.mul(p2, gamma!), groups);
        const a = tf.mul(gamma!, rstd!);
        const dx = tf.sub(tf.sub(tf.mul(dy, a), tf.mul(xhat!, tf.mul(m2, rstd!))), tf.mul(m1, rstd!));
        return [dx, dgamma, dbeta];
      },
    };
  });
}

const groupNormOps = new Map<string, (...inputs: Tensor[]) => Tensor>();

/**
 * Group normalisation (Wu & He 2018) of x [B, H, W, C] with `groups` groups of C / groups channels:
 * y = γ (x - μ) / sqrt(σ² + eps) + β, μ and σ² the mean and (biased) variance over the group's
 * channels and all positions of one sample; γ, β [C].
 */
export function groupNorm(x: Tensor, gamma: Tensor, beta: Tensor, groups: number, eps = 1e-5): Tensor {
  const c = x.shape[3]!;
  checkShape(x.rank === 4 && c % groups === 0, () =>
    `groupNorm: x must be [B, H, W, C] with C divisible by groups = ${groups}. Got [${x.shape}]`,
  );
  if (builtinGradients) {
    const [bsz, h, w] = x.shape as [number, number, number, number];
    const xr = tf.reshape(x, [bsz, h * w, groups, c / groups]);
    const { mean, variance } = tf.moments(xr, [1, 3], true);
    const xhat = tf.reshape(tf.mul(tf.sub(xr, mean), tf.rsqrt(tf.add(variance, eps))), x.shape);
    return tf.add(tf.mul(xhat, gamma), beta);
  }
  const key = `${groups}|${eps}`;
  let op = groupNormOps.get(key);
  if (!op) {
    op = makeGroupNormOp(groups, eps);
    groupNormOps.set(key, op);
  }
  return op(x, gamma, beta);
}

// ---------------------------------------------------------------------------------------------
// Resampling
// ---------------------------------------------------------------------------------------------

const upsampleOp = customOp(([x]) => {
  const [, h, w] = x!.shape as [number, number, number, number];
  return {
    value: tf.image.resizeNearestNeighbor(x! as tf.Tensor4D, [2 * h, 2 * w]),
    // Each input pixel feeds a 2x2 block: its gradient is the block sum = 4 · avgPool2x(dy).
    gradFunc: (dy) => [tf.mul(tf.avgPool(dy as tf.Tensor4D, 2, 2, 'valid'), 4)],
  };
});

/**
 * Nearest-neighbour upsampling x2: [B, H, W, C] -> [B, 2H, 2W, C], y[2i + a, 2j + b] = x[i, j].
 * Gradient: 4 · avgPool2x(dy) (XNNPACK). tfjs's ResizeNearestNeighborGrad is ~7x slower on wasm, and
 * on the cpu backend (tfjs 4.22) it is wrong for batch > 1.
 */
export function upsample2x(x: Tensor): Tensor {
  if (builtinGradients) {
    // Reference form from concat + reshape only (correct built-in gradients on every backend).
    const [b, h, w, c] = x.shape as [number, number, number, number];
    const wide = tf.reshape(tf.concat([x, x], 3), [b, h, 2 * w, c]);
    return tf.reshape(tf.concat([wide, wide], 2), [b, 2 * h, 2 * w, c]);
  }
  return upsampleOp(x);
}

/** 2x2 average pooling, stride 2: [B, H, W, C] -> [B, H/2, W/2, C] (H, W even). */
export function avgPool2x(x: Tensor): Tensor {
  return tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid');
}
