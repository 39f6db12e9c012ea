/**
 * Sampling a model of any prediction type (core/path/model.ts PathModel) from the noise end to the
 * data end, with every sampler of core/catalog.ts SAMPLERS, exact at both ends of [0, 1]
 * (docs/formulas.md, "Samplers"). Time runs forwards, noise (t = 0) to data (t = 1);
 * x_t = alpha_t x1 + sigma_t x0, D(x, t) = E[x1 | x_t = x] the model's denoiser, eps = (x - alpha D) / sigma,
 * lambda = log(alpha / sigma), h = lambda_s - lambda_t for a step t -> s:
 *
 * ODE methods (euler, midpoint, heun, rk4, dopri5) integrate the model's velocity (pathVelocity:
 * exact at the noise end by a limit). A non-velocity model whose velocity is singular or stiff at
 * the data end (x1 and score at sigma = 0, every non-velocity model where sigma' is infinite) ends
 * with a denoising step instead (as score_sde's `denoise` and EDM's last step): the last grid
 * interval [t, 1] is the DDIM step below, which at sigma_s = 0 is x_s = alpha_s D(x_t, t).
 *
 * Exponential integrators (DPM-Solver++, Lu et al. 2022b; the linear part is integrated exactly; any grid):
 *   ddim     x_s = (sigma_s / sigma_t) x_t + alpha_s (1 - e^-h) D(x_t, t)
 *   dpm++2m  the same with D -> (1 + 1/(2 r)) D_t - (1/(2 r)) D_prev, r = h_prev / h
 *            (first order on the first step, after an infinite h_prev, and on a step to sigma = 0)
 *
 * Stochastic samplers (noise z ~ N(0, I) from Rng(seed); the last step adds no noise):
 *   sde        Euler-Maruyama of dx = [v + (g^2/2) score] dt + g dW, g = noise sigma_t, score = -eps / sigma:
 *              x += h (alpha' D + (sigma' - g^2 / (2 sigma)) eps) + g sqrt(h) z
 *   ancestral  x_s = alpha_s D + sqrt(sigma_s^2 - c^2) eps + c z,  c = min(sigma_s, eta sigma_s sqrt(1 - e^-2h)),
 *              eta = noise (1: the DDPM posterior q(x_s | x_t, x1 = D); 0: DDIM)
 *   pc         score_sde's predictor-corrector: before each Euler-Maruyama predictor step, `correctorSteps`
 *              Langevin steps x += e score + sqrt(2 e) z at fixed t, e = 2 (snr |z| / |score|)^2 (norms per
 *              sample, averaged over the batch)
 *   edm        Karras et al. 2022 Algorithm 2 in x / alpha and rho = sigma / alpha: raise rho_i to
 *              rho^ = rho_i (1 + gamma), gamma = min(churn / N, sqrt 2 - 1) while rho_i is in [0.05, 50],
 *              add sqrt(rho^2 - rho_i^2) z, then a Heun step of d(x/alpha)/d rho = (x/alpha - D) / rho to rho_{i+1}
 *              (Euler on the step to rho = 0). churn = 0 is EDM's deterministic Heun sampler.
 *
 * NFE counts network evaluations (one batch at one time; a guided pair in one forward pass is one):
 * the limit at the noise end of an eps or score model costs two, the data end's exact D none.
 */
import { tf, type Tensor } from '../tf';
import { CancelledError, ConfigError, ShapeError } from '../errors';
import { isOneOf, ODE_METHODS, SAMPLERS, type OdeMethod, type SamplerKind } from '../catalog';
import type { AbortLike, StepInfo } from '../field';
import { denoise, pathVelocity, velocityMode, type PathModel } from '../path/model';
import type { Scheduler } from '../path/scheduler';
import { Rng } from '../util/random';
import { odeSolve } from './ode';
import { RHO_MAX, timeGrid, type TimeGridKind } from './grids';
import type { IntegrateResult } from './sample';

