import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { ConfigError, ShapeError, SolverError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import { condOT, cosine, linearVP, polynomial, ve, vp, type Scheduler } from '../../../core/path/scheduler';
import {
  PREDICTION_TYPES,
  asVelocityField,
  conversionCoeffs,
  convertPrediction,
  convertPredictionAt,
  predictionField,
  scoreFromVelocity,
  velocityFromScore,
  type PredictionType,
} from '../../../core/path/convert';
import { SCHEDULERS, T, expectThrow, f32, gaussianModel, gaussianVelocity64, lin, noLeaks, relErr, take, truePrediction } from './fixtures';

const SHAPE = [5, 3];
const N = 15;
const TIMES = [0.1, 0.35, 0.6, 0.85];

/** Random (x1, eps) in float32 precision, and x = alpha x1 + sigma eps in float64. */
function draw(seed: number) {
  const rng = new Rng(seed);
  const x1 = f32(Array.from({ length: N }, () => 1.5 * rng.normal() + 0.3));
  const eps = f32(rng.normals(N));
  return { x1, eps };
}

describe('conversionCoeffs (float64) reproduce the true predictions exactly', () => {
  for (const [name, s] of SCHEDULERS) {
    it(name, () => {
      const { x1, eps } = draw(1);
      let worst = 0;
      for (const t of TIMES) {
        const c = s.coeffs(t);
        const x = lin(c.alpha, x1, c.sigma, eps);
        for (const from of PREDICTION_TYPES) {
          for (const to of PREDICTION_TYPES) {
            const k = conversionCoeffs(from, to, c, t);
            const out = lin(k.x, x, k.pred, truePrediction(from, c, x1, eps));
            worst = Math.max(worst, relErr(out, truePrediction(to, c, x1, eps), 1e-6));
          }
        }
      }
      expect(worst).toBeLessThan(1e-9);
    });
  }
});

describe('convertPrediction (float32 tensors) against the float64 truth', () => {
  for (const [name, s] of SCHEDULERS) {
    it(name, () => {
      const { x1, eps } = draw(2);
      let worst = 0;
      let worstRoundTrip = 0;
      noLeaks(() => {
        for (const t of TIMES) {
          const c = s.coeffs(t);
          const xHost = lin(c.alpha, x1, c.sigma, eps);
          const x = T(xHost, SHAPE);
          for (const from of PREDICTION_TYPES) {
            const predHost = truePrediction(from, c, x1, eps);
            const pred = T(predHost, SHAPE);
            for (const to of PREDICTION_TYPES) {
              const out = convertPrediction(pred, x, from, to, c, t);
              expect(out.shape).toEqual(SHAPE);
              const back = convertPrediction(out, x, to, from, c, t);
              worst = Math.max(worst, relErr(take(out), truePrediction(to, c, x1, eps), 1e-3));
              worstRoundTrip = Math.max(worstRoundTrip, relErr(take(back), predHost, 1e-3));
            }
            pred.dispose();
          }
          x.dispose();
        }
      });
      // float32 inputs and coefficients; conditioning of the worst pair (VP eps -> x1 at t=0.1 divides by alpha ~ 0.02)
      expect(worst).toBeLessThan(2e-5);
      expect(worstRoundTrip).toBeLessThan(2e-5);
    });
  }
});

describe('convertPrediction with per-sample coefficients', () => {
  it('equals the shared conversion row by row, for images too', () => {
    const s = cosine();
    const rng = new Rng(3);
    const shape = [3, 2, 2, 1];
    const ts = [0.2, 0.5, 0.8];
    noLeaks(() => {
      const x = T(rng.normals(12), shape);
      const p = T(rng.normals(12), shape);
      const out = take(convertPredictionAt(p, x, 'eps', 'velocity', s, ts));
      const xs = tf.unstack(x);
      const ps = tf.unstack(p);
      ts.forEach((t, i) => {
        const pe = tf.expandDims(ps[i]!, 0);
        const xe = tf.expandDims(xs[i]!, 0);
        const row = take(convertPrediction(pe, xe, 'eps', 'velocity', s.coeffs(t), t));
        tf.dispose([pe, xe]);
        expect(relErr(out.subarray(4 * i, 4 * i + 4), row)).toBeLessThan(1e-6);
      });
      tf.dispose([x, p, ...xs, ...ps]);
    });
  });
  it('names the sample time in the error and checks the length', () => {
    const x = tf.zeros([2, 2]);
    expectThrow(() => convertPredictionAt(x, x, 'eps', 'x1', condOT(), [0.5, 0]), SolverError, 't=0', "'eps'", "'x1'");
    expectThrow(() => convertPrediction(x, x, 'eps', 'x1', [condOT().coeffs(0.5)]), ShapeError, 'batch_size=2', 'Got 1');
    x.dispose();
  });
});

describe('named converters', () => {
  it('scoreFromVelocity and velocityFromScore match the formulas in docs/formulas.md ("Target conversions")', () => {
    for (const [, s] of SCHEDULERS) {
      const c = s.coeffs(0.4);
      const { x1, eps } = draw(4);
      const x = lin(c.alpha, x1, c.sigma, eps);
      noLeaks(() => {
        const xT = T(x, SHAPE);
        const vT = T(truePrediction('velocity', c, x1, eps), SHAPE);
        const sT = T(truePrediction('score', c, x1, eps), SHAPE);
        // v = (dAlpha/alpha) x + (dAlpha sigma^2/alpha - sigma dSigma) score
        const vRef = lin(
          c.dAlpha / c.alpha,
          x,
          (c.dAlpha * c.sigma ** 2) / c.alpha - c.sigma * c.dSigma,
          truePrediction('score', c, x1, eps),
        );
        expect(relErr(take(velocityFromScore(sT, xT, c, 0.4)), vRef)).toBeLessThan(1e-5);
        expect(relErr(take(scoreFromVelocity(vT, xT, c, 0.4)), truePrediction('score', c, x1, eps))).toBeLessThan(1e-5);
        tf.dispose([xT, vT, sT]);
      });
    }
  });
});

describe('singular points throw instead of returning Inf/NaN', () => {
  const cases: Array<[string, PredictionType, PredictionType, Scheduler, number, string[]]> = [
    ['eps -> velocity at t=0 (alpha=0)', 'eps', 'velocity', condOT(), 0, ['t=0', "'eps'", "'velocity'", 'alpha_t = 0']],
    ['score -> x1 at t=0', 'score', 'x1', cosine(), 0, ['t=0', 'alpha_t = 0']],
    ['x1 -> velocity at t=1 (sigma=0)', 'x1', 'velocity', condOT(), 1, ['t=1', 'sigma_t = 0']],
    ['x1 -> eps at t=1', 'x1', 'eps', cosine(), 1, ['t=1', 'sigma_t = 0']],
    ['velocity -> score at t=1', 'velocity', 'score', condOT(), 1, ['t=1', 'score is undefined']],
    ['eps -> score at t=1', 'eps', 'score', condOT(), 1, ['t=1', 'score']],
    ['velocity -> eps, polynomial n=2 at t=0', 'velocity', 'eps', polynomial(2), 0, ['t=0', 'alpha dSigma - sigma dAlpha = 0']],
    ['velocity -> eps, polynomial n=0.5 at t=0', 'velocity', 'eps', polynomial(0.5), 0, ['t=0', 'not finite']],
    ['eps -> velocity, VP at t=1', 'eps', 'velocity', vp(), 1, ['t=1', 'not finite']],
    ['x1 -> velocity, linear-VP at t=1', 'x1', 'velocity', linearVP(), 1, ['t=1']],
  ];
  for (const [name, from, to, s, t, fragments] of cases) {
    it(name, () => {
      const x = tf.ones([2, 2]);
      noLeaks(() => expectThrow(() => convertPredictionAt(x, x, from, to, s, t), SolverError, ...fragments));
      x.dispose();
    });
  }
  it('with coefficients only, the message names alpha and sigma', () => {
    const x = tf.ones([2, 2]);
    expectThrow(() => convertPrediction(x, x, 'eps', 'x1', condOT().coeffs(0)), SolverError, 'alpha=0, sigma=1');
    x.dispose();
  });
  it('regular conversions at the ends stay exact', () => {
    noLeaks(() => {
      const xv = T([1, -2], [1, 2]);
      const v = T([0.5, 3], [1, 2]);
      // condot at t=0: x = x0 and v = x1 - x0, so x1 = x + v
      expect(Array.from(take(convertPredictionAt(v, xv, 'velocity', 'x1', condOT(), 0)))).toEqual([1.5, 1]);
      // condot at t=1: x = x1, so eps = x - v
      expect(Array.from(take(convertPredictionAt(v, xv, 'velocity', 'eps', condOT(), 1)))).toEqual([0.5, -5]);
      // eps <-> score need only sigma: fine at t=0 although alpha=0
      expect(Array.from(take(convertPredictionAt(v, xv, 'eps', 'score', cosine(), 0)))).toEqual([-0.5, -3]);
      // x1 -> velocity at t=0 under condot: v = x1 - x
      expect(Array.from(take(convertPredictionAt(v, xv, 'x1', 'velocity', condOT(), 0)))).toEqual([-0.5, 5]);
      // VE: alpha = 1 everywhere, velocity and eps are parallel (dAlpha = 0)
      const k = conversionCoeffs('velocity', 'eps', ve().coeffs(0.5));
      expect(k.x).toBe(0);
      expect(k.pred).toBeCloseTo(1 / ve().coeffs(0.5).dSigma, 15);
      tf.dispose([xv, v]);
    });
  });
});

describe('argument checks', () => {
  it('unknown prediction types and mismatched shapes', () => {
    noLeaks(() => {
      const a = tf.zeros([2, 2]);
      const b = tf.zeros([2, 3]);
      const e = expectThrow(
        () => convertPrediction(a, a, 'noise' as PredictionType, 'x1', condOT().coeffs(0.5)),
        ConfigError,
        "'noise'",
        'velocity, eps, x1, score',
      );
      expect((e as ConfigError).field).toBe('from');
      expectThrow(
        () => convertPrediction(b, a, 'eps', 'x1', condOT().coeffs(0.5)),
        ShapeError,
        'pred must have the shape of x [2,2]. Got [2,3]',
      );
      tf.dispose([a, b]);
    });
  });
});

describe('asVelocityField / predictionField on the exact Gaussian posterior', () => {
  const mu = [0.7, -1.2];
  const sd = 0.5;
  const schedulers = [condOT(), cosine(), vp(), ve(), polynomial(2)];
  it('every prediction type gives the exact velocity', () => {
    const rng = new Rng(5);
    const xHost = f32(rng.normals(8).map((v) => 2 * v));
    for (const s of schedulers) {
      for (const kind of PREDICTION_TYPES) {
        const field = asVelocityField(gaussianModel(kind, mu, sd, s), kind, s);
        for (const t of [0.2, 0.5, 0.8]) {
          noLeaks(() => {
            const x = T(xHost, [4, 2]);
            const out = take(field(x, t));
            x.dispose();
            expect(relErr(out, gaussianVelocity64(xHost, mu, sd, s.coeffs(t)))).toBeLessThan(1e-4);
          });
        }
      }
    }
  });
  it('converts the other way too (velocity model -> x1 model)', () => {
    const s = cosine();
    const x1Model = predictionField(gaussianModel('velocity', mu, sd, s), 'velocity', 'x1', s);
    const exact = gaussianModel('x1', mu, sd, s);
    noLeaks(() => {
      const x = T([0.1, 0.2, -1, 2], [2, 2]);
      expect(relErr(take(x1Model(x, 0.3)), take(exact(x, 0.3)))).toBeLessThan(1e-5);
      x.dispose();
    });
  });
  it('throws at a singular t before running the model, and passes a velocity model through', () => {
    let calls = 0;
    const model = (x: tf.Tensor) => {
      calls++;
      return x.clone();
    };
    const field = asVelocityField(model, 'eps', cosine());
    const x = tf.zeros([1, 2]);
    expectThrow(() => field(x, 0), SolverError, 't=0', 'cosine');
    expect(calls).toBe(0);
    x.dispose();
    expect(asVelocityField(model, 'velocity', cosine())).toBe(model);
  });
});
