/**
 * Resampling by 2: nearest-neighbour upsampling (gradient through avgPool) and 2x2 average pooling.
 */
import { tf, type Tensor } from '../../tf';
import { customOp } from './custom-op';
import { builtinGradientsOn } from './dispatch';

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
  if (builtinGradientsOn()) {
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
