// Models learn, and apply + gradient leak no tensors.
import { describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { createModel, type UNetConfig, type VelocityModel } from '../../../core/model';

/** Adam step from a variableGrads map (tfjs types applyGradients for variable maps only). */
function apply(opt: tf.Optimizer, grads: tf.NamedTensorMap): void {
  opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
}

function lossOf(model: VelocityModel, x: Tensor, t: Tensor, target: Tensor, labels?: Tensor): tf.Scalar {
  return tf.mean(tf.square(tf.sub(model.apply(x, t, labels), target))) as tf.Scalar;
}

describe('learning', () => {
  it('a small MLP fits a 2-D regression target with Adam in 200 steps', () => {
    const rng = new Rng(3);
    const n = 256;
    const xs = new Float32Array(2 * n);
    const ts = new Float32Array(n);
    const ys = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const a = 2 * rng.uniform() - 1;
      const b = 2 * rng.uniform() - 1;
      const t = rng.uniform();
      xs[2 * i] = a;
      xs[2 * i + 1] = b;
      ts[i] = t;
      // A smooth field of (x, t), like a velocity target.
      ys[2 * i] = Math.sin(3 * a) + t * b;
      ys[2 * i + 1] = a * b - Math.cos(2 * t);
    }
    const x = tf.tensor2d(xs, [n, 2]);
    const t = tf.tensor1d(ts);
    const y = tf.tensor2d(ys, [n, 2]);
    const model = createModel({ kind: 'mlp', dim: 2, width: 64, depth: 2, activation: 'silu', timeEmbedDim: 8, numClasses: 0 }, 1);
    const opt = tf.train.adam(1e-2);
    const initial = tf.tidy(() => lossOf(model, x, t, y).dataSync()[0]!);
    let last = initial;
    for (let step = 0; step < 200; step++) {
      last = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => lossOf(model, x, t, y), model.variables as tf.Variable[]);
        apply(opt, grads);
        return value.dataSync()[0]!;
      });
    }
    const final = tf.tidy(() => lossOf(model, x, t, y).dataSync()[0]!);
    console.log(`MLP regression: loss ${initial.toFixed(4)} -> ${final.toFixed(4)} (last step ${last.toFixed(4)})`);
    expect(final).toBeLessThan(initial / 20);
    model.dispose();
    opt.dispose();
    tf.dispose([x, t, y]);
  });

  it('a class-conditional MLP learns a different output per label', () => {
    const model = createModel({ kind: 'mlp', dim: 2, width: 32, depth: 2, activation: 'silu', timeEmbedDim: 0, numClasses: 3 }, 2);
    const opt = tf.train.adam(1e-2);
    const x = tf.zeros([4, 2]);
    const t = tf.fill([4], 0.5);
    const labels = tf.tensor1d([0, 1, 2, 3], 'int32'); // 3 = "no label"
    const target = tf.tensor2d([1, 0, 0, 1, -1, 0, 0, 0], [4, 2]);
    for (let step = 0; step < 150; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => lossOf(model, x, t, target, labels), model.variables as tf.Variable[]);
        apply(opt, grads);
      });
    }
    const out = tf.tidy(() => model.apply(x, t, labels).arraySync() as number[][]);
    out.forEach((row, i) => {
      expect(row[0]).toBeCloseTo([1, 0, -1, 0][i]!, 1);
      expect(row[1]).toBeCloseTo([0, 1, 0, 0][i]!, 1);
    });
    model.dispose();
    opt.dispose();
    tf.dispose([x, t, labels, target]);
  });

  it('a tiny U-Net reduces its loss on a fixed batch', () => {
    const cfg: UNetConfig = {
      kind: 'unet',
      size: 8,
      channels: 1,
      baseChannels: 8,
      channelMults: [1, 2],
      blocksPerLevel: 1,
      attention: true,
      groups: 4,
      timeEmbedDim: 16,
      numClasses: 2,
    };
    const model = createModel(cfg, 1);
    const opt = tf.train.adam(5e-3);
    const rng = new Rng(4);
    const x = tf.tensor4d(rng.normals(4 * 64), [4, 8, 8, 1]);
    const target = tf.tensor4d(rng.normals(4 * 64), [4, 8, 8, 1]);
    const t = tf.tensor1d([0.1, 0.4, 0.7, 0.9]);
    const labels = tf.tensor1d([0, 1, 2, 0], 'int32');
    const initial = tf.tidy(() => lossOf(model, x, t, target, labels).dataSync()[0]!);
    for (let step = 0; step < 60; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => lossOf(model, x, t, target, labels), model.variables as tf.Variable[]);
        apply(opt, grads);
      });
    }
    const final = tf.tidy(() => lossOf(model, x, t, target, labels).dataSync()[0]!);
    console.log(`tiny U-Net: loss ${initial.toFixed(4)} -> ${final.toFixed(4)}`);
    expect(final).toBeLessThan(initial / 2);
    model.dispose();
    opt.dispose();
    tf.dispose([x, target, t, labels]);
  });
});

describe('no tensor leaks', () => {
  const cases: Array<[string, () => VelocityModel, number[], number]> = [
    [
      'MLP (classes)',
      () => createModel({ kind: 'mlp', dim: 3, width: 16, depth: 3, activation: 'silu', timeEmbedDim: 4, numClasses: 2 }, 1),
      [5, 3],
      2,
    ],
    [
      'U-Net (classes, attention)',
      () =>
        createModel(
          {
            kind: 'unet',
            size: 8,
            channels: 3,
            baseChannels: 4,
            channelMults: [1, 2],
            blocksPerLevel: 1,
            attention: true,
            groups: 2,
            timeEmbedDim: 8,
            numClasses: 2,
          },
          1,
        ),
      [2, 8, 8, 3],
      2,
    ],
  ];
  for (const [name, make, shape, classes] of cases) {
    it(`${name}: apply, gradients w.r.t. parameters and input`, () => {
      const model = make();
      const b = shape[0]!;
      const x = tf.randomNormal(shape);
      const t = tf.randomUniform([b]);
      const labels = tf.tensor1d(
        Array.from({ length: b }, (_, i) => i % (classes + 1)),
        'int32',
      );
      const once = (): void => {
        tf.dispose(model.apply(x, t, labels));
        tf.tidy(() => {
          tf.variableGrads(() => tf.sum(model.apply(x, t, labels)) as tf.Scalar, model.variables as tf.Variable[]);
          tf.grad((xx: Tensor) => tf.sum(model.apply(xx, t, labels)))(x);
        });
      };
      once(); // first call may create cached constants
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) once();
      expect(tf.memory().numTensors).toBe(before);
      const n = tf.memory().numTensors;
      model.dispose();
      expect(tf.memory().numTensors).toBe(n - model.variables.length);
      tf.dispose([x, t, labels]);
    });
  }
});
