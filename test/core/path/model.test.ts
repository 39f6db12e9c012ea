// core/path/model.ts against the exact Gaussian-mixture posterior (test/core/solver/gmm-models.ts, host
// float64, independent of core's conversions): the denoiser and the velocity of every prediction type,
// in the interior and at both ends of [0, 1].
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { SolverError } from '../../../core/errors';
import { PREDICTION_TYPES } from '../../../core/catalog';
import { denoise, LIMIT_DT, pathVelocity, transformPathModel, velocityMode } from '../../../core/path/model';
import { condOT, cosine } from '../../../core/path/scheduler';
import { Rng } from '../../../core/util/random';
import { gmmModel, posterior } from '../solver/gmm-models';
import { randomMixture } from '../oracle/reference';
import { relErr, SCHEDULERS, take } from './fixtures';

const MIX = randomMixture(3, 2, 7);
const N = 16;
const X = Float32Array.from(new Rng(3).normals(2 * N));
const xTensor = (scale = 1): tf.Tensor =>
  tf.tensor(
    X.map((v) => v * scale),
    [N, 2],
    'float32',
  );
const priorMean = [0, 1].map((j) => MIX.weights.reduce((s, w, k) => s + w * MIX.means[k]![j]!, 0));

/** max over rows and coordinates of |a - b|. */
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('denoise and pathVelocity equal the exact posterior inside (0, 1)', () => {
  for (const [name, s] of SCHEDULERS) {
    for (const kind of PREDICTION_TYPES) {
      it(`${name}, ${kind}`, () => {
        const pm = gmmModel(MIX, s, kind);
        for (const t of [0.2, 0.5, 0.8]) {
          const sc = s.coeffs(t).sigma;
          const x = xTensor(Math.max(1, sc));
          const exact = posterior(MIX, s, x.dataSync(), t);
          const d = denoise(pm, x, t);
          expect(d.nfe).toBe(1);
          expect(relErr(take(d.x1), exact.x1)).toBeLessThan(2e-4);
          expect(relErr(take(pathVelocity(pm)(x, t)), exact.velocity)).toBeLessThan(2e-3);
          x.dispose();
        }
      });
    }
  }
});

describe('the data end (sigma = 0): D = x / alpha without a network call', () => {
  for (const [name, s] of SCHEDULERS.filter(([, s]) => s.coeffs(1).sigma === 0)) {
    for (const kind of PREDICTION_TYPES) {
      it(`${name}, ${kind}`, () => {
        const pm = gmmModel(MIX, s, kind);
        const x = xTensor(3);
        const d = denoise(pm, x, 1);
        expect(d.nfe).toBe(0);
        expect(pm.calls).toEqual([]);
        const a = s.coeffs(1).alpha;
        expect(
          relErr(
            take(d.x1),
            Array.from(x.dataSync(), (v) => v / a),
          ),
        ).toBeLessThan(1e-6);
        const c = s.coeffs(1);
        if (kind === 'velocity') {
          // the network itself
        } else if (Number.isFinite(c.dSigma)) {
          // v = (alpha' / alpha) x: the posterior of the noise tends to its prior mean 0 as sigma -> 0.
          const exact = posterior(MIX, s, x.dataSync(), 1).velocity;
          expect(relErr(take(pathVelocity(pm)(x, 1)), exact)).toBeLessThan(1e-5);
        } else {
          // VP, linear-VP: the velocity needs the data's score; samplers end with a denoising step.
          expect(velocityMode(pm, 1)).toBe('singular');
          expect(() => pathVelocity(pm)(x, 1)).toThrow(SolverError);
        }
        x.dispose();
      });
    }
  }
});

