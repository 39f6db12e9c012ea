/**
 * ODE solvers over a state of several tensors: fixed-step explicit Runge-Kutta (Euler, midpoint,
 * Heun, RK4) and adaptive Dormand-Prince 5(4).
 *
 * Sampling integrates dx/dt = v(x, t) from t = 0 (noise) to t = 1 (data); inversion and likelihood
 * run the same ODE backwards, 1 -> 0. Both directions go through `odeSolve` with a grid in the
 * matching order.
 *
 * Memory: every step runs inside `tf.tidy`, so stage tensors (k_i, intermediate states) die with the
 * step. The solver owns its running state and disposes it as it advances; the caller's `y0` is never
 * disposed, and every tensor handed back (final state, trajectory entries) is new and owned by the
 * caller.
 *
 * Time is kept in float64 on the host; only the state lives in float32 tensors.
 */
import { tf, type Tensor } from '../tf';
import { CancelledError, ConfigError, ShapeError, SolverError } from '../errors';
import { isOneOf } from '../catalog';
import { ODE_METHODS, type FixedStepMethod, type OdeFunction, type OdeOptions, type OdeResult, type OdeState } from './types';

// ---------------------------------------------------------------------------------------------
// Butcher tableaux
// ---------------------------------------------------------------------------------------------

/**
 * An explicit Runge-Kutta tableau: stage i is evaluated at t + c[i] h on y + h sum_j a[i][j] k_j,
 * and the step is y + h sum_i b[i] k_i. `a[i]` lists the coefficients of k_0 .. k_{i-1}.
 */
interface ExplicitTableau {
  readonly c: readonly number[];
  readonly a: readonly (readonly number[])[];
  readonly b: readonly number[];
}

/**
 * The fixed-step tableaux (Hairer, Norsett & Wanner, "Solving ODEs I", sec. II.1):
 * - euler:    forward Euler, order 1, 1 evaluation per step.
 * - midpoint: explicit midpoint rule (Runge 1895), order 2, 2 evaluations.
 * - heun:     Heun's method = explicit trapezoid rule, order 2, 2 evaluations (what flow_matching
 *             and EDM call "heun").
 * - rk4:      the classical Runge-Kutta method (Kutta 1901), order 4, 4 evaluations.
 */
const FIXED_TABLEAUX: Readonly<Record<FixedStepMethod, ExplicitTableau>> = {
  euler: { c: [0], a: [[]], b: [1] },
  midpoint: { c: [0, 1 / 2], a: [[], [1 / 2]], b: [0, 1] },
  heun: { c: [0, 1], a: [[], [1]], b: [1 / 2, 1 / 2] },
  rk4: {
    c: [0, 1 / 2, 1 / 2, 1],
    a: [[], [1 / 2], [0, 1 / 2], [0, 0, 1]],
    b: [1 / 6, 1 / 3, 1 / 3, 1 / 6],
  },
};

/** Stage nodes c of a fixed-step method: its stage i is evaluated at t + c_i h (what a step costs, and when). */
export function stageNodes(method: FixedStepMethod): readonly number[] {
  return FIXED_TABLEAUX[method].c;
}

/**
 * Dormand & Prince (1980), "A family of embedded Runge-Kutta formulae", J. Comp. Appl. Math. 6:
 * the 7-stage pair RK5(4)7M, as tabulated in Hairer-Norsett-Wanner I, Table II.5.2.
 * The 5th-order weights b equal the last row of a, so k_7 = f(t + h, y_new) is the first stage of the
 * next step (FSAL: 6 new evaluations per attempted step). E = b - b_hat (b_hat the embedded 4th-order
 * weights) gives the local error estimate err = h sum_i E_i k_i.
 */
const DOPRI5 = {
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  ],
  // b_hat = [5179/57600, 0, 7571/16695, 393/640, -92097/339200, 187/2100, 1/40]
  e: [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40],
} as const;

