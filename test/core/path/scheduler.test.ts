import { describe, it, expect } from 'vitest';
import { ConfigError } from '../../../core/errors';
import {
  condOT,
  cosine,
  linearVP,
  makeScheduler,
  polynomial,
  sourceScale,
  ve,
  subVP,
  vp,
  type Scheduler,
  type SchedulerSpec,
} from '../../../core/path/scheduler';
import { SCHEDULERS } from './fixtures';

/** Five-point central difference, error O(h^4). */
function fd(f: (t: number) => number, t: number, h: number): number {
  return (f(t - 2 * h) - 8 * f(t - h) + 8 * f(t + h) - f(t + 2 * h)) / (12 * h);
}

const INTERIOR = Array.from({ length: 49 }, (_, i) => 0.01 + (0.98 * i) / 48);

describe('scheduler derivatives match finite differences (float64)', () => {
  for (const [name, s] of SCHEDULERS) {
    it(name, () => {
      let worst = 0;
      for (const t of INTERIOR) {
        const h = Math.min(1e-4, Math.min(t, 1 - t) / 8);
        const c = s.coeffs(t);
        const fa = fd((u) => s.coeffs(u).alpha, t, h);
        const fs = fd((u) => s.coeffs(u).sigma, t, h);
        // relative, with a floor so that derivatives near 0 (polynomial n=2 at small t) are compared absolutely
        worst = Math.max(worst, Math.abs(c.dAlpha - fa) / Math.max(1e-3, Math.abs(fa)));
        worst = Math.max(worst, Math.abs(c.dSigma - fs) / Math.max(1e-3, Math.abs(fs)));
      }
      expect(worst).toBeLessThan(1e-6);
    });
  }
});

describe('scheduler boundary values', () => {
  const h = Math.PI / 2;
  // expected [alpha_0, sigma_0, alpha_1, sigma_1] from the closed forms in docs/formulas.md, "Schedulers"
  const T0 = 0.5 * (20 - 0.1) + 0.1; // VP: T(t=0) = (1/2)(B - b) + b
  const cases: Array<[string, Scheduler, [number, number, number, number]]> = [
    ['condot', condOT(), [0, 1, 1, 0]],
    ['condot sigmaMin', condOT(0.05), [0, 1, 1, 0.05]],
    ['polynomial 2', polynomial(2), [0, 1, 1, 0]],
    ['polynomial 0.5', polynomial(0.5), [0, 1, 1, 0]],
    ['cosine', cosine(), [0, 1, 1, 0]],
    ['linear-vp', linearVP(), [0, 1, 1, 0]],
    ['vp', vp(), [Math.exp(-T0 / 2), Math.sqrt(1 - Math.exp(-T0)), 1, 0]],
    // sub-VP: the same T as VP, sigma = 1 - exp(-T) (score-SDE's sub-VP standard deviation)
    ['sub-vp', subVP(), [Math.exp(-T0 / 2), 1 - Math.exp(-T0), 1, 0]],
    ['ve', ve(), [1, 50, 1, 0.01]],
  ];
  for (const [name, s, [a0, s0, a1, s1]] of cases) {
    it(name, () => {
      const c0 = s.coeffs(0);
      const c1 = s.coeffs(1);
      expect(c0.alpha).toBeCloseTo(a0, 14);
      expect(c0.sigma).toBeCloseTo(s0, 12);
      expect(c1.alpha).toBeCloseTo(a1, 14);
      expect(c1.sigma).toBeCloseTo(s1, 14);
      expect(sourceScale(s)).toBe(c0.sigma);
    });
  }
  it('derivatives at the ends: finite where the formulas are, infinite where they blow up', () => {
    const c = condOT(0.05).coeffs(1);
    expect([c.alpha, c.dAlpha, c.dSigma]).toEqual([1, 1, -0.95]);
    expect(c.sigma).toBeCloseTo(0.05, 15);
    expect(polynomial(2).coeffs(0).dAlpha).toBe(0);
    expect(polynomial(0.5).coeffs(0).dAlpha).toBe(Infinity);
    expect(polynomial(1).coeffs(0).dAlpha).toBe(1);
    expect(cosine().coeffs(0).dAlpha).toBeCloseTo(h, 14);
    expect(linearVP().coeffs(1).dSigma).toBe(-Infinity);
    expect(vp().coeffs(1).dSigma).toBe(-Infinity);
    // sub-VP's sigma = 1 - exp(-T) ~ T ~ betaMin u near the data: its derivative stays finite there.
    expect(subVP().coeffs(1).dSigma).toBeCloseTo(-0.1, 15);
    expect(subVP(0.1, 5).coeffs(1).dAlpha).toBeCloseTo(0.05, 15);
    expect(ve().coeffs(0.3).dAlpha).toBe(0);
  });
});

