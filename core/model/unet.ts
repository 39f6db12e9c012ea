/**
 * A small U-Net velocity model for 28x28 and 32x32 images, NHWC, 1 or 3 channels.
 *
 * Layout (DDPM / improved-diffusion style, reduced for CPU training):
 *
 *   e   = dense(silu(dense(emb(t))))  (+ onehot(label) · C)            [B, 4·base]  time (and class)
 *   h   = conv3x3(x)                                                   [B, S, S, base]
 *   down: per level i (channels base·mult_i): blocksPerLevel ResBlocks, then 2x2 avgPool
 *         (not after the last level); every output is kept as a skip
 *   mid:  ResBlock, self-attention (optional), ResBlock                  at the lowest resolution
 *   up:   per level i, reversed: blocksPerLevel + 1 ResBlocks, each on concat(h, skip), then
 *         nearest-neighbour upsampling x2 (not after level 0)
 *   out = conv3x3(silu(GroupNorm(h)))                                  [B, S, S, C], zero-initialised
 *
 *   ResBlock(x) = skip(x) + conv3x3(silu(GN(conv3x3(silu(GN(x))) + dense(silu(e))))),
 *   skip = identity, or a 1x1 conv when the channel count changes; the second conv starts at 0, so
 *   each block starts as the identity and the untrained model predicts 0.
 *
 * Initialisation (deterministic from the seed): convs and dense layers LeCun uniform
 * U(±sqrt(3 / fanIn)), biases 0, GroupNorm γ = 1, β = 0, the class table N(0, 1) (like
 * torch.nn.Embedding: classes start distinguishable), zeros where stated above.
 *
 * Why avgPool / nearest upsampling instead of strided and transposed convs: on the wasm backend a
 * conv and its gradient dominate the step; the resampling layers here cost almost nothing and the
 * ResBlock convs after them do the learning. 28 -> 14 -> 7 and 32 -> 16 -> 8 with three
 * channelMults. Attention is single-head over the S/4 x S/4 positions (49 or 64).
 *
 * Inference: when no gradient tape is recording and the backend is wasm, `apply` runs the same
 * function on the kernels of core/model/unet-kernels.ts (the embedding MLP in one kernel, GroupNorm
 * + time/class term + SiLU in one, each 3x3 conv with its skip conv or residual in one, on an FMA
 * GEMM; ~70 dispatches a forward pass instead of ~600; timings in `npm run bench -- --only
 * unet-eval`, agreement with the stock layers in test/core/model/unet-infer.test.ts). Under
 * tf.grad / variableGrads the differentiable layers below run, as before.
 *
 * Training: `mseLossAndGrads` (VelocityModel's fast path, used by the trainer) computes the weighted
 * MSE and every parameter's gradient without the tape, on the same forward kernels and the backward
 * kernels of core/model/unet-train-kernels.ts (core/model/unet-train.ts); null where those kernels
 * are not registered (the trainer then differentiates `apply`).
 *
 * Parameter names: unet/time/{0,1}/{W,b}, unet/class/E, unet/in/{W,b}, unet/down/<i>/<j>/...,
 * unet/mid/{0,attn,1}/..., unet/up/<i>/<j>/..., unet/out/{norm/g,norm/b,W,b}; a ResBlock has
 * norm1/{g,b}, conv1/{W,b}, temb/{W,b}, norm2/{g,b}, conv2/{W,b} and, when channels change,
 * skip/{W,b}; attention has norm/{g,b}, q, k, v, proj /{W,b}.
 */
import { tf, type Tensor } from '../tf';
import { check, checkShape } from '../errors';
import type { UNetConfig, VelocityModel } from './types';
import { avgPool2x, bmm, conv2d, dense, groupNorm, silu, upsample2x } from './ops';
import { classEmbedding, timeEmbedding } from './embed';
import { lecunUniform, ParamBuilder } from './params';
import { gemm } from '../kernels/gemm';
import { conv3x3, groupNormAct, unetEmbed, unetKernelsActive } from './unet-kernels';
import { unetShapeProblems } from './unet-shape';
import {
  unetMseLossAndGrads,
  unetTrainAvailable,
  type UNetAttentionBlock,
  type UNetLayer,
  type UNetNorm,
  type UNetParams,
  type UNetResBlock,
} from './unet-train';

