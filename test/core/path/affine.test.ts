import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { ConfigError, ShapeError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import { condOT, linearVP, polynomial, vp } from '../../../core/path/scheduler';
import { conditionalVelocity, disposePathSample, samplePath, target } from '../../../core/path/affine';
import { PREDICTION_TYPES } from '../../../core/path/convert';
import { SCHEDULERS, T, expectThrow, f32, noLeaks, relErr, take } from './fixtures';

/** Per-sample float64 reference: out[i, j] = a[i] x1[i, j] + b[i] x0[i, j]. */
function rowLin(a: ArrayLike<number>, x1: ArrayLike<number>, b: ArrayLike<number>, x0: ArrayLike<number>, per: number): Float64Array {
  const out = new Float64Array(x1.length);
  for (let i = 0; i < x1.length; i++) {
    const r = Math.floor(i / per);
    out[i] = a[r]! * x1[i]! + b[r]! * x0[i]!;
  }
  return out;
}

const SHAPES = [
  [6, 2], // points
  [3, 4, 4, 2], // images [B, H, W, C]
];

describe('samplePath against a float64 host computation', () => {
  for (const [name, s] of SCHEDULERS) {
    it(name, () => {
      const rng = new Rng(11);
      for (const shape of SHAPES) {
        const batch = shape[0]!;
        const n = shape.reduce((p, d) => p * d, 1);
        const per = n / batch;
        const x0h = f32(rng.normals(n));
        const x1h = f32(Array.from({ length: n }, () => 2 * rng.normal() - 1));
        const ts = Array.from({ length: batch }, () => 0.02 + 0.96 * rng.uniform());
        const cs = ts.map((t) => s.coeffs(t));
        const zeros = ts.map(() => 0);
        noLeaks(() => {
          const x0 = T(x0h, shape);
          const x1 = T(x1h, shape);
          const p = samplePath(s, x0, x1, ts);
          expect(p.xt.shape).toEqual(shape);
          const colShape = [batch, ...shape.slice(1).map(() => 1)];
          for (const k of ['alpha', 'sigma', 'dAlpha', 'dSigma'] as const) {
            expect(p[k].shape).toEqual(colShape);
            expect(
              relErr(
                p[k].dataSync(),
                cs.map((c) => c[k]),
              ),
            ).toBeLessThan(1e-7);
          }
          const xtRef = rowLin(
            cs.map((c) => c.alpha),
            x1h,
            cs.map((c) => c.sigma),
            x0h,
            per,
          );
          const vRef = rowLin(
            cs.map((c) => c.dAlpha),
            x1h,
            cs.map((c) => c.dSigma),
            x0h,
            per,
          );
          expect(relErr(p.xt.dataSync(), xtRef)).toBeLessThan(1e-6);
          expect(relErr(p.velocityTarget.dataSync(), vRef)).toBeLessThan(1e-6);
          const refs = {
            velocity: vRef,
            eps: x0h,
            x1: x1h,
            score: rowLin(
              zeros,
              x1h,
              cs.map((c) => -1 / c.sigma),
              x0h,
              per,
            ),
          };
          for (const kind of PREDICTION_TYPES) {
            expect(relErr(take(target(kind, p, x0, x1)), refs[kind]), kind).toBeLessThan(1e-6);
          }
          // the conditional Gaussian field evaluated at x_t is the conditional velocity
          const u = take(conditionalVelocity(s, p.xt, x1, ts));
          expect(relErr(u, vRef)).toBeLessThan(5e-5);
          disposePathSample(p);
          tf.dispose([x0, x1]);
        });
      }
    });
  }
});

describe('conditionalVelocity', () => {
  it('matches (dAlpha - dSigma alpha / sigma) x1 + (dSigma / sigma) x for a shared t', () => {
    const s = vp();
    const t = 0.7;
    const c = s.coeffs(t);
    const xh = f32([0.3, -1, 2, 0.5]);
    const x1h = f32([1, 1, -1, 0]);
    noLeaks(() => {
      const x = T(xh, [2, 2]);
      const x1 = T(x1h, [2, 2]);
      const ref = xh.map((xi, i) => (c.dAlpha - (c.dSigma * c.alpha) / c.sigma) * x1h[i]! + (c.dSigma / c.sigma) * xi);
      expect(relErr(take(conditionalVelocity(s, x, x1, t)), ref)).toBeLessThan(1e-6);
      tf.dispose([x, x1]);
    });
  });
  it('is singular where sigma = 0', () => {
    const x = tf.zeros([2, 2]);
    const e = expectThrow(() => conditionalVelocity(condOT(), x, x, 1), ConfigError, 't=1');
    expect((e as ConfigError).field).toBe('t');
    const e2 = expectThrow(() => conditionalVelocity(condOT(), x, x, [0.5, 1]), ConfigError, 't=1');
    expect((e2 as ConfigError).field).toBe('t[1]');
    // condot with sigmaMin > 0 never reaches sigma = 0
    take(conditionalVelocity(condOT(0.1), x, x, 1));
    x.dispose();
  });
});

describe('argument checks', () => {
  it('shapes, lengths and times are validated with messages naming the argument', () => {
    const a = tf.zeros([4, 2]);
    const b = tf.zeros([4, 3]);
    const sc = tf.scalar(1);
    const s = condOT();
    noLeaks(() => {
      expectThrow(() => samplePath(s, a, b, [0.1, 0.2, 0.3, 0.4]), ShapeError, 'x1 must have the shape of x0 [4,2]. Got [4,3]');
      expectThrow(() => samplePath(s, a, a, [0.1, 0.2, 0.3]), ShapeError, 't must have length batch_size=4. Got 3');
      const e = expectThrow(() => samplePath(s, a, a, [0.1, 1.2, 0.3, 0.4]), ConfigError, '1.2');
      expect((e as ConfigError).field).toBe('t[1]');
      expect((expectThrow(() => samplePath(s, a, a, [0.1, Number.NaN, 0.3, 0.4]), ConfigError) as ConfigError).field).toBe('t[1]');
      expectThrow(() => samplePath(s, sc, sc, []), ShapeError, 'x0 must have shape [batch_size, ...dims]');
    });
    tf.dispose([a, b, sc]);
  });
  it('refuses times where the velocity target is infinite', () => {
    const a = tf.zeros([2, 2]);
    noLeaks(() => {
      const e = expectThrow(() => samplePath(vp(), a, a, [0.5, 1]), ConfigError, 'vp(', 'dSigma=-Infinity');
      expect((e as ConfigError).field).toBe('t[1]');
      expectThrow(() => samplePath(linearVP(), a, a, [1, 0.5]), ConfigError, 'linear-vp');
      expectThrow(() => samplePath(polynomial(0.5), a, a, [0, 0.5]), ConfigError, 'polynomial(n=0.5)');
      // both ends are fine for condot
      const p = samplePath(condOT(), a, a, [0, 1]);
      disposePathSample(p);
    });
    a.dispose();
  });
  it('the score target is undefined where sigma = 0', () => {
    const a = tf.ones([2, 2]);
    noLeaks(() => {
      const p = samplePath(condOT(), a, a, [0.5, 1]);
      const e = expectThrow(() => target('score', p, a, a), ConfigError, 'sigma_t = 0');
      expect((e as ConfigError).field).toBe('t[1]');
      const wrong = tf.zeros([2, 3]);
      expectThrow(() => target('eps', p, wrong, a), ShapeError, 'x0 must have the shape of path.xt [2,2]. Got [2,3]');
      wrong.dispose();
      disposePathSample(p);
    });
    a.dispose();
  });
});
