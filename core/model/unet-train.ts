/**
 * The U-Net's training fast path: the weighted MSE of VelocityModel.mseLossAndGrads and its gradient
 * for every parameter, by a hand-written backward pass on the wasm kernels, without tfjs's gradient
 * tape. The same function as core/model/unet.ts `apply` under tf.variableGrads, computed as:
 *
 *   forward   the inference kernels (core/model/unet-kernels.ts): GroupNorm (+ the block's
 *             time/class term, + SiLU) writing the zero-padded input of the next 3x3 conv in one
 *             kernel, each 3x3 conv (+ its 1x1 skip conv or residual) in one, dense layers and
 *             attention on the FMA GEMM (core/kernels/gemm.ts); what the backward pass needs is kept
 *             in per-layer records instead of tape nodes;
 *   backward  core/model/unet-train-kernels.ts: a 3x3 conv's filter, bias and input gradients in one
 *             kernel (three deep GEMMs for the filter, the forward's row GEMMs with the flipped filter
 *             for the input), GroupNorm + SiLU (+ the time/class term's gradient) in one; dense layers,
 *             the 1x1 skip convs and attention (softmax(q kᵀ / sqrt(C)) v) as GEMMs with transposed
 *             operands read natively; pooling and upsampling as each other's adjoint (tfjs ops).
 *
 * Every step is exact (no approximation), so it agrees with the differentiable layers to float32
 * rounding (test/core/model/unet-train.test.ts checks the gradients against them and against a
 * float64 reference of each kernel, and the training curves of both paths against each other).
 *
 * Available only on the wasm backend with our kernels registered, when every channel count is a
 * multiple of 4 (the kernels' SIMD width): `unetTrainAvailable`. Elsewhere the trainer
 * differentiates `apply` with tf.variableGrads.
 */
import { tf, type Tensor } from '../tf';
import { gemm, gemmKernelActive, sumRows } from '../kernels/gemm';
import { siluBackward, siluForward, siluKernelActive } from '../kernels/silu';
import type { UNetConfig } from './types';
import { builtinGradientsOn } from './ops/dispatch';
import { timeEmbedding } from './embed';
import { conv3x3, FLOW_GROUP_NORM_ACT, groupNormAct, unetKernelsActive, type GroupNormActAttrs } from './unet-kernels';
import {
  FLOW_CONCAT_CHANNELS,
  FLOW_CONV3X3_GRAD,
  FLOW_GROUP_NORM_ACT_GRAD,
  FLOW_SPLIT_CHANNELS,
  UNET_TRAIN_KERNELS,
  type GroupNormActGradAttrs,
} from './unet-train-kernels';

/** GroupNorm parameters γ, β [C]. */
export interface UNetNorm {
  g: tf.Variable;
  b: tf.Variable;
}
/** A conv ([k, k, Cin, Cout]) or dense ([Cin, Cout]) layer's weight and bias [Cout]. */
export interface UNetLayer {
  w: tf.Variable;
  b: tf.Variable;
}
export interface UNetResBlock {
  norm1: UNetNorm;
  conv1: UNetLayer;
  temb: UNetLayer;
  norm2: UNetNorm;
  conv2: UNetLayer;
  skip: UNetLayer | null;
}
export interface UNetAttentionBlock {
  norm: UNetNorm;
  q: UNetLayer;
  k: UNetLayer;
  v: UNetLayer;
  proj: UNetLayer;
}
/** The U-Net's parameters by role (core/model/unet.ts builds them). */
export interface UNetParams {
  cfg: UNetConfig;
  time0: UNetLayer;
  time1: UNetLayer;
  classTable: tf.Variable | null;
  inConv: UNetLayer;
  down: UNetResBlock[][];
  mid0: UNetResBlock;
  midAttn: UNetAttentionBlock | null;
  mid1: UNetResBlock;
  up: UNetResBlock[][];
  outNorm: UNetNorm;
  outConv: UNetLayer;
}

let enabled = true;

