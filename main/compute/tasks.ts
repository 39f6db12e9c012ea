/**
 * Evaluation tasks the app runs off the UI thread (in the compute worker, main/compute/worker.ts):
 * sampling with trajectories, the velocity field on a grid beside the analytic oracle, backend info.
 * Each task takes a JSON request and returns a JSON reply (the contract's reply types), so the same
 * functions serve Electron and the web host; they read the run store, they never write training state.
 */
import { tf, type Tensor } from '../../core/tf';
import { ConfigError } from '../../core/errors';
import { sampleFromField, samplerSettings } from '../../core/train/sample';
import { underScheduler } from '../models/under-scheduler';
import { straightness } from '../../core/metrics/straightness';
import { mixtureOf2d } from '../../core/data/toy2d';
import { pathScheduler } from '../../core/train/config';
import type { GaussianMixture } from '../../core/data/mixture';
import type { ExperimentConfig } from '../../common/config';
import type { FieldView, InvertedPoints, SampleResult, SampleView } from '../../common/contract';
import { encode } from '../../core/inversion/encode';
import { imageGridPng, type Channels } from '../data';
import { oracleModel, runModel, type LoadedModel } from '../models/load';
import type { RunStore } from '../store';
import type { FieldArgs, InvertPointsArgs, SampleArgs } from './protocol';
import type { AbortLike, StepInfo } from '../../core/field';
import { recordSampleNfe } from './estimate-task';

/** The exact mixture a run's data is, when the analytic oracle applies (affine path, noise source). */
export function oracleMixture(config: ExperimentConfig): GaussianMixture | null {
  if (config.path.kind !== 'affine' || config.source.kind !== 'gaussian' || config.reflow) return null;
  if (config.data.kind === 'gmm') return config.data.gmm;
  if (config.data.kind === 'toy2d' && config.data.noise === undefined) return mixtureOf2d(config.data.name);
  return null;
}

function withModel<T>(store: RunStore, runId: string, fn: (m: LoadedModel) => T): T {
  const m = runModel(store, runId);
  try {
    return fn(m);
  } finally {
    m.dispose();
  }
}

/**
 * Draws n samples from the run's latest checkpoint (EMA weights) with the given solver; for 2D models
 * also returns the first `trajectories` particle paths from noise (t = 0) to data (t = 1) and their
 * straightness S = mean over particles and steps of |v_k - (x_1 - x_0)|^2 / |x_1 - x_0|^2 (dt-weighted).
 */
export function sampleTask(
  store: RunStore,
  req: Omit<SampleArgs, 'cancel'>,
  hooks: { signal?: AbortLike; onStep?: (info: StepInfo) => void } = {},
): SampleResult {
  return withModel(store, req.runId, (trained) => {
    const cfgRun = trained.config!;
    // Another scheduler (exact: main/models/under-scheduler.ts); the trained model still owns the weights.
    const model = req.scheduler ? underScheduler(trained, req.scheduler) : trained;
    const images = model.shape.length > 1;
    const n = req.n ?? (images ? 32 : 1000);
    const solver = req.solver ?? cfgRun.sampling.solver;
    const steps = req.steps ?? cfgRun.sampling.steps;
    if (req.classLabel !== undefined && (model.numClasses === 0 || req.classLabel >= model.numClasses)) {
      throw new ConfigError(
        'classLabel',
        model.numClasses === 0 ? 'this model is not class-conditional' : `must be in 0..${model.numClasses - 1}, got ${req.classLabel}`,
      );
    }
    const labels = model.numClasses > 0 ? Array.from({ length: n }, (_, i) => req.classLabel ?? i % model.numClasses) : null;
    const cond = labels ? tf.tensor1d(labels, 'int32') : undefined;
    const t0 = performance.now();
    const res = sampleFromField(model.field(req.cfg), {
      n,
      shape: model.shape,
      seed: req.seed ?? Date.now() % 1_000_000,
      solver,
      steps,
      rtol: cfgRun.sampling.rtol,
      atol: cfgRun.sampling.atol,
      // The request's sampler settings; the run's own only when it samples with the run's sampler.
      ...samplerSettings({ ...(req.solver === undefined || req.solver === cfgRun.sampling.solver ? cfgRun.sampling : {}), ...req }),
      scheduler: model.scheduler,
      t0: model.timeRange.lo,
      t1: model.timeRange.hi,
      returnTrajectory: !images,
      ...(cond ? { cond } : {}),
      ...(hooks.signal ? { signal: hooks.signal } : {}),
      ...(hooks.onStep ? { onStep: hooks.onStep } : {}),
    });
    recordSampleNfe(trained, solver, res.nfe);
    const tensors: Tensor[] = [res.x, res.x0, ...(res.trajectory ?? []), ...(cond ? [cond] : [])];
    try {
      const seconds = (performance.now() - t0) / 1000;
      const step = model.step ?? 0;
      let sample: SampleView;
      if (images) {
        const [h, w, c] = model.shape as [number, number, Channels];
        const png = imageGridPng(res.x.dataSync() as Float32Array, n, h, w, c, Math.min(8, n));
        sample = { kind: 'image-grid', step, png: Buffer.from(png).toString('base64'), ...(labels ? { labels } : {}) };
      } else {
        sample = { kind: 'points', step, points: res.x.arraySync() as number[][] };
      }
      const out: SampleResult = { step, solver, steps: res.steps, nfe: res.nfe, seconds, sample };
      if (!images && res.trajectory) {
        const k = Math.min(req.trajectories ?? 64, n);
        const states = res.trajectory.map((s) => s.arraySync() as number[][]);
        out.trajectories = { times: res.times, paths: Array.from({ length: k }, (_, i) => states.map((s) => s[i]!)) };
        out.straightness = straightness(res.trajectory, res.times);
      }
      return out;
    } finally {
      tf.dispose(tensors);
    }
  });
}

