/**
 * Schedulers of affine probability paths, in Flow Studio's convention:
 * noise x0 ~ N(0, I) at t = 0, data x1 at t = 1, x_t = alpha_t x1 + sigma_t x0.
 *
 * Every scheduler is evaluated in float64 on the host: time values are few (one per sample or per
 * solver step), and float64 keeps derivative and conversion tests exact to ~1e-12. Tensors receive the
 * resulting coefficients as scalars or [batch] vectors.
 *
 * snr(t) = alpha_t / sigma_t increases strictly with t; `snrInverse` is its inverse, used to move a
 * model trained under one scheduler to another (see transform.ts).
 */
import { ConfigError } from '../errors';
import { SCHEDULER_KINDS, type SchedulerKind } from '../catalog';
import type { Check, SameSet } from '../util/types';

/** The scheduler's values at one time: alpha_t, sigma_t and their time derivatives. */
export interface SchedulerCoeffs {
  readonly alpha: number;
  readonly sigma: number;
  readonly dAlpha: number;
  readonly dSigma: number;
}

/** Serialisable description of a scheduler (what configs and the run store keep). */
export type SchedulerSpec =
  | { kind: 'condot'; sigmaMin?: number }
  | { kind: 'polynomial'; n: number }
  | { kind: 'cosine' }
  | { kind: 'linear-vp' }
  | { kind: 'vp'; betaMin?: number; betaMax?: number }
  | { kind: 'sub-vp'; betaMin?: number; betaMax?: number }
  | { kind: 've'; sigmaMin?: number; sigmaMax?: number };

export { SCHEDULER_KINDS, type SchedulerKind } from '../catalog';
// The spec's kinds are exactly the catalog's: a kind added to one and not the other fails to compile.
export type SchedulerKindsAgree = Check<SameSet<SchedulerSpec['kind'], SchedulerKind>>;

export interface Scheduler {
  readonly spec: SchedulerSpec;
  /** alpha, sigma and their derivatives at t in [0, 1]. */
  coeffs(t: number): SchedulerCoeffs;
  /** The t in [0, 1] with alpha_t / sigma_t = snr (snr >= 0; Infinity maps to the data end). */
  snrInverse(snr: number): number;
}

/**
 * CondOT (rectified flow / I-CFM): alpha = t, sigma = 1 - (1 - sigma_min) t.
 * sigma_min = 0 is flow_matching's CondOTScheduler; sigma_min > 0 is Lipman et al.'s OT path.
 */
export function condOT(sigmaMin = 0): Scheduler {
  if (!(sigmaMin >= 0 && sigmaMin < 1)) throw new ConfigError('scheduler.sigmaMin', `must be in [0, 1), got ${sigmaMin}`);
  const k = 1 - sigmaMin;
  return {
    spec: sigmaMin === 0 ? { kind: 'condot' } : { kind: 'condot', sigmaMin },
    coeffs: (t) => ({ alpha: t, sigma: 1 - k * t, dAlpha: 1, dSigma: -k }),
    // t / (1 - k t) = r  =>  t = r / (1 + k r)
    snrInverse: (r) => (r === Infinity ? 1 : Math.min(1, r / (1 + k * r))),
  };
}

/** Polynomial: alpha = t^n, sigma = 1 - t^n (n > 0). */
export function polynomial(n: number): Scheduler {
  if (!(n > 0 && Number.isFinite(n))) throw new ConfigError('scheduler.n', `must be a positive number, got ${n}`);
  return {
    spec: { kind: 'polynomial', n },
    coeffs: (t) => {
      const tn = t ** n;
      const d = t === 0 ? (n === 1 ? 1 : n < 1 ? Infinity : 0) : n * t ** (n - 1);
      return { alpha: tn, sigma: 1 - tn, dAlpha: d, dSigma: -d };
    },
    // t^n / (1 - t^n) = r  =>  t^n = r / (1 + r)
    snrInverse: (r) => (r === Infinity ? 1 : (r / (1 + r)) ** (1 / n)),
  };
}

