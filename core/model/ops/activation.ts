/**
 * SiLU, y = x sigmoid(x): one kernel each way on wasm (core/kernels/silu.ts), tfjs ops elsewhere.
 */
import { tf, type Tensor } from '../../tf';
import { siluBackward, siluForward } from '../../kernels/silu';
import { customOp } from './custom-op';
import { builtinGradientsOn, siluOnKernel } from './dispatch';

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
  if (builtinGradientsOn()) return tf.mul(x, tf.sigmoid(x));
  return siluOnKernel(x) ? siluKernelOp(x) : siluOp(x);
}