describe('snr and snrInverse', () => {
  for (const [name, s] of SCHEDULERS) {
    it(`${name}: snr increases and snrInverse(snr(t)) = t`, () => {
      let prev = -Infinity;
      for (const t of INTERIOR) {
        const c = s.coeffs(t);
        const snr = c.alpha / c.sigma;
        expect(snr).toBeGreaterThan(prev);
        prev = snr;
        expect(Math.abs(s.snrInverse(snr) - t)).toBeLessThan(1e-10);
      }
    });
  }
  it('snr 0 and Infinity map to the ends where the scheduler reaches them', () => {
    for (const s of [condOT(), polynomial(2), polynomial(0.5), cosine(), linearVP()]) {
      expect(s.snrInverse(0)).toBe(0);
      expect(s.snrInverse(Infinity)).toBe(1);
    }
    expect(vp().snrInverse(Infinity)).toBe(1);
    expect(subVP().snrInverse(Infinity)).toBe(1);
    expect(subVP().snrInverse(0)).toBe(0);
    expect(ve().snrInverse(0)).toBe(0); // clamped: VE's snr never goes below 1/sigmaMax
    expect(ve().snrInverse(Infinity)).toBe(1);
  });
  // Regression: log1p(1/0) = Infinity made Infinity/Infinity = NaN before the r <= 0 guard.
  it('vp.snrInverse(0) clamps to 0', () => {
    expect(vp().snrInverse(0)).toBe(0);
  });
  it('condot(sigmaMin).snrInverse clamps above the snr it can reach', () => {
    const s = condOT(0.1);
    expect(s.snrInverse(1e6)).toBeLessThanOrEqual(1);
    expect(s.snrInverse(20)).toBe(1);
  });
});

describe('makeScheduler', () => {
  it('round trips every spec', () => {
    for (const [, s] of SCHEDULERS) {
      const again = makeScheduler(s.spec);
      expect(again.spec).toEqual(s.spec);
      for (const t of [0, 0.25, 0.5, 0.9, 1]) expect(again.coeffs(t)).toEqual(s.coeffs(t));
      // and through JSON, as the run store keeps it
      expect(makeScheduler(JSON.parse(JSON.stringify(s.spec)) as SchedulerSpec).spec).toEqual(s.spec);
    }
  });
  it('fills defaults', () => {
    expect(makeScheduler({ kind: 'vp' }).spec).toEqual({ kind: 'vp', betaMin: 0.1, betaMax: 20 });
    expect(makeScheduler({ kind: 've' }).spec).toEqual({ kind: 've', sigmaMin: 0.01, sigmaMax: 50 });
    expect(makeScheduler({ kind: 'condot', sigmaMin: 0 }).spec).toEqual({ kind: 'condot' });
  });
  it('bad specs throw ConfigError naming the field', () => {
    const bad: Array<[unknown, string]> = [
      [{ kind: 'condot', sigmaMin: -0.1 }, 'scheduler.sigmaMin'],
      [{ kind: 'condot', sigmaMin: 1 }, 'scheduler.sigmaMin'],
      [{ kind: 'condot', sigmaMin: Number.NaN }, 'scheduler.sigmaMin'],
      [{ kind: 'polynomial', n: 0 }, 'scheduler.n'],
      [{ kind: 'polynomial', n: -2 }, 'scheduler.n'],
      [{ kind: 'polynomial', n: Infinity }, 'scheduler.n'],
      [{ kind: 'polynomial' }, 'scheduler.n'],
      [{ kind: 'vp', betaMin: 0 }, 'scheduler.betaMin'],
      [{ kind: 'vp', betaMin: 1, betaMax: 0.5 }, 'scheduler.betaMax'],
      [{ kind: 've', sigmaMin: 0 }, 'scheduler.sigmaMin'],
      [{ kind: 've', sigmaMin: 1, sigmaMax: 1 }, 'scheduler.sigmaMax'],
      [{ kind: 'linear' }, 'scheduler.kind'],
      [{}, 'scheduler.kind'],
    ];
    for (const [spec, field] of bad) {
      let err: unknown;
      try {
        makeScheduler(spec as SchedulerSpec);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(spec)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(field);
      expect((err as ConfigError).message.startsWith(`${field}: `)).toBe(true);
    }
  });
});
