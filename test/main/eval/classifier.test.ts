// The project's MNIST classifier (used to grade generated digits) against held-out real digits.
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { accuracyByClass } from '../../../core/eval/classifier';
import { trainMnistClassifier } from '../../../main/eval/mnist-quality';

describe('MNIST classifier', () => {
  it('reaches >= 95% on 2000 held-out digits, and no class below 85%', () => {
    const before = tf.memory().numTensors;
    // Trained on a fixed 8000-digit split of the package's 10k, graded on the other 2000.
    const { classifier, heldOutAccuracy, heldOutPerClass } = trainMnistClassifier(1);
    expect(classifier.epochLoss.at(-1)!).toBeLessThan(classifier.epochLoss[0]!);
    classifier.dispose();
    console.log('classifier held-out accuracy', heldOutAccuracy.toFixed(4), heldOutPerClass.map((a) => a.toFixed(3)).join(' '));
    expect(heldOutAccuracy).toBeGreaterThanOrEqual(0.95);
    for (const a of heldOutPerClass) expect(a).toBeGreaterThanOrEqual(0.85);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('accuracyByClass counts hits per true class', () => {
    const r = accuracyByClass([0, 1, 1, 2, 2, 2], [0, 1, 0, 2, 2, 1], 3);
    expect(r.overall).toBeCloseTo(4 / 6);
    expect(r.perClass).toEqual([0.5, 0.5, 1]);
    expect(r.counts).toEqual([2, 2, 2]);
  });
});
