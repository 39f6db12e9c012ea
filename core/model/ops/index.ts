/**
 * Model ops: differentiable building blocks with hand-written gradients that stay on the wasm
 * backend's fast kernels.
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
 *
 * The parts, one concern each:
 *   dispatch.ts     which implementation runs (builtin / wasm kernels / portable), asked in one place
 *   custom-op.ts    customOp, the typed tf.customGrad every op here is built on
 *   dense.ts        matMul, dense (affine layer)
 *   activation.ts   silu
 *   silu-stack.ts   a whole SiLU MLP body as one op, or tape-free forward / backward
 *   attention.ts    bmm (batched products of attention)
 *   conv.ts         conv2d, with conv-plan.ts (the backward pass's geometry)
 *   norm.ts         groupNorm
 *   resample.ts     upsample2x, avgPool2x
 * (The time and class embeddings are in ../embed.ts; the U-Net's inference-only fused kernels in
 * ../unet-kernels.ts.)
 */
export { useBuiltinGradients, siluStackAvailable } from './dispatch';
export { dense, matMul } from './dense';
export { silu } from './activation';
export { siluStack, siluStackBackward, siluStackForward, type SiluStackForward } from './silu-stack';
export { bmm } from './attention';
export { conv2d } from './conv';
export { groupNorm } from './norm';
export { avgPool2x, upsample2x } from './resample';