/**
 * The default U-Net for an image size (28 or 32), channel count (1 or 3) and class count (0 for
 * unconditional): 16 base channels with multipliers [1, 2, 4] (16 @ 28x28, 32 @ 14x14, 64 @ 7x7),
 * one ResBlock per level, attention at the lowest resolution, 4 groups, a 64-dim sinusoidal time
 * embedding; about 0.58M parameters.
 *
 * Why narrow at full resolution: the full-resolution convs dominate the step on a CPU. Measured on
 * the wasm backend (batch 32, 28x28): base 32 / [1, 2, 2] (0.95M parameters) took ~1.9 s a step,
 * this default ~0.84 s.
 */
export function defaultUNetConfig(size: number, channels: number, numClasses: number): UNetConfig {
  return {
    kind: 'unet',
    size,
    channels,
    baseChannels: 16,
    channelMults: [1, 2, 4],
    blocksPerLevel: 1,
    attention: true,
    groups: 4,
    timeEmbedDim: 64,
    numClasses,
  };
}

/** Throws a ConfigError naming the first invalid field of a U-Net config. */
export function validateUNetConfig(c: UNetConfig): void {
  const int = (v: number, min: number): boolean => Number.isInteger(v) && v >= min;
  check(int(c.size, 4), 'model.size', () => `must be an integer >= 4 (28 and 32 are tested). Got ${c.size}`);
  check(int(c.channels, 1), 'model.channels', () => `must be an integer >= 1. Got ${c.channels}`);
  check(int(c.baseChannels, 1), 'model.baseChannels', () => `must be an integer >= 1. Got ${c.baseChannels}`);
  check(
    Array.isArray(c.channelMults) && c.channelMults.length >= 2,
    'model.channelMults',
    () => `needs at least two resolutions. Got ${JSON.stringify(c.channelMults)}`,
  );
  c.channelMults.forEach((m, i) => check(int(m, 1), `model.channelMults.${i}`, () => `must be an integer >= 1. Got ${m}`));
  check(int(c.blocksPerLevel, 1), 'model.blocksPerLevel', () => `must be an integer >= 1. Got ${c.blocksPerLevel}`);
  check(int(c.groups, 1), 'model.groups', () => `must be an integer >= 1. Got ${c.groups}`);
  // The rules shared with the experiment schema (core/model/unet-shape.ts).
  for (const p of unetShapeProblems(c)) check(false, `model.${p.field}`, () => p.message);
  check(
    int(c.timeEmbedDim, 2) && c.timeEmbedDim % 2 === 0,
    'model.timeEmbedDim',
    () => `must be an even integer >= 2. Got ${c.timeEmbedDim}`,
  );
  check(int(c.numClasses, 0), 'model.numClasses', () => `must be an integer >= 0. Got ${c.numClasses}`);
}

type Norm = UNetNorm;
type Conv = UNetLayer;
type ResBlock = UNetResBlock;
/** Parameters of a self-attention block over C channels: GroupNorm γ, β [C]; q, k, v, proj: W [C, C], b [C]. */
export interface AttentionParams {
  norm: { g: Tensor; b: Tensor };
  q: { w: Tensor; b: Tensor };
  k: { w: Tensor; b: Tensor };
  v: { w: Tensor; b: Tensor };
  proj: { w: Tensor; b: Tensor };
}
type Attention = UNetAttentionBlock;

/**
 * Single-head self-attention over the spatial positions of x [B, H, W, C], with a residual:
 *
 *   n = GN(x) as [B, HW, C];  q, k, v = n W_q + b_q, n W_k + b_k, n W_v + b_v
 *   out = x + (softmax(q kᵀ / sqrt(C)) v) W_proj + b_proj
 *
 * The kᵀ is an explicit transpose so the batched product stays a plain matMul with a hand-written
 * gradient (ops.bmm). Note: on wasm a batched matMul with batch > 1 itself runs on a slow loop
 * (~10x a 2-D matMul of the same FLOPs); at 7x7 or 8x8 positions this stays small.
 */
export function selfAttention(x: Tensor, a: AttentionParams, groups: number): Tensor {
  const [bsz, hh, ww, c] = x.shape as [number, number, number, number];
  const n = tf.reshape(groupNorm(x, a.norm.g, a.norm.b, groups), [bsz, hh * ww, c]);
  const q = dense(n, a.q.w, a.q.b);
  const k = dense(n, a.k.w, a.k.b);
  const v = dense(n, a.v.w, a.v.b);
  const scores = tf.mul(bmm(q, tf.transpose(k, [0, 2, 1])), 1 / Math.sqrt(c));
  const o = bmm(tf.softmax(scores), v);
  return tf.add(x, tf.reshape(dense(o, a.proj.w, a.proj.b), [bsz, hh, ww, c]));
}

