/**
 * The MLP velocity model for low-dimensional data (2-D toy sets and the like).
 *
 *   h_0 = [x, emb(t)]                               [B, dim + E]   (E = timeEmbedDim, or 1 for raw t)
 *   h_1 = act(h_0 W_0 + b_0 (+ onehot(label) C))    [B, width]     class embedding added here
 *   h_l = act(h_{l-1} W_{l-1} + b_{l-1}),  l = 2..depth
 *   out = h_depth W_out + b_out                     [B, dim]
 *
 * Initialisation (deterministic from the seed): hidden W ~ LeCun uniform U(±sqrt(3 / fanIn)), biases
 * 0, class table N(0, 1) (like torch.nn.Embedding); the output layer starts at 0, so the untrained
 * model predicts 0 for every input and label (a common choice for velocity/noise heads: training
 * starts from a neutral field). The class table must not also start at 0: with both at 0, classes
 * whose targets agree in one output dimension receive identical updates forever and can never be
 * told apart in another (an exact saddle, caught by test/core/model/train.test.ts).
 *
 * Parameter names: mlp/<l>/W, mlp/<l>/b for hidden layer l, mlp/out/W, mlp/out/b, mlp/class/E.
 */
import { tf, type Tensor } from '../tf';
import { check, checkShape } from '../errors';
import { ACTIVATIONS, isOneOf } from '../catalog';
import type { Activation, MlpConfig, VelocityModel } from './types';
import { dense, silu, siluStack, siluStackAvailable, siluStackBackward, siluStackForward } from './ops';
import { gemm } from '../kernels/gemm';
import { classEmbedding, timeEmbedding } from './embed';
import { lecunUniform, ParamBuilder } from './params';
import { timeInput, timeInputKernelActive } from './mlp-kernels';

/** Applies an activation by name; SiLU uses the hand-written gradient of ops.silu. */
export function activate(x: Tensor, activation: Activation): Tensor {
  switch (activation) {
    case 'silu':
      return silu(x);
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'gelu':
      // Exact GELU: x Φ(x) = x (1 + erf(x / √2)) / 2.
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  }
}

/** Throws a ConfigError naming the first invalid field of an MLP config. */
export function validateMlpConfig(c: MlpConfig): void {
  const int = (v: number, min: number): boolean => Number.isInteger(v) && v >= min;
  check(int(c.dim, 1), 'model.dim', () => `must be an integer >= 1. Got ${c.dim}`);
  check(int(c.width, 1), 'model.width', () => `must be an integer >= 1. Got ${c.width}`);
  check(int(c.depth, 1), 'model.depth', () => `must be an integer >= 1. Got ${c.depth}`);
  check(
    isOneOf(ACTIVATIONS, c.activation),
    'model.activation',
    () => `must be one of ${ACTIVATIONS.join(', ')}. Got ${String(c.activation)}`,
  );
  check(
    int(c.timeEmbedDim, 0) && c.timeEmbedDim % 2 === 0,
    'model.timeEmbedDim',
    () => `must be 0 (raw t) or an even integer >= 2. Got ${c.timeEmbedDim}`,
  );
  check(int(c.numClasses, 0), 'model.numClasses', () => `must be an integer >= 0. Got ${c.numClasses}`);
}

/** Time features of t [B]: the sinusoidal embedding, or t itself as [B, 1] when timeEmbedDim = 0. */
export function timeFeatures(t: Tensor, timeEmbedDim: number): Tensor {
  return timeEmbedDim === 0 ? tf.reshape(t, [-1, 1]) : timeEmbedding(t, timeEmbedDim);
}

/**
 * h_0 = [x, timeFeatures(t)]: one kernel where no gradient is recorded and the kernel is registered
 * (core/model/mlp-kernels.ts: the same float32 argument, sines computed once per distinct t), else
 * the tensor ops.
 */
function inputRow(x: Tensor, t: Tensor, timeEmbedDim: number): Tensor {
  const engine = tf.engine() as unknown as { isTapeOn(): boolean };
  if (timeEmbedDim > 0 && !engine.isTapeOn() && x.dtype === 'float32' && t.dtype === 'float32' && timeInputKernelActive())
    return timeInput(x, t, timeEmbedDim);
  return tf.concat([x, timeFeatures(t, timeEmbedDim)], 1);
}

/**
 * Creates an MLP velocity model. x: [B, dim], t: [B] in [0, 1], labels: [B] int32 (required when
 * numClasses > 0; the value numClasses means "no label") -> [B, dim].
 */
