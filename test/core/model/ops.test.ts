// Hand-written gradients (core/model/ops/) against tfjs's built-in gradients on the cpu backend.
import { afterAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { tf, type Tensor } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { bmm, conv2d, dense, groupNorm, matMul, silu } from '../../../core/model/ops';

const testBackend = tf.getBackend();
afterAll(async () => {
  await tf.setBackend(testBackend);
});

interface Arr {
  shape: number[];
  data: Float32Array;
}

function randArr(rng: Rng, shape: number[], scale = 1): Arr {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = rng.normals(n);
  for (let i = 0; i < n; i++) data[i]! *= scale;
  return { shape, data };
}

/**
 * Value and gradients of sum(f(inputs) · w) (w a fixed random weight, so every output element
 * matters) on a backend, returned as plain arrays.
 */
async function valueAndGrads(
  backend: string,
  f: (...xs: Tensor[]) => Tensor,
  inputs: Arr[],
  weight: Arr,
): Promise<{ value: Float32Array; grads: Float32Array[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = inputs.map((a) => tf.tensor(a.data, a.shape));
    const w = tf.tensor(weight.data, weight.shape);
    const value = f(...xs);
    const g = tf.grads((...ys: Tensor[]) => tf.sum(tf.mul(f(...ys), w)));
    const grads = g(xs);
    return {
      value: value.dataSync() as Float32Array,
      grads: grads.map((t) => t.dataSync() as Float32Array),
    };
  });
}

/** max |a - b| / max |b|. */
function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
}

async function compare(
  name: string,
  ours: (...xs: Tensor[]) => Tensor,
  ref: (...xs: Tensor[]) => Tensor,
  inputs: Arr[],
  outShape: number[],
  tol = 1e-4,
): Promise<number[]> {
  const rng = new Rng(99);
  const weight = randArr(rng, outShape);
  const a = await valueAndGrads(testBackend, ours, inputs, weight);
  const b = await valueAndGrads('cpu', ref, inputs, weight);
  await tf.setBackend(testBackend);
  const errs = [relErr(a.value, b.value), ...a.grads.map((g, i) => relErr(g, b.grads[i]!))];
  for (const [i, e] of errs.entries()) {
    expect(e, `${name}: ${i === 0 ? 'value' : `grad ${i - 1}`} relative error`).toBeLessThan(tol);
  }
  console.log(`${name}: max rel err value/grads ${errs.map((e) => e.toExponential(1)).join(' ')}`);
  return errs;
}