/**
 * Creates a U-Net velocity model. x: [B, size, size, channels], t: [B] in [0, 1], labels: [B] int32
 * (required when numClasses > 0; the value numClasses means "no label") -> [B, size, size, channels].
 */
export function createUNet(config: UNetConfig, seed: number): VelocityModel {
  validateUNetConfig(config);
  const cfg: UNetConfig = { ...config, channelMults: [...config.channelMults] };
  const p = new ParamBuilder(seed);
  const base = cfg.baseChannels;
  const tdim = 4 * base;

  const norm = (name: string, c: number): Norm => ({
    g: p.add(`${name}/g`, [c], { kind: 'ones' }),
    b: p.add(`${name}/b`, [c], { kind: 'zeros' }),
  });
  const conv = (name: string, k: number, cin: number, cout: number, zero = false): Conv => ({
    w: p.add(`${name}/W`, [k, k, cin, cout], zero ? { kind: 'zeros' } : lecunUniform(k * k * cin)),
    b: p.add(`${name}/b`, [cout], { kind: 'zeros' }),
  });
  const lin = (name: string, cin: number, cout: number, zero = false): Conv => ({
    w: p.add(`${name}/W`, [cin, cout], zero ? { kind: 'zeros' } : lecunUniform(cin)),
    b: p.add(`${name}/b`, [cout], { kind: 'zeros' }),
  });
  const resBlock = (name: string, cin: number, cout: number): ResBlock => ({
    norm1: norm(`${name}/norm1`, cin),
    conv1: conv(`${name}/conv1`, 3, cin, cout),
    temb: lin(`${name}/temb`, tdim, cout),
    norm2: norm(`${name}/norm2`, cout),
    conv2: conv(`${name}/conv2`, 3, cout, cout, true),
    skip: cin === cout ? null : conv(`${name}/skip`, 1, cin, cout),
  });
  const attention = (name: string, c: number): Attention => ({
    norm: norm(`${name}/norm`, c),
    q: lin(`${name}/q`, c, c),
    k: lin(`${name}/k`, c, c),
    v: lin(`${name}/v`, c, c),
    proj: lin(`${name}/proj`, c, c, true),
  });

  // ---- parameters, in a fixed order ----
  const time0 = lin('unet/time/0', cfg.timeEmbedDim, tdim);
  const time1 = lin('unet/time/1', tdim, tdim);
  const classTable = cfg.numClasses > 0 ? p.add('unet/class/E', [cfg.numClasses + 1, tdim], { kind: 'normal', std: 1 }) : null;
  const inConv = conv('unet/in', 3, cfg.channels, base);
  const levels = cfg.channelMults.map((m) => base * m);
  const down: ResBlock[][] = [];
  const skipChannels: number[] = [base];
  let ch = base;
  levels.forEach((lc, i) => {
    const blocks: ResBlock[] = [];
    for (let j = 0; j < cfg.blocksPerLevel; j++) {
      blocks.push(resBlock(`unet/down/${i}/${j}`, ch, lc));
      ch = lc;
      skipChannels.push(ch);
    }
    if (i < levels.length - 1) skipChannels.push(ch); // after avgPool
    down.push(blocks);
  });
  const mid0 = resBlock('unet/mid/0', ch, ch);
  const midAttn = cfg.attention ? attention('unet/mid/attn', ch) : null;
  const mid1 = resBlock('unet/mid/1', ch, ch);
  const up: ResBlock[][] = [];
  for (let i = levels.length - 1; i >= 0; i--) {
    const lc = levels[i]!;
    const blocks: ResBlock[] = [];
    for (let j = 0; j <= cfg.blocksPerLevel; j++) {
      const skip = skipChannels.pop()!;
      blocks.push(resBlock(`unet/up/${i}/${j}`, ch + skip, lc));
      ch = lc;
    }
    up.push(blocks);
  }
  const outNorm = norm('unet/out/norm', ch);
  const outConv = conv('unet/out', 3, ch, cfg.channels, true);

  // ---- forward ----
  // Each block runs in its own tidy so its temporaries are freed as soon as it returns (under a
  // gradient tape the tensors the backward pass needs are kept by the tape regardless).
  const runRes = (blk: ResBlock, x: Tensor, eAct: Tensor): Tensor => tf.tidy(() => resBody(blk, x, eAct));
  const resBody = (blk: ResBlock, x: Tensor, eAct: Tensor): Tensor => {
    const bsz = x.shape[0]!;
    const cout = blk.conv1.b.shape[0]!;
    let h = conv2d(silu(groupNorm(x, blk.norm1.g, blk.norm1.b, cfg.groups)), blk.conv1.w, blk.conv1.b);
    h = tf.add(h, tf.reshape(dense(eAct, blk.temb.w, blk.temb.b), [bsz, 1, 1, cout]));
    h = conv2d(silu(groupNorm(h, blk.norm2.g, blk.norm2.b, cfg.groups)), blk.conv2.w, blk.conv2.b);
    const skip = blk.skip ? conv2d(x, blk.skip.w, blk.skip.b) : x;
    return tf.add(skip, h);
  };
  const runAttn = (a: Attention, x: Tensor): Tensor => tf.tidy(() => selfAttention(x, a, cfg.groups));

  const validateInputs = (x: Tensor, t: Tensor, labels?: Tensor): void => {
    const s = cfg.size;
    checkShape(
      x.rank === 4 && x.shape[1] === s && x.shape[2] === s && x.shape[3] === cfg.channels,
      () => `x must have shape [batch, ${s}, ${s}, ${cfg.channels}]. Got [${x.shape}]`,
    );
    const bsz = x.shape[0]!;
    checkShape(t.rank === 1 && t.shape[0] === bsz, () => `t must have shape [${bsz}]. Got [${t.shape}]`);
    if (classTable) {
      checkShape(
        labels !== undefined && labels.rank === 1 && labels.shape[0] === bsz,
        () => `labels must have shape [${bsz}] for a class-conditional model. Got ${labels ? `[${labels.shape}]` : 'none'}`,
      );
    }
  };

  const apply = (x: Tensor, t: Tensor, labels?: Tensor): Tensor =>
    tf.tidy(() => {
      validateInputs(x, t, labels);
      let e = dense(silu(dense(timeEmbedding(t, cfg.timeEmbedDim), time0.w, time0.b)), time1.w, time1.b);
      if (classTable && labels) e = tf.add(e, classEmbedding(labels, classTable));
      const eAct = silu(e);

      let h = conv2d(x, inConv.w, inConv.b);
      const skips: Tensor[] = [h];
      down.forEach((blocks, i) => {
        for (const blk of blocks) {
          h = runRes(blk, h, eAct);
          skips.push(h);
        }
        if (i < down.length - 1) {
          h = avgPool2x(h);
          skips.push(h);
        }
      });
      h = runRes(mid0, h, eAct);
      if (midAttn) h = runAttn(midAttn, h);
      h = runRes(mid1, h, eAct);
      up.forEach((blocks, r) => {
        for (const blk of blocks) h = runRes(blk, tf.concat([h, skips.pop()!], 3), eAct);
        if (r < up.length - 1) h = upsample2x(h);
      });
      return conv2d(silu(groupNorm(h, outNorm.g, outNorm.b, cfg.groups)), outConv.w, outConv.b);
    });

  // ---- inference (no gradient tape recording, wasm backend) ----
  // The same function from fewer, larger kernels (core/model/unet-kernels.ts): the embedding MLP
  // in one, GroupNorm + the block's time/class term + SiLU in one (writing the zero-padded input
  // of the 3x3 conv), each 3x3 conv with its skip conv or residual in one, the up path's
  // concatenations never built (both kernels take the two halves), attention on FlowMatMul with a
  // native transposed operand. Intermediates are disposed as soon as they are consumed instead of
  // per-block tidy scopes.
  const gn = { groups: cfg.groups, eps: 1e-5 };
  const conv3 = (x: Tensor, c: Conv): Tensor =>
    tf.fused.conv2d({ x: x as tf.Tensor4D, filter: c.w as tf.Tensor4D, strides: 1, pad: 'same', bias: c.b });
  // x: the block's input, or a pair whose channel concatenation is (the up path's [h, skip]).
  const inferRes = (blk: ResBlock, x: Tensor | [Tensor, Tensor], eAct: Tensor): Tensor => {
    if (Array.isArray(x) && !blk.skip) {
      const cat = tf.concat(x, 3);
      const y = inferRes(blk, cat, eAct);
      cat.dispose();
      return y;
    }
    const a1 = groupNormAct(x, blk.norm1.g, blk.norm1.b, { ...gn, silu: true, pad: true });
    const h1 = conv3x3(a1, blk.conv1.w, blk.conv1.b);
    a1.dispose();
    const a2 = groupNormAct(h1, blk.norm2.g, blk.norm2.b, { ...gn, silu: true, pad: true }, { eAct, w: blk.temb.w, b: blk.temb.b });
    h1.dispose();
    const y = conv3x3(a2, blk.conv2.w, blk.conv2.b, blk.skip ? { x, w: blk.skip.w, b: blk.skip.b } : { residual: x as Tensor });
    a2.dispose();
    return y;
  };
  const inferAttn = (a: Attention, x: Tensor): Tensor => {
    const [bsz, hh, ww, c] = x.shape as [number, number, number, number];
    const n4 = groupNormAct(x, a.norm.g, a.norm.b, { ...gn, silu: false });
    const n = tf.reshape(n4, [bsz * hh * ww, c]);
    const proj = (l: { w: Tensor; b: Tensor }): Tensor => tf.reshape(gemm(n, l.w, { bias: l.b }), [bsz, hh * ww, c]);
    const q = proj(a.q);
    const k = proj(a.k);
    const v = proj(a.v);
    const s0 = gemm(q, k, { transposeB: true });
    const s1 = tf.mul(s0, 1 / Math.sqrt(c));
    const pr = tf.softmax(s1);
    const o = gemm(pr, v);
    const o2 = gemm(tf.reshape(o, [bsz * hh * ww, c]), a.proj.w, { bias: a.proj.b });
    const y = tf.add(x, tf.reshape(o2, [bsz, hh, ww, c]));
    tf.dispose([n4, n, q, k, v, s0, s1, pr, o, o2]);
    return y;
  };
  const inferApply = (x: Tensor, t: Tensor, labels?: Tensor): Tensor =>
    tf.tidy(() => {
      const cls =
        classTable && labels ? { labels: labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32'), table: classTable } : undefined;
      const eAct = unetEmbed(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), cfg.timeEmbedDim, time0, time1, cls);
      let h = conv3(x, inConv);
      const skips: Tensor[] = [h];
      down.forEach((blocks, i) => {
        for (const blk of blocks) {
          h = inferRes(blk, h, eAct);
          skips.push(h);
        }
        if (i < down.length - 1) {
          h = avgPool2x(h);
          skips.push(h);
        }
      });
      // The down path's outputs are its skips: a skip is disposed once concatenated.
      const step = (next: Tensor): void => {
        if (!skips.includes(h)) h.dispose();
        h = next;
      };
      step(inferRes(mid0, h, eAct));
      if (midAttn) step(inferAttn(midAttn, h));
      step(inferRes(mid1, h, eAct));
      up.forEach((blocks, r) => {
        for (const blk of blocks) {
          const skip = skips.pop()!;
          const y = inferRes(blk, [h, skip], eAct);
          if (!skips.includes(h)) h.dispose();
          skip.dispose();
          h = y;
        }
        if (r < up.length - 1) step(upsample2x(h));
      });
      const a = groupNormAct(h, outNorm.g, outNorm.b, { ...gn, silu: true, pad: true });
      return conv3x3(a, outConv.w, outConv.b);
    });

  // ---- training fast path (core/model/unet-train.ts): tape-free forward and backward ----
  const trainParams: UNetParams = { cfg, time0, time1, classTable, inConv, down, mid0, midAttn, mid1, up, outNorm, outConv };
  const mseLossAndGrads = (
    x: Tensor,
    t: Tensor,
    labels: Tensor | undefined,
    target: Tensor,
    weights?: Tensor,
  ): { loss: tf.Scalar; grads: Tensor[] } | null => {
    if (!unetTrainAvailable(cfg) || x.dtype !== 'float32' || (classTable && !labels)) return null;
    validateInputs(x, t, labels);
    checkShape(
      target.rank === 4 && target.shape.every((d, i) => d === x.shape[i]),
      () => `target must have the shape of x [${x.shape}]. Got [${target.shape}]`,
    );
    return tf.tidy(() => {
      const r = unetMseLossAndGrads(trainParams, x, t, labels, target, weights);
      return { loss: r.loss, grads: p.variables.map((v) => r.grads.get(v) ?? tf.zerosLike(v)) };
    });
  };

  const forward = (x: Tensor, t: Tensor, labels?: Tensor): Tensor => {
    const engine = tf.engine() as unknown as { isTapeOn(): boolean };
    if (!engine.isTapeOn() && x.dtype === 'float32' && unetKernelsActive()) {
      validateInputs(x, t, labels);
      return inferApply(x, t, labels);
    }
    return apply(x, t, labels);
  };

  return {
    config: cfg,
    variables: p.variables,
    names: p.names,
    apply: forward,
    mseLossAndGrads,
    dispose: () => p.variables.forEach((v) => v.dispose()),
  };
}
