// The project's MNIST classifier against held-out real digits, then the shipped class-conditional
// model graded by it: conditional samples must be recognised as the class they were asked for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../../core/tf';
import { accuracyByClass } from '../../../core/eval/classifier';
import { conditionalAccuracy, trainMnistClassifier, type MnistClassifierResult } from '../../../main/eval/mnist-quality';
import { readManifest, shippedModel } from '../../../main/models/shipped';
import { shippedModelsDir } from '../../../main/runtime/resources';

let clf: MnistClassifierResult;
let tensorsBefore = 0;

beforeAll(() => {
  tensorsBefore = tf.memory().numTensors;
  // Trained on a fixed 8000-digit split of the package's 10k, graded on the other 2000.
  clf = trainMnistClassifier(1);
});
afterAll(() => {
  clf.classifier.dispose();
  expect(tf.memory().numTensors).toBe(tensorsBefore);
});

describe('MNIST classifier', () => {
  it('reaches >= 95% on 2000 held-out digits, and no class below 85%', () => {
    expect(clf.classifier.epochLoss.at(-1)!).toBeLessThan(clf.classifier.epochLoss[0]!);
    console.log('classifier held-out accuracy', clf.heldOutAccuracy.toFixed(4), clf.heldOutPerClass.map((a) => a.toFixed(3)).join(' '));
    expect(clf.heldOutAccuracy).toBeGreaterThanOrEqual(0.95);
    for (const a of clf.heldOutPerClass) expect(a).toBeGreaterThanOrEqual(0.85);
  });

  it('accuracyByClass counts hits per true class', () => {
    const r = accuracyByClass([0, 1, 1, 2, 2, 2], [0, 1, 0, 2, 2, 1], 3);
    expect(r.overall).toBeCloseTo(4 / 6);
    expect(r.perClass).toEqual([0.5, 0.5, 1]);
    expect(r.counts).toEqual([2, 2, 2]);
  });
});

const shipped = existsSync(join(shippedModelsDir(), 'mnist', 'model.json'));

describe.skipIf(!shipped)('shipped MNIST model (resources/models/mnist)', () => {
  it('describes itself: 28x28x1, 10 classes, trained steps and its quality report', () => {
    const m = readManifest('mnist');
    expect(m.shape).toEqual([28, 28, 1]);
    expect(m.numClasses).toBe(10);
    expect(m.trainedSteps).toBeGreaterThan(0);
    expect(m.metrics.conditionalAccuracyPerClass).toHaveLength(10);
  });

  it('draws digits of the requested class: >= 80% recognised with 5 samples per class (heun, 10 steps, CFG 1)', () => {
    const model = shippedModel('mnist');
    try {
      const q = conditionalAccuracy(model, clf.classifier, { nPerClass: 5, cfg: 1, solver: 'heun', steps: 10, seed: 123 });
      console.log('shipped model conditional accuracy', q.overall, q.perClass.join(' '));
      expect(q.overall).toBeGreaterThanOrEqual(0.8);
    } finally {
      model.dispose();
    }
  });
});