export { SAMPLERS, type SamplerKind } from '../catalog';

/**
 * The grid each sampler uses when none is asked for: EDM's Karras schedule for edm, else uniform in t.
 * (The log-SNR grid over EDM's noise range [0.002, 80] spends most of a 10-step budget at noise
 * levels far below a 2D data set's scale; uniform t does better there for ddim and dpm++2m too.)
 */
export function defaultGrid(sampler: SamplerKind): TimeGridKind {
  return sampler === 'edm' ? 'karras' : 'uniform';
}

/** Default noise level of the stochastic samplers (g = noise sigma for sde and pc, eta for ancestral). */
export const DEFAULT_NOISE = 1;
/** EDM's S_churn default here (Karras et al. 2022 use 30 to 80 over 18 to 256 steps). */
export const DEFAULT_CHURN = 10;
/** score_sde's Langevin signal-to-noise ratio (0.16 for its CIFAR-10 VE models). */
export const DEFAULT_SNR = 0.16;
/** EDM's S_tmin, S_tmax: churn only where the noise level rho is in this range. */
export const CHURN_RANGE = [0.05, 50] as const;
/** Where dopri5 hands a model that ends with a denoising step over to it: the noise level sigma / alpha. */
export const DENOISE_RHO = 0.05;

/** Options of `sampleModel`. The times come from `timeGrid`, or from `steps`, `grid`, `t0`, `t1`. */
export interface ModelSampleOptions {
  sampler: SamplerKind;
  /** Explicit increasing times within [0, 1]; or give steps (and grid, t0, t1). */
  timeGrid?: number[];
  /** Intervals of the grid (required but for dopri5, whose grid gives output times only). */
  steps?: number;
  /** How the grid is laid out (default: per sampler, `defaultGrid`). */
  grid?: TimeGridKind;
  t0?: number;
  t1?: number;
  /** dopri5 tolerances and budget. */
  rtol?: number;
  atol?: number;
  firstStep?: number;
  maxSteps?: number;
  /** sde, pc: g_t = noise sigma_t; ancestral: eta (default 1). */
  noise?: number;
  /** edm: S_churn (default 10; 0 = deterministic). */
  churn?: number;
  /** pc: Langevin signal-to-noise ratio (default 0.16) and corrector steps per step (default 1). */
  snr?: number;
  correctorSteps?: number;
  /** Seed of the noise of the stochastic samplers (default 0). */
  seed?: number;
  /** Conditioning passed to every model call. */
  cond?: Tensor;
  /** Keep x at every grid time. */
  returnTrajectory?: boolean;
  signal?: AbortLike;
  onStep?: (info: StepInfo) => void;
}

/**
 * What `sampleModel` returns: the integrator's result (x at the last grid time, caller owns it; NFE;
 * steps, where dopri5 also counts its final denoising step; rejected; trajectory; the grid).
 */
export type ModelSampleResult = IntegrateResult;

/** True when the model needs the denoising step at the data end: its velocity is singular or stiff there. */
export function endsWithDenoise(pm: PathModel, t: number): boolean {
  return pm.prediction !== 'velocity' && velocityMode(pm, t) !== 'regular';
}

function checkOptions(o: ModelSampleOptions): void {
  if (!isOneOf(SAMPLERS, o.sampler))
    throw new ConfigError('sampler', `unknown sampler '${String(o.sampler)}'; allowed: ${SAMPLERS.join(', ')}`);
  const nonNeg = (field: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new ConfigError(field, `must be a finite number >= 0, got ${v}`);
  };
  nonNeg('noise', o.noise);
  nonNeg('churn', o.churn);
  nonNeg('snr', o.snr);
  if (o.correctorSteps !== undefined && !(Number.isInteger(o.correctorSteps) && o.correctorSteps >= 0))
    throw new ConfigError('correctorSteps', `must be an integer >= 0, got ${o.correctorSteps}`);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new ConfigError('seed', `must be an integer, got ${o.seed}`);
}

