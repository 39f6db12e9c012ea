/**
 * Prints the parameter list (stable names and shapes, in creation order) of the tfjs models for the
 * ModelConfigs given as a JSON array in argv[2]: the reference test/python/test_models.py checks the
 * PyTorch models against. Run with Node 22: node --experimental-transform-types --import
 * ./scripts/ts-hooks.mjs test/python/ts/model-params.ts '[{...}]'.
 */
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../../core/tf';
import { createModel, type ModelConfig } from '../../../core/model';

await tf.setBackend('cpu');
const configs = JSON.parse(process.argv[2] ?? '[]') as ModelConfig[];
const out = configs.map((c) => {
  const m = createModel(c, 0);
  const r = { names: [...m.names], shapes: m.variables.map((v) => [...v.shape]) };
  m.dispose();
  return r;
});
process.stdout.write(`${JSON.stringify(out)}\n`);
