/**
 * The MLP's input row as one kernel on the wasm backend:
 *
 *   FlowTimeInput   h0 = [x, sin(ω_0 t), ..., sin(ω_{h-1} t), cos(ω_0 t), ..., cos(ω_{h-1} t)]
 *                   (x [B, d], t [B] -> [B, d + dim], ω from embed.ts timeFrequencies)
 *
 * in place of Reshape, Multiply, Sin, Cos and two Concats. The argument is formed as tf.mul forms it,
 * a = float32(t ω) with t and ω float32; sin and cos are evaluated in float64 and rounded to float32.
 * A row whose t equals the previous row's copies that row's features: while sampling, every row of a
 * step has the same t, so the sines are computed once a step instead of once a row.
 *
 * Used where no gradient is recorded (inference with the tape off, and the MLP's tape-free training
 * path); tested against timeEmbedding + concat in test/core/model/mlp-kernels.test.ts.
 */
import { tf, type Tensor } from '../tf';
import { asWasmBackend, f32View, type WasmKernelArgs } from '../kernels/wasm-backend';
import { timeFrequencies } from './embed';

export const FLOW_TIME_INPUT = 'FlowTimeInput';

export interface TimeInputAttrs {
  /** Sinusoidal embedding dimension (even, >= 2). */
  dim: number;
}

/** FlowTimeInput on the wasm backend (registered by core/kernels/register.ts). */
export function timeInputWasm(args: WasmKernelArgs): tf.TensorInfo {
  const b = asWasmBackend(args.backend);
  const { x, t } = args.inputs as Record<string, tf.TensorInfo>;
  const { dim } = args.attrs as TimeInputAttrs;
  if (x!.dtype !== 'float32' || t!.dtype !== 'float32') throw new Error(`${FLOW_TIME_INPUT}: float32 inputs only`);
  const bsz = x!.shape[0]!;
  if (x!.shape.length !== 2 || t!.shape.length !== 1 || t!.shape[0] !== bsz)
    throw new Error(`${FLOW_TIME_INPUT}: x [B, d] and t [B] expected. Got [${x!.shape}], [${t!.shape}]`);
  if (!(dim >= 2 && dim % 2 === 0)) throw new Error(`${FLOW_TIME_INPUT}: dim must be an even number >= 2. Got ${dim}`);
  const d = x!.shape[1]!;
  const w = d + dim;
  const out = b.makeOutput([bsz, w], 'float32');
  const xs = f32View(b, x!);
  const ts = f32View(b, t!);
  const ys = f32View(b, out);
  const freqs = timeFrequencies(dim);
  const half = dim / 2;
  for (let s = 0; s < bsz; s++) {
    const row = s * w;
    for (let j = 0; j < d; j++) ys[row + j] = xs[s * d + j]!;
    const tv = ts[s]!;
    if (s > 0 && Object.is(tv, ts[s - 1]!)) {
      ys.copyWithin(row + d, row - w + d, row);
      continue;
    }
    for (let i = 0; i < half; i++) {
      const a = Math.fround(tv * freqs[i]!);
      ys[row + d + i] = Math.sin(a);
      ys[row + d + half + i] = Math.cos(a);
    }
  }
  return out;
}

/** True when FlowTimeInput runs on the current backend (registered by registerFlowKernels). Asks only. */
export function timeInputKernelActive(): boolean {
  return tf.getKernel(FLOW_TIME_INPUT, tf.getBackend()) !== undefined;
}

/** [x, emb(t)] through FlowTimeInput (no gradient: callers check `timeInputKernelActive` and the tape). */
export function timeInput(x: Tensor, t: Tensor, dim: number): Tensor {
  return tf.engine().runKernel(FLOW_TIME_INPUT, { x, t }, { dim } as unknown as tf.NamedAttrMap) as Tensor;
}
