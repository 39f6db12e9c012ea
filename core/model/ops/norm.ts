/**
 * Group normalisation with a hand-written gradient from NHWC-friendly reductions (a global avgPool
 * instead of a mean over axes [1, 2], which transposes on wasm).
 */
import { tf, type Tensor } from '../../tf';
import { checkShape } from '../../errors';
import { customOp } from './custom-op';
import { builtinGradientsOn } from './dispatch';

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
  checkShape(
    x.rank === 4 && c % groups === 0,
    () => `groupNorm: x must be [B, H, W, C] with C divisible by groups = ${groups}. Got [${x.shape}]`,
  );
  if (builtinGradientsOn()) {
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
