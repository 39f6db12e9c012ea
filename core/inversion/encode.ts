/**
 * Inversion through the probability-flow ODE dx/dt = v(x, t):
 * - encode: data x at t1 (default 1) -> latent at t0 (default 0), integrating backwards;
 * - decode: latent at t0 -> data at t1, integrating forwards.
 *
 * The PF-ODE is a deterministic bijection, so decode(encode(x)) = x up to solver error; the latent
 * of a well-trained model is distributed as the source N(0, sigma_0^2 I). Partial inversion (t0 in
 * (0, 1)) stops at an intermediate noise level: edits applied there and decoded keep the coarse
 * structure of x (SDEdit-style editing without noise injection).
 *
 * A non-velocity model whose velocity is singular at the data end (eps, x1 or score on VP and
 * linear-VP, where sigma' is infinite at t = 1) is inverted from, and decoded to, t1 = 1 - T_EPS
 * instead of 1 (the edge of its training range): the data are taken as x at that time, which
 * differs from it by sigma_{1 - T_EPS} x0 (sigma = 0.01 for VP), the way score_sde starts its
 * likelihood at t = 1e-5 from the data.
 */
import type { Tensor } from '../tf';
import type { VelocityField } from '../field';
import { ConfigError } from '../errors';
import { integrateField } from '../solver/sample';
import { solverControls, type OdeMethod, type SolverControls } from '../solver/types';
import { pathGrid, type PathGridOptions } from './grid';
import { pathModelOf, velocityMode } from '../path/model';
import { T_EPS } from '../train/loss';

export interface InversionOptions extends PathGridOptions, SolverControls {
  /** Solver (default 'dopri5': inversion is only as good as its accuracy). */
  method?: OdeMethod;
  /** Conditioning passed to every field call (the same for encode and decode to round-trip). */
  cond?: Tensor;
  /** Keep x at every grid time. */
  returnTrajectory?: boolean;
}

export interface InversionResult {
  /** The end state: the latent (encode) or the data (decode), shape of the input. Caller owns. */
  x: Tensor;
  /** Field evaluations. */
  nfe: number;
  /** Accepted steps (fixed step: grid intervals); dopri5 also reports `rejected`. */
  steps: number;
  rejected: number;
  /** With returnTrajectory: x at every time of `times` (first = a copy of the input). Caller owns. */
  trajectory?: Tensor[];
  /** The grid integrated over, in the direction of travel. */
  times: number[];
}

/**
 * Encodes data into the latent: x(t0) from x(t1) = x1 along dx/dt = v(x, t), t running t1 -> t0
 * (defaults 1 -> 0; pass t0 in (0, 1) for a partial inversion; t1 < 1 for fields singular at t = 1).
 *
 * @param x1 [batch, ...dims]; not disposed.
 * @example
 * const { x: z } = encode(model, images, { rtol: 1e-5, atol: 1e-5 });       // full inversion
 * const { x: zHalf } = encode(model, images, { t0: 0.5, method: 'heun', steps: 25 }); // partial
 */
export function encode(field: VelocityField, x1: Tensor, opts: InversionOptions = {}): InversionResult {
  return run(field, x1, opts, 'toNoise');
}

/**
 * Decodes a latent into data: x(t1) from x(t0) = z along dx/dt = v(x, t), t running t0 -> t1
 * (defaults 0 -> 1). A latent from a partial `encode` to t0 is decoded with the same t0.
 *
 * @param z [batch, ...dims]; not disposed.
 * @example
 * const { x } = decode(model, z, { method: 'rk4', steps: 20 }); // nfe = 80
 */
export function decode(field: VelocityField, z: Tensor, opts: InversionOptions = {}): InversionResult {
  return run(field, z, opts, 'toData');
}

function run(field: VelocityField, x: Tensor, opts: InversionOptions, direction: 'toNoise' | 'toData'): InversionResult {
  const method = opts.method ?? 'dopri5';
  if (typeof field !== 'function') throw new ConfigError('field', 'must be a velocity field (x, t, cond?) => v');
  const timeGrid = pathGrid(dataEnd(field, opts), method, direction);
  const res = integrateField(field, x, {
    method,
    timeGrid,
    ...solverControls(opts),
    cond: opts.cond,
    returnTrajectory: opts.returnTrajectory,
  });
  const out: InversionResult = { x: res.x, nfe: res.nfe, steps: res.steps, rejected: res.rejected, times: res.times };
  if (res.trajectory) out.trajectory = res.trajectory;
  return out;
}

/** The options with t1 = 1 moved to 1 - T_EPS where the model's velocity is singular at 1 (module comment). */
function dataEnd(field: VelocityField, opts: InversionOptions): InversionOptions {
  const pm = pathModelOf(field);
  if (!pm || opts.timeGrid !== undefined || (opts.t1 ?? 1) !== 1) return opts;
  return velocityMode(pm, 1) === 'singular' ? { ...opts, t1: 1 - T_EPS } : opts;
}
