/**
 * How long a sampling task would take, before it runs (task 'estimate-task', contract estimateTask).
 *
 * seconds = (seconds per evaluation of the model's field at the task's batch size) x (the number of
 * evaluations the task makes). The evaluation cost is timed once per model (run id + checkpoint step),
 * batch size and guidance weight: one untimed warm-up call (kernels compile, buffers are allocated),
 * then calls until MIN_CALLS are done and MIN_SECONDS have passed (or MAX_CALLS).
 *
 * The number of evaluations (core/solver/samplers.ts sampleOde, core/solver/ode.ts):
 * - a fixed-step ODE method with S stages over `steps` intervals: steps x S for a velocity model; a
 *   model that ends with a denoising step (endsWithDenoise) replaces the last interval by one denoiser
 *   call, and an eps/score model's noise-end limit costs two calls, the data end's exact value none
 *   (fixedStepCalls prices each stage by its time). Exact ('counted').
 * - dopri5: adaptive, so the NFE of this model's last dopri5 sample when there is one ('measured'),
 *   else a typical range DOPRI5_TYPICAL_NFE ('typical').
 * - the exponential and stochastic samplers: one to two evaluations per step ('typical').
 *
 * A latent tool (main/latent) is a list of ODE solves, each on a batch: invert = encode + decode of
 * its images, plus `repeats` likelihood solves for bits/dim, each evaluation a forward pass and one
 * backward pass (a VJP) per Hutchinson probe; interpolate = encode of its 2 ends + decode of
 * frames x 2 paths; class-swap = encode + decode. A fixed-step solve makes steps x stages evaluations
 * of the field (core/inversion/encode: one grid interval per step), dopri5 a typical range.
 */
import { tf, type Tensor } from '../../core/tf';
import { ConfigError } from '../../core/errors';
import { FIXED_STEP_METHODS, isOneOf, type FixedStepMethod, type SamplerKind, type TimeGridKind } from '../../core/catalog';
import { endsWithDenoise, samplingGrid } from '../../core/solver/samplers';
import { stageNodes } from '../../core/solver/ode';
import { denoiseMode, pathModelOf, velocityMode, velocityModel, type PathModel } from '../../core/path/model';
import { Rng } from '../../core/util/random';
import { underScheduler } from '../models/under-scheduler';
import type { TaskEstimate } from '../../common/contract';
import { runModel, type LoadedModel } from '../models/load';
import { modelFor } from './latent';
import type { RunStore } from '../store';
import type { ParsedTaskArgs } from './protocol';

/**
 * dopri5's NFE on a model never sampled with it here: 1 + 1 + 6 per attempted step, with tens of
 * steps on a trained model at the default tolerances. A stated range, shown as such.
 */
export const DOPRI5_TYPICAL_NFE: [number, number] = [50, 200];

const MIN_CALLS = 2;
const MAX_CALLS = 20;
const MIN_SECONDS = 0.3;

/** Network calls of one denoiser evaluation at t (core/path/model.ts denoise): 0 at sigma = 0, 2 for a limit. */
function denoiseCalls(pm: PathModel, t: number): number {
  const mode = denoiseMode(pm, t);
  return mode === 'data-end' ? 0 : mode === 'limit' ? 2 : 1;
}

/** Network calls of one velocity evaluation at t (core/path/model.ts pathVelocity). */
function velocityCalls(pm: PathModel, t: number): number {
  const mode = velocityMode(pm, t);
  return mode === 'regular' ? 1 : mode === 'noise-end' ? denoiseCalls(pm, t) : 0;
}

/**
 * Network calls a fixed-step ODE sample makes over `grid` (core/solver/samplers.ts sampleOde): every
 * stage of every interval, where the last interval is one denoising step instead for a model that
 * ends with one (endsWithDenoise), each priced by velocityCalls / denoiseCalls at its time.
 */
export function fixedStepCalls(pm: PathModel, grid: readonly number[], method: FixedStepMethod): number {
  const tail = endsWithDenoise(pm, grid[grid.length - 1]!);
  const ode = tail ? grid.slice(0, -1) : grid;
  let n = 0;
  for (let k = 0; k + 1 < ode.length; k++) {
    const t = ode[k]!;
    const h = ode[k + 1]! - t;
    for (const c of stageNodes(method)) n += velocityCalls(pm, t + c * h);
  }
  if (tail) n += denoiseCalls(pm, ode[ode.length - 1]!);
  return n;
}