/** Cosine: alpha = sin(pi t / 2), sigma = cos(pi t / 2). */
export function cosine(): Scheduler {
  const h = Math.PI / 2;
  return {
    spec: { kind: 'cosine' },
    coeffs: (t) => ({
      alpha: Math.sin(h * t),
      // cos(pi/2) is 6e-17 in float64; the path ends exactly at the data.
      sigma: t === 1 ? 0 : Math.cos(h * t),
      dAlpha: t === 1 ? 0 : h * Math.cos(h * t),
      dSigma: -h * Math.sin(h * t),
    }),
    // tan(pi t / 2) = r  =>  t = 2 atan(r) / pi
    snrInverse: (r) => (2 / Math.PI) * Math.atan(r),
  };
}

/** Linear variance preserving: alpha = t, sigma = sqrt(1 - t^2). */
export function linearVP(): Scheduler {
  return {
    spec: { kind: 'linear-vp' },
    coeffs: (t) => {
      const sigma = Math.sqrt(Math.max(0, 1 - t * t));
      return { alpha: t, sigma, dAlpha: 1, dSigma: sigma === 0 ? -Infinity : -t / sigma };
    },
    // t / sqrt(1 - t^2) = r  =>  t = r / sqrt(1 + r^2)
    snrInverse: (r) => (r === Infinity ? 1 : r / Math.sqrt(1 + r * r)),
  };
}

/**
 * VP (score-SDE variance preserving) in reversed time, u = 1 - t:
 * T(t) = (1/2) u^2 (B - b) + u b,  alpha = exp(-T/2),  sigma = sqrt(1 - exp(-T)).
 * dT/dt = -(u (B - b) + b);  dalpha = -(1/2) T' alpha;  dsigma = exp(-T) T' / (2 sigma).
 * sigma -> 0 at t = 1, where dsigma is infinite (like sigma ~ sqrt(b u)); the velocity itself stays
 * finite because it only involves sigma * dsigma.
 */
export function vp(betaMin = 0.1, betaMax = 20): Scheduler {
  if (!(betaMin > 0)) throw new ConfigError('scheduler.betaMin', `must be > 0, got ${betaMin}`);
  if (!(betaMax > betaMin)) throw new ConfigError('scheduler.betaMax', `must be > betaMin (${betaMin}), got ${betaMax}`);
  const b = betaMin;
  const db = betaMax - betaMin;
  return {
    spec: { kind: 'vp', betaMin, betaMax },
    coeffs: (t) => {
      const u = 1 - t;
      const T = 0.5 * u * u * db + u * b;
      const dT = -(u * db + b);
      const e = Math.exp(-T);
      const alpha = Math.exp(-0.5 * T);
      // 1 - exp(-T) loses digits for small T: use -expm1(-T).
      const sigma = Math.sqrt(-Math.expm1(-T));
      return { alpha, sigma, dAlpha: -0.5 * dT * alpha, dSigma: sigma === 0 ? -Infinity : (e * dT) / (2 * sigma) };
    },
    // alpha^2 / sigma^2 = r^2  =>  exp(-T) = r^2 / (1 + r^2)  =>  T = log(1 + 1 / r^2);
    // then (1/2) db u^2 + b u - T = 0  =>  u = (sqrt(b^2 + 2 db T) - b) / db.
    snrInverse: (r) => {
      if (r === Infinity) return 1;
      if (r <= 0) return 0;
      const T = Math.log1p(1 / (r * r));
      const u = (2 * T) / (Math.sqrt(b * b + 2 * db * T) + b); // rationalised form, exact near T = 0
      return Math.min(1, Math.max(0, 1 - u));
    },
  };
}

/**
 * sub-VP (score-SDE's sub-variance-preserving SDE) in reversed time u = 1 - t, with VP's T(t):
 * alpha = exp(-T/2) (VP's mean), sigma = 1 - exp(-T) (the square of VP's sigma, so sigma_subVP <=
 * sigma_VP). dalpha = -(1/2) T' alpha; dsigma = exp(-T) T', finite at t = 1 (-betaMin there), where
 * VP's is infinite.
 */
