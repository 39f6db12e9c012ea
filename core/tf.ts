/**
 * The one place core/ imports TensorFlow.js from.
 *
 * Why a module of its own: core needs gradients (exact divergence, Hutchinson probes, training), and
 * tfjs-core registers its gradient functions only when `register_all_gradients` is imported. Every
 * module in core imports `tf` from here, so whoever uses core gets gradients, whatever the backend.
 * The registries live on globalThis in tfjs, so a second copy of tfjs-core (CJS beside ESM) still
 * shares kernels, gradients and the engine.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';

export { tf };
export type Tensor = tf.Tensor;