describe('the noise end (alpha = 0): eps and score take the limit, within its first-order error', () => {
  for (const [name, s] of SCHEDULERS.filter(([, s]) => s.coeffs(0).alpha === 0 && Number.isFinite(s.coeffs(0).dAlpha))) {
    for (const kind of PREDICTION_TYPES) {
      it(`${name}, ${kind}`, () => {
        const pm = gmmModel(MIX, s, kind);
        const c0 = s.coeffs(0);
        const x = xTensor(c0.sigma);
        // Exact at t = 0: E[x1 | x_0] = E[x1] (x_0 is pure noise) and v = alpha'_0 E[x1] + sigma'_0 x / sigma_0.
        const mean = Array.from({ length: 2 * N }, (_, i) => priorMean[i % 2]!);
        const vExact = Array.from(x.dataSync(), (v, i) => c0.dAlpha * mean[i]! + (c0.dSigma * v) / c0.sigma);
        // The limit is a one-sided difference over LIMIT_DT: its error is that of E[x1 | x_t] at
        // t = LIMIT_DT against E[x1], first order in alpha(LIMIT_DT). Allow twice that.
        const drift = maxAbs(posterior(MIX, s, x.dataSync(), LIMIT_DT).x1, mean);
        // Plus float32 rounding: N = x - sigma eps is divided by alpha(LIMIT_DT) (1e-4 for polynomial n = 2).
        const slack = (1e-6 * maxAbs(x.dataSync(), new Float32Array(2 * N))) / s.coeffs(LIMIT_DT).alpha + 1e-4;
        const d = denoise(pm, x, 0);
        // eps and score are 0 / 0 there; so is a velocity whose alpha' vanishes too (polynomial n > 1).
        const singular = kind === 'eps' || kind === 'score' || (kind === 'velocity' && c0.dAlpha === 0);
        expect(d.nfe).toBe(singular ? 2 : 1);
        const dErr = maxAbs(take(d.x1), mean);
        expect(dErr).toBeLessThan(2 * drift + slack);
        const vErr = maxAbs(take(pathVelocity(pm)(x, 0)), vExact);
        expect(vErr).toBeLessThan(2 * Math.abs(c0.dAlpha) * (drift + slack) + 1e-3);
        x.dispose();
      });
    }
  }

  it('the limit cancels an error the network makes at the end itself (eps + e(x) at every t)', () => {
    // A smooth error e in eps becomes sigma e / alpha in x1 = (x - sigma eps) / alpha: unbounded at
    // alpha -> 0 when evaluated just inside, while the difference N(d) - N(0) cancels it to first order.
    const s = condOT();
    const exact = gmmModel(MIX, s, 'eps');
    const biased = { ...exact, predict: (x: tf.Tensor, t: number) => tf.tidy(() => tf.add(exact.predict(x, t), 0.05)) };
    const x = xTensor();
    const mean = Array.from({ length: 2 * N }, (_, i) => priorMean[i % 2]!);
    const dErr = maxAbs(take(denoise(biased, x, 0).x1), mean);
    const naive = posterior(MIX, s, x.dataSync(), LIMIT_DT);
    const c = s.coeffs(LIMIT_DT);
    const naiveX1 = Array.from(x.dataSync(), (v, i) => (v - c.sigma * (naive.x0[i]! + 0.05)) / c.alpha);
    expect(dErr).toBeLessThan(maxAbs(naiveX1, mean) / 10);
    x.dispose();
  });
});

describe('transformPathModel: a model sampled under another scheduler', () => {
  for (const kind of PREDICTION_TYPES) {
    it(`${kind}: condot model under cosine equals the cosine posterior`, () => {
      const pm = transformPathModel(gmmModel(MIX, condOT(), kind), cosine());
      const target = gmmModel(MIX, cosine(), kind);
      for (const t of [0.3, 0.6, 0.9]) {
        const x = xTensor();
        const exact = take(target.predict(x, t));
        expect(relErr(take(pm.predict(x, t)), exact)).toBeLessThan(1e-3);
        expect(relErr(take(denoise(pm, x, t).x1), posterior(MIX, cosine(), x.dataSync(), t).x1)).toBeLessThan(1e-3);
        x.dispose();
      }
    });
  }
});
