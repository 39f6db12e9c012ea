/**
 * Time grids of the probability-flow ODE between a noise-side time t0 and a data-side time t1
 * (0 <= t0 < t1 <= 1), shared by likelihood (t1 -> t0), encode (t1 -> t0) and decode (t0 -> t1).
 *
 * The names follow the path, not the direction of travel: t0 is always the noise end and t1 the
 * data end, whichever way the ODE runs. (integrateField's t0/t1 are start/end instead.)
 */
import { ConfigError } from '../errors';
import { checkTimeGrid, uniformGrid } from '../solver/ode';
import type { OdeMethod } from '../solver/types';

/** Grid options: either `timeGrid`, or the ends t0/t1 with optional `steps`. */
export interface PathGridOptions {
  /** Explicit strictly monotone times in the direction of travel; excludes t0, t1, steps. */
  timeGrid?: number[];
  /** Intervals of a uniform grid (fixed-step methods: exactly this many steps). */
  steps?: number;
  /** Noise-side end (default 0). */
  t0?: number;
  /** Data-side end (default 1). */
  t1?: number;
}

/**
 * The grid of one solve. 'toNoise' gives t1 -> t0 (decreasing), 'toData' t0 -> t1 (increasing).
 * Without `steps`, dopri5 gets just the two ends (it picks its own steps); fixed-step methods
 * require `steps` or `timeGrid`, so the number of steps taken is always the one asked for.
 *
 * @throws ConfigError naming the option at fault.
 */
export function pathGrid(opts: PathGridOptions, method: OdeMethod, direction: 'toNoise' | 'toData'): number[] {
  const want = direction === 'toNoise' ? -1 : 1;
  if (opts.timeGrid !== undefined) {
    if (opts.steps !== undefined || opts.t0 !== undefined || opts.t1 !== undefined) {
      throw new ConfigError('timeGrid', 'give either timeGrid or t0/t1/steps, not both');
    }
    if (checkTimeGrid(opts.timeGrid) !== want) {
      throw new ConfigError(
        'timeGrid',
        direction === 'toNoise' ? 'must decrease (data at t1 -> noise at t0)' : 'must increase (noise at t0 -> data at t1)',
      );
    }
    return opts.timeGrid;
  }
  const t0 = opts.t0 ?? 0;
  const t1 = opts.t1 ?? 1;
  if (!(t0 >= 0 && t0 <= 1)) throw new ConfigError('t0', `must be in [0, 1], got ${t0}`);
  if (!(t1 >= 0 && t1 <= 1)) throw new ConfigError('t1', `must be in [0, 1], got ${t1}`);
  if (!(t0 < t1)) throw new ConfigError('t0', `must be below t1 (noise end before data end), got t0 = ${t0}, t1 = ${t1}`);
  const [a, b] = direction === 'toNoise' ? [t1, t0] : [t0, t1];
  if (opts.steps === undefined) {
    if (method !== 'dopri5') throw new ConfigError('steps', `required for the fixed-step method '${method}' (or give timeGrid)`);
    return [a, b];
  }
  return uniformGrid(a, b, opts.steps);
}