export function createMlp(config: MlpConfig, seed: number): VelocityModel {
  validateMlpConfig(config);
  const cfg: MlpConfig = { ...config };
  const p = new ParamBuilder(seed);
  const inDim = cfg.dim + (cfg.timeEmbedDim === 0 ? 1 : cfg.timeEmbedDim);
  const layers: Array<{ w: tf.Variable; b: tf.Variable }> = [];
  for (let l = 0; l < cfg.depth; l++) {
    const fanIn = l === 0 ? inDim : cfg.width;
    const w = p.add(`mlp/${l}/W`, [fanIn, cfg.width], lecunUniform(fanIn));
    const b = p.add(`mlp/${l}/b`, [cfg.width], { kind: 'zeros' });
    layers.push({ w, b });
  }
  const wOut = p.add('mlp/out/W', [cfg.width, cfg.dim], { kind: 'zeros' });
  const bOut = p.add('mlp/out/b', [cfg.dim], { kind: 'zeros' });
  const table = cfg.numClasses > 0 ? p.add('mlp/class/E', [cfg.numClasses + 1, cfg.width], { kind: 'normal', std: 1 }) : null;

  const apply = (x: Tensor, t: Tensor, labels?: Tensor): Tensor =>
    tf.tidy(() => {
      checkShape(x.rank === 2 && x.shape[1] === cfg.dim, () => `x must have shape [batch, ${cfg.dim}]. Got [${x.shape}]`);
      const bsz = x.shape[0]!;
      checkShape(t.rank === 1 && t.shape[0] === bsz, () => `t must have shape [${bsz}]. Got [${t.shape}]`);
      if (table) {
        checkShape(
          labels !== undefined && labels.rank === 1 && labels.shape[0] === bsz,
          () => `labels must have shape [${bsz}] for a class-conditional model. Got ${labels ? `[${labels.shape}]` : 'none'}`,
        );
      }
      let h = inputRow(x, t, cfg.timeEmbedDim);
      if (cfg.activation === 'silu') {
        // The whole body as one op where the wasm kernels run (same numbers, fewer tape nodes).
        const params = [...layers.flatMap(({ w, b }) => [w, b]), wOut, bOut];
        const out = siluStack(h, params, table && labels ? classEmbedding(labels, table) : undefined);
        if (out) return out;
      }
      for (let l = 0; l < layers.length; l++) {
        const { w, b } = layers[l]!;
        let z = dense(h, w, b);
        if (l === 0 && table && labels) z = tf.add(z, classEmbedding(labels, table));
        h = activate(z, cfg.activation);
      }
      return dense(h, wOut, bOut);
    });

  /**
   * The fast path of VelocityModel.mseLossAndGrads for SiLU on the wasm kernels: forward through
   * ops.siluStackForward, dL/dout = (2 / N) w (out - target), then ops.siluStackBackward; the class
   * table's gradient is onehot(labels)ᵀ dL/dz_0. The loss is formed as flowBatchLoss forms it.
   */
  const mseLossAndGrads = (
    x: Tensor,
    t: Tensor,
    labels: Tensor | undefined,
    target: Tensor,
    weights?: Tensor,
  ): { loss: tf.Scalar; grads: Tensor[] } | null => {
    if (cfg.activation !== 'silu' || !siluStackAvailable() || x.rank !== 2 || x.dtype !== 'float32') return null;
    if (table && !labels) return null;
    return tf.tidy(() => {
      const h0 = inputRow(x, t, cfg.timeEmbedDim);
      const oneHot = table && labels ? tf.oneHot(labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32'), table.shape[0]!) : null;
      const extra = oneHot && table ? gemm(oneHot, table) : undefined;
      const params = [...layers.flatMap(({ w, b }) => [w, b]), wOut, bOut];
      const f = siluStackForward(h0, params, extra);
      const sq = tf.squaredDifference(f.out, target);
      const loss = tf.mean(weights ? tf.mul(sq, weights) : sq) as tf.Scalar;
      const r = tf.sub(f.out, target);
      const dOut = tf.mul(weights ? tf.mul(r, weights) : r, 2 / r.size);
      const b = siluStackBackward(
        dOut,
        f.hs,
        f.zs,
        params.filter((_, i) => i % 2 === 0),
      );
      const grads = oneHot ? [...b.grads, gemm(oneHot, b.dz0, { transposeA: true })] : b.grads;
      return { loss, grads };
    });
  };

  return {
    config: cfg,
    variables: p.variables,
    names: p.names,
    apply,
    mseLossAndGrads,
    dispose: () => p.variables.forEach((v) => v.dispose()),
  };
}