// ---------------------------------------------------------------------------------------------
// Step-size controller constants (Hairer's DOPRI5 code defaults, re-derived here)
// ---------------------------------------------------------------------------------------------

/** Safety factor: aim for a step a bit smaller than the one that would just meet the tolerance. */
const SAFETY = 0.9;
/** Bounds on the step-size ratio h_new / h, so one odd error estimate cannot swing h wildly. */
const MIN_FACTOR = 0.2;
const MAX_FACTOR = 10;
/**
 * PI control (Gustafsson; HNW II, sec. IV.2): h_new = h * SAFETY * err^-(1/5 - 0.75 beta) * errOld^beta.
 * beta = 0.04 damps the oscillation between accepted and rejected steps that the plain
 * h err^(-1/5) rule shows when the step size is limited by stability rather than accuracy.
 */
const PI_BETA = 0.04;
const PI_EXPONENT = 1 / 5 - 0.75 * PI_BETA;
/** A step within this fraction past a grid time is stretched onto it (avoids a sliver step after). */
const STRETCH = 1.01;

const DEFAULT_RTOL = 1e-5;
const DEFAULT_ATOL = 1e-5;
const DEFAULT_MAX_STEPS = 10000;

// ---------------------------------------------------------------------------------------------
// Public helpers
// ---------------------------------------------------------------------------------------------

/**
 * `steps + 1` equally spaced times from t0 to t1 (either order), ending exactly on t1.
 *
 * @example uniformGrid(0, 1, 4) // [0, 0.25, 0.5, 0.75, 1]
 * @example uniformGrid(1, 0, 2) // [1, 0.5, 0]   (inversion / likelihood direction)
 * @throws ConfigError('steps') unless steps is a positive integer; ConfigError('t0' | 't1') for
 *   non-finite or equal end points.
 */
export function uniformGrid(t0: number, t1: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new ConfigError('steps', `must be a positive integer, got ${steps}`);
  if (!Number.isFinite(t0)) throw new ConfigError('t0', `must be a finite number, got ${t0}`);
  if (!Number.isFinite(t1)) throw new ConfigError('t1', `must be a finite number, got ${t1}`);
  if (t0 === t1) throw new ConfigError('t1', `must differ from t0 (both ${t0})`);
  const grid = new Array<number>(steps + 1);
  // t0 + (t1 - t0) * (i / steps) rather than repeated addition: no drift, and the last point is exact.
  for (let i = 0; i < steps; i++) grid[i] = t0 + (t1 - t0) * (i / steps);
  grid[steps] = t1;
  return grid;
}

/**
 * Checks that `grid` has at least two finite, strictly monotone times and returns the direction
 * (+1 forwards, -1 backwards).
 *
 * @param field name used in the error (default 'timeGrid').
 * @throws ConfigError naming `field`, the offending index and value.
 */
export function checkTimeGrid(grid: readonly number[], field = 'timeGrid'): 1 | -1 {
  if (!Array.isArray(grid)) throw new ConfigError(field, `must be an array of times, got ${typeof grid}`);
  if (grid.length < 2) throw new ConfigError(field, `needs at least 2 times, got ${grid.length}`);
  for (let i = 0; i < grid.length; i++) {
    const v = grid[i];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ConfigError(field, `${field}[${i}] must be a finite number, got ${String(v)}`);
  }
  const first = grid[0]!;
  const second = grid[1]!;
  if (first === second) throw new ConfigError(field, `must be strictly monotone; ${field}[1] = ${second} repeats ${field}[0]`);
  const dir: 1 | -1 = second > first ? 1 : -1;
  for (let i = 2; i < grid.length; i++) {
    const prev = grid[i - 1]!;
    const v = grid[i]!;
    if ((v - prev) * dir <= 0) {
      const order = dir > 0 ? 'increasing' : 'decreasing';
      throw new ConfigError(field, `must be strictly ${order} (as it starts); ${field}[${i}] = ${v} after ${prev}`);
    }
  }
  return dir;
}

