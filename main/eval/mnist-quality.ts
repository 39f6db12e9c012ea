/**
 * Quality of a class-conditional MNIST model, as the field measures it without an Inception net:
 * draw n samples per class (with classifier-free guidance), classify them with the project's own
 * classifier (core/eval/classifier.ts, trained here on 8000 real digits, checked on 2000 more), and
 * report the accuracy per class. A model that ignores its label scores ~10%; real digits score the
 * classifier's held-out accuracy.
 */
import { tf } from '../../core/tf';
import { Rng } from '../../core/util/random';
import { accuracyByClass, trainClassifier, type Classifier } from '../../core/eval/classifier';
import { sampleFromField } from '../../core/train/sample';
import { sourceScale } from '../../core/path/scheduler';
import type { OdeMethod } from '../../core/solver/types';
import { loadMnist } from '../data';
import type { LoadedModel } from '../models/load';

export interface MnistClassifierResult {
  classifier: Classifier;
  heldOutAccuracy: number;
  heldOutPerClass: number[];
}

/** Trains the grading classifier on a fixed split of the package's 10k digits (seeded). */
export function trainMnistClassifier(seed = 1): MnistClassifierResult {
  const ds = loadMnist();
  const d = 28 * 28;
  const perm = new Rng(42).permutation(ds.count);
  const take = (from: number, to: number): { x: Float32Array; y: Int32Array } => {
    const idx = perm.subarray(from, to);
    const x = new Float32Array(idx.length * d);
    const y = new Int32Array(idx.length);
    idx.forEach((j, i) => {
      x.set(ds.images.subarray(j * d, (j + 1) * d), i * d);
      y[i] = ds.labels![j]!;
    });
    return { x, y };
  };
  const train = take(0, 8000);
  const test = take(8000, 10000);
  const classifier = trainClassifier(train.x, train.y, 10, { shape: [28, 28, 1], epochs: 6, seed });
  const xt = tf.tensor4d(test.x, [test.y.length, 28, 28, 1]);
  const acc = accuracyByClass(classifier.predict(xt), test.y, 10);
  xt.dispose();
  return { classifier, heldOutAccuracy: acc.overall, heldOutPerClass: acc.perClass };
}

export interface ConditionalQuality {
  perClass: number[];
  overall: number;
  nPerClass: number;
  cfg: number;
  solver: OdeMethod;
  steps: number;
  nfe: number;
}

/** Samples nPerClass digits of each class and grades them with `classifier`. */
export function conditionalAccuracy(
  model: LoadedModel,
  classifier: Classifier,
  opts: { nPerClass: number; cfg: number; solver?: OdeMethod; steps?: number; seed?: number; batch?: number },
): ConditionalQuality {
  const K = model.numClasses;
  const solver = opts.solver ?? 'heun';
  const steps = opts.steps ?? 20;
  const batch = opts.batch ?? 100;
  const labels = Int32Array.from({ length: K * opts.nPerClass }, (_, i) => i % K);
  const preds = new Int32Array(labels.length);
  let nfe = 0;
  for (let s = 0; s < labels.length; s += batch) {
    const lab = labels.subarray(s, Math.min(labels.length, s + batch));
    const cond = tf.tensor1d(lab, 'int32');
    const r = sampleFromField(model.field(opts.cfg), {
      n: lab.length,
      shape: model.shape,
      seed: (opts.seed ?? 0) + s,
      solver,
      steps,
      cond,
      scale: sourceScale(model.scheduler),
      t0: model.timeRange.lo,
      t1: model.timeRange.hi,
    });
    nfe = r.nfe;
    preds.set(classifier.predict(r.x), s);
    tf.dispose([cond, r.x, r.x0, ...(r.trajectory ?? [])]);
  }
  const acc = accuracyByClass(preds, labels, K);
  return { perClass: acc.perClass, overall: acc.overall, nPerClass: opts.nPerClass, cfg: opts.cfg, solver, steps, nfe };
}
