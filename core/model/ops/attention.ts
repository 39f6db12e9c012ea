/**
 * Batched matrix product for attention (softmax(q kᵀ) v), with gradients on the GEMM.
 */
import { tf, type Tensor } from '../../tf';
import { checkShape } from '../../errors';
import { gemm } from '../../kernels/gemm';
import { customOp } from './custom-op';
import { builtinGradientsOn } from './dispatch';

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
  return builtinGradientsOn() ? tf.matMul(a, b) : bmmOp(a, b);
}
