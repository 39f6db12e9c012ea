/**
 * Reflow (Liu et al., rectified flow): push noise x0 through a trained flow to x1_hat = Phi(x0), then
 * train a new flow on the fixed pairs (x0, x1_hat). The pairs are already a deterministic coupling
 * of noise and data, so the new flow's conditional paths do not cross as much and its trajectories
 * straighten; repeated, a single Euler step becomes nearly exact.
 *
 * Straightness (core/metrics/straightness), along the field's own trajectories:
 *   S = E integral_0^1 || (x_1 - x_0) - v(x_t, t) ||^2 dt,   0 for straight paths at constant speed.
 *
 * Usage:
 *   const pairs = generateReflowPairs(trainer.emaField(), { n: 8192, shape: [2], seed: 1, solver: 'rk4', steps: 50 });
 *   const reflow = createTrainer({ spec: { ...spec, coupling: { ...spec.coupling, kind: 'independent' } },
 *                                  model: createModel(config, 2), target: pairedSource(pairs) });
 *   ... train ...;  measureStraightness(reflow.emaField(), { n: 512, shape: [2], seed: 3 }) < before
 */
import { tf, type Tensor } from '../tf';
import { ConfigError } from '../errors';
import type { VelocityField } from '../field';
import { pairedArraySource, type DataSource, type PairedSource } from '../data/source';
import { straightness } from '../metrics/straightness';
import type { OdeMethod } from '../solver/types';
import { Rng } from '../util/random';
import { sampleFromField } from './sample';

/** Options of `generateReflowPairs`. */
export interface ReflowPairsOptions {
  /** Number of pairs. */
  n: number;
  /** Per-sample shape. */
  shape: number[];
  /** Seed of the noise (and labels). */
  seed: number;
  /** Solver and steps (default rk4, 50): the pairs are only as good as this integration. */
  solver?: OdeMethod;
  steps?: number;
  rtol?: number;
  atol?: number;
  /** Noise scale (sourceScale of the scheduler; default 1). */
  scale?: number;
  /** Integration interval (default 0 -> 1; trainer.timeRange for eps / x1 models). */
  t0?: number;
  t1?: number;
  /** Draw x0 from this source instead of noise (data translation). */
  source?: DataSource;
  /** For a conditional field: labels drawn uniformly in [0, numClasses) and passed as cond; kept with the pairs. */
  numClasses?: number;
  /** Pairs integrated per solver call (bounds memory; default 1024). */
  chunk?: number;
}

/** Pairs (x0[i], x1[i]) row-major [n, ...shape], with the labels used to generate them. */
export interface ReflowPairs {
  readonly x0: Float32Array;
  readonly x1: Float32Array;
  readonly shape: number[];
  readonly n: number;
  readonly labels?: Int32Array;
  readonly numClasses: number;
  /** Field evaluations spent (sum over chunks). */
  readonly nfe: number;
}

/**
 * Integrates noise (or source samples) through `field` and keeps the (start, end) pairs on the host.
 * Deterministic in `seed`; chunk k draws its noise from Rng(seed + k).
 */
export function generateReflowPairs(field: VelocityField, opts: ReflowPairsOptions): ReflowPairs {
  const { n, shape } = opts;
  if (!(Number.isInteger(n) && n >= 1)) throw new ConfigError('n', `must be an integer >= 1, got ${n}`);
  const chunk = opts.chunk ?? 1024;
  if (!(Number.isInteger(chunk) && chunk >= 1)) throw new ConfigError('chunk', `must be an integer >= 1, got ${chunk}`);
  const k = opts.numClasses ?? 0;
  if (!(Number.isInteger(k) && k >= 0)) throw new ConfigError('numClasses', `must be an integer >= 0, got ${k}`);
  const row = shape.reduce((a, b) => a * b, 1);
  const x0 = new Float32Array(n * row);
  const x1 = new Float32Array(n * row);
  const labels = k > 0 ? new Int32Array(n) : undefined;
  let nfe = 0;
  for (let start = 0, c = 0; start < n; start += chunk, c++) {
    const m = Math.min(chunk, n - start);
    const seed = (opts.seed + c) >>> 0;
    const rng = new Rng(seed ^ 0x5bd1e995);
    let cond: Tensor | undefined;
    if (labels) {
      const l = new Int32Array(m);
      for (let i = 0; i < m; i++) l[i] = rng.int(k);
      labels.set(l, start);
      cond = tf.tensor1d(l, 'int32');
    }
    const from = opts.source ? opts.source.sample(m, rng).x : undefined;
    try {
      const res = sampleFromField(field, {
        n: m,
        shape,
        seed,
        solver: opts.solver ?? 'rk4',
        steps: opts.steps ?? 50,
        rtol: opts.rtol,
        atol: opts.atol,
        scale: opts.scale,
        t0: opts.t0,
        t1: opts.t1,
        cond,
        from,
      });
      x0.set(res.x0.dataSync(), start * row);
      x1.set(res.x.dataSync(), start * row);
      nfe += res.nfe;
      tf.dispose([res.x0, res.x]);
    } finally {
      tf.dispose([...(cond ? [cond] : []), ...(from ? [from] : [])]);
    }
  }
  return { x0, x1, shape: [...shape], n, numClasses: k, nfe, ...(labels ? { labels } : {}) };
}

/**
 * The pairs as a training source: (x0[i], x1[i]) drawn jointly with replacement. The trainer uses
 * them as they are (no coupling), which is what makes this reflow rather than plain flow matching.
 */
export function pairedSource(pairs: ReflowPairs): PairedSource {
  return pairedArraySource(pairs.x0, pairs.x1, pairs.shape, pairs.labels, pairs.labels ? pairs.numClasses : 0);
}

/** Options of `measureStraightness`. */
export interface StraightnessMeasureOptions {
  n: number;
  shape: number[];
  seed: number;
  /** Solver and steps of the trajectories (default euler, 100: v_k is then exactly v(x_k, t_k)). */
  solver?: OdeMethod;
  steps?: number;
  scale?: number;
  t0?: number;
  t1?: number;
  cond?: Tensor;
  from?: Tensor;
}

/**
 * Straightness S of the field's own trajectories from seeded noise (see the module comment), by
 * core's `straightness` on the recorded states.
 */
export function measureStraightness(field: VelocityField, opts: StraightnessMeasureOptions): number {
  const res = sampleFromField(field, {
    n: opts.n,
    shape: opts.shape,
    seed: opts.seed,
    solver: opts.solver ?? 'euler',
    steps: opts.steps ?? 100,
    scale: opts.scale,
    t0: opts.t0,
    t1: opts.t1,
    cond: opts.cond,
    from: opts.from,
    returnTrajectory: true,
  });
  try {
    return straightness(res.trajectory!, res.times);
  } finally {
    tf.dispose([res.x, res.x0, ...(res.trajectory ?? [])]);
  }
}