// ---------------------------------------------------------------------------------------------
// The solver
// ---------------------------------------------------------------------------------------------

/**
 * Integrates dy/dt = f(t, y) over `opts.timeGrid`, for a state y made of several tensors
 * (e.g. [x, logp] for likelihoods: x [batch, ...dims], logp [batch]).
 *
 * Methods (see FIXED_TABLEAUX and DOPRI5 for the tableaux and their sources):
 * - 'euler' (order 1), 'midpoint' (2), 'heun' (2), 'rk4' (4): exactly one step per grid interval,
 *   so `steps === timeGrid.length - 1` and `nfe === steps * stages` (1, 2, 2, 4). No hidden substeps.
 * - 'dopri5': adaptive Dormand-Prince 5(4) with local extrapolation (the 5th-order solution is kept).
 *   A step is accepted when
 *     err = sqrt( mean over every element of every state tensor of (e / (atol + rtol max(|y|, |y_new|)))^2 ) <= 1,
 *   e the embedded error estimate. Steps land exactly on every grid time. Evaluations:
 *   nfe = 1 (f at t0) + 1 (first-step heuristic, unless `firstStep` is given) + 6 (accepted + rejected).
 *   One host read per attempted step (the error norm, reduced on the device first).
 *   The state is float32: global errors much below ~1e-6 (relative) are out of reach, so tolerances
 *   under ~1e-7 buy evaluations, not accuracy.
 *
 * Time may run forwards or backwards: the grid's order sets the direction.
 *
 * Ownership: `y0` is not disposed. `state` and every `trajectory` entry are new tensors the caller
 * disposes. On error or cancellation every tensor the solver made is freed before throwing.
 *
 * @throws ConfigError for a bad method, grid, tolerance or empty state; ShapeError when f returns
 *   tensors that do not match the state; SolverError when dopri5's step size underflows or
 *   `maxSteps` is exceeded; CancelledError when `signal.aborted` is seen before a step.
 */
export function odeSolve(f: OdeFunction, y0: OdeState, opts: OdeOptions): OdeResult {
  const method = opts.method;
  if (!isOneOf(ODE_METHODS, method)) {
    throw new ConfigError('method', `unknown ODE method '${String(method)}'; allowed: ${ODE_METHODS.join(', ')}`);
  }
  checkTimeGrid(opts.timeGrid);
  checkState(y0);
  const rtol = opts.rtol ?? DEFAULT_RTOL;
  const atol = opts.atol ?? DEFAULT_ATOL;
  checkPositive('rtol', rtol);
  checkPositive('atol', atol);
  if (opts.firstStep !== undefined) checkPositive('firstStep', opts.firstStep);
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new ConfigError('maxSteps', `must be a positive integer, got ${maxSteps}`);

  const grid = opts.timeGrid.slice(); // our copy: the caller may mutate theirs while we run
  const eval_ = makeEvaluator(f, y0);
  if (method === 'dopri5') return solveDopri5(eval_, y0, grid, { rtol, atol, maxSteps, firstStep: opts.firstStep }, opts);
  return solveFixed(eval_, y0, grid, FIXED_TABLEAUX[method], opts);
}

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

function checkPositive(field: string, v: number): void {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
    throw new ConfigError(field, `must be a finite number > 0, got ${String(v)}`);
}

