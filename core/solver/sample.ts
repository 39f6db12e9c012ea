/**
 * Integrating a velocity field: the one call behind sampling (noise -> data, t: 0 -> 1) and
 * inversion (data -> noise, t: 1 -> 0) through the probability-flow ODE dx/dt = v(x, t).
 */
import { tf, type Tensor } from '../tf';
import type { VelocityField } from '../field';
import { ConfigError } from '../errors';
import { odeSolve, uniformGrid } from './ode';
import { solverControls, type OdeMethod, type SolverControls } from './types';

/**
 * Options of `integrateField`. The times come either from `timeGrid` or from `t0`, `t1`, `steps`
 * (a uniform grid), never both.
 */
export interface IntegrateOptions extends SolverControls {
  /** Solver (default 'euler'). Fixed-step methods take exactly `steps` steps. */
  method?: OdeMethod;
  /** Explicit times, strictly monotone; increasing samples, decreasing inverts. */
  timeGrid?: number[];
  /** Start time of the uniform grid (default 0). */
  t0?: number;
  /** End time of the uniform grid (default 1). */
  t1?: number;
  /**
   * Intervals of the uniform grid. Required for fixed-step methods; for 'dopri5' it only sets the
   * output times (default: just t0 and t1) and the solver picks its own steps in between.
   */
  steps?: number;
  /** Conditioning passed unchanged to every field call (class labels [batch], ...). */
  cond?: Tensor;
  /** Keep x at every grid time in `trajectory`. */
  returnTrajectory?: boolean;
}

/** What `integrateField` returns. */
export interface IntegrateResult {
  /** x at the last time, same shape as the input. Caller owns and disposes. */
  x: Tensor;
  /** Field evaluations. */
  nfe: number;
  /** Accepted steps (fixed step: grid intervals). */
  steps: number;
  /** dopri5: rejected steps; fixed step: 0. */
  rejected: number;
  /** With returnTrajectory: x at every entry of `times` (first = a copy of the input). Caller owns. */
  trajectory?: Tensor[];
  /** The grid integrated over. */
  times: number[];
}

/**
 * Resolves the time grid of an options object that carries either `timeGrid` or `t0`/`t1`/`steps`.
 * `stepsRequired` says whether a missing `steps` is an error (fixed-step solvers) or means a single
 * interval (adaptive solvers, whose grid lists output times only).
 */
export function resolveTimeGrid(
  opts: { timeGrid?: number[]; t0?: number; t1?: number; steps?: number },
  stepsRequired: boolean,
  defaults: { t0: number; t1: number } = { t0: 0, t1: 1 },
): number[] {
  if (opts.timeGrid !== undefined) {
    if (opts.steps !== undefined || opts.t0 !== undefined || opts.t1 !== undefined) {
      throw new ConfigError('timeGrid', 'give either timeGrid or t0/t1/steps, not both');
    }
    return opts.timeGrid;
  }
  const t0 = opts.t0 ?? defaults.t0;
  const t1 = opts.t1 ?? defaults.t1;
  if (opts.steps === undefined) {
    if (stepsRequired) throw new ConfigError('steps', 'required (or give timeGrid): fixed-step solvers take exactly one step per interval');
    return uniformGrid(t0, t1, 1);
  }
  return uniformGrid(t0, t1, opts.steps);
}

/**
 * Integrates dx/dt = v(x, t, cond) for a batch x [batch, ...dims].
 *
 * Sampling: x ~ sigma_0 N(0, I) at t = 0, grid 0 -> 1, result ~ data. Inversion: x = data at t = 1,
 * grid 1 -> 0 (e.g. `{ t0: 1, t1: 0, steps }`), result = the encoding noise.
 *
 * @example
 * const { x: samples, nfe } = integrateField(model, noise, { method: 'heun', steps: 20 }); // nfe = 40
 * const { x: z } = integrateField(model, samples, { method: 'dopri5', t0: 1, t1: 0, rtol: 1e-5 });
 *
 * `x` is not disposed; `x` of the result and the trajectory entries are new tensors the caller owns.
 * Errors, cancellation and accounting are those of `odeSolve`.
 */
export function integrateField(field: VelocityField, x: Tensor, opts: IntegrateOptions = {}): IntegrateResult {
  if (!(x instanceof tf.Tensor)) throw new ConfigError('x', `must be a tensor, got ${typeof x}`);
  const method = opts.method ?? 'euler';
  const timeGrid = resolveTimeGrid(opts, method !== 'dopri5');
  const cond = opts.cond;
  const res = odeSolve((t, [xt]) => [field(xt!, t, cond)], [x], {
    method,
    timeGrid,
    ...solverControls(opts),
    returnTrajectory: opts.returnTrajectory,
  });
  const out: IntegrateResult = { x: res.state[0]!, nfe: res.nfe, steps: res.steps, rejected: res.rejected, times: res.times };
  if (res.trajectory) out.trajectory = res.trajectory.map((s) => s[0]!);
  return out;
}
