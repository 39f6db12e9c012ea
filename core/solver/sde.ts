/**
 * Stochastic sampling from noise (t = 0) to data (t = 1) with the marginals of the probability-flow
 * ODE, for a velocity field trained on an affine path x_t = alpha_t x1 + sigma_t x0.
 *
 * The SDE (in diffusion papers' words, the "reverse-time" SDE; here time simply runs 0 -> 1):
 *
 *   dx = [ v(x, t) + (g_t^2 / 2) score(x, t) ] dt + g_t dW,    score = grad_x log p_t(x).
 *
 * Why it has the same marginals p_t for every g: Fokker-Planck gives
 *   dp/dt = -div(p v) - div(p (g^2/2) grad log p) + (g^2/2) lap p,
 * and p grad log p = grad p, so the last two terms cancel and dp/dt = -div(p v), which is the
 * continuity equation of the ODE dx/dt = v. g = 0 is the ODE itself.
 *
 * Discretisation: Euler-Maruyama on the given grid, each step evaluated at its left time, so the
 * field (and the score derived from it) is never evaluated at the last grid time (t = 1, where
 * sigma = 0 and the score is singular).
 */
import { tf, type Tensor } from '../tf';
import type { AbortLike, StepInfo, VelocityField } from '../field';
import { CancelledError, ConfigError, ShapeError, SolverError } from '../errors';
import { Rng } from '../util/random';
import type { Scheduler, SchedulerCoeffs } from '../path/scheduler';
import { checkTimeGrid } from './ode';
import { resolveTimeGrid } from './sample';

/** Options of `sampleSde`. Times come from `steps` (uniform over [0, 1]) or `timeGrid`, not both. */
export interface SdeOptions {
  /** The scheduler the field was trained under (it turns v into the score). */
  scheduler: Scheduler;
  /** Uniform steps over [0, 1]; or give `timeGrid` (increasing, within [0, 1]), not both. */
  steps?: number;
  timeGrid?: number[];
  /**
   * Noise level: g_t = noise * sigma_t (default 1). 0 gives Euler on the probability-flow ODE,
   * bit for bit. Ignored when `diffusion` is given.
   */
  noise?: number;
  /**
   * Custom diffusion coefficient g(t) >= 0. It should vanish at least like sqrt(sigma_t) towards
   * t = 1, or the drift's (g^2/2) score term grows like 1/sigma_t near the data.
   */
  diffusion?: (t: number) => number;
  /** Seed of the Brownian increments (default 0). The same seed gives the same samples on any backend. */
  seed?: number;
  /** Conditioning passed unchanged to every field call. */
  cond?: Tensor;
  /** Keep x at every grid time in `trajectory`. */
  returnTrajectory?: boolean;
  signal?: AbortLike;
  /** Called after every step. */
  onStep?: (info: StepInfo) => void;
}

/** What `sampleSde` returns. */
export interface SdeResult {
  /** x at the last grid time. Caller owns and disposes. */
  x: Tensor;
  /** Field evaluations (one per step). */
  nfe: number;
  /** Steps taken (grid intervals). */
  steps: number;
  /** With returnTrajectory: x at every entry of `times` (first = a copy of the input). Caller owns. */
  trajectory?: Tensor[];
  /** The grid integrated over. */
  times: number[];
}

/**
 * Coefficients (a, b) with score(x, t) = a v(x, t) + b x, for the marginal velocity v of an affine
 * path. Kept local and small on purpose (a shared converters module will take it over).
 *
 * Derivation: the marginal velocity of an affine path is (docs/formulas.md, "Target conversions",
 * score -> velocity)
 *   v = (alpha'/alpha) x + (alpha' sigma^2 / alpha - sigma sigma') score.
 * Multiply by alpha:  alpha v - alpha' x = sigma (alpha' sigma - alpha sigma') score, so
 *   score = (alpha v - alpha' x) / (sigma D),   D = alpha' sigma - alpha sigma' = sigma^2 d/dt(alpha/sigma) > 0
 * (the signal-to-noise ratio increases), i.e. a = alpha / (sigma D), b = -alpha' / (sigma D).
 *
 * Where alpha = 0 (t = 0 for every scheduler but VE) the marginal is exactly N(0, sigma^2 I), so the
 * score is -x / sigma^2 whatever the model: a = 0, b = -1/sigma^2. This also covers schedulers with
 * alpha' = 0 there (polynomial n > 1), where the formula above is 0/0.
 *
 * @internal exported for tests; not part of the public surface.
 * @throws SolverError at a time where sigma D is 0 or not finite (t = 1, where sigma = 0).
 */
export function scoreFromVelocityCoeffs(c: SchedulerCoeffs, t: number): { a: number; b: number } {
  if (c.alpha === 0) {
    const b = -1 / (c.sigma * c.sigma);
    if (!Number.isFinite(b)) throw new SolverError(`score is undefined at t=${t} (alpha = 0 and sigma = ${c.sigma})`);
    return { a: 0, b };
  }
  const sd = c.sigma * (c.dAlpha * c.sigma - c.alpha * c.dSigma);
  if (!(Number.isFinite(sd) && sd > 0)) {
    throw new SolverError(`score from velocity is singular at t=${t} (sigma (alpha' sigma - alpha sigma') = ${sd})`);
  }
  return { a: c.alpha / sd, b: -c.dAlpha / sd };
}