/** The increasing grid of the options, checked to lie in [0, 1]. */
export function samplingGrid(scheduler: Scheduler, o: ModelSampleOptions): number[] {
  let grid: number[];
  if (o.timeGrid !== undefined) {
    if (o.steps !== undefined || o.t0 !== undefined || o.t1 !== undefined || o.grid !== undefined)
      throw new ConfigError('timeGrid', 'give either timeGrid or steps/grid/t0/t1, not both');
    grid = o.timeGrid.slice();
  } else if (o.steps === undefined) {
    if (o.sampler !== 'dopri5') throw new ConfigError('steps', `required for the ${o.sampler} sampler (or give timeGrid)`);
    grid = [o.t0 ?? 0, o.t1 ?? 1];
  } else {
    grid = timeGrid(o.grid ?? defaultGrid(o.sampler), scheduler, o.steps, {
      ...(o.t0 !== undefined ? { t0: o.t0 } : {}),
      ...(o.t1 !== undefined ? { t1: o.t1 } : {}),
    });
  }
  if (grid.length < 2) throw new ConfigError('timeGrid', `needs at least 2 times, got ${grid.length}`);
  for (let i = 0; i < grid.length; i++) {
    const v = grid[i]!;
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) throw new ConfigError('timeGrid', `timeGrid[${i}] must be a time in [0, 1], got ${v}`);
    if (i > 0 && !(v > grid[i - 1]!))
      throw new ConfigError(
        'timeGrid',
        `must increase (samplers run from noise at t = 0 to data at t = 1); timeGrid[${i}] = ${v} after ${grid[i - 1]}`,
      );
  }
  return grid;
}

/** The model with its network calls counted. */
function counted(pm: PathModel): { pm: PathModel; calls: () => number } {
  let n = 0;
  return {
    pm: {
      ...pm,
      predict: (x, t, cond) => {
        n++;
        const out = pm.predict(x, t, cond);
        if (!(out instanceof tf.Tensor) || !tf.util.arraysEqual(out.shape, x.shape)) {
          const got = out instanceof tf.Tensor ? `[${out.shape.join(', ')}]` : typeof out;
          throw new ShapeError(`the '${pm.prediction}' model must return the shape of x, [${x.shape.join(', ')}]; got ${got} at t=${t}`);
        }
        return out;
      },
    },
    calls: () => n,
  };
}

/** One DDIM step t -> s from D: (sigma_s / sigma_t) x + (alpha_s - sigma_s alpha_t / sigma_t) D. */
function ddimStep(scheduler: Scheduler, x: Tensor, d: Tensor, t: number, s: number): Tensor {
  const ct = scheduler.coeffs(t);
  const cs = scheduler.coeffs(s);
  const a = cs.sigma / ct.sigma;
  const b = cs.alpha - (cs.sigma * ct.alpha) / ct.sigma;
  return tf.tidy(() =>
    a === 0 ? tf.mul(d, tf.scalar(b, 'float32')) : tf.add(tf.mul(x, tf.scalar(a, 'float32')), tf.mul(d, tf.scalar(b, 'float32'))),
  );
}

/** lambda_s - lambda_t = log(alpha_s sigma_t / (sigma_s alpha_t)), Infinity at alpha_t = 0 or sigma_s = 0. */
function logSnrStep(scheduler: Scheduler, t: number, s: number): number {
  const ct = scheduler.coeffs(t);
  const cs = scheduler.coeffs(s);
  if (ct.alpha === 0 || cs.sigma === 0) return Infinity;
  return Math.log(cs.alpha) - Math.log(cs.sigma) - (Math.log(ct.alpha) - Math.log(ct.sigma));
}

/** e^-h for a step t -> s: alpha_t sigma_s / (sigma_t alpha_s) (0 where h is infinite). */
function expNegH(scheduler: Scheduler, t: number, s: number): number {
  const ct = scheduler.coeffs(t);
  const cs = scheduler.coeffs(s);
  return (ct.alpha * cs.sigma) / (ct.sigma * cs.alpha);
}

