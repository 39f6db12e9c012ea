/**
 * The model contract shared by training, sampling, the run store and the app.
 *
 * A model is a function approximator f(x, t, class) whose output is interpreted as the configured
 * prediction type (velocity, eps or x1); core/path/convert.ts turns it into a velocity field.
 * Parameters are tf.Variables so training can take gradients of any loss with tf.variableGrads.
 */
import type { Tensor, tf } from '../tf';

export { ACTIVATIONS, type Activation } from '../catalog';
import type { Activation } from '../catalog';

export interface MlpConfig {
  kind: 'mlp';
  /** Data dimension d (input and output width). */
  dim: number;
  /** Hidden width and number of hidden layers. */
  width: number;
  depth: number;
  activation: Activation;
  /** Size of the sinusoidal time embedding (even); 0 feeds t itself as one input feature. */
  timeEmbedDim: number;
  /** Number of classes for a class embedding; 0 for unconditional. Label `numClasses` = "no label" (CFG). */
  numClasses: number;
}

export interface UNetConfig {
  kind: 'unet';
  /** Image height, width (28 or 32) and channels (1 or 3). */
  size: number;
  channels: number;
  /** Base channel count and multipliers per resolution (at least two resolutions). */
  baseChannels: number;
  channelMults: number[];
  /** Residual blocks per resolution. */
  blocksPerLevel: number;
  /** Self-attention at the lowest resolution. */
  attention: boolean;
  /** GroupNorm groups (must divide every channel count). */
  groups: number;
  timeEmbedDim: number;
  numClasses: number;
}

export type ModelConfig = MlpConfig | UNetConfig;

export interface VelocityModel {
  readonly config: ModelConfig;
  /** Trainable parameters in a fixed order. */
  readonly variables: readonly tf.Variable[];
  /**
   * Stable checkpoint name of each variable (same order), e.g. "mlp/0/W". The tf.Variable names
   * carry a per-model suffix because tfjs rejects duplicate variable names across models.
   */
  readonly names: readonly string[];
  /**
   * Forward pass. x: [B, dim] (mlp) or [B, H, W, C] (unet); t: [B] float32 times in [0, 1];
   * labels: [B] int32 class indices, where numClasses means "no label" (classifier-free guidance),
   * omitted for unconditional models. Returns a tensor shaped like x.
   */
  apply(x: Tensor, t: Tensor, labels?: Tensor): Tensor;
  /**
   * Optional training fast path: the weighted mean squared error
   *   L = (1 / N) sum w_i (f(x, t, labels) - target)^2      (N = all values of target)
   * and dL/dv for every variable v (same order as `variables`), computed by a hand-written backward
   * pass without tfjs's gradient tape. x and target: shaped like `apply`'s x ([B, dim] for an MLP,
   * [B, H, W, C] for a U-Net); weights: [B, 1] (MLP), [B, 1, 1, 1] (U-Net) or none. Returns null
   * where it does not apply (the caller then differentiates `apply` with tf.variableGrads). The
   * tensors returned are new; the caller disposes them.
   */
  mseLossAndGrads?(
    x: Tensor,
    t: Tensor,
    labels: Tensor | undefined,
    target: Tensor,
    weights?: Tensor,
  ): { loss: tf.Scalar; grads: Tensor[] } | null;
  /** Frees the variables. */
  dispose(): void;
}
