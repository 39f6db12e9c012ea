import { describe, it, expect } from 'vitest';
import { ConfigError, SolverError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import { condOT, cosine, linearVP, polynomial, ve, vp, type Scheduler } from '../../../core/path/scheduler';
import { scheduleTransformCoeffs, scheduleTransformedField } from '../../../core/path/transform';
import { SCHEDULERS, T, expectThrow, f32, gaussianModel, gaussianVelocity64, noLeaks, relErr, take } from './fixtures';

// Data N(mu, sd^2 I): the marginal velocity of every scheduler is closed form (fixtures.gaussianVelocity64),
// so the transform of A's exact field must be B's exact field.
const MU = [0.7, -1.2];
const SD = 0.5;
const R_GRID = [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95];

function snrRange(s: Scheduler): [number, number] {
  const c0 = s.coeffs(0);
  const c1 = s.coeffs(1);
  return [c0.alpha / c0.sigma, c1.alpha / c1.sigma];
}

describe('scheduleTransformedField maps the exact Gaussian field of A to that of B', () => {
  const rng = new Rng(31);
  const xh = f32(Array.from({ length: 10 }, () => 2 * rng.normal()));
  for (const [nameA, A] of SCHEDULERS) {
    it(`from ${nameA} to every scheduler`, () => {
      const vA = gaussianModel('velocity', MU, SD, A);
      const [lo, hi] = snrRange(A);
      let checked = 0;
      let worst = 0;
      noLeaks(() => {
        const x = T(xh, [5, 2]);
        for (const [nameB, B] of SCHEDULERS) {
          const field = scheduleTransformedField(vA, A, B);
          for (const r of R_GRID) {
            const c = B.coeffs(r);
            const snr = c.alpha / c.sigma;
            if (snr > lo * (1 + 1e-6) && snr < hi / (1 + 1e-6)) {
              const err = relErr(take(field(x, r)), gaussianVelocity64(xh, MU, SD, c));
              worst = Math.max(worst, err);
              expect(err, `${nameA} -> ${nameB} at r=${r}`).toBeLessThan(1e-4);
              checked++;
            } else {
              // B reaches a signal-to-noise ratio that A never does (VE, condot with sigmaMin)
              expectThrow(() => field(x, r), SolverError, 'outside the source', `r=${r}`);
            }
          }
        }
        x.dispose();
      });
      expect(checked).toBeGreaterThan(20);
    });
  }
});

describe('scheduleTransformCoeffs', () => {
  it('dt and ds/s match finite differences of t_r and log s_r (float64)', () => {
    const pairs: Array<[Scheduler, Scheduler]> = [
      [condOT(), cosine()],
      [cosine(), condOT()],
      [condOT(), vp()],
      [vp(), polynomial(2)],
      [linearVP(), polynomial(0.5)],
      [condOT(0.05), ve()],
      [ve(), cosine()],
    ];
    for (const [A, B] of pairs) {
      for (const r of [0.3, 0.5, 0.7]) {
        const k = scheduleTransformCoeffs(A, B, r);
        const h = 1e-5;
        const p = scheduleTransformCoeffs(A, B, r + h);
        const m = scheduleTransformCoeffs(A, B, r - h);
        expect(Math.abs(k.dt - (p.t - m.t) / (2 * h)) / Math.max(1, Math.abs(k.dt))).toBeLessThan(1e-6);
        expect(Math.abs(k.dLogS - (Math.log(p.s) - Math.log(m.s)) / (2 * h)) / Math.max(1, Math.abs(k.dLogS))).toBeLessThan(1e-6);
        // the scaled point has A's signal-to-noise ratio
        const a = A.coeffs(k.t);
        const b = B.coeffs(r);
        expect(k.s * a.alpha).toBeCloseTo(b.alpha, 10);
        expect(k.s * a.sigma).toBeCloseTo(b.sigma, 10);
      }
    }
  });

  it('the same scheduler is the identity', () => {
    for (const [, s] of SCHEDULERS) {
      for (const r of [0.1, 0.5, 0.9]) {
        const k = scheduleTransformCoeffs(s, s, r);
        expect(k.t).toBeCloseTo(r, 10);
        expect(k.s).toBeCloseTo(1, 10);
        expect(k.dt).toBeCloseTo(1, 8);
        expect(k.dLogS).toBeCloseTo(0, 8);
      }
    }
  });

  it('end points: exact where the limit is regular', () => {
    const h = Math.PI / 2;
    // condot -> cosine at the data end: t = 1, s = 1, dt = pi/2 (from rho' = dSigma at sigma = 0), ds/s = -pi/2
    const k1 = scheduleTransformCoeffs(condOT(), cosine(), 1);
    expect(k1.t).toBe(1);
    expect(k1.s).toBe(1);
    expect(k1.dt).toBeCloseTo(h, 14);
    expect(k1.dLogS).toBeCloseTo(-h, 14);
    // and at the noise end: t = 0, s = 1, dt = snr_B'(0) / snr_A'(0) = pi/2
    const k0 = scheduleTransformCoeffs(condOT(), cosine(), 0);
    expect([k0.t, k0.s]).toEqual([0, 1]);
    expect(k0.dt).toBeCloseTo(h, 14);
    // polynomial n=2 as the target at r=0: its velocity vanishes there, dt = 0
    expect(scheduleTransformCoeffs(condOT(), polynomial(2), 0).dt).toBe(0);

    const field = scheduleTransformedField(gaussianModel('velocity', MU, SD, condOT()), condOT(), cosine());
    const back = scheduleTransformedField(gaussianModel('velocity', MU, SD, cosine()), cosine(), condOT());
    const poly = scheduleTransformedField(gaussianModel('velocity', MU, SD, condOT()), condOT(), polynomial(2));
    const xh = f32([0.3, -0.4, 1.5, 2.5]);
    // error relative to the scale of x (floor 1): at r = 1 cosine's velocity is 0 and the transform
    // reaches it by cancelling (-pi/2) x + (pi/2) v_A(x, 1) in float32.
    noLeaks(() => {
      const x = T(xh, [2, 2]);
      for (const r of [0, 1]) {
        expect(relErr(take(field(x, r)), gaussianVelocity64(xh, MU, SD, cosine().coeffs(r)), 1), `cosine r=${r}`).toBeLessThan(1e-6);
        expect(relErr(take(back(x, r)), gaussianVelocity64(xh, MU, SD, condOT().coeffs(r)), 1), `condot r=${r}`).toBeLessThan(1e-6);
        expect(relErr(take(poly(x, r)), gaussianVelocity64(xh, MU, SD, polynomial(2).coeffs(r)), 1), `poly r=${r}`).toBeLessThan(1e-6);
      }
      x.dispose();
    });
  });

  it('end points: a SolverError naming r where the transform is singular', () => {
    // source velocity identically 0 at t = 0 (polynomial n = 2): dt = Infinity
    expectThrow(() => scheduleTransformCoeffs(polynomial(2), condOT(), 0), SolverError, 'r=0', 'singular', 'polynomial(n=2) -> condot');
    // target with an infinite derivative at the data end
    expectThrow(() => scheduleTransformCoeffs(condOT(), vp(), 1), SolverError, 'r=1', 'singular');
    expectThrow(() => scheduleTransformCoeffs(condOT(), linearVP(), 1), SolverError, 'r=1');
    // VE never reaches snr = 0
    expectThrow(() => scheduleTransformCoeffs(ve(), condOT(), 0), SolverError, 'outside the source');
    // VP's snr at t = 0 is > 0, so condot's r = 0 is outside it too (and vp.snrInverse(0) must not slip through as NaN)
    expectThrow(() => scheduleTransformCoeffs(vp(), condOT(), 0), SolverError, 'r=0');
    const e = expectThrow(() => scheduleTransformCoeffs(condOT(), cosine(), 1.5), ConfigError);
    expect((e as ConfigError).field).toBe('r');
  });
});
