import { describe, it, expect } from 'vitest';
import { tf } from '../../core/tf';
describe('tf', () => {
  it('grad', () => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor([1, 2, 3]));
    expect(Array.from(g.dataSync())).toEqual([2, 4, 6]);
    expect(tf.getBackend()).toBe('wasm');
  });
});