/** Testing aid: off makes the trainer differentiate `apply` instead. Returns the previous setting. */
export function useUNetTrainPath(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/** True when the tape-free training path runs for this config on the current backend (asks only). */
export function unetTrainAvailable(cfg: UNetConfig): boolean {
  if (!enabled || builtinGradientsOn() || cfg.baseChannels % 4 !== 0) return false;
  if (!(unetKernelsActive() && gemmKernelActive() && siluKernelActive())) return false;
  const be = tf.getBackend();
  return UNET_TRAIN_KERNELS.every((k) => tf.getKernel(k, be) !== undefined);
}

/** [dW, db, dx?] of a 3x3 conv from its padded input xp, dy and the filter (FlowConv3x3Grad). */
function conv3x3Grad(xp: Tensor, dy: Tensor, w: Tensor, inputGrad: boolean): Tensor[] {
  return tf.engine().runKernel(FLOW_CONV3X3_GRAD, { xp, dy, w }, { inputGrad } as unknown as tf.NamedAttrMap) as unknown as Tensor[];
}

/** [dx, dγ, dβ, de?] of act(GroupNorm(x + e)) from dy (FlowGroupNormActGrad). */
function groupNormActGrad(x: Tensor, norm: UNetNorm, dy: Tensor, attrs: GroupNormActGradAttrs, e?: Tensor): Tensor[] {
  const inputs: tf.NamedTensorMap = e ? { x, gamma: norm.g, beta: norm.b, dy, e } : { x, gamma: norm.g, beta: norm.b, dy };
  return tf.engine().runKernel(FLOW_GROUP_NORM_ACT_GRAD, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as Tensor[];
}

/** What a ResBlock's backward pass needs from its forward pass. */
interface ResRecord {
  x: Tensor;
  e: Tensor;
  a1p: Tensor;
  h1: Tensor;
  a2p: Tensor;
}

interface AttnRecord {
  x: Tensor;
  n: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  p: Tensor;
  o: Tensor;
}

/**
 * The loss L = (1 / N) Σ w (f(x, t, labels) - target)² of a U-Net and dL/dv for its parameters
 * (by variable), tape-free. x, target [B, S, S, C]; weights [B, 1, 1, 1] or none. Call inside
 * tf.tidy; only where `unetTrainAvailable(p.cfg)`.
 */
export function unetMseLossAndGrads(
  p: UNetParams,
  x: Tensor,
  t: Tensor,
  labels: Tensor | undefined,
  target: Tensor,
  weights?: Tensor,
): { loss: tf.Scalar; grads: Map<tf.Variable, Tensor> } {
  const cfg = p.cfg;
  const grads = new Map<tf.Variable, Tensor>();
  const put = (v: tf.Variable, g: Tensor): void => void grads.set(v, g);
  const gn: Omit<GroupNormActAttrs, 'silu'> = { groups: cfg.groups, eps: 1e-5 };
  const gnSilu: GroupNormActGradAttrs = { ...gn, silu: true, padded: false };

  // ---- time (and class) embedding ----
  const emb = timeEmbedding(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), cfg.timeEmbedDim);
  const z0 = gemm(emb, p.time0.w, { bias: p.time0.b });
  const a0 = siluForward(z0);
  let z1 = gemm(a0, p.time1.w, { bias: p.time1.b });
  const oneHot =
    p.classTable && labels ? tf.oneHot(labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32'), p.classTable.shape[0]!) : null;
  if (oneHot && p.classTable) z1 = tf.add(z1, gemm(oneHot, p.classTable));
  const eAct = siluForward(z1);
  const deActs: Tensor[] = [];

  // ---- blocks ----
  const resForward = (blk: UNetResBlock, xin: Tensor): { y: Tensor; rec: ResRecord } => {
    const e = gemm(eAct, blk.temb.w, { bias: blk.temb.b });
    const a1p = groupNormAct(xin, blk.norm1.g, blk.norm1.b, { ...gn, silu: true, pad: true });
    const h1 = conv3x3(a1p, blk.conv1.w, blk.conv1.b);
    const a2p = tf.engine().runKernel(FLOW_GROUP_NORM_ACT, { x: h1, gamma: blk.norm2.g, beta: blk.norm2.b, ed: e }, {
      ...gn,
      silu: true,
      pad: true,
    } as unknown as tf.NamedAttrMap) as Tensor;
    const y = conv3x3(a2p, blk.conv2.w, blk.conv2.b, blk.skip ? { x: xin, w: blk.skip.w, b: blk.skip.b } : { residual: xin });
    return { y, rec: { x: xin, e, a1p, h1, a2p } };
  };
  const resBackward = (blk: UNetResBlock, r: ResRecord, dy: Tensor): Tensor => {
    const [dW2, db2, da2] = conv3x3Grad(r.a2p, dy, blk.conv2.w, true) as [Tensor, Tensor, Tensor];
    put(blk.conv2.w, dW2);
    put(blk.conv2.b, db2);
    let dxSkip = dy;
    if (blk.skip) {
      const [cin, cout] = [r.x.shape[3]!, dy.shape[3]!];
      const x2 = tf.reshape(r.x, [-1, cin]);
      const dy2 = tf.reshape(dy, [-1, cout]);
      put(blk.skip.w, tf.reshape(gemm(x2, dy2, { transposeA: true }), [1, 1, cin, cout]));
      put(blk.skip.b, sumRows(dy2));
      dxSkip = tf.reshape(gemm(dy2, tf.reshape(blk.skip.w, [cin, cout]), { transposeB: true }), r.x.shape);
    }
    const [dh1, dg2, dbeta2, de] = groupNormActGrad(r.h1, blk.norm2, da2, gnSilu, r.e) as [Tensor, Tensor, Tensor, Tensor];
    put(blk.norm2.g, dg2);
    put(blk.norm2.b, dbeta2);
    put(blk.temb.w, gemm(eAct, de, { transposeA: true }));
    put(blk.temb.b, sumRows(de));
    deActs.push(gemm(de, blk.temb.w, { transposeB: true }));
    const [dW1, db1, da1] = conv3x3Grad(r.a1p, dh1, blk.conv1.w, true) as [Tensor, Tensor, Tensor];
    put(blk.conv1.w, dW1);
    put(blk.conv1.b, db1);
    const [dxg, dg1, dbeta1] = groupNormActGrad(r.x, blk.norm1, da1, gnSilu) as [Tensor, Tensor, Tensor];
    put(blk.norm1.g, dg1);
    put(blk.norm1.b, dbeta1);
    tf.dispose([r.a1p, r.a2p, r.h1, da2, dh1, da1]);
    return tf.add(dxg, dxSkip);
  };
  const attnForward = (a: UNetAttentionBlock, xin: Tensor): { y: Tensor; rec: AttnRecord } => {
    const [bsz, hh, ww, c] = xin.shape as [number, number, number, number];
    const n = tf.reshape(groupNormAct(xin, a.norm.g, a.norm.b, { ...gn, silu: false }), [bsz * hh * ww, c]);
    const proj = (l: UNetLayer): Tensor => tf.reshape(gemm(n, l.w, { bias: l.b }), [bsz, hh * ww, c]);
    const q = proj(a.q);
    const k = proj(a.k);
    const v = proj(a.v);
    const pr = tf.softmax(tf.mul(gemm(q, k, { transposeB: true }), 1 / Math.sqrt(c)));
    const o = tf.reshape(gemm(pr, v), [bsz * hh * ww, c]);
    const y = tf.add(xin, tf.reshape(gemm(o, a.proj.w, { bias: a.proj.b }), xin.shape));
    return { y, rec: { x: xin, n, q, k, v, p: pr, o } };
  };
  const attnBackward = (a: UNetAttentionBlock, r: AttnRecord, dy: Tensor): Tensor => {
    const [bsz, hh, ww, c] = r.x.shape as [number, number, number, number];
    const dy2 = tf.reshape(dy, [bsz * hh * ww, c]);
    put(a.proj.w, gemm(r.o, dy2, { transposeA: true }));
    put(a.proj.b, sumRows(dy2));
    const dO = tf.reshape(gemm(dy2, a.proj.w, { transposeB: true }), [bsz, hh * ww, c]);
    const dP = gemm(dO, r.v, { transposeB: true });
    const dv = gemm(r.p, dO, { transposeA: true });
    // softmax: dS = P (dP - Σ_j dP P) (rows), then the 1 / sqrt(C) scale.
    const dS = tf.mul(tf.mul(r.p, tf.sub(dP, tf.sum(tf.mul(dP, r.p), -1, true))), 1 / Math.sqrt(c));
    const dq = gemm(dS, r.k);
    const dk = gemm(dS, r.q, { transposeA: true });
    let dn: Tensor | null = null;
    for (const [l, d] of [
      [a.q, dq],
      [a.k, dk],
      [a.v, dv],
    ] as const) {
      const d2 = tf.reshape(d, [bsz * hh * ww, c]);
      put(l.w, gemm(r.n, d2, { transposeA: true }));
      put(l.b, sumRows(d2));
      const part = gemm(d2, l.w, { transposeB: true });
      dn = dn ? tf.add(dn, part) : part;
    }
    const [dxg, dg, db] = groupNormActGrad(r.x, a.norm, tf.reshape(dn!, r.x.shape), { ...gn, silu: false, padded: false }) as [
      Tensor,
      Tensor,
      Tensor,
    ];
    put(a.norm.g, dg);
    put(a.norm.b, db);
    return tf.add(dy, dxg);
  };

  // ---- forward ----
  const xp0 = tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]);
  let h = conv3x3(xp0, p.inConv.w, p.inConv.b);
  const skips: Tensor[] = [h];
  const downOps: Array<{ blk: UNetResBlock; rec: ResRecord } | null> = []; // null: a 2x2 average pool
  p.down.forEach((blocks, i) => {
    for (const blk of blocks) {
      const r = resForward(blk, h);
      downOps.push({ blk, rec: r.rec });
      h = r.y;
      skips.push(h);
    }
    if (i < p.down.length - 1) {
      h = tf.avgPool(h as tf.Tensor4D, 2, 2, 'valid');
      downOps.push(null);
      skips.push(h);
    }
  });
  const m0 = resForward(p.mid0, h);
  h = m0.y;
  const at = p.midAttn ? attnForward(p.midAttn, h) : null;
  if (at) h = at.y;
  const m1 = resForward(p.mid1, h);
  h = m1.y;
  const skipIdx = skips.map((_, i) => i);
  const upOps: Array<{ blk: UNetResBlock; rec: ResRecord; skip: number; ch: number } | 'up'> = [];
  p.up.forEach((blocks, r) => {
    for (const blk of blocks) {
      const k = skipIdx.pop()!;
      const ch = h.shape[3]!;
      const cat = tf.engine().runKernel(FLOW_CONCAT_CHANNELS, { a: h, b: skips[k]! }) as Tensor;
      const res = resForward(blk, cat);
      upOps.push({ blk, rec: res.rec, skip: k, ch });
      h = res.y;
    }
    if (r < p.up.length - 1) {
      const [, hh, ww] = h.shape as [number, number, number, number];
      h = tf.image.resizeNearestNeighbor(h as tf.Tensor4D, [2 * hh, 2 * ww]);
      upOps.push('up');
    }
  });
  const aOut = groupNormAct(h, p.outNorm.g, p.outNorm.b, { ...gn, silu: true, pad: true });
  const out = conv3x3(aOut, p.outConv.w, p.outConv.b);

  // ---- loss: L = mean(w (out - target)²), dL/dout = (2 / N) w (out - target) ----
  const sq = tf.squaredDifference(out, target);
  const loss = tf.mean(weights ? tf.mul(sq, weights) : sq) as tf.Scalar;
  const res = tf.sub(out, target);
  const dOut = tf.mul(weights ? tf.mul(res, weights) : res, 2 / res.size);

  // ---- backward ----
  const [dWo, dbo, daOut] = conv3x3Grad(aOut, dOut, p.outConv.w, true) as [Tensor, Tensor, Tensor];
  put(p.outConv.w, dWo);
  put(p.outConv.b, dbo);
  let dh: Tensor;
  {
    const [d, dg, db] = groupNormActGrad(h, p.outNorm, daOut, gnSilu) as [Tensor, Tensor, Tensor];
    put(p.outNorm.g, dg);
    put(p.outNorm.b, db);
    dh = d;
  }
  const dSkips: Array<Tensor | undefined> = skips.map(() => undefined);
  for (let i = upOps.length - 1; i >= 0; i--) {
    const op = upOps[i]!;
    if (op === 'up') {
      dh = tf.mul(tf.avgPool(dh as tf.Tensor4D, 2, 2, 'valid'), 4);
      continue;
    }
    const dcat = resBackward(op.blk, op.rec, dh);
    const [dPrev, dSkip] = tf
      .engine()
      .runKernel(FLOW_SPLIT_CHANNELS, { x: dcat }, { c1: op.ch } as unknown as tf.NamedAttrMap) as unknown as [Tensor, Tensor];
    dh = dPrev;
    const acc = dSkips[op.skip];
    dSkips[op.skip] = acc ? tf.add(acc, dSkip) : dSkip;
  }
  dh = resBackward(p.mid1, m1.rec, dh);
  if (at && p.midAttn) dh = attnBackward(p.midAttn, at.rec, dh);
  dh = resBackward(p.mid0, m0.rec, dh);
  // dh is now the gradient of the last down output (skips[last]) from the mid blocks.
  for (let i = downOps.length - 1; i >= 0; i--) {
    const extra = dSkips[i + 1];
    if (extra) dh = tf.add(dh, extra);
    const op = downOps[i];
    if (op) dh = resBackward(op.blk, op.rec, dh);
    else {
      const [, hh, ww] = dh.shape as [number, number, number, number];
      dh = tf.mul(tf.image.resizeNearestNeighbor(dh as tf.Tensor4D, [2 * hh, 2 * ww]), 0.25);
    }
  }
  if (dSkips[0]) dh = tf.add(dh, dSkips[0]);
  const [dWin, dbin] = conv3x3Grad(xp0, dh, p.inConv.w, false) as [Tensor, Tensor];
  put(p.inConv.w, dWin);
  put(p.inConv.b, dbin);

  // ---- embedding backward ----
  const deAct = deActs.length === 1 ? deActs[0]! : tf.addN(deActs);
  const dz1 = siluBackward(deAct, z1);
  put(p.time1.w, gemm(a0, dz1, { transposeA: true }));
  put(p.time1.b, sumRows(dz1));
  if (oneHot && p.classTable) put(p.classTable, gemm(oneHot, dz1, { transposeA: true }));
  const dz0 = siluBackward(gemm(dz1, p.time1.w, { transposeB: true }), z0);
  put(p.time0.w, gemm(emb, dz0, { transposeA: true }));
  put(p.time0.b, sumRows(dz0));
  return { loss, grads };
}
