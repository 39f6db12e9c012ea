// Exports a trained run's EMA weights to resources/models/NAME with its quality report.
//   node --experimental-transform-types --disable-warning=ExperimentalWarning --import ./scripts/ts-hooks.mjs \
//     scripts/ship-model.ts --db FILE --run RUN_ID --name mnist [--per-class 50] [--cfg 1]
import '@tensorflow/tfjs-backend-wasm';
import { parseArgs } from 'node:util';
import { selectBackend } from '../main/runtime/backend';
import { RunStore } from '../main/store';
import { exportShippedModel, shippedModel } from '../main/models/shipped';
import { conditionalAccuracy, trainMnistClassifier } from '../main/eval/mnist-quality';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    run: { type: 'string' },
    name: { type: 'string', default: 'mnist' },
    'per-class': { type: 'string', default: '50' },
    cfg: { type: 'string', default: '1' },
  },
});
if (!values.db || !values.run) throw new Error('usage: ship-model.ts --db FILE --run RUN_ID [--name NAME]');
await selectBackend('wasm');
const store = RunStore.open(values.db);
const run = store.getRun(values.run);
const lossSeries = store.getMetrics(values.run, ['loss'])[0];
const out = exportShippedModel(
  store,
  values.run,
  values.name,
  'Class-conditional flow-matching U-Net on MNIST (CondOT path, velocity prediction, CFG label dropout 0.1)',
  {},
);
const model = shippedModel(values.name);
const t0 = performance.now();
const clf = trainMnistClassifier();
const quality = conditionalAccuracy(model, clf.classifier, { nPerClass: Number(values['per-class']), cfg: Number(values.cfg) });
const tail = lossSeries ? lossSeries.values.slice(-20) : [];
const metrics = {
  finalLossMean20: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : null,
  classifierHeldOutAccuracy: clf.heldOutAccuracy,
  conditionalAccuracy: quality.overall,
  conditionalAccuracyPerClass: quality.perClass,
  samplesPerClass: quality.nPerClass,
  sampler: `${quality.solver} ${quality.steps} steps (nfe ${quality.nfe} per batch, CFG doubles the network passes), cfg ${quality.cfg}`,
  evaluationSeconds: (performance.now() - t0) / 1000,
  runStatus: run.status,
};
exportShippedModel(
  store,
  values.run,
  values.name,
  'Class-conditional flow-matching U-Net on MNIST (CondOT path, velocity prediction, CFG label dropout 0.1)',
  metrics,
);
console.log(JSON.stringify({ out, ...metrics }, null, 2));
model.dispose();
clf.classifier.dispose();
store.close();