/**
 * Samples `pm` from x at grid[0] (for t = 0: sigma_0 N(0, I), `sourceScale(scheduler)` times
 * normals) to the last grid time with `opts.sampler` (module comment). x is not disposed.
 * @throws ConfigError for bad options or grid; ShapeError for a model output of the wrong shape;
 *   SolverError where the model has no finite value; CancelledError when `signal` is set.
 */
export function sampleModel(model: PathModel, x: Tensor, opts: ModelSampleOptions): ModelSampleResult {
  if (!(x instanceof tf.Tensor)) throw new ConfigError('x', `must be a tensor, got ${typeof x}`);
  checkOptions(opts);
  const { pm, calls } = counted(model);
  const grid = samplingGrid(pm.scheduler, opts);
  if (isOneOf(ODE_METHODS, opts.sampler)) return sampleOde(pm, x, grid, opts.sampler, opts, calls);
  return sampleStepwise(pm, x, grid, opts, calls);
}

/**
 * The ODE methods: a denoising step at a data end where the velocity is singular or stiff, and for
 * dopri5 at an eps or score model's noise end a DDIM step to the noise level RHO_MAX first (the
 * velocity there is a limit, and the conversion just inside amplifies the network's error by
 * 1 / alpha; EDM's samplers start at RHO_MAX too). Fixed-step methods evaluate that limit at t0.
 */
function sampleOde(
  pm: PathModel,
  x: Tensor,
  grid: number[],
  method: OdeMethod,
  opts: ModelSampleOptions,
  calls: () => number,
): ModelSampleResult {
  const t0 = grid[0]!;
  const tEnd = grid[grid.length - 1]!;
  let odeGrid = grid.slice();
  let tail: number | null = null;
  if (endsWithDenoise(pm, tEnd)) {
    tail = tEnd;
    if (method === 'dopri5') {
      // Hand over at the noise level DENOISE_RHO (after the output times before it).
      const handover = Math.min(Math.max(pm.scheduler.snrInverse(1 / DENOISE_RHO), t0), tEnd);
      odeGrid = [...grid.filter((t) => t < handover), ...(handover > t0 ? [handover] : [])];
    } else {
      odeGrid = grid.slice(0, -1);
    }
  }
  let head: number | null = null;
  if (method === 'dopri5' && odeGrid.length >= 2 && velocityMode(pm, t0) === 'noise-end') {
    const th = Math.min(pm.scheduler.snrInverse(1 / RHO_MAX), odeGrid[odeGrid.length - 1]!);
    if (th > t0) {
      head = th;
      odeGrid = [th, ...odeGrid.filter((t) => t > th)];
    }
  }
  const field = pathVelocity(pm);
  const cond = opts.cond;
  const span = tEnd - t0;
  let state = tf.clone(x);
  const trajectory: Tensor[] | undefined = opts.returnTrajectory ? [tf.clone(x)] : undefined;
  const times = [t0];
  let steps = 0;
  let rejected = 0;
  const ddimTo = (t: number, s: number): void => {
    if (opts.signal?.aborted) throw new CancelledError('sampling');
    const d = denoise(pm, state, t, cond);
    const next = ddimStep(pm.scheduler, state, d.x1, t, s);
    d.x1.dispose();
    state.dispose();
    state = next;
    trajectory?.push(tf.clone(next));
    times.push(s);
    steps++;
    opts.onStep?.({ t: s, step: steps, nfe: calls(), progress: (s - t0) / span });
  };
  try {
    if (head !== null) ddimTo(t0, head);
    if (odeGrid.length >= 2) {
      const res = odeSolve((t, [xt]) => [field(xt!, t, cond)], [state], {
        method,
        timeGrid: odeGrid,
        rtol: opts.rtol,
        atol: opts.atol,
        firstStep: opts.firstStep,
        maxSteps: opts.maxSteps,
        signal: opts.signal,
        returnTrajectory: opts.returnTrajectory,
        ...(opts.onStep
          ? { onStep: (i: StepInfo) => opts.onStep!({ ...i, step: steps + i.step, nfe: calls(), progress: (i.t - t0) / span }) }
          : {}),
      });
      state.dispose();
      state = res.state[0]!;
      if (trajectory && res.trajectory) {
        res.trajectory[0]!.forEach((t) => t.dispose()); // the start, already recorded
        trajectory.push(...res.trajectory.slice(1).map((st) => st[0]!));
      }
      times.push(...odeGrid.slice(1));
      steps += res.steps;
      rejected = res.rejected;
    }
    if (tail !== null) ddimTo(times[times.length - 1]!, tail);
  } catch (e) {
    state.dispose();
    if (trajectory) tf.dispose(trajectory);
    throw e;
  }
  const out: ModelSampleResult = { x: state, nfe: calls(), steps, rejected, times };
  if (trajectory) out.trajectory = trajectory;
  return out;
}

