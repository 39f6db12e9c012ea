/**
 * Log-likelihood of data under a flow, through the probability-flow ODE (instantaneous change of
 * variables, Chen et al. 2018; Grathwohl et al. 2019).
 *
 * Along a trajectory of dx/dt = v(x, t), d/dt log p_t(x_t) = -div v(x_t, t). Integrating from the
 * noise end t0 to the data end t1:
 *
 *   log p_{t1}(x) = log p_{t0}(x_{t0}) - integral_{t0}^{t1} div v(x_t, t) dt.
 *
 * (Check: v(x) = x in 1D expands space, x_1 = e x_0, so p_1(x_1) = p_0(x_0) / e: log p_1 = log p_0 - 1.)
 * NB: shared material elsewhere once wrote "+ integral_0^1 div" for this; that sign is wrong in our
 * convention (data at t = 1), as the oracle tests show (the error with "+" is 2 |integral|). The
 * formula and its tests: docs/formulas.md, "Likelihood".
 *
 * We integrate the joint state [x, L] backwards from t1 (data, default 1) to t0 (noise, default 0)
 * with d[x, L]/dt = [v, div v] and L(t1) = 0. Then L(t0) = integral_{t1}^{t0} div dt
 * = -integral_{t0}^{t1} div dt, which is exactly the change of log-density:
 *
 *   deltaLogp = L(t0),   log p_{t1}(x) = prior(x_{t0}) + deltaLogp.
 *
 * Integrating x and L jointly lets the adaptive solver control the error of both.
 */
import { tf, type Tensor } from '../tf';
import type { VelocityField } from '../field';
import { ConfigError, checkShape } from '../errors';
import { odeSolve } from '../solver/ode';
import { pathGrid } from '../inversion/grid';
import { solverControls, type OdeFunction, type OdeMethod, type SolverControls } from '../solver/types';
import { sourceScale, type Scheduler } from '../path/scheduler';
import { exactDivergence, hutchinsonDivergence, makeProbes, type ProbeKind } from './divergence';

/** A divergence supplied in closed form (e.g. `gmmOracle(...).divergence`): x [batch, ...] -> [batch]. */
export type DivergenceFunction = (x: Tensor, t: number, cond?: Tensor) => Tensor;

/**
 * How div v is obtained at each solver stage:
 * - 'exact': d vector-Jacobian products (cost ~ d backward passes per evaluation; low dimension).
 * - 'hutchinson': z^T (dv/dx) z with probes z drawn once from a seeded Rng and held fixed for the
 *   whole solve; unbiased, one backward pass per probe and evaluation.
 * - a function: a closed-form divergence (the field is then evaluated once more for v).
 */
export type DivergenceMode = 'exact' | 'hutchinson' | DivergenceFunction;

export interface LikelihoodOptions extends SolverControls {
  /** Required: the cost difference between modes is a factor of d, so it is never chosen silently. */
  divergence: DivergenceMode;
  /** Hutchinson probe distribution (default 'rademacher'). */
  probe?: ProbeKind;
  /** Hutchinson probes averaged per evaluation (default 1). */
  probes?: number;
  /** Seed of the probes (default 0). */
  seed?: number;
  /** Solver (default 'dopri5'). Fixed-step methods need `steps` or `timeGrid`. */
  method?: OdeMethod;
  /** Intervals of a uniform grid from t1 to t0 (fixed-step: exactly this many steps). */
  steps?: number;
  /** Explicit strictly decreasing times from t1 down to t0 (excludes t0/t1/steps). */
  timeGrid?: number[];
  /**
   * Data-end time (default 1): the result is log p_{t1}(x). Use e.g. 1 - 1e-5 for paths whose
   * field is singular at t = 1 (a trained VP model, where sigma' is infinite); the oracle needs none.
   */
  t1?: number;
  /**
   * Noise-end time (default 0), where the prior is applied. With t0 > 0 the default prior is only
   * an approximation of p_{t0}; pass `prior` then.
   */
  t0?: number;
  /** Conditioning passed to every field call. */
  cond?: Tensor;
  /**
   * log p_{t0}(z) per row ([batch] tensor). Default: N(0, s^2 I) with s = `priorScale`, else
   * sourceScale(`scheduler`) (sigma_0; exact when alpha_0 = 0), else 1.
   */
  prior?: (z: Tensor) => Tensor;
  priorScale?: number;
  scheduler?: Scheduler;
}

export interface LikelihoodResult {
  /** log p_{t1}(x) per row, nats, float64 (= priorLogp + deltaLogp). */
  logp: Float64Array;
  /** x transported to t0, shape of x. Caller owns and disposes. */
  latent: Tensor;
  /** log p_{t0}(latent) per row. */
  priorLogp: Float64Array;
  /** log p_{t1}(x) - log p_{t0}(latent) = -integral_{t0}^{t1} div v(x_t, t) dt per row (= L(t0)). */
  deltaLogp: Float64Array;
  /** Evaluations of the joint ODE function (each: one v and one divergence). */
  nfe: number;
  /** Forward passes of the field ('exact': d per evaluation; Hutchinson: probes per evaluation). */
  fieldEvals: number;
  steps: number;
  rejected: number;
}

