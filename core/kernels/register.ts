/**
 * The registration of every kernel of ours, in one list, called once when the backend is chosen
 * (main/runtime/backend.ts selectBackend; test/setup-tf.ts for the tests), the way
 * tfjs-backend-wasm's register_all_kernels registers its own. Nothing else registers a kernel: the
 * kernel files only define kernel functions, and their predicates (gemmKernelActive,
 * siluKernelActive, adamKernelActive, unetKernelsActive) only ask tfjs whether a kernel is there.
 *
 * All of them run on the wasm backend only (they read and write its heap, core/kernels/wasm-backend.ts);
 * on another backend the ops use tfjs's kernels. A kernel is registered only where the engine
 * validates the generated WebAssembly modules it runs (they need 128-bit SIMD; relaxed SIMD is
 * optional and chosen inside the modules' users). docs/kernels.md describes each kernel.
 *
 * core/model/unet-kernels.ts and unet-train-kernels.ts are imported from here (they are the U-Net's,
 * but registered with the rest).
 */
import { tf } from '../tf';
import { FLOW_ADAM, FLOW_COMBINE2, FLOW_SUM_SQUARES, adamModule, adamWasm, combine2Wasm, sumSquaresWasm } from './adam';
import { DEFAULT_GEMM, FLOW_MATMUL, FLOW_SUM_ROWS, flowMatMulWasm, flowSumRowsWasm } from './gemm';
import { gemmModule } from './gemm-module';
import { FLOW_SILU, FLOW_SILU_GRAD, siluGradWasm, siluModule, siluWasm } from './silu';
import { wasmApi } from './wasm-asm';
import { asWasmBackend, checkWasmBackend, type WasmKernelArgs, type WasmKernelFunc } from './wasm-backend';
import { FLOW_TIME_INPUT, timeInputWasm } from '../model/mlp-kernels';
import { FLOW_CONV3X3, FLOW_GROUP_NORM_ACT, FLOW_UNET_EMBED, conv3x3Wasm, groupNormActWasm, unetEmbedWasm } from '../model/unet-kernels';
import { groupNormModule } from '../model/groupnorm-module';
import { groupNormGradModule } from '../model/groupnorm-grad-module';
import {
  FLOW_CONV3X3_GRAD,
  FLOW_GROUP_NORM_ACT_GRAD,
  FLOW_SPLIT_CHANNELS,
  FLOW_CONCAT_CHANNELS,
  concatChannelsWasm,
  conv3x3GradWasm,
  groupNormActGradWasm,
  splitChannelsWasm,
} from '../model/unet-train-kernels';

/**
 * Every WebAssembly module the kernels generate, by name, as the bytes the engine compiles: the
 * registration checks that the ones a kernel needs validate, and the golden text dumps
 * (test/core/kernels/golden/<name>.wat) are made from this list. The default GEMM tile (4 x 8) with
 * and without relaxed SIMD's fused multiply-add, SiLU with and without it, Adam, GroupNorm and its
 * backward pass.
 */
export const FLOW_MODULES = {
  'gemm-4x8-fma': () => gemmModule({ mr: DEFAULT_GEMM.mr, nr: DEFAULT_GEMM.nr, relaxed: true }),
  'gemm-4x8': () => gemmModule({ mr: DEFAULT_GEMM.mr, nr: DEFAULT_GEMM.nr, relaxed: false }),
  'silu-fma': () => siluModule(true),
  silu: () => siluModule(false),
  adam: () => adamModule(),
  groupnorm: () => groupNormModule(),
  'groupnorm-grad': () => groupNormGradModule(),
} as const satisfies Record<string, () => Uint8Array>;

export type FlowModuleName = keyof typeof FLOW_MODULES;

/** One kernel of ours: tfjs's KernelConfig fields, plus the modules it needs to validate. */
export interface FlowKernelConfig {
  kernelName: string;
  backendName: 'wasm';
  kernelFunc: WasmKernelFunc;
  /** Modules (FLOW_MODULES) the kernel runs; it is registered only where all of them validate. */
  modules: readonly FlowModuleName[];
}