/** The samplers that step through the grid themselves: exponential integrators and stochastic samplers. */
function sampleStepwise(pm: PathModel, x0: Tensor, grid: number[], opts: ModelSampleOptions, calls: () => number): ModelSampleResult {
  const sched = pm.scheduler;
  const cond = opts.cond;
  const sampler = opts.sampler;
  const noise = opts.noise ?? DEFAULT_NOISE;
  const churn = opts.churn ?? DEFAULT_CHURN;
  const snr = opts.snr ?? DEFAULT_SNR;
  const correctorSteps = opts.correctorSteps ?? 1;
  const rng = new Rng(opts.seed ?? 0);
  const n = grid.length - 1;
  const span = grid[n]! - grid[0]!;
  const normal = (like: Tensor): Tensor => tf.tensor(rng.normals(like.size), like.shape, 'float32');
  const D = (x: Tensor, t: number): Tensor => denoise(pm, x, t, cond).x1;

  let cur = tf.clone(x0);
  const trajectory: Tensor[] | undefined = opts.returnTrajectory ? [tf.clone(x0)] : undefined;
  let prevD: Tensor | null = null;
  let prevH = NaN;
  const swap = (next: Tensor): void => {
    cur.dispose();
    cur = next;
  };
  try {
    for (let i = 0; i < n; i++) {
      if (opts.signal?.aborted) throw new CancelledError('sampling');
      const t = grid[i]!;
      const s = grid[i + 1]!;
      const last = i === n - 1;
      const ct = sched.coeffs(t);
      const cs = sched.coeffs(s);
      if (sampler === 'ddim' || sampler === 'dpm++2m') {
        const d = D(cur, t);
        const h = logSnrStep(sched, t, s);
        let used = d;
        if (sampler === 'dpm++2m' && prevD && Number.isFinite(h) && Number.isFinite(prevH) && prevH > 0) {
          const k = 1 / (2 * (prevH / h));
          const pd = prevD;
          used = tf.tidy(() => tf.sub(tf.mul(d, tf.scalar(1 + k, 'float32')), tf.mul(pd, tf.scalar(k, 'float32'))));
        }
        swap(ddimStep(sched, cur, used, t, s));
        if (used !== d) used.dispose();
        prevD?.dispose();
        prevD = d;
        prevH = h;
      } else if (last && cs.sigma === 0) {
        // The last step to the data end adds no noise: the denoising step x = alpha_s D.
        const d = D(cur, t);
        swap(ddimStep(sched, cur, d, t, s));
        d.dispose();
      } else if (sampler === 'edm') {
        swap(edmStep(pm, cur, t, s, { churn: churn / n, last, normal, D }));
      } else if (sampler === 'ancestral') {
        const d = D(cur, t);
        const e = expNegH(sched, t, s);
        const c = last ? 0 : Math.min(cs.sigma, noise * cs.sigma * Math.sqrt(Math.max(0, 1 - e * e)));
        const keep = Math.sqrt(Math.max(0, cs.sigma * cs.sigma - c * c));
        // x_s = alpha_s D + keep eps + c z,  eps = (x - alpha_t D) / sigma_t
        const z = c > 0 ? normal(cur) : null;
        const xn = cur;
        swap(
          tf.tidy(() => {
            const terms = [
              tf.mul(xn, tf.scalar(keep / ct.sigma, 'float32')),
              tf.mul(d, tf.scalar(cs.alpha - (keep * ct.alpha) / ct.sigma, 'float32')),
            ];
            if (z) terms.push(tf.mul(z, tf.scalar(c, 'float32')));
            return tf.addN(terms);
          }),
        );
        d.dispose();
        z?.dispose();
      } else {
        // sde and pc: Euler-Maruyama on the reverse SDE with g = noise sigma_t (pc: Langevin first).
        if (sampler === 'pc' && ct.sigma > 0 && snr > 0) {
          for (let j = 0; j < correctorSteps; j++) swap(langevinStep(cur, ct.alpha, ct.sigma, D(cur, t), snr, normal));
        }
        const d = D(cur, t);
        const g = noise * ct.sigma;
        const hdt = s - t;
        // drift = alpha' D + (sigma' - g^2 / (2 sigma)) eps, eps = (x - alpha D) / sigma
        const ke = (ct.dSigma - (g * g) / (2 * ct.sigma)) / ct.sigma;
        const z = !last && g > 0 ? normal(cur) : null;
        const xn = cur;
        swap(
          tf.tidy(() => {
            const terms = [
              tf.mul(xn, tf.scalar(1 + hdt * ke, 'float32')),
              tf.mul(d, tf.scalar(hdt * (ct.dAlpha - ke * ct.alpha), 'float32')),
            ];
            if (z) terms.push(tf.mul(z, tf.scalar(g * Math.sqrt(hdt), 'float32')));
            return tf.addN(terms);
          }),
        );
        d.dispose();
        z?.dispose();
      }
      trajectory?.push(tf.clone(cur));
      opts.onStep?.({ t: s, step: i + 1, nfe: calls(), progress: (s - grid[0]!) / span });
    }
  } catch (e) {
    cur.dispose();
    prevD?.dispose();
    if (trajectory) tf.dispose(trajectory);
    throw e;
  }
  prevD?.dispose();
  const out: ModelSampleResult = { x: cur, nfe: calls(), steps: n, rejected: 0, times: grid };
  if (trajectory) out.trajectory = trajectory;
  return out;
}