export function subVP(betaMin = 0.1, betaMax = 20): Scheduler {
  if (!(betaMin > 0)) throw new ConfigError('scheduler.betaMin', `must be > 0, got ${betaMin}`);
  if (!(betaMax > betaMin)) throw new ConfigError('scheduler.betaMax', `must be > betaMin (${betaMin}), got ${betaMax}`);
  const b = betaMin;
  const db = betaMax - betaMin;
  return {
    spec: { kind: 'sub-vp', betaMin, betaMax },
    coeffs: (t) => {
      const u = 1 - t;
      const T = 0.5 * u * u * db + u * b;
      const dT = -(u * db + b);
      const e = Math.exp(-T);
      return { alpha: Math.exp(-0.5 * T), sigma: -Math.expm1(-T), dAlpha: -0.5 * dT * Math.exp(-0.5 * T), dSigma: e * dT };
    },
    // y = exp(-T/2) in (0, 1]: y / (1 - y^2) = r  =>  r y^2 + y - r = 0  =>  y = 2r / (1 + sqrt(1 + 4 r^2));
    // then T = -2 log y = 2 log(1/y) and u as for VP.
    snrInverse: (r) => {
      if (r === Infinity) return 1;
      if (r <= 0) return 0;
      // log(1/y) = log((1 + sqrt(1 + 4 r^2)) / (2 r)) = asinh(1 / (2 r)), exact for large and small r.
      const T = 2 * Math.asinh(1 / (2 * r));
      const u = (2 * T) / (Math.sqrt(b * b + 2 * db * T) + b);
      return Math.min(1, Math.max(0, 1 - u));
    },
  };
}

/**
 * VE (variance exploding, geometric): alpha = 1, sigma = sigma_min (sigma_max / sigma_min)^(1 - t).
 * At t = 0 the marginal is x1 + sigma_max x0, close to N(0, sigma_max^2 I) when sigma_max is large
 * against the data; samplers start from sigma_max x0 (see `sourceScale`).
 * dsigma = -sigma log(sigma_max / sigma_min).
 */
export function ve(sigmaMin = 0.01, sigmaMax = 50): Scheduler {
  if (!(sigmaMin > 0)) throw new ConfigError('scheduler.sigmaMin', `must be > 0, got ${sigmaMin}`);
  if (!(sigmaMax > sigmaMin)) throw new ConfigError('scheduler.sigmaMax', `must be > sigmaMin (${sigmaMin}), got ${sigmaMax}`);
  const L = Math.log(sigmaMax / sigmaMin);
  return {
    spec: { kind: 've', sigmaMin, sigmaMax },
    coeffs: (t) => {
      const sigma = sigmaMin * Math.exp(L * (1 - t));
      return { alpha: 1, sigma, dAlpha: 0, dSigma: -L * sigma };
    },
    // 1 / sigma = r  =>  1 - t = log(1 / (r sigma_min)) / L, clamped to the path's range.
    snrInverse: (r) => Math.min(1, Math.max(0, 1 - Math.log(1 / (r * sigmaMin)) / L)),
  };
}

/** Builds a scheduler from its serialisable spec. */
export function makeScheduler(spec: SchedulerSpec): Scheduler {
  switch (spec.kind) {
    case 'condot':
      return condOT(spec.sigmaMin ?? 0);
    case 'polynomial':
      return polynomial(spec.n);
    case 'cosine':
      return cosine();
    case 'linear-vp':
      return linearVP();
    case 'vp':
      return vp(spec.betaMin ?? 0.1, spec.betaMax ?? 20);
    case 'sub-vp':
      return subVP(spec.betaMin ?? 0.1, spec.betaMax ?? 20);
    case 've':
      return ve(spec.sigmaMin ?? 0.01, spec.sigmaMax ?? 50);
    default: {
      const kind = (spec as { kind?: unknown }).kind;
      throw new ConfigError('scheduler.kind', `unknown scheduler '${String(kind)}'; allowed: ${SCHEDULER_KINDS.join(', ')}`);
    }
  }
}

/**
 * Scale of the source distribution: the sampler's x at t = 0 is sigma_0 * N(0, I). Exact when
 * alpha_0 = 0 (all schedulers here but VE, where it is the usual large-sigma approximation).
 */
export function sourceScale(s: Scheduler): number {
  return s.coeffs(0).sigma;
}