/**
 * Euler-Maruyama sampling of dx = [v + (g_t^2/2) score] dt + g_t dW from t = timeGrid[0] (usually 0)
 * to the last grid time (usually 1). One field evaluation per step:
 *
 *   x_{n+1} = x_n + h [ v + (g^2/2) (a v + b x_n) ] + g sqrt(h) z_n,   z_n ~ N(0, I) from Rng(seed),
 *
 * with (a, b) from `scoreFromVelocityCoeffs` and g, a, b taken at t_n.
 *
 * Default g_t = noise * sigma_t. Why sigma: the score behaves like -eps/sigma and blows up at the data
 * end (sigma_1 = 0), but
 *   (g^2/2) score = (noise^2 sigma^2 / 2) (alpha v - alpha' x) / (sigma D) = (noise^2/2) sigma (alpha v - alpha' x) / D
 * keeps one factor sigma, so the correction fades to 0 at t = 1 (D stays positive there, e.g. D = 1
 * for CondOT, pi/2 for cosine) and the last steps are as tame as the ODE's.
 *
 * @param x the state at timeGrid[0]: for t = 0, sigma_0 N(0, I) (`sourceScale(scheduler)` times
 *   standard normals). Not disposed.
 * @returns x at the last grid time and, with returnTrajectory, at every grid time; the caller owns them.
 * @throws ConfigError for a bad grid (not increasing or outside [0, 1]), noise, seed or g(t);
 *   ShapeError when the field's output differs in shape from x; CancelledError when aborted.
 */
export function sampleSde(field: VelocityField, x: Tensor, opts: SdeOptions): SdeResult {
  if (!(x instanceof tf.Tensor)) throw new ConfigError('x', `must be a tensor, got ${typeof x}`);
  const sched = opts.scheduler;
  if (!sched || typeof sched.coeffs !== 'function') throw new ConfigError('scheduler', 'a Scheduler is required (see path/scheduler.ts)');
  const grid = resolveTimeGrid(opts, true).slice();
  const dir = checkTimeGrid(grid);
  if (dir < 0) throw new ConfigError('timeGrid', 'must increase: the SDE sampler runs from noise (t = 0) to data (t = 1)');
  if (grid[0]! < 0 || grid[grid.length - 1]! > 1) {
    throw new ConfigError('timeGrid', `must lie within [0, 1]; got [${grid[0]}, ${grid[grid.length - 1]}]`);
  }
  const noise = opts.noise ?? 1;
  if (!(Number.isFinite(noise) && noise >= 0)) throw new ConfigError('noise', `must be a finite number >= 0, got ${noise}`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${seed}`);
  const diffusion = opts.diffusion ?? ((t: number) => noise * sched.coeffs(t).sigma);
  const rng = new Rng(seed);
  const cond = opts.cond;
  const t0 = grid[0]!;
  const span = grid[grid.length - 1]! - t0;

  let cur = tf.clone(x);
  const trajectory: Tensor[] | undefined = opts.returnTrajectory ? [tf.clone(x)] : undefined;
  try {
    for (let n = 0; n + 1 < grid.length; n++) {
      if (opts.signal?.aborted) throw new CancelledError('SDE sampling');
      const t = grid[n]!;
      const h = grid[n + 1]! - t;
      const g = diffusion(t);
      if (!(Number.isFinite(g) && g >= 0)) throw new ConfigError('diffusion', `g(t) must be finite and >= 0; got ${g} at t=${t}`);
      const xn = cur;
      const next = tf.tidy(() => {
        const v = field(xn, t, cond);
        if (!(v instanceof tf.Tensor) || !tf.util.arraysEqual(v.shape, xn.shape)) {
          const got = v instanceof tf.Tensor ? `[${v.shape.join(', ')}]` : typeof v;
          throw new ShapeError(`velocity field must return the shape of x, [${xn.shape.join(', ')}]; got ${got} at t=${t}`);
        }
        // Same expression as odeSolve's Euler step, so noise = 0 reproduces it exactly.
        if (g === 0) return tf.add(xn, tf.mul(v, h));
        const { a, b } = scoreFromVelocityCoeffs(sched.coeffs(t), t);
        const half = (g * g) / 2;
        const z = tf.tensor(rng.normals(xn.size), xn.shape, 'float32');
        // x + h [(1 + half a) v + half b x] + g sqrt(h) z, grouped per tensor: 3 scalings and a sum.
        return tf.addN([tf.mul(xn, 1 + h * half * b), tf.mul(v, h * (1 + half * a)), tf.mul(z, g * Math.sqrt(h))]);
      });
      cur.dispose();
      cur = next;
      trajectory?.push(tf.clone(next));
      opts.onStep?.({ t: grid[n + 1]!, step: n + 1, nfe: n + 1, progress: (grid[n + 1]! - t0) / span });
    }
  } catch (e) {
    cur.dispose();
    if (trajectory) tf.dispose(trajectory);
    throw e;
  }
  const result: SdeResult = { x: cur, nfe: grid.length - 1, steps: grid.length - 1, times: grid };
  if (trajectory) result.trajectory = trajectory;
  return result;
}