/** The evaluations a sample makes: exact for fixed-step methods, else a range and where it comes from. */
export function sampleEvaluations(
  pm: PathModel,
  solver: SamplerKind,
  opts: { steps: number; grid?: TimeGridKind | undefined; t0: number; t1: number },
  lastDopri5Nfe?: number,
): { nfe: [number, number]; basis: TaskEstimate['basis'] } {
  if (isOneOf(FIXED_STEP_METHODS, solver)) {
    const grid = samplingGrid(pm.scheduler, {
      sampler: solver,
      steps: opts.steps,
      t0: opts.t0,
      t1: opts.t1,
      ...(opts.grid ? { grid: opts.grid } : {}),
    });
    const n = fixedStepCalls(pm, grid, solver);
    return { nfe: [n, n], basis: 'counted' };
  }
  if (solver === 'dopri5')
    return lastDopri5Nfe ? { nfe: [lastDopri5Nfe, lastDopri5Nfe], basis: 'measured' } : { nfe: DOPRI5_TYPICAL_NFE, basis: 'typical' };
  // Exponential and stochastic samplers: one or two calls a step (more with pc's corrector steps).
  return { nfe: [opts.steps, 2 * opts.steps], basis: 'typical' };
}

/** Seconds per evaluation, by model key + batch + guidance weight (a worker-lifetime cache). */
const evalCost = new Map<string, number>();
/** NFE of the last dopri5 sample per model key (recorded by the sample task). */
const dopri5Nfe = new Map<string, number>();

const modelKey = (m: LoadedModel): string => `${m.runId ?? m.label}@${m.step ?? 0}`;

/** Records a finished sample's NFE (dopri5's is what the next estimate for this model uses). */
export function recordSampleNfe(m: LoadedModel, solver: string, nfe: number): void {
  if (solver === 'dopri5') dopri5Nfe.set(modelKey(m), nfe);
}

/**
 * Times one evaluation of the model's field (guidance weight cfg) on a batch of n; with `vjp`, the
 * evaluation and one vector-Jacobian product (what a Hutchinson divergence probe costs). Cached.
 */
export function secondsPerEvaluation(
  m: LoadedModel,
  n: number,
  cfg: number | undefined,
  vjp = false,
): { seconds: number; cached: boolean } {
  const key = `${modelKey(m)}|${n}|${cfg ?? 'run'}|${vjp ? 'vjp' : 'forward'}`;
  const hit = evalCost.get(key);
  if (hit !== undefined) return { seconds: hit, cached: true };
  const field = m.field(cfg);
  const size = m.shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(new Rng(1).normals(n * size), [n, ...m.shape], 'float32');
  const cond =
    m.numClasses > 0
      ? tf.tensor1d(
          Array.from({ length: n }, (_, i) => i % m.numClasses),
          'int32',
        )
      : undefined;
  const t = (m.timeRange.lo + m.timeRange.hi) / 2;
  // Reading the result back waits for the device, so each call is timed to its end.
  const probe = vjp ? tf.randomNormal([n, ...m.shape]) : null;
  const call = (): void => {
    const v: Tensor = probe ? tf.tidy(() => tf.grad((y: Tensor) => tf.sum(tf.mul(field(y, t, cond), probe)))(x)) : field(x, t, cond);
    v.dataSync();
    v.dispose();
  };
  try {
    call();
    let calls = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (calls < MIN_CALLS || (elapsed < MIN_SECONDS && calls < MAX_CALLS)) {
      call();
      calls++;
      elapsed = (performance.now() - t0) / 1000;
    }
    const seconds = elapsed / calls;
    evalCost.set(key, seconds);
    return { seconds, cached: false };
  } finally {
    x.dispose();
    cond?.dispose();
    probe?.dispose();
  }
}

