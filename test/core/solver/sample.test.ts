import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { integrateField } from '../../../core/solver/sample';
import { condOT, cosine } from '../../../core/path/scheduler';
import { ConfigError, CancelledError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import type { VelocityField } from '../../../core/field';
import { gaussianField, maxAbsErr } from './problems';

const MU = [1.5, -0.5];
const S = 0.4;
const N = 64;
const noise = () => tf.tensor2d(new Rng(7).normals(N * 2), [N, 2]);
/** The exact flow map of the Gaussian target from t = 0 to t = 1: x1 = mu + s x0 (std_0 = 1 here). */
const exactSamples = (x0: tf.Tensor) => tf.tidy(() => tf.add(tf.mul(x0, S), tf.tensor1d(MU)));

describe('integrateField', () => {
  it.each([
    ['condot', condOT()],
    ['cosine', cosine()],
  ] as const)('samples (0 -> 1) and inverts (1 -> 0) the exact flow of a Gaussian target (%s)', (_name, sched) => {
    const { field } = gaussianField(sched, MU, S);
    const x0 = noise();
    const want = exactSamples(x0);
    const fwd = integrateField(field, x0, { method: 'dopri5', rtol: 1e-6, atol: 1e-6 });
    expect(maxAbsErr(fwd.x, want.arraySync() as number[][])).toBeLessThan(2e-5);
    expect(fwd.times).toEqual([0, 1]);
    const back = integrateField(field, fwd.x, { method: 'dopri5', t0: 1, t1: 0, rtol: 1e-6, atol: 1e-6 });
    expect(maxAbsErr(back.x, x0.arraySync() as number[][])).toBeLessThan(2e-5);
    tf.dispose([x0, want, fwd.x, back.x]);
  });

  it('takes exactly the steps asked for (heun, 20 steps -> 40 evaluations)', () => {
    const { field, calls } = gaussianField(condOT(), MU, S);
    const x0 = noise();
    const r = integrateField(field, x0, { method: 'heun', steps: 20 });
    expect(r.steps).toBe(20);
    expect(r.nfe).toBe(40);
    expect(calls.length).toBe(40);
    expect(r.rejected).toBe(0);
    const want = exactSamples(x0);
    expect(maxAbsErr(r.x, want.arraySync() as number[][])).toBeLessThan(5e-3);
    tf.dispose([x0, want, r.x]);
  });

  it('defaults to Euler; accepts a custom grid; passes cond through; returns a trajectory per time', () => {
    const labels = tf.tensor1d([3], 'int32');
    const seen: (tf.Tensor | undefined)[] = [];
    const field: VelocityField = (x, _t, cond) => {
      seen.push(cond);
      return tf.onesLike(x);
    };
    const x0 = tf.zeros([2, 3]);
    const grid = [0, 0.1, 0.5, 1];
    const r = integrateField(field, x0, { timeGrid: grid, cond: labels, returnTrajectory: true });
    expect(r.nfe).toBe(3);
    expect(seen.every((c) => c === labels)).toBe(true);
    expect(r.times).toEqual(grid);
    expect(r.trajectory!.length).toBe(4);
    expect(r.trajectory!.map((x) => x.dataSync()[0]!)).toEqual([0, 0.1, 0.5, 1].map((v) => Math.fround(v)));
    tf.dispose([labels, x0, r.x, ...r.trajectory!]);
  });

  it('dopri5 with steps reports the uniform output grid', () => {
    const { field } = gaussianField(condOT(), MU, S);
    const x0 = noise();
    const r = integrateField(field, x0, { method: 'dopri5', steps: 4, returnTrajectory: true });
    expect(r.times).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(r.trajectory!.length).toBe(5);
    tf.dispose([x0, r.x, ...r.trajectory!]);
  });

  it('checks its options: grid xor t0/t1/steps, steps required for fixed-step methods, x a tensor', () => {
    const { field } = gaussianField(condOT(), MU, S);
    const x0 = noise();
    const before = tf.memory().numTensors;
    const field_ = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).field;
      }
      return 'no error';
    };
    expect(field_(() => integrateField(field, x0, { timeGrid: [0, 1], steps: 3 }))).toBe('timeGrid');
    expect(field_(() => integrateField(field, x0, { method: 'rk4' }))).toBe('steps');
    expect(field_(() => integrateField(field, x0, { method: 'rk4', steps: 0 }))).toBe('steps');
    expect(field_(() => integrateField(field, x0, { steps: 3, method: 'bogus' as 'rk4' }))).toBe('method');
    expect(field_(() => integrateField(field, [1, 2] as unknown as tf.Tensor, { steps: 3 }))).toBe('x');
    expect(tf.memory().numTensors).toBe(before);
    x0.dispose();
  });

  it('cancels through the signal without leaking', () => {
    const { field } = gaussianField(condOT(), MU, S);
    const x0 = noise();
    const before = tf.memory().numTensors;
    const signal = { aborted: false };
    expect(() =>
      integrateField(field, x0, {
        method: 'rk4',
        steps: 10,
        signal,
        returnTrajectory: true,
        onStep: (i) => void (i.step === 2 && (signal.aborted = true)),
      }),
    ).toThrow(CancelledError);
    expect(tf.memory().numTensors).toBe(before);
    x0.dispose();
  });
});
