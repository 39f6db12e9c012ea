// Tests run on the embedded default backend: wasm (the backend users without tfjs-node get).
// FLOW_STUDIO_TEST_BACKEND=cpu runs the same suite on the pure-JS backend. As in the app
// (main/runtime/backend.ts selectBackend), our kernels are registered once the backend is chosen.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { registerFlowKernels } from '../core/kernels/register';

const wanted = process.env.FLOW_STUDIO_TEST_BACKEND ?? 'wasm';
if (!(await tf.setBackend(wanted))) throw new Error(`test backend '${wanted}' failed to initialise`);
await tf.ready();
registerFlowKernels(wanted);