/**
 * One Langevin corrector step at fixed t: x + e score + sqrt(2 e) z with score = -(x - alpha D) / sigma^2
 * and e = 2 (snr mean|z| / mean|score|)^2 (score_sde's LangevinCorrector; norms per sample, averaged).
 * Disposes d.
 */
function langevinStep(x: Tensor, alpha: number, sigma: number, d: Tensor, snr: number, normal: (like: Tensor) => Tensor): Tensor {
  const z = normal(x);
  try {
    return tf.tidy(() => {
      const score = tf.mul(tf.sub(x, tf.mul(d, tf.scalar(alpha, 'float32'))), tf.scalar(-1 / (sigma * sigma), 'float32'));
      const b = x.shape[0]!;
      const rowNorm = (v: Tensor): number => tf.mean(tf.norm(tf.reshape(v, [b, -1]), 'euclidean', 1)).dataSync()[0]!;
      const gn = rowNorm(score);
      const zn = rowNorm(z);
      const e = gn > 0 ? 2 * ((snr * zn) / gn) ** 2 : 0;
      return tf.addN([x, tf.mul(score, tf.scalar(e, 'float32')), tf.mul(z, tf.scalar(Math.sqrt(2 * e), 'float32'))]);
    });
  } finally {
    z.dispose();
    d.dispose();
  }
}

