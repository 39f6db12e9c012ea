/**
 * The ODE solver contract. Implementations live in ode.ts; likelihood and inversion build on it.
 *
 * A state is a list of tensors integrated jointly (e.g. [x, logp] for likelihoods), so adaptive
 * solvers control the error of the whole state. Times may run forwards (0 -> 1, sampling) or
 * backwards (1 -> 0, inversion and likelihood).
 */
import type { Tensor } from '../tf';
import type { AbortLike, StepInfo } from '../field';

export type OdeState = Tensor[];
/** Time derivative of the state: returns new tensors (same shapes); must not dispose its inputs. */
export type OdeFunction = (t: number, state: OdeState) => OdeState;

export { FIXED_STEP_METHODS, ODE_METHODS, type FixedStepMethod, type OdeMethod } from '../catalog';
import type { OdeMethod } from '../catalog';

/**
 * Step control shared by every routine that runs an ODE solve (sampling, inversion, likelihood):
 * tolerances and budget of the adaptive solver, cancellation and progress.
 */
export interface SolverControls {
  /** dopri5 only: relative and absolute tolerance (defaults 1e-5, 1e-5). */
  rtol?: number;
  atol?: number;
  /** dopri5 only: first step size (default: chosen by the Hairer-Norsett-Wanner heuristic). */
  firstStep?: number;
  /** dopri5 only: give up after this many attempted steps (default 10000). */
  maxSteps?: number;
  /** Checked before every step; a set `aborted` throws CancelledError and frees all tensors. */
  signal?: AbortLike;
  /** Called after every accepted step. */
  onStep?: (info: StepInfo) => void;
}

/** The SolverControls fields of `o` (and only those), to pass on to odeSolve. */
export function solverControls(o: SolverControls): SolverControls {
  return { rtol: o.rtol, atol: o.atol, firstStep: o.firstStep, maxSteps: o.maxSteps, signal: o.signal, onStep: o.onStep };
}

export interface OdeOptions extends SolverControls {
  method: OdeMethod;
  /**
   * Times to integrate over, strictly monotone (increasing or decreasing), at least two.
   * Fixed-step methods take exactly one step per interval. dopri5 picks its own steps between the
   * first and last time and reports the state at every grid time (interpolated by stepping exactly
   * onto them).
   */
  timeGrid: number[];
  /** Keep the state at every grid time (fixed step: every step) in `trajectory`. */
  returnTrajectory?: boolean;
}

export interface OdeResult {
  /** State at the last grid time. Caller owns and disposes. */
  state: OdeState;
  /** Number of evaluations of the ODE function. */
  nfe: number;
  /** Accepted steps (fixed step: grid intervals). */
  steps: number;
  /** dopri5: rejected steps; fixed step: 0. */
  rejected: number;
  /** With returnTrajectory: the state at every time of `times` (first entry = the initial state, cloned). */
  trajectory?: OdeState[];
  /** The times of `trajectory` (the grid). */
  times: number[];
}
