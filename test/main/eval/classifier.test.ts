// The project's MNIST classifier (used to grade generated digits) against held-out real digits.
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { accuracyByClass, trainClassifier } from '../../../core/eval/classifier';
import { loadMnist } from '../../../main/data';
import { Rng } from '../../../core/util/random';

describe('MNIST classifier', () => {
  it('reaches >= 95% on 2000 held-out digits, and no class below 85%', () => {
    const ds = loadMnist();
    const d = 28 * 28;
    const perm = new Rng(42).permutation(ds.count);
    const split = (from: number, to: number) => {
      const idx = perm.subarray(from, to);
      const x = new Float32Array(idx.length * d);
      const y = new Int32Array(idx.length);
      idx.forEach((j, i) => {
        x.set(ds.images.subarray(j * d, (j + 1) * d), i * d);
        y[i] = ds.labels![j]!;
      });
      return { x, y };
    };
    const train = split(0, 8000);
    const test = split(8000, 10000);
    const before = tf.memory().numTensors;
    const clf = trainClassifier(train.x, train.y, 10, { shape: [28, 28, 1], epochs: 6, seed: 1 });
    expect(clf.epochLoss.at(-1)!).toBeLessThan(clf.epochLoss[0]!);
    const x = tf.tensor4d(test.x, [2000, 28, 28, 1]);
    const acc = accuracyByClass(clf.predict(x), test.y, 10);
    x.dispose();
    clf.dispose();
    console.log('classifier held-out accuracy', acc.overall.toFixed(4), acc.perClass.map((a) => a.toFixed(3)).join(' '));
    expect(acc.overall).toBeGreaterThanOrEqual(0.95);
    for (const a of acc.perClass) expect(a).toBeGreaterThanOrEqual(0.85);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('accuracyByClass counts hits per true class', () => {
    const r = accuracyByClass([0, 1, 1, 2, 2, 2], [0, 1, 0, 2, 2, 1], 3);
    expect(r.overall).toBeCloseTo(4 / 6);
    expect(r.perClass).toEqual([0.5, 0.5, 1]);
    expect(r.counts).toEqual([2, 2, 2]);
  });
});
