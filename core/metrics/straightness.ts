/**
 * Straightness of sampled trajectories (Liu et al., rectified flow):
 *   S = E integral_0^1 || (x_1 - x_0) - v(x_t, t) ||^2 dt,
 * 0 exactly when every path is a straight line run at constant speed (then one Euler step is exact).
 *
 * From states x_0 .. x_K recorded on a time grid t_0 .. t_K, the velocity on step k is the finite
 * difference v_k = (x_{k+1} - x_k) / dt_k, dt_k = t_{k+1} - t_k, and the straight-line velocity is the
 * mean velocity (x_K - x_0) / (t_K - t_0), which is x_1 - x_0 on the usual grid from 0 to 1. Then
 *   S = (1 / n) sum_i sum_k w_k || (x_K - x_0)_i / (t_K - t_0) - v_k,i ||^2,
 * with weights w_k = dt_k / (t_K - t_0) (the quadrature of the time integral; default) or 1 / K
 * (the plain mean over steps). The two agree on uniform grids. Norms are over all coordinates of a
 * sample (not averaged per dimension). Grids may run backwards (inversion, 1 -> 0).
 *
 * Note: with finite differences, S measures the polygon through the recorded states; a curved path
 * recorded on K steps gives a slightly smaller S than the continuous path (chords are straighter).
 */
import type { Tensor } from '../tf';
import { ConfigError, DataError, ShapeError } from '../errors';

/** States on the grid: one tensor [K + 1, n, ...] or a list of K + 1 states [n, ...] (tensors or flat arrays). */
export type TrajectorySet = Tensor | readonly (Tensor | Float32Array | Float64Array)[];

export interface StraightnessOptions {
  /** 'dt' (default): weight step k by dt_k / (t_K - t_0). 'uniform': plain mean over the K steps. */
  weighting?: 'dt' | 'uniform';
  /** Values per sample when the states are flat arrays (default 2, the 2D toys). */
  dim?: number;
}

/**
 * Straightness S of a set of trajectories (see the module comment). Inputs are read, not disposed.
 *
 * @param trajectories States at the grid times, time-major.
 * @param times The grid t_0 .. t_K (strictly monotone, K >= 1).
 */
export function straightness(trajectories: TrajectorySet, times: ArrayLike<number>, opts: StraightnessOptions = {}): number {
  const weighting = opts.weighting ?? 'dt';
  if (weighting !== 'dt' && weighting !== 'uniform') {
    throw new ConfigError('straightness.weighting', `must be 'dt' or 'uniform', got '${String(weighting)}'`);
  }
  const states = readStates(trajectories);
  const K = states.length - 1;
  if (K < 1) throw new ShapeError(`straightness: needs at least 2 states, got ${states.length}`);
  if (times.length !== K + 1) throw new ShapeError(`straightness: times must have one entry per state (${K + 1}), got ${times.length}`);
  const t0 = times[0]!;
  const tK = times[K]!;
  const dir = Math.sign(tK - t0);
  for (let k = 0; k < K; k++) {
    const dt = times[k + 1]! - times[k]!;
    if (!(Number.isFinite(dt) && Math.sign(dt) === dir && dir !== 0)) {
      throw new ConfigError(`straightness.times[${k + 1}]`, 'the time grid must be finite and strictly monotone');
    }
  }
  const size = states[0]!.length;
  for (let k = 1; k <= K; k++) {
    if (states[k]!.length !== size) {
      throw new ShapeError(`straightness: state ${k} has ${states[k]!.length} values, state 0 has ${size}`);
    }
  }
  const n = trajectoryCount(trajectories, size, opts.dim ?? 2);
  if (n === 0) return 0;

  const x0 = states[0]!;
  const xK = states[K]!;
  const span = tK - t0;
  const mean = new Float64Array(size);
  for (let c = 0; c < size; c++) mean[c] = (xK[c]! - x0[c]!) / span;

  let total = 0;
  for (let k = 0; k < K; k++) {
    const a = states[k]!;
    const b = states[k + 1]!;
    const dt = times[k + 1]! - times[k]!;
    let s = 0;
    for (let c = 0; c < size; c++) {
      const r = mean[c]! - (b[c]! - a[c]!) / dt;
      s += r * r;
    }
    total += (weighting === 'dt' ? dt / span : 1 / K) * s;
  }
  if (!Number.isFinite(total)) throw new DataError('straightness: trajectories contain non-finite values');
  return total / n;
}

function isTensor(x: unknown): x is Tensor {
  return typeof (x as Tensor).dataSync === 'function' && Array.isArray((x as Tensor).shape);
}

/** Number of trajectories n (the batch axis of a state). */
function trajectoryCount(t: TrajectorySet, size: number, dim: number): number {
  if (isTensor(t)) return t.shape[1]!;
  const first = t[0];
  if (first !== undefined && isTensor(first)) return first.shape[0] ?? 0;
  if (!(Number.isInteger(dim) && dim >= 1 && size % dim === 0)) {
    throw new ShapeError(`straightness: flat states of ${size} values are not whole samples of dim = ${dim}`);
  }
  return size / dim;
}

function readStates(t: TrajectorySet): ArrayLike<number>[] {
  if (isTensor(t)) {
    if (t.rank < 2) throw new ShapeError(`straightness: a trajectory tensor must be [K + 1, n, ...]. Got shape [${t.shape}]`);
    const all = t.dataSync();
    const steps = t.shape[0]!;
    const per = steps === 0 ? 0 : all.length / steps;
    const out: ArrayLike<number>[] = [];
    for (let k = 0; k < steps; k++) out.push(all.subarray(k * per, (k + 1) * per));
    return out;
  }
  return t.map((s) => (isTensor(s) ? s.dataSync() : s));
}