/**
 * Default plot window: the bulk of the latest sample (1st to 99th percentile per axis, so a few stray
 * points of an early model do not shrink everything else) and of N(0, I) ([-3, 3]^2), padded by 10%.
 */
function defaultBounds(store: RunStore, runId: string): [number, number, number, number] {
  let [x0, x1, y0, y1] = [-3, 3, -3, 3];
  const latest = store.listSamples(runId, { kind: 'points' }).at(-1);
  if (latest) {
    const pts = (store.getSample(latest.id).data as number[][]).filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (pts.length > 0) {
      const q = (v: number[], f: number) => v.sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(f * v.length))]!;
      const xs = pts.map((p) => p[0]!);
      const ys = pts.map((p) => p[1]!);
      x0 = Math.min(x0, q(xs, 0.01));
      x1 = Math.max(x1, q(xs, 0.99));
      y0 = Math.min(y0, q(ys, 0.01));
      y1 = Math.max(y1, q(ys, 0.99));
    }
  }
  const px = 0.1 * (x1 - x0);
  const py = 0.1 * (y1 - y0);
  return [x0 - px, x1 + px, y0 - py, y1 + py];
}

/**
 * The learned velocity v(x, t) on a grid x grid lattice over `bounds`; for mixture targets also the
 * exact velocity of the Gaussian-mixture oracle under the run's scheduler, |v - v*| per point and the
 * relative error sum|v - v*| / sum|v*|.
 */
export function fieldTask(store: RunStore, req: FieldArgs): FieldView {
  return withModel(store, req.runId, (model) => {
    if (model.shape.length !== 1 || model.shape[0] !== 2)
      throw new ConfigError('id', `the vector field view needs a 2D model; this run's data has shape [${model.shape.join(', ')}]`);
    const g = req.grid ?? 20;
    const bounds = req.bounds ?? defaultBounds(store, req.runId);
    const [xa, xb, ya, yb] = bounds;
    if (!(xb > xa && yb > ya))
      throw new ConfigError('bounds', `must be [xmin, xmax, ymin, ymax] with xmin < xmax and ymin < ymax, got ${JSON.stringify(bounds)}`);
    const points: number[][] = [];
    for (let j = 0; j < g; j++)
      for (let i = 0; i < g; i++) points.push([xa + ((i + 0.5) * (xb - xa)) / g, ya + ((j + 0.5) * (yb - ya)) / g]);
    // Keep t inside the interval the model was trained on (eps/x1 models are singular at an end).
    const t = Math.min(model.timeRange.hi, Math.max(model.timeRange.lo, req.t));
    const x = tf.tensor2d(points);
    const tensors: Tensor[] = [x];
    try {
      // No labels: a conditional model shows its unconditional field.
      const v = model.field(req.cfg)(x, t);
      tensors.push(v);
      const learned = v.arraySync() as number[][];
      const view: FieldView = { t, step: model.step ?? 0, bounds, grid: g, points, learned };
      const mixture = oracleMixture(model.config!);
      if (mixture) {
        const oracle = oracleModel(mixture, pathScheduler(model.config!.path), 'oracle');
        const vo = oracle.field()(x, t);
        tensors.push(vo);
        const exact = vo.arraySync() as number[][];
        const error = learned.map((l, k) => Math.hypot(l[0]! - exact[k]![0]!, l[1]! - exact[k]![1]!));
        const norm = exact.reduce((s, e) => s + Math.hypot(e[0]!, e[1]!), 0);
        view.oracle = exact;
        view.error = error;
        view.relError = error.reduce((s, e) => s + e, 0) / Math.max(norm, 1e-12);
      }
      return view;
    } finally {
      tf.dispose(tensors);
    }
  });
}

/**
 * Inverts 2D data points to noise through the PF-ODE (t = 1 -> 0) with the run's latest weights, and
 * returns each path and log N(z; 0, I) = -|z|^2 / 2 - log(2 pi) of its end point.
 */
export function invertPointsTask(store: RunStore, req: InvertPointsArgs): InvertedPoints {
  return withModel(store, req.runId, (model) => {
    if (model.shape.length !== 1 || model.shape[0] !== 2)
      throw new ConfigError('id', `inverting points needs a 2D model; this run's data has shape [${model.shape.join(', ')}]`);
    if (model.config?.source.kind === 'data')
      throw new ConfigError('id', 'this run starts from a data set, not noise: its inverse is a source point, not a latent');
    const solver = req.solver ?? 'rk4';
    const x = tf.tensor2d(req.points);
    const tensors: Tensor[] = [x];
    try {
      const r = encode(model.field(0), x, {
        method: solver,
        steps: req.steps ?? (solver === 'dopri5' ? 20 : 40),
        rtol: 1e-5,
        atol: 1e-5,
        t0: model.timeRange.lo,
        t1: model.timeRange.hi,
        returnTrajectory: true,
      });
      tensors.push(r.x, ...(r.trajectory ?? []));
      const states = (r.trajectory ?? []).map((s) => s.arraySync() as number[][]);
      const latents = r.x.arraySync() as number[][];
      return {
        step: model.step ?? 0,
        latents,
        times: r.times,
        paths: req.points.map((_, i) => states.map((s) => s[i]!)),
        nfe: r.nfe,
        logPrior: latents.map(([a, b]) => -(a! * a! + b! * b!) / 2 - Math.log(2 * Math.PI)),
      };
    } finally {
      tf.dispose(tensors);
    }
  });
}