/** THE list: every kernel of ours. */
export const FLOW_KERNELS: readonly FlowKernelConfig[] = [
  // core/kernels/gemm.ts: C = op(A) op(B) (+ bias) and column sums, on the FMA GEMM.
  { kernelName: FLOW_MATMUL, backendName: 'wasm', kernelFunc: flowMatMulWasm, modules: ['gemm-4x8'] },
  { kernelName: FLOW_SUM_ROWS, backendName: 'wasm', kernelFunc: flowSumRowsWasm, modules: ['gemm-4x8'] },
  // core/kernels/silu.ts: y = x sigmoid(x) and its gradient.
  { kernelName: FLOW_SILU, backendName: 'wasm', kernelFunc: siluWasm, modules: ['silu'] },
  { kernelName: FLOW_SILU_GRAD, backendName: 'wasm', kernelFunc: siluGradWasm, modules: ['silu'] },
  // core/kernels/adam.ts: the fused Adam / AdamW update, the gradient's sum of squares, two-shard combination.
  { kernelName: FLOW_ADAM, backendName: 'wasm', kernelFunc: adamWasm, modules: ['adam'] },
  { kernelName: FLOW_SUM_SQUARES, backendName: 'wasm', kernelFunc: sumSquaresWasm, modules: ['adam'] },
  { kernelName: FLOW_COMBINE2, backendName: 'wasm', kernelFunc: combine2Wasm, modules: ['adam'] },
  // core/model/mlp-kernels.ts: the MLP's input row [x, emb(t)].
  { kernelName: FLOW_TIME_INPUT, backendName: 'wasm', kernelFunc: timeInputWasm, modules: [] },
  // core/model/unet-kernels.ts: the U-Net's inference kernels (GroupNorm + SiLU, embedding MLP, 3x3 conv).
  { kernelName: FLOW_GROUP_NORM_ACT, backendName: 'wasm', kernelFunc: groupNormActWasm, modules: ['groupnorm', 'silu'] },
  { kernelName: FLOW_UNET_EMBED, backendName: 'wasm', kernelFunc: unetEmbedWasm, modules: [] },
  { kernelName: FLOW_CONV3X3, backendName: 'wasm', kernelFunc: conv3x3Wasm, modules: ['gemm-4x8'] },
  // core/model/unet-train-kernels.ts: the backward kernels of the U-Net's tape-free training path.
  { kernelName: FLOW_CONV3X3_GRAD, backendName: 'wasm', kernelFunc: conv3x3GradWasm, modules: ['gemm-4x8'] },
  { kernelName: FLOW_GROUP_NORM_ACT_GRAD, backendName: 'wasm', kernelFunc: groupNormActGradWasm, modules: ['groupnorm', 'groupnorm-grad'] },
  { kernelName: FLOW_SPLIT_CHANNELS, backendName: 'wasm', kernelFunc: splitChannelsWasm, modules: [] },
  { kernelName: FLOW_CONCAT_CHANNELS, backendName: 'wasm', kernelFunc: concatChannelsWasm, modules: [] },
];

const validated = new Map<FlowModuleName, boolean>();

/** True when this engine validates module `name` (cached: building and validating costs a few ms). */
export function moduleValidates(name: FlowModuleName): boolean {
  let ok = validated.get(name);
  if (ok === undefined) {
    try {
      ok = wasmApi.validate(FLOW_MODULES[name]());
    } catch {
      ok = false;
    }
    validated.set(name, ok);
  }
  return ok;
}

/** What registerFlowKernels did. */
export interface FlowRegistration {
  backendName: string;
  /** Kernels of FLOW_KERNELS registered for the backend (by this call or an earlier one). */
  kernels: string[];
  /** Kernels left out because a module they need does not validate here (no 128-bit SIMD). */
  unsupported: string[];
  /** Whether the backend's Identity kernel shares its input's data (see shareIdentityData). */
  identityShared: boolean;
}

/**
 * Registers our kernels for `backendName`, once the backend is chosen: for 'wasm', every kernel of
 * FLOW_KERNELS whose modules validate, then the Identity override (shareIdentityData); for any
 * other backend nothing (its ops run on tfjs's kernels). Idempotent. Throws when the wasm backend's
 * own kernels are not registered (import '@tensorflow/tfjs-backend-wasm' first) or, when it is
 * initialised, when its internals are not the ones core/kernels/wasm-backend.ts relies on.
 */
export function registerFlowKernels(backendName: string): FlowRegistration {
  if (backendName !== 'wasm') return { backendName, kernels: [], unsupported: [], identityShared: false };
  if (!tf.getKernel('Identity', 'wasm')) {
    throw new Error(
      "registerFlowKernels('wasm'): the wasm backend's kernels are not registered; import '@tensorflow/tfjs-backend-wasm' before choosing it",
    );
  }
  const backend = tf.findBackend('wasm');
  if (backend) checkWasmBackend(backend);
  const kernels: string[] = [];
  const unsupported: string[] = [];
  for (const k of FLOW_KERNELS) {
    if (!k.modules.every(moduleValidates)) {
      unsupported.push(k.kernelName);
      continue;
    }
    if (!tf.getKernel(k.kernelName, k.backendName)) {
      tf.registerKernel({ kernelName: k.kernelName, backendName: k.backendName, kernelFunc: k.kernelFunc as unknown as tf.KernelFunc });
    }
    kernels.push(k.kernelName);
  }
  shareIdentityData();
  return { backendName, kernels, unsupported, identityShared: true };
}

/**
 * Marks the Identity kernel we register, to recognise it (tfjs's registry lives on globalThis and
 * outlives a re-evaluation of this module, so a module variable would not do).
 */
const SHARING = Symbol.for('flow-studio.sharingIdentity');

/**
 * Step 2 of registerFlowKernels('wasm'): replaces the wasm backend's Identity kernel (tf.clone, and
 * every tensor a custom gradient saves for its backward pass, core/model/ops) by one that shares the
 * input's data, as the tfjs cpu backend's Identity does, instead of copying it. Safe because tfjs
 * tensors are immutable (a variable's assign swaps the data id; nothing writes into a tensor's
 * memory) and the shared data is reference-counted (backend.incRef). String tensors keep the
 * copying kernel. Why: a training step saves tens of activations for its backward pass, and each
 * copy is a pass over memory. Idempotent.
 */
function shareIdentityData(): void {
  const prev = tf.getKernel('Identity', 'wasm')!;
  if ((prev.kernelFunc as { [SHARING]?: true })[SHARING]) return;
  const copying = prev.kernelFunc;
  const sharing = ((args: WasmKernelArgs) => {
    const x = args.inputs.x!;
    if (x.dtype === 'string') return copying(args as unknown as Parameters<tf.KernelFunc>[0]);
    asWasmBackend(args.backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as unknown as tf.KernelFunc & { [SHARING]?: true };
  sharing[SHARING] = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: sharing });
}
