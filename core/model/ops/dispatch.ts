/**
 * Which implementation the ops of this folder run, decided in one place:
 *
 *   builtin     tfjs built-ins differentiated by tfjs itself (useBuiltinGradients: a testing aid,
 *               slow or missing on wasm; the reference the hand-written gradients are checked against)
 *   wasm fast   our kernels (core/kernels), where registerFlowKernels registered them for the current
 *               backend: the FMA GEMM inside gemm() (dense, matMul, bmm and their gradients), SiLU one
 *               kernel each way, a whole SiLU MLP body as one op (silu-stack.ts)
 *   portable    hand-written gradients from plain tfjs ops, on any backend
 *
 * The predicates here only ask (tfjs's kernel registry and the testing switches); nothing registers.
 */
import type { Tensor } from '../../tf';
import { gemmKernelActive, sumRows as gemmSumRows } from '../../kernels/gemm';
import { siluKernelActive } from '../../kernels/silu';

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

/** True while useBuiltinGradients(true) is in force. */
export function builtinGradientsOn(): boolean {
  return builtinGradients;
}

/** True when silu(x) runs on the FlowSilu / FlowSiluGrad kernels. */
export function siluOnKernel(x: Tensor): boolean {
  return x.dtype === 'float32' && siluKernelActive();
}

/** True when siluStack, siluStackForward and siluStackBackward run on the wasm kernels. */
export function siluStackAvailable(): boolean {
  return !builtinGradients && siluKernelActive() && gemmKernelActive();
}

/** Sum of a 2-D [n, m] tensor over its rows (core/kernels/gemm.ts sumRows; sum over axis 0 transposes on wasm). */
export function sumRows(dy2: Tensor): Tensor {
  return gemmSumRows(dy2);
}
