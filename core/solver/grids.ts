/**
 * Time grids for samplers, in Flow Studio's time (noise at t = 0, data at t = 1), for any affine
 * scheduler. Non-uniform grids are defined on the noise level rho(t) = sigma_t / alpha_t (EDM's
 * sigma: the path x_t / alpha_t = x1 + rho x0 is EDM's variance-exploding one) and mapped back to t
 * through the scheduler's `snrInverse(1 / rho)`:
 *
 *   uniform  t_i = t0 + (t1 - t0) i / N
 *   karras   rho_i = (rho_hi^(1/r) + (i / (K - 1)) (rho_lo^(1/r) - rho_hi^(1/r)))^r,   r = 7  (Karras et al. 2022, eq. 5)
 *   logsnr   lambda_i = lambda_lo + (i / (K - 1)) (lambda_hi - lambda_lo),   lambda = log(alpha / sigma) = -log rho
 *            (DPM-Solver's "logSNR" steps, Lu et al. 2022)
 *
 * The noise range is the scheduler's own, clamped to [RHO_MIN, RHO_MAX] = [0.002, 80] (EDM's
 * sigma_min and sigma_max): rho_hi = min(rho(t0), 80), rho_lo = max(rho(t1), 0.002). Where the
 * scheduler goes beyond (rho = Infinity at alpha = 0, rho = 0 at sigma = 0, as for every scheduler
 * but VE), the end itself is added as an extra grid time, so the grid always runs from t0 to t1 in N
 * steps: K = N + 1 - (number of ends added) points follow the schedule.
 */
import { ConfigError } from '../errors';
import { isOneOf, TIME_GRIDS, type TimeGridKind } from '../catalog';
import type { Scheduler } from '../path/scheduler';
import { uniformGrid } from './ode';

export { TIME_GRIDS, type TimeGridKind } from '../catalog';

/** EDM's noise range (Karras et al. 2022, Table 1): where the non-uniform grids are laid out. */
export const RHO_MIN = 0.002;
export const RHO_MAX = 80;
/** EDM's rho of the Karras schedule. */
export const KARRAS_RHO = 7;

/** The noise level sigma / alpha at t (Infinity where alpha = 0, 0 where sigma = 0). */
export function noiseLevel(s: Scheduler, t: number): number {
  const c = s.coeffs(t);
  return c.alpha === 0 ? Infinity : c.sigma / c.alpha;
}

/** Options of `timeGrid`. */
export interface GridOptions {
  /** First and last time (default 0 and 1), t0 < t1. */
  t0?: number;
  t1?: number;
  /** The exponent of the Karras schedule (default 7). */
  rho?: number;
}

/**
 * `steps + 1` increasing times from t0 to t1 laid out by `kind` (module comment).
 * @throws ConfigError naming 'grid', 'steps', 't0' or 't1'.
 */
export function timeGrid(kind: TimeGridKind, scheduler: Scheduler, steps: number, opts: GridOptions = {}): number[] {
  if (!isOneOf(TIME_GRIDS, kind)) throw new ConfigError('grid', `unknown time grid '${String(kind)}'; allowed: ${TIME_GRIDS.join(', ')}`);
  const t0 = opts.t0 ?? 0;
  const t1 = opts.t1 ?? 1;
  if (!(t0 >= 0 && t1 <= 1 && t0 < t1)) throw new ConfigError('t0', `a sampling grid needs 0 <= t0 < t1 <= 1, got t0=${t0}, t1=${t1}`);
  const grid = uniformGrid(t0, t1, steps); // checks steps
  if (kind === 'uniform') return grid;
  const r = opts.rho ?? KARRAS_RHO;
  if (!(r > 0 && Number.isFinite(r))) throw new ConfigError('rho', `must be a finite number > 0, got ${r}`);
  const rhoStart = noiseLevel(scheduler, t0);
  const rhoEnd = noiseLevel(scheduler, t1);
  const hi = Math.min(rhoStart, RHO_MAX);
  const lo = Math.max(rhoEnd, RHO_MIN);
  const addStart = rhoStart > hi;
  const addEnd = rhoEnd < lo;
  const k = steps + 1 - (addStart ? 1 : 0) - (addEnd ? 1 : 0);
  // One step with both ends added leaves no room for the schedule; a degenerate range has none either.
  if (k < 1 || !(hi > lo)) return grid;
  // Fractions along the schedule: 0 .. 1 for K >= 2; the middle for K = 1.
  const fr = (i: number): number => (k === 1 ? 0.5 : i / (k - 1));
  const level =
    kind === 'karras'
      ? (f: number): number => (hi ** (1 / r) + f * (lo ** (1 / r) - hi ** (1 / r))) ** r
      : (f: number): number => Math.exp(Math.log(hi) + f * (Math.log(lo) - Math.log(hi)));
  const times: number[] = [];
  if (addStart) times.push(t0);
  for (let i = 0; i < k; i++) {
    const rho = level(fr(i));
    // The ends of the schedule are the grid's ends when the scheduler reaches them exactly.
    if (i === 0 && !addStart) times.push(t0);
    else if (i === k - 1 && k > 1 && !addEnd) times.push(t1);
    else times.push(Math.min(t1, Math.max(t0, scheduler.snrInverse(1 / rho))));
  }
  if (addEnd) times.push(t1);
  for (let i = 1; i < times.length; i++) {
    if (!(times[i]! > times[i - 1]!)) {
      throw new ConfigError(
        'grid',
        `the ${kind} grid of ${steps} steps is not strictly increasing for scheduler '${scheduler.spec.kind}' between t=${times[i - 1]} and ${times[i]} (use more steps or the uniform grid)`,
      );
    }
  }
  return times;
}