/**
 * log N(z; 0, s^2 I) per row of z [batch, ...dims], in float64 on the host:
 * -d/2 log(2 pi s^2) - ||z||^2 / (2 s^2).
 */
export function gaussianLogpdf(z: Tensor, scale = 1): Float64Array {
  if (!(scale > 0 && Number.isFinite(scale))) throw new ConfigError('priorScale', `must be a finite number > 0, got ${scale}`);
  const B = z.shape[0] ?? 1;
  const d = B === 0 ? 0 : z.size / B;
  const data = z.dataSync();
  const out = new Float64Array(B);
  const c = -0.5 * d * Math.log(2 * Math.PI * scale * scale);
  for (let b = 0; b < B; b++) {
    let r2 = 0;
    for (let j = 0; j < d; j++) r2 += data[b * d + j]! ** 2;
    out[b] = c - r2 / (2 * scale * scale);
  }
  return out;
}

/**
 * Log-likelihood of each row of x under the flow `field` (nats), by integrating [x, L] from t1 to t0
 * (see the module comment for the sign). x is [batch, ...dims] (e.g. [B, 2] or [B, H, W, C]).
 *
 * @example
 * const oracle = gmmOracle(mixture, condOT());
 * const { logp, latent, nfe } = logLikelihood(oracle.velocity, x, { divergence: 'exact', rtol: 1e-6, atol: 1e-6 });
 * latent.dispose();
 * // images: Hutchinson, then bits/dim
 * const r = logLikelihood(model, xImg, { divergence: 'hutchinson', probes: 1, seed: 7, scheduler });
 * const bpd = bitsPerDim(r.logp, 32 * 32 * 3);
 *
 * x is not disposed. Errors and cancellation are those of `odeSolve` (probes and the state are freed).
 */
export function logLikelihood(field: VelocityField, x: Tensor, opts: LikelihoodOptions): LikelihoodResult {
  if (!(x instanceof tf.Tensor)) throw new ConfigError('x', `must be a tensor, got ${typeof x}`);
  checkShape(x.rank >= 2 && x.shape[0]! >= 1, () => `x must have shape [batch, ...dims] with batch >= 1; got [${x.shape.join(', ')}]`);
  const mode = opts.divergence;
  if (mode !== 'exact' && mode !== 'hutchinson' && typeof mode !== 'function') {
    throw new ConfigError('divergence', `must be 'exact', 'hutchinson' or a function, got '${String(mode)}'`);
  }
  const method = opts.method ?? 'dopri5';
  const timeGrid = pathGrid(opts, method, 'toNoise');
  const B = x.shape[0]!;
  const d = x.size / B;
  const cond = opts.cond;

  const probes = mode === 'hutchinson' ? makeProbes(x.shape, opts.probe ?? 'rademacher', opts.probes ?? 1, opts.seed ?? 0) : [];
  const perEval = mode === 'exact' ? d : mode === 'hutchinson' ? probes.length : 1;
  const L0 = tf.zeros([B]);
  try {
    const f: OdeFunction = (t, state) => {
      const xt = state[0]!;
      if (mode === 'exact') {
        const r = exactDivergence(field, xt, t, cond);
        return [r.v, r.div];
      }
      if (mode === 'hutchinson') {
        const r = hutchinsonDivergence(field, xt, t, probes, cond);
        return [r.v, r.div];
      }
      const v = field(xt, t, cond);
      const div = mode(xt, t, cond);
      if (!tf.util.arraysEqual(div.shape, [B])) {
        const got = div.shape;
        tf.dispose([v, div]);
        throw new ConfigError('divergence', `the divergence function must return shape [${B}]; got [${got.join(', ')}]`);
      }
      return [v, div];
    };
    const res = odeSolve(f, [x, L0], {
      method,
      timeGrid,
      ...solverControls(opts),
    });
    const [latent, L] = res.state as [Tensor, Tensor];
    const deltaLogp = Float64Array.from(L.dataSync());
    L.dispose();
    let priorLogp: Float64Array;
    try {
      priorLogp = opts.prior ? priorFromUser(opts.prior, latent, B) : gaussianLogpdf(latent, priorScaleOf(opts));
    } catch (e) {
      latent.dispose();
      throw e;
    }
    const logp = priorLogp.map((p, i) => p + deltaLogp[i]!);
    return { logp, latent, priorLogp, deltaLogp, nfe: res.nfe, fieldEvals: res.nfe * perEval, steps: res.steps, rejected: res.rejected };
  } finally {
    tf.dispose(probes);
    L0.dispose();
  }
}

function priorScaleOf(opts: LikelihoodOptions): number {
  if (opts.priorScale !== undefined) return opts.priorScale;
  return opts.scheduler ? sourceScale(opts.scheduler) : 1;
}

function priorFromUser(prior: (z: Tensor) => Tensor, latent: Tensor, B: number): Float64Array {
  const lp = prior(latent);
  try {
    if (!tf.util.arraysEqual(lp.shape, [B]))
      throw new ConfigError('prior', `must return log-densities of shape [${B}]; got [${lp.shape.join(', ')}]`);
    return Float64Array.from(lp.dataSync());
  } finally {
    lp.dispose();
  }
}
