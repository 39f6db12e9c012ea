/**
 * A SiLU MLP body (dense + SiLU layers, then a dense output) as one op, or without the tape at all
 * (siluStackForward / siluStackBackward, used by the MLP's mseLossAndGrads): on wasm a small MLP's
 * step is otherwise dominated by per-op overhead. Kernel path only (see dispatch.ts
 * siluStackAvailable).
 */
import { tf, type Tensor } from '../../tf';
import { gemm, gemmSilu } from '../../kernels/gemm';
import { siluBackward, siluForward } from '../../kernels/silu';
import { customOp } from './custom-op';
import { siluStackAvailable, sumRows } from './dispatch';

/**
 * h_{l+1} = silu(h_l W_l + b_l (+ e for l = 0)) for the hidden layers, then out = h_L W_out + b_out,
 * as ONE custom op with a hand-written backward pass through all layers. The same kernels as
 * dense + silu layer by layer (so the same numbers), but one tape node instead of 2 per layer: each
 * tape node costs the engine tens of microseconds of bookkeeping, which is a large share of a small
 * MLP's step. Inputs: [h0, e | none, W_0, b_0, ..., W_out, b_out]; e (optional) is added to the first
 * pre-activation (a class embedding), and gets a gradient like every input.
 */
function siluStackOp(hasExtra: boolean, hidden: number): (...inputs: Tensor[]) => Tensor {
  return customOp((inputs, save) => {
    const h0 = inputs[0]!;
    const e = hasExtra ? inputs[1]! : undefined;
    const params = inputs.slice(hasExtra ? 2 : 1);
    const f = siluStackForward(h0, params, e);
    save([...f.hs, ...f.zs, ...params.filter((_, i) => i % 2 === 0)]);
    return {
      value: f.out,
      gradFunc: (dy, saved) => {
        const b = siluStackBackward(dy, saved.slice(0, hidden + 1), saved.slice(hidden + 1, 2 * hidden + 1), saved.slice(2 * hidden + 1));
        return e ? [b.dh0, b.dz0, ...b.grads] : [b.dh0, ...b.grads];
      },
    };
  });
}

/** What the backward pass of a SiLU stack needs from its forward pass. */
export interface SiluStackForward {
  out: Tensor;
  /** Layer inputs h_0 .. h_L (h_0 is the caller's). */
  hs: Tensor[];
  /** Pre-activations z_0 .. z_{L-1}. */
  zs: Tensor[];
}

/** Forward pass of a SiLU stack (kernel path; no tape). params: [W_0, b_0, ..., W_out, b_out]. */
export function siluStackForward(h0: Tensor, params: readonly Tensor[], extra?: Tensor): SiluStackForward {
  const hidden = params.length / 2 - 1;
  const zs: Tensor[] = [];
  const hs: Tensor[] = [h0];
  let h = h0;
  for (let l = 0; l < hidden; l++) {
    let z = gemm(h, params[2 * l]!, { bias: params[2 * l + 1]! });
    if (l === 0 && extra) z = tf.add(z, extra);
    zs.push(z);
    h = siluForward(z);
    hs.push(h);
  }
  return { out: gemm(h, params[2 * hidden]!, { bias: params[2 * hidden + 1]! }), hs, zs };
}

/**
 * Backward pass of a SiLU stack from dL/dout: gradients [dW_0, db_0, ..., dW_out, db_out], dL/dh_0
 * and dL/dz_0 (the gradient of an extra term added to z_0). ws: [W_0, ..., W_out].
 */
export function siluStackBackward(
  dy: Tensor,
  hs: readonly Tensor[],
  zs: readonly Tensor[],
  ws: readonly Tensor[],
): { grads: Tensor[]; dh0: Tensor; dz0: Tensor } {
  const hidden = zs.length;
  const grads: Tensor[] = new Array<Tensor>(2 * hidden + 2);
  grads[2 * hidden] = gemm(hs[hidden]!, dy, { transposeA: true });
  grads[2 * hidden + 1] = sumRows(dy);
  let dh = gemm(dy, ws[hidden]!, { transposeB: true });
  let dz = dy;
  for (let l = hidden - 1; l >= 0; l--) {
    dz = siluBackward(dh, zs[l]!);
    grads[2 * l] = gemm(hs[l]!, dz, { transposeA: true });
    grads[2 * l + 1] = sumRows(dz);
    dh = gemm(dz, ws[l]!, { transposeB: true });
  }
  return { grads, dh0: dh, dz0: dz };
}

const siluStacks = new Map<string, (...inputs: Tensor[]) => Tensor>();

/**
 * The SiLU MLP body as one op where the wasm kernels run (else null: use dense + silu per layer).
 * h0: [B, in]; layers: [W_0, b_0, ..., W_{L-1}, b_{L-1}, W_out, b_out] (W [in, out], b [out]);
 * extra: [B, width] added to the first pre-activation. Returns [B, out].
 */
export function siluStack(h0: Tensor, layers: readonly Tensor[], extra?: Tensor): Tensor | null {
  if (!siluStackAvailable() || h0.rank !== 2 || h0.dtype !== 'float32') return null;
  const hidden = layers.length / 2 - 1;
  if (!(tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn()) {
    // Nothing records a gradient (sampling): no saved activations, SiLU fused into each product
    // (the same values as siluStackForward).
    return tf.tidy(() => {
      let h = h0;
      for (let l = 0; l < hidden; l++)
        h =
          l === 0 && extra
            ? siluForward(tf.add(gemm(h, layers[0]!, { bias: layers[1]! }), extra))
            : gemmSilu(h, layers[2 * l]!, layers[2 * l + 1]!);
      return gemm(h, layers[2 * hidden]!, { bias: layers[2 * hidden + 1]! });
    });
  }
  const key = `${extra ? 1 : 0}/${hidden}`;
  let op = siluStacks.get(key);
  if (!op) {
    op = siluStackOp(extra !== undefined, hidden);
    siluStacks.set(key, op);
  }
  return extra ? op(h0, extra, ...layers) : op(h0, ...layers);
}