/** The estimate of a "Sample now" request on a run's latest checkpoint. */
export function estimateSample(store: RunStore, req: ParsedTaskArgs<'estimate-task'>): TaskEstimate {
  const trained = runModel(store, req.runId);
  try {
    // Another scheduler changes where the model needs its denoising step (as sampleTask samples).
    const m = req.scheduler ? underScheduler(trained, req.scheduler) : trained;
    const images = m.shape.length > 1;
    const n = req.n ?? (images ? 32 : 1000);
    const cfgRun = m.config!;
    const solver = (req.solver ?? cfgRun.sampling.solver) as SamplerKind;
    const steps = req.steps ?? cfgRun.sampling.steps;
    if (!(Number.isInteger(steps) && steps >= 1)) throw new ConfigError('steps', `must be an integer >= 1, got ${steps}`);
    const field = m.field(req.cfg);
    const pm = pathModelOf(field) ?? velocityModel(field, m.scheduler);
    // The grid sampleTask samples on: the request's, else the run's own when it samples with the run's sampler.
    const grid = req.grid ?? (req.solver === undefined || req.solver === cfgRun.sampling.solver ? cfgRun.sampling.grid : undefined);
    const { nfe, basis } = sampleEvaluations(
      pm,
      solver,
      { steps, grid, t0: m.timeRange.lo, t1: m.timeRange.hi },
      dopri5Nfe.get(modelKey(m)),
    );
    const per = secondsPerEvaluation(m, n, req.cfg);
    return {
      secondsPerEvaluation: per.seconds,
      batch: n,
      nfe,
      seconds: [nfe[0] * per.seconds, nfe[1] * per.seconds],
      basis,
      timedNow: !per.cached,
    };
  } finally {
    trained.dispose();
  }
}

/** Field evaluations of one solve with `spec`, and whether that count is exact. */
function solveEvaluations(spec: { method: string; steps?: number | undefined }): { nfe: [number, number]; basis: TaskEstimate['basis'] } {
  if (isOneOf(FIXED_STEP_METHODS, spec.method) && spec.steps !== undefined) {
    const n = spec.steps * stageNodes(spec.method).length;
    return { nfe: [n, n], basis: 'counted' };
  }
  return { nfe: DOPRI5_TYPICAL_NFE, basis: 'typical' };
}

/** bits/dim's solver when the request names none (main/latent/invert.ts BPD_SOLVER): dopri5. */
const BPD_DEFAULT = { method: 'dopri5' };

/** The estimate of a latent tool on its model (module comment). */
export function estimateLatent(store: RunStore, req: ParsedTaskArgs<'estimate-latent'>): TaskEstimate {
  const m = modelFor(store, req.model);
  const solve = solveEvaluations(req.solver);
  // Encoding uses the plain field (guidance 0) but in invert, which solves every way at its cfg;
  // decoding uses the request's cfg, by default the tool's (main/latent: class-swap 1, the others 0).
  const cfg = req.cfg ?? (req.op === 'class-swap' ? 1 : 0);
  const encCfg = req.op === 'invert' ? cfg : 0;
  const parts: { batch: number; solves: number; nfe: [number, number]; probes: number; cfg: number }[] = [];
  let basis = solve.basis;
  if (req.op === 'interpolate') {
    parts.push({ batch: 2, solves: 1, nfe: solve.nfe, probes: 0, cfg: 0 });
    parts.push({ batch: 2 * (req.frames ?? 8), solves: 1, nfe: solve.nfe, probes: 0, cfg });
  } else {
    parts.push({ batch: req.images, solves: 1, nfe: solve.nfe, probes: 0, cfg: encCfg });
    parts.push({ batch: req.images, solves: 1, nfe: solve.nfe, probes: 0, cfg });
  }
  if (req.op === 'invert' && req.bitsPerDim) {
    const bpd = solveEvaluations(req.solver.method === 'dopri5' ? req.solver : BPD_DEFAULT);
    if (bpd.basis !== 'counted') basis = 'typical';
    parts.push({ batch: req.images, solves: req.bitsPerDim.repeats ?? 1, nfe: bpd.nfe, probes: req.bitsPerDim.probes ?? 1, cfg });
  }
  const seconds: [number, number] = [0, 0];
  const nfe: [number, number] = [0, 0];
  let timedNow = false;
  let first: number | null = null;
  for (const p of parts) {
    const fwd = secondsPerEvaluation(m, p.batch, p.cfg, false);
    const vjp = p.probes > 0 ? secondsPerEvaluation(m, p.batch, p.cfg, true) : null;
    timedNow ||= !fwd.cached || (vjp !== null && !vjp.cached);
    // An evaluation with probes: the forward pass and one VJP per probe.
    const per = vjp ? fwd.seconds + p.probes * Math.max(0, vjp.seconds - fwd.seconds) : fwd.seconds;
    first ??= per;
    for (const k of [0, 1] as const) {
      nfe[k] += p.solves * p.nfe[k];
      seconds[k] += p.solves * p.nfe[k] * per;
    }
  }
  return { secondsPerEvaluation: first ?? 0, batch: parts[0]!.batch, nfe, seconds, basis, timedNow };
}