/** The time where the scheduler's noise level sigma / alpha is rho (clamped to [0, 1]). */
function timeOfLevel(s: Scheduler, rho: number): number {
  return Math.min(1, Math.max(0, s.snrInverse(1 / rho)));
}

/**
 * One step of EDM's stochastic sampler (Karras et al. 2022, Algorithm 2) from t to s, in y = x / alpha
 * and rho = sigma / alpha (module comment). `churn` is gamma before clipping (S_churn / N). A step
 * that starts at alpha = 0 (rho infinite) is a DDIM step instead.
 */
function edmStep(
  pm: PathModel,
  x: Tensor,
  t: number,
  s: number,
  o: { churn: number; last: boolean; normal: (like: Tensor) => Tensor; D: (x: Tensor, t: number) => Tensor },
): Tensor {
  const sched = pm.scheduler;
  const ct = sched.coeffs(t);
  const cs = sched.coeffs(s);
  if (ct.alpha === 0) {
    const d = o.D(x, t);
    try {
      return ddimStep(sched, x, d, t, s);
    } finally {
      d.dispose();
    }
  }
  const rho = ct.sigma / ct.alpha;
  const rhoNext = cs.sigma / cs.alpha;
  let gamma = !o.last && rho >= CHURN_RANGE[0] && rho <= CHURN_RANGE[1] ? Math.min(o.churn, Math.SQRT2 - 1) : 0;
  // The raised level must be one the scheduler reaches (VE stops at sigma_max).
  const c0 = sched.coeffs(0);
  const rhoMax = c0.alpha === 0 ? Infinity : c0.sigma / c0.alpha;
  if (rho * (1 + gamma) > rhoMax) gamma = Math.max(0, rhoMax / rho - 1);
  const rhoHat = rho * (1 + gamma);
  const tHat = gamma > 0 ? timeOfLevel(sched, rhoHat) : t;
  const aHat = sched.coeffs(tHat).alpha;
  const y = tf.tidy(() => tf.mul(x, tf.scalar(1 / ct.alpha, 'float32')));
  let yHat = y;
  if (gamma > 0) {
    const z = o.normal(x);
    yHat = tf.tidy(() => tf.add(y, tf.mul(z, tf.scalar(Math.sqrt(rhoHat * rhoHat - rho * rho), 'float32'))));
    z.dispose();
    y.dispose();
  }
  try {
    const xHat = tf.tidy(() => tf.mul(yHat, tf.scalar(aHat, 'float32')));
    const dHat = o.D(xHat, tHat);
    xHat.dispose();
    const h = rhoNext - rhoHat;
    // Euler: y' = yHat + h (yHat - D) / rhoHat
    const d1 = tf.tidy(() => tf.mul(tf.sub(yHat, dHat), tf.scalar(1 / rhoHat, 'float32')));
    dHat.dispose();
    const yEuler = tf.tidy(() => tf.add(yHat, tf.mul(d1, tf.scalar(h, 'float32'))));
    if (rhoNext === 0) {
      d1.dispose();
      const out = tf.tidy(() => tf.mul(yEuler, tf.scalar(cs.alpha, 'float32')));
      yEuler.dispose();
      return out;
    }
    const xE = tf.tidy(() => tf.mul(yEuler, tf.scalar(cs.alpha, 'float32')));
    const dNext = o.D(xE, s);
    xE.dispose();
    const out = tf.tidy(() => {
      const d2 = tf.mul(tf.sub(yEuler, dNext), tf.scalar(1 / rhoNext, 'float32'));
      return tf.mul(tf.add(yHat, tf.mul(tf.add(d1, d2), tf.scalar(h / 2, 'float32'))), tf.scalar(cs.alpha, 'float32'));
    });
    tf.dispose([d1, yEuler, dNext]);
    return out;
  } finally {
    yHat.dispose();
  }
}