describe('custom-gradient ops match the built-in gradients (cpu backend)', () => {
  it('dense with and without bias, 2-D and 3-D input', async () => {
    const rng = new Rng(1);
    const x = randArr(rng, [5, 7]);
    const w = randArr(rng, [7, 6]);
    const b = randArr(rng, [6]);
    await compare('dense', dense, (x, w, b) => tf.add(tf.matMul(x!, w!), b!), [x, w, b], [5, 6]);
    await compare('matMul', matMul, (x, w) => tf.matMul(x!, w!), [x, w], [5, 6]);
    const x3 = randArr(rng, [2, 3, 7]);
    await compare(
      'dense3d',
      (x, w, b) => dense(x!, w!, b),
      (x, w, b) => tf.add(tf.reshape(tf.matMul(tf.reshape(x!, [6, 7]), w!), [2, 3, 6]), b!),
      [x3, w, b],
      [2, 3, 6],
    );
  });

  it('silu', async () => {
    const rng = new Rng(2);
    const x = randArr(rng, [4, 9], 3);
    await compare('silu', silu, (x) => tf.mul(x!, tf.sigmoid(x!)), [x], [4, 9]);
  });

  it('bmm', async () => {
    const rng = new Rng(3);
    const a = randArr(rng, [3, 4, 5]);
    const b = randArr(rng, [3, 5, 2]);
    await compare('bmm', bmm, (a, b) => tf.matMul(a!, b!), [a, b], [3, 4, 2]);
  });

  const convCases: Array<[string, [number, number, number, number], [number, number, number, number], number, 'same' | 'valid']> = [
    ['3x3 s1 same', [2, 8, 8, 3], [3, 3, 3, 4], 1, 'same'],
    ['3x3 s2 same (even)', [2, 8, 8, 3], [3, 3, 3, 4], 2, 'same'],
    ['3x3 s2 same (odd 7x7)', [2, 7, 7, 2], [3, 3, 2, 3], 2, 'same'],
    ['3x3 s1 valid', [2, 7, 6, 3], [3, 3, 3, 2], 1, 'valid'],
    ['3x3 s2 valid (odd)', [2, 9, 8, 2], [3, 3, 2, 3], 2, 'valid'],
    ['1x1 s1', [2, 5, 5, 4], [1, 1, 4, 3], 1, 'same'],
    ['4x4 s2 same', [1, 8, 8, 2], [4, 4, 2, 2], 2, 'same'],
    ['5x3 s1 same', [1, 6, 7, 2], [5, 3, 2, 3], 1, 'same'],
  ];
  for (const [name, xs, fs, stride, pad] of convCases) {
    it(`conv2d ${name}`, async () => {
      const rng = new Rng(4);
      const x = randArr(rng, xs);
      const f = randArr(rng, fs, 0.5);
      const b = randArr(rng, [fs[3]!]);
      const outShape = tf.tidy(() => tf.conv2d(tf.zeros(xs) as tf.Tensor4D, tf.zeros(fs) as tf.Tensor4D, stride, pad).shape as number[]);
      await compare(
        `conv2d ${name}`,
        (x, f, b) => conv2d(x!, f!, b!, stride, pad),
        (x, f, b) => tf.add(tf.conv2d(x! as tf.Tensor4D, f! as tf.Tensor4D, stride, pad), b!),
        [x, f, b],
        outShape,
      );
    });
  }

  it('groupNorm (2 and 4 groups)', async () => {
    const rng = new Rng(5);
    for (const groups of [2, 4]) {
      const x = randArr(rng, [2, 5, 4, 8], 2);
      for (let i = 0; i < x.data.length; i++) x.data[i]! += 1; // a non-zero mean
      const gamma = randArr(rng, [8]);
      const beta = randArr(rng, [8]);
      const ref = (x: Tensor, g: Tensor, b: Tensor): Tensor => {
        const xr = tf.reshape(x, [2, 20, groups, 8 / groups]);
        const { mean, variance } = tf.moments(xr, [1, 3], true);
        const xhat = tf.reshape(tf.div(tf.sub(xr, mean), tf.sqrt(tf.add(variance, 1e-5))), [2, 5, 4, 8]);
        return tf.add(tf.mul(xhat, g), b);
      };
      await compare(
        `groupNorm g=${groups}`,
        (x, g, b) => groupNorm(x!, g!, b!, groups),
        (x, g, b) => ref(x!, g!, b!),
        [x, gamma, beta],
        [2, 5, 4, 8],
      );
    }
  });
});

describe('upsample2x', () => {
  it('matches a concat/reshape reference, value and gradient, batch > 1', async () => {
    const { upsample2x } = await import('../../../core/model/ops');
    const rng = new Rng(6);
    const x = randArr(rng, [3, 4, 5, 2]);
    const ref = (x: Tensor): Tensor => {
      const [b, h, w, c] = x.shape as [number, number, number, number];
      const wide = tf.reshape(tf.concat([x, x], 3), [b, h, 2 * w, c]);
      return tf.reshape(tf.concat([wide, wide], 2), [b, 2 * h, 2 * w, c]);
    };
    await compare(
      'upsample2x',
      (x) => upsample2x(x!),
      (x) => ref(x!),
      [x],
      [3, 8, 10, 2],
    );
  });
});
