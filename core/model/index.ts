/**
 * Models: MLP and U-Net velocity models, their building blocks and checkpoint helpers.
 *
 * Usage:
 *   const model = createModel({ kind: 'mlp', dim: 2, width: 256, depth: 3, activation: 'silu',
 *                               timeEmbedDim: 0, numClasses: 0 }, 1);
 *   const v = model.apply(x, t);          // x [B, 2], t [B] -> [B, 2]
 *   const w = getWeights(model);          // Map<'mlp/0/W' | ..., Tensor>
 *   const copy = modelFromWeights(model.config, w);
 */
import { check } from '../errors';
import type { Tensor } from '../tf';
import type { ModelConfig, VelocityModel } from './types';
import { createMlp } from './mlp';
import { createUNet } from './unet';
import { setWeights } from './checkpoint';

export type { Activation, MlpConfig, ModelConfig, UNetConfig, VelocityModel } from './types';
export { createMlp, validateMlpConfig, timeFeatures, activate } from './mlp';
export { createUNet, defaultUNetConfig, selfAttention, validateUNetConfig } from './unet';
export type { AttentionParams } from './unet';
export { CheckpointError, countParameters, getWeights, parameterShapes, setWeights } from './checkpoint';
export { classEmbedding, timeEmbedding, timeFrequencies, TIME_FREQ_MAX, TIME_FREQ_MIN } from './embed';
export { avgPool2x, bmm, conv2d, dense, groupNorm, matMul, silu, upsample2x, useBuiltinGradients } from './ops';

/** Creates an MLP or U-Net from its config, with weights drawn deterministically from `seed`. */
export function createModel(config: ModelConfig, seed: number): VelocityModel {
  const kind = (config as { kind?: unknown }).kind;
  check(kind === 'mlp' || kind === 'unet', 'model.kind', () => `must be 'mlp' or 'unet'. Got ${String(kind)}`);
  return config.kind === 'mlp' ? createMlp(config, seed) : createUNet(config, seed);
}

/**
 * Builds a model of `config` holding `weights` (stable name -> tensor). Throws a CheckpointError
 * naming the variable when a weight is missing, unexpected or of the wrong shape; the partly built
 * model is disposed in that case. The caller keeps ownership of `weights`.
 */
export function modelFromWeights(config: ModelConfig, weights: ReadonlyMap<string, Tensor>): VelocityModel {
  const model = createModel(config, 0);
  try {
    setWeights(model, weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