function checkState(y0: OdeState): void {
  if (!Array.isArray(y0) || y0.length === 0) throw new ConfigError('state', 'must hold at least one tensor');
  y0.forEach((y, i) => {
    if (!(y instanceof tf.Tensor)) throw new ConfigError('state', `state[${i}] is not a tensor`);
    if (y.isDisposed) throw new ConfigError('state', `state[${i}] is already disposed`);
  });
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Evaluation counter + output check around the user's f. */
interface Evaluator {
  (t: number, y: OdeState): OdeState;
  readonly nfe: number;
}

function makeEvaluator(f: OdeFunction, y0: OdeState): Evaluator {
  const shapes = y0.map((y) => y.shape);
  let nfe = 0;
  const call = (t: number, y: OdeState): OdeState => {
    nfe++;
    const out = f(t, y);
    if (!Array.isArray(out) || out.length !== shapes.length) {
      throw new ShapeError(
        `ODE function must return ${shapes.length} tensor(s) (one per state entry); got ${Array.isArray(out) ? out.length : typeof out}`,
      );
    }
    return out.map((k, i) => {
      const want = shapes[i]!;
      if (!(k instanceof tf.Tensor) || !tf.util.arraysEqual(k.shape, want)) {
        const got = k instanceof tf.Tensor ? shapeText(k.shape) : typeof k;
        throw new ShapeError(`ODE function output ${i} must have shape ${shapeText(want)} like the state; got ${got}`);
      }
      // f may hand back one of its inputs (dy/dt = y). The solver disposes derivatives it keeps
      // across steps (FSAL), so give it a handle of its own rather than a second name for the state.
      return y.includes(k) ? tf.clone(k) : k;
    });
  };
  Object.defineProperty(call, 'nfe', { get: () => nfe });
  return call as Evaluator;
}

/** y + h sum_j coeffs[j] k_j, tensor by tensor; zero coefficients cost nothing. */
function combine(y: OdeState, ks: readonly OdeState[], coeffs: readonly number[], h: number): OdeState {
  return y.map((yi, i) => {
    let acc = yi;
    coeffs.forEach((c, j) => {
      if (c !== 0) acc = tf.add(acc, tf.mul(ks[j]![i]!, h * c));
    });
    return acc === yi ? tf.clone(yi) : acc;
  });
}

const disposeState = (s: OdeState | undefined): void => {
  if (s) tf.dispose(s);
};

interface Running {
  /** The solver's own current state (disposed as it advances). */
  y: OdeState;
  trajectory: OdeState[] | undefined;
}

function checkAbort(opts: OdeOptions): void {
  if (opts.signal?.aborted) throw new CancelledError('ODE solve');
}

function solveFixed(call: Evaluator, y0: OdeState, grid: number[], tab: ExplicitTableau, opts: OdeOptions): OdeResult {
  const run: Running = { y: y0.map((y) => tf.clone(y)), trajectory: opts.returnTrajectory ? [] : undefined };
  run.trajectory?.push(run.y.map((y) => tf.clone(y)));
  const t0 = grid[0]!;
  const span = grid[grid.length - 1]! - t0;
  try {
    for (let n = 0; n + 1 < grid.length; n++) {
      checkAbort(opts);
      const t = grid[n]!;
      const h = grid[n + 1]! - t;
      const y = run.y;
      const next = tf.tidy(() => {
        const ks: OdeState[] = [];
        for (let i = 0; i < tab.c.length; i++) {
          const a = tab.a[i]!;
          // Stage 0 (and any stage with an all-zero row) is evaluated on y itself: no copy.
          const yi = a.some((c) => c !== 0) ? combine(y, ks, a, h) : y;
          ks.push(call(t + tab.c[i]! * h, yi));
        }
        return combine(y, ks, tab.b, h);
      });
      disposeState(run.y);
      run.y = next;
      run.trajectory?.push(next.map((s) => tf.clone(s)));
      opts.onStep?.({ t: grid[n + 1]!, step: n + 1, nfe: call.nfe, progress: (grid[n + 1]! - t0) / span });
    }
  } catch (e) {
    disposeState(run.y);
    run.trajectory?.forEach(disposeState);
    throw e;
  }
  const result: OdeResult = { state: run.y, nfe: call.nfe, steps: grid.length - 1, rejected: 0, times: grid };
  if (run.trajectory) result.trajectory = run.trajectory;
  return result;
}

interface Dopri5Settings {
  rtol: number;
  atol: number;
  maxSteps: number;
  firstStep: number | undefined;
}

/**
 * Sum over all elements of all tensors of (num / (atol + rtol max(|a|, |b|)))^2, as a scalar tensor.
 * With b omitted, the scale uses |a| alone. Caller reads it once and divides by the element count.
 */
function sumSquaredScaled(num: OdeState, a: OdeState, b: OdeState | undefined, rtol: number, atol: number): Tensor {
  const sums = num.map((e, i) => {
    const ya = tf.abs(a[i]!);
    const mag = b ? tf.maximum(ya, tf.abs(b[i]!)) : ya;
    const scaled = tf.div(e, tf.add(tf.mul(mag, rtol), atol));
    return tf.sum(tf.square(scaled));
  });
  return sums.length === 1 ? sums[0]! : tf.addN(sums);
}

function solveDopri5(call: Evaluator, y0: OdeState, grid: number[], s: Dopri5Settings, opts: OdeOptions): OdeResult {
  const { rtol, atol, maxSteps } = s;
  const t0 = grid[0]!;
  const tEnd = grid[grid.length - 1]!;
  const span = tEnd - t0;
  const dir = Math.sign(span);
  const count = y0.reduce((n, y) => n + y.size, 0);
  // RMS norm of a state over its scale, read back as one host number.
  const rms = (sumSq: Tensor): number => {
    const v = sumSq.dataSync()[0]!;
    sumSq.dispose();
    return count === 0 ? 0 : Math.sqrt(v / count);
  };

  const run: Running = { y: y0.map((y) => tf.clone(y)), trajectory: opts.returnTrajectory ? [] : undefined };
  run.trajectory?.push(run.y.map((y) => tf.clone(y)));
  let k1: OdeState | undefined;
  let accepted = 0;
  let rejected = 0;
  try {
    checkAbort(opts);
    const y = run.y;
    k1 = tf.tidy(() => call(t0, y).map((k) => tf.clone(k)));
    const f0 = k1;

    // First step (HNW I, sec. II.4, "Starting step size"): make h0 f0 about 1% of y0 in the scaled
    // norm, probe f once at t0 + h0 to estimate the second derivative, and pick h so that
    // h^5 max(|f0|, |f'|) ~ 0.01. Capped by the whole interval.
    let hAbs: number;
    if (s.firstStep !== undefined) {
      hAbs = Math.min(s.firstStep, Math.abs(span));
    } else {
      const [d0, d1] = tf.tidy(() => {
        const both = tf.stack([sumSquaredScaled(y, y, undefined, rtol, atol), sumSquaredScaled(f0, y, undefined, rtol, atol)]);
        return Array.from(both.dataSync(), (v) => Math.sqrt(v / count));
      }) as [number, number];
      let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * (d0 / d1);
      h0 = Math.min(h0, Math.abs(span));
      const d2 =
        rms(
          tf.tidy(() => {
            const y1 = combine(y, [f0], [1], dir * h0);
            const f1 = call(t0 + dir * h0, y1);
            const diff = f1.map((k, i) => tf.sub(k, f0[i]!));
            return sumSquaredScaled(diff, y, undefined, rtol, atol);
          }),
        ) / h0;
      const dMax = Math.max(d1, d2);
      const h1 = dMax <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : Math.pow(0.01 / dMax, 1 / 5);
      hAbs = Math.min(100 * h0, h1, Math.abs(span));
      if (!Number.isFinite(hAbs) || hAbs <= 0) hAbs = Math.min(1e-6, Math.abs(span));
    }

    let t = t0;
    let h = dir * hAbs;
    let gi = 1; // index of the next grid time to land on
    let errOld = 1e-4;
    let lastRejected = false;
    while (gi < grid.length) {
      checkAbort(opts);
      if (accepted + rejected >= maxSteps) {
        throw new SolverError(`dopri5: no convergence within maxSteps = ${maxSteps} steps; stopped at t=${t}, h=${h} (target t=${tEnd})`);
      }
      // Step-size underflow: h no longer moves t by a few ulps, the problem is stiff or singular here.
      if (Math.abs(h) <= 16 * Number.EPSILON * Math.max(1, Math.abs(t))) {
        throw new SolverError(`dopri5: step size underflow at t=${t}, h=${h}; the field may be singular or stiff near t=${t}`);
      }
      const tNext = grid[gi]!;
      // Land exactly on the next grid time, stretching by up to 1% rather than leaving a sliver.
      const landing = dir * (t + STRETCH * h - tNext) >= 0;
      const hStep = landing ? tNext - t : h;
      const tNew = landing ? tNext : t + hStep;

      const yCur = run.y;
      const kFirst = k1;
      const attempt = tf.tidy(() => {
        const ks: OdeState[] = [kFirst];
        for (let i = 1; i < 6; i++) ks.push(call(t + DOPRI5.c[i]! * hStep, combine(yCur, ks, DOPRI5.a[i]!, hStep)));
        const yNew = combine(yCur, ks, DOPRI5.a[6]!, hStep);
        const k7 = call(tNew, yNew).map((k) => tf.clone(k));
        ks.push(k7);
        const errVec = yCur.map((_, i) => {
          let acc: Tensor | undefined;
          DOPRI5.e.forEach((c, j) => {
            if (c === 0) return;
            const term = tf.mul(ks[j]![i]!, hStep * c);
            acc = acc ? tf.add(acc, term) : term;
          });
          return acc!;
        });
        return { yNew, k7, sumSq: sumSquaredScaled(errVec, yCur, yNew, rtol, atol) };
      });
      const err = rms(attempt.sumSq);

      if (err <= 1) {
        accepted++;
        disposeState(run.y);
        disposeState(k1);
        run.y = attempt.yNew;
        k1 = attempt.k7;
        t = tNew;
        if (landing) {
          run.trajectory?.push(run.y.map((v) => tf.clone(v)));
          gi++;
        }
        // PI controller: the proposed ratio h_new / h, clamped to [MIN_FACTOR, MAX_FACTOR].
        const ratio = Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, (SAFETY * Math.pow(errOld, PI_BETA)) / Math.pow(err, PI_EXPONENT)));
        let hNewAbs = Math.abs(hStep) * ratio;
        // Right after a rejection, do not grow (HNW: avoids another rejection at once).
        if (lastRejected) hNewAbs = Math.min(hNewAbs, Math.abs(hStep));
        // A step cut short to land on a grid time says nothing against the longer step the
        // controller had proposed: keep that one instead of shrinking because of the grid.
        if (landing) hNewAbs = Math.max(hNewAbs, Math.abs(h));
        h = dir * hNewAbs;
        errOld = Math.max(err, 1e-4);
        lastRejected = false;
        opts.onStep?.({ t, step: accepted, nfe: call.nfe, progress: (t - t0) / span });
      } else {
        rejected++;
        disposeState(attempt.yNew);
        disposeState(attempt.k7);
        // NaN/Inf error (f blew up on the trial point): shrink as much as allowed and try again.
        const shrink = Number.isFinite(err) ? Math.max(MIN_FACTOR, SAFETY * Math.pow(err, -PI_EXPONENT)) : MIN_FACTOR;
        h = dir * Math.abs(hStep) * Math.min(1, shrink);
        lastRejected = true;
      }
    }
  } catch (e) {
    disposeState(run.y);
    disposeState(k1);
    run.trajectory?.forEach(disposeState);
    throw e;
  }
  disposeState(k1);
  const result: OdeResult = { state: run.y, nfe: call.nfe, steps: accepted, rejected, times: grid };
  if (run.trajectory) result.trajectory = run.trajectory;
  return result;
}
