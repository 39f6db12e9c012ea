/**
 * Dense products: matMul and the affine layer, with gradients as products on the GEMM
 * (core/kernels/gemm.ts: transposed operands natively on wasm, explicit transposes elsewhere).
 */
import { tf, type Tensor } from '../../tf';
import { checkShape } from '../../errors';
import { gemm } from '../../kernels/gemm';
import { customOp } from './custom-op';
import { builtinGradientsOn, sumRows } from './dispatch';

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
  checkShape(
    a.rank === 2 && b.rank === 2 && a.shape[1] === b.shape[0],
    () => `matMul expects [n, k] · [k, m]. Got [${a.shape}] · [${b.shape}]`,
  );
  return builtinGradientsOn() ? tf.matMul(a, b) : matMulOp(a, b);
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
  checkShape(
    w.rank === 2 && x.shape[x.rank - 1] === inDim,
    () => `dense: x [..., ${inDim}] expected for W [${w.shape}]. Got x [${x.shape}]`,
  );
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, inDim]);
  let y2: Tensor;
  if (builtinGradientsOn()) y2 = b ? tf.add(tf.matMul(x2, w), b) : tf.matMul(x2, w);
  else y2 = b ? denseBiasOp(x2, w, b) : matMulOp(x2, w);
  return x.rank === 2 ? y2 : tf.reshape(y2, [...lead, outDim]);
}
