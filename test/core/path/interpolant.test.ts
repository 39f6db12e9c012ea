import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { ConfigError, ShapeError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import {
  bridgeNoise,
  disposeInterpolantSample,
  interpolantAt,
  interpolantVelocityFromXt,
  sampleInterpolant,
} from '../../../core/path/interpolant';
import { T, expectThrow, f32, noLeaks, relErr, take } from './fixtures';

const B = 9;
const D = 3;
const N = B * D;

function fixed(seed: number) {
  const rng = new Rng(seed);
  return { x0: f32(rng.normals(N)), x1: f32(Array.from({ length: N }, () => 3 * rng.normal() + 1)), eps: f32(rng.normals(N)) };
}

/** Host float64 x_t of one row at time t: t x1 + (1 - t) x0 + s sqrt(t (1 - t)) eps. */
function xt64(t: number, s: number, x0: number, x1: number, eps: number): number {
  return t * x1 + (1 - t) * x0 + s * Math.sqrt(t * (1 - t)) * eps;
}

describe('stochastic interpolant (SB-CFM)', () => {
  const ts = Array.from({ length: B }, (_, i) => 0.05 + 0.9 * (i / (B - 1)));
  for (const s of [0, 0.3, 1]) {
    it(`s=${s}: x_t matches the host, and u_t is d x_t / dt along fixed (x0, x1, eps)`, () => {
      const { x0, x1, eps } = fixed(21);
      const xtRef = new Float64Array(N);
      const dRef = new Float64Array(N);
      for (let i = 0; i < N; i++) {
        const t = ts[Math.floor(i / D)]!;
        const h = 1e-5;
        xtRef[i] = xt64(t, s, x0[i]!, x1[i]!, eps[i]!);
        // central difference in float64: error ~ h^2 |x'''| ~ 1e-9 here
        dRef[i] = (xt64(t + h, s, x0[i]!, x1[i]!, eps[i]!) - xt64(t - h, s, x0[i]!, x1[i]!, eps[i]!)) / (2 * h);
      }
      noLeaks(() => {
        const X0 = T(x0, [B, D]);
        const X1 = T(x1, [B, D]);
        const E = T(eps, [B, D]);
        const p = interpolantAt(X0, X1, E, ts, s);
        expect(relErr(p.xt.dataSync(), xtRef)).toBeLessThan(1e-6);
        expect(relErr(p.velocityTarget.dataSync(), dRef)).toBeLessThan(1e-6);
        expect(Array.from(p.eps.dataSync())).toEqual(Array.from(E.dataSync()));
        expect(p.gamma.shape).toEqual([B, 1]);
        // torchcfm's form through x_t agrees with the eps form
        const u = take(interpolantVelocityFromXt(p.xt, X0, X1, ts, s));
        expect(relErr(u, dRef)).toBeLessThan(2e-5);
        disposeInterpolantSample(p);
        tf.dispose([X0, X1, E]);
      });
    });
  }

  it('bridgeNoise: gamma and its derivative', () => {
    for (const t of [0.01, 0.2, 0.5, 0.77, 0.99]) {
      const { gamma, dGamma } = bridgeNoise(t, 0.7);
      expect(gamma).toBeCloseTo(0.7 * Math.sqrt(t * (1 - t)), 15);
      const h = 1e-6;
      const fd = (bridgeNoise(t + h, 0.7).gamma - bridgeNoise(t - h, 0.7).gamma) / (2 * h);
      expect(Math.abs(dGamma - fd) / Math.max(1, Math.abs(fd))).toBeLessThan(1e-6);
    }
    expect(bridgeNoise(0.5, 1).dGamma).toBe(0);
    expect(bridgeNoise(0, 1).dGamma).toBe(Infinity);
    expect(bridgeNoise(1, 1).dGamma).toBe(-Infinity);
    expect(bridgeNoise(0, 0)).toEqual({ gamma: 0, dGamma: 0 });
  });

  it('sampleInterpolant draws eps from the seeded Rng, reproducibly, for any rank', () => {
    const shape = [2, 3, 3, 1];
    const x0h = f32(new Rng(1).normals(18));
    const x1h = f32(new Rng(2).normals(18));
    noLeaks(() => {
      const X0 = T(x0h, shape);
      const X1 = T(x1h, shape);
      const a = sampleInterpolant(X0, X1, [0.3, 0.6], 0.5, new Rng(99));
      const b = sampleInterpolant(X0, X1, [0.3, 0.6], 0.5, new Rng(99));
      expect(Array.from(a.xt.dataSync())).toEqual(Array.from(b.xt.dataSync()));
      expect(Array.from(a.eps.dataSync())).toEqual(Array.from(new Rng(99).normals(18)));
      expect(a.xt.shape).toEqual(shape);
      expect(a.gamma.shape).toEqual([2, 1, 1, 1]);
      disposeInterpolantSample(a);
      disposeInterpolantSample(b);
      tf.dispose([X0, X1]);
    });
  });

  it('s = 0 is I-CFM: x_t on the straight line, u_t = x1 - x0, ends allowed', () => {
    const { x0, x1 } = fixed(3);
    noLeaks(() => {
      const X0 = T(x0.subarray(0, 6), [2, 3]);
      const X1 = T(x1.subarray(0, 6), [2, 3]);
      const p = sampleInterpolant(X0, X1, [0, 1], 0, new Rng(1));
      expect(relErr(p.xt.dataSync(), [...x0.subarray(0, 3), ...x1.subarray(3, 6)])).toBeLessThan(1e-7);
      expect(
        relErr(
          p.velocityTarget.dataSync(),
          x1.subarray(0, 6).map((v, i) => v - x0[i]!),
        ),
      ).toBeLessThan(1e-7);
      disposeInterpolantSample(p);
      tf.dispose([X0, X1]);
    });
  });

  it('argument checks', () => {
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([2, 2]);
    noLeaks(() => {
      const e = expectThrow(() => sampleInterpolant(a, a, [0.5, 0], 0.5, new Rng(1)), ConfigError, 'inside (0, 1)', 's=0.5');
      expect((e as ConfigError).field).toBe('t[1]');
      expect((expectThrow(() => sampleInterpolant(a, a, [0.5, 0.5], -1, new Rng(1)), ConfigError) as ConfigError).field).toBe(
        'interpolant.s',
      );
      expectThrow(() => interpolantAt(a, a, b, [0.5, 0.5], 0.1), ShapeError, 'eps must have the shape of x0 [2,3]. Got [2,2]');
      expectThrow(() => sampleInterpolant(a, b, [0.5, 0.5], 0.1, new Rng(1)), ShapeError, 'x1 must have the shape of x0');
      expectThrow(() => sampleInterpolant(a, a, [0.5], 0.1, new Rng(1)), ShapeError, 't must have length batch_size=2. Got 1');
      expectThrow(() => interpolantVelocityFromXt(a, a, a, [1, 0.5], 0.1), ConfigError, 'inside (0, 1)');
    });
    tf.dispose([a, b]);
  });
});
