/**
 * The training engine's math: one optimiser step of conditional flow matching at a time, the
 * resulting velocity fields, and a state that resumes bit for bit. No I/O: the worker thread and the
 * run store (main/) drive it.
 *
 * One step k:
 *   1. rng_k = Rng(hash(key, k)): every random draw of the step comes from it (see below);
 *   2. x1, labels ~ target; x0 ~ source (N(0, I) by default), or (x0, x1) ~ a paired source;
 *   3. couple(kind, x0, x1) inside the minibatch (exact OT, Sinkhorn; per class when classAware;
 *      Sinkhorn's reg is relative to the batch's mean pairwise squared distance);
 *      a paired source keeps its pairs (only 'independent' is allowed with it);
 *   4. t, x_t, target, label dropout, loss (core/train/loss.ts); gradients by tf.variableGrads;
 *   5. Adam/AdamW with schedule, clipping and EMA (core/train/optim.ts).
 *
 * Why a fresh Rng per step, seeded from (key, k): the generator's state is private to
 * core/util/random.ts, so it cannot be saved; deriving each step's generator from the step number
 * makes the "rng state" just k. Training N steps straight and training k steps, saving, restoring
 * into a fresh trainer and continuing then draw the very same batches (sources are stateless), and on
 * one backend produce the same losses bit for bit.
 *
 * Divergence: when the loss or the gradient norm is not finite, `step()` returns diverged = true and
 * leaves weights, optimiser state, EMA and the step count untouched (the caller marks the run
 * 'diverged' and keeps its last good checkpoint).
 *
 * Data parallelism: `step()` = `shardGradients(0, 1, g)` + `applyGradients(g, loss)`, bit for bit.
 * With K replicas (same state, same seed), replica k calls `shardGradients(k, K, g_k)`: because the
 * batch depends only on (key, step), every replica draws and couples the same full batch and takes
 * its own rows. The caller combines the g_k (core/train/shard.ts: weights n_k / B, the loss being a
 * mean over the full batch) and every replica applies the same combined gradient with
 * `applyGradients`, so the replicas stay identical. The threads themselves are main/'s business.
 */
import { tf, type Tensor } from '../tf';
import { ConfigError, ShapeError } from '../errors';
import type { VelocityField } from '../field';
import { gaussianSource, isPairedSource, type DataSource, type PairedSource } from '../data/source';
import { createModel } from '../model';
import { CheckpointError, getWeights, setWeights } from '../model/checkpoint';
import type { VelocityModel } from '../model/types';
import type { Scheduler } from '../path/scheduler';
import { Rng } from '../util/random';
import { pathScheduler, validateTrainSpec, type TrainSpec } from './config';
import {
  disposeFlowBatch,
  flowBatchLoss,
  samplingTimeRange,
  sliceFlowBatch,
  trainingTimeRange,
  type FlowBatch,
  type TimeRange,
} from './loss';
import { Optimizer, type OptimizerStepInfo } from './optim';
import { BatchStream } from './batches';
import { readInto } from '../kernels/heap';
import { adamKernelActive, combine2 } from '../kernels/adam';
import { combineShards, shardRows, type ShardPart } from './shard';
import { guidedField, modelPredictor, sampleFromField, samplerSettings, type SampleFromFieldResult } from './sample';

export interface TrainerOptions {
  /** The experiment (an ExperimentConfig from common/config.ts fits). */
  spec: TrainSpec;
  /** The network; the trainer updates its variables but does not dispose it. */
  model: VelocityModel;
  /** Data at t = 1, or (x0, x1) pairs (reflow), which bypass the coupling. */
  target: DataSource | PairedSource;
  /** Distribution at t = 0 (default N(0, I) of target.shape). Not allowed with a paired target. */
  source?: DataSource;
  /** Seed of the batch stream (default spec.seed). */
  seed?: number;
}

/** The outcome of one `step()`. */
export interface TrainStepResult {
  /** Steps completed after this call; for a diverged step, the index (1-based) of the step attempted. */
  readonly step: number;
  /** The (weighted) flow-matching loss of the batch, before the update. */
  readonly loss: number;
  /** Learning rate used (or that would have been used). */
  readonly lr: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** True when loss or gradients were not finite; nothing was updated. */
  readonly diverged: boolean;
  /** Mean squared distance of the training pairs (the coupling's cost; W2^2 of the batches for exact OT). */
  readonly couplingCost?: number;
}

/** What `Trainer.shardGradients` computed for one shard of a step's batch. */
export interface ShardGradients {
  /** Steps completed when it ran: the batch is the one `step()` would draw next. */
  readonly step: number;
  /** Rows of the shard (core/train/shard.ts shardRows); 0 when the batch has fewer rows than shards. */
  readonly rows: number;
  /** Mean loss over the shard's rows (0 for an empty shard). */
  readonly loss: number;
  /** The coupling cost of the whole batch (every shard couples the whole batch). */
  readonly couplingCost?: number;
}

/** Options of `Trainer.sample`. */
export interface TrainerSampleOptions {
  n: number;
  seed: number;
  /** Use the EMA weights (default true). */
  ema?: boolean;
  /** Guidance weight (default spec.sampling.cfg). */
  cfg?: number;
  /** Class labels for a conditional model (n entries); none = unconditional. */
  labels?: Int32Array;
  returnTrajectory?: boolean;
  /** Override spec.sampling.solver / steps. */
  solver?: TrainSpec['sampling']['solver'];
  steps?: number;
  /** Seed of a stochastic sampler's noise (default seed + 1). */
  noiseSeed?: number;
}

export interface Trainer {
  readonly spec: TrainSpec;
  readonly model: VelocityModel;
  /** Per-sample data shape. */
  readonly shape: number[];
  /** The path's scheduler (CondOT for the interpolant). */
  readonly scheduler: Scheduler;
  /** Times trained on (core/train/loss.ts trainingTimeRange). */
  readonly timeRange: TimeRange;
  /** Times `sample` integrates over: [0, 1] for every prediction type (the samplers take the ends exactly). */
  readonly sampleRange: TimeRange;
  /** Steps completed. */
  readonly stepCount: number;
  /** One optimiser step. */
  step(): TrainStepResult;
  /** Number of parameter values: the length of a flat gradient. */
  readonly parameterCount: number;
  /**
   * Data-parallel step, part 1: the mean loss and its gradient over shard `shard` of `shards` of the
   * batch `step()` would draw next. The whole batch is drawn, coupled and prepared from the step's
   * seed as in `step()` (so the shards of all replicas partition that very batch) and only the
   * shard's rows enter the loss. The gradient is written flat into `out` (`parameterCount` values,
   * variables in model order, each row-major). Changes nothing.
   */
  shardGradients(shard: number, shards: number, out: Float32Array): ShardGradients;
  /**
   * Data-parallel step, part 2: applies a flat full-batch gradient (e.g. the shards' gradients
   * combined by core/train/shard.ts combineShards) through the optimiser, with the batch's loss for
   * the divergence check and the result. The same rules as `step()`: a non-finite loss or gradient
   * changes nothing and returns diverged = true. Replicas with identical states that apply the same
   * gradient stay identical bit for bit.
   */
  applyGradients(grads: Float32Array, loss: number, couplingCost?: number): TrainStepResult;
  /**
   * `combineShards(parts)` + `applyGradients`: the same update, bit for bit. Two shards with rows
   * are combined by one wasm kernel after uploading them (no host loop over the gradients) where
   * that kernel exists.
   */
  applyShards(parts: readonly ShardPart[], couplingCost?: number): TrainStepResult;
  /** Velocity field of the current weights, guided with weight cfg (default spec.sampling.cfg). */
  modelField(cfg?: number): VelocityField;
  /** Velocity field of the EMA weights (follows later steps: the twin model is refreshed on use). */
  emaField(cfg?: number): VelocityField;
  /** Samples with the spec's solver over `sampleRange`, from seeded noise or the source data. */
  sample(opts: TrainerSampleOptions): SampleFromFieldResult;
  /**
   * Everything needed to resume, as new tensors the caller owns: `model/<name>`, the optimiser's
   * `optim/m/<name>`, `optim/v/<name>`, `optim/ema/<name>`, `optim/step`, and `trainer/rng`
   * (int32 [2]: stream key, steps completed).
   */
  getState(): Map<string, Tensor>;
  /** Restores a state from `getState` (values copied). CheckpointError names a missing or misfit key. */
  setState(state: ReadonlyMap<string, Tensor>): void;
  /** Frees the optimiser state and the EMA twin (not the model). */
  dispose(): void;
}

/** 32-bit finaliser of MurmurHash3: a bijective mix of all input bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Seed of step k's generator from the run's stream key. */
export function stepSeed(key: number, step: number): number {
  return fmix32((key ^ fmix32((step + 0x9e3779b9) >>> 0)) >>> 0);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Checks that the model fits the data and the spec. */
function checkModel(model: VelocityModel, shape: readonly number[], spec: TrainSpec, numClasses: number): void {
  const cfg = model.config;
  if (cfg.kind === 'mlp') {
    const d = shape.reduce((a, b) => a * b, 1);
    if (cfg.dim !== d) throw new ShapeError(`the MLP has dim ${cfg.dim}, but data samples have shape [${shape.join(',')}] (${d} values)`);
  } else if (!(shape.length === 3 && shape[0] === cfg.size && shape[1] === cfg.size && shape[2] === cfg.channels)) {
    throw new ShapeError(`the U-Net expects samples [${cfg.size},${cfg.size},${cfg.channels}], but the data has [${shape.join(',')}]`);
  }
  if (spec.conditional) {
    if (numClasses < 1) throw new ConfigError('conditional', 'needs labelled target data (the target has no classes)');
    if (cfg.numClasses !== numClasses) {
      throw new ConfigError('conditional', `the model has ${cfg.numClasses} classes but the target data has ${numClasses}`);
    }
  } else if (cfg.numClasses !== 0) {
    throw new ConfigError('conditional', `is false, but the model is class-conditional (${cfg.numClasses} classes)`);
  }
}

/**
 * The trainer's inputs against each other: the model fits the data, conditional <-> labels, a paired
 * target takes no source and no re-coupling, class-aware pairing has labels on both sides, a data
 * source has the target's shape and a path that starts at it.
 */
function checkInputs(opts: TrainerOptions): {
  paired: boolean;
  shape: number[];
  numClasses: number;
  scheduler: Scheduler;
  source: DataSource;
  labelledSource: boolean;
} {
  const { spec, model } = opts;
  const paired = isPairedSource(opts.target);
  const shape = [...opts.target.shape];
  const numClasses = opts.target.numClasses;
  checkModel(model, shape, spec, numClasses);
  if (paired && opts.source) throw new ConfigError('source', 'a paired target supplies x0 itself; give no source');
  if (paired && spec.coupling.kind !== 'independent') {
    throw new ConfigError('coupling.kind', `a paired source (reflow) keeps its pairs; use 'independent', got '${spec.coupling.kind}'`);
  }
  if (spec.coupling.classAware && numClasses < 1) throw new ConfigError('coupling.classAware', 'needs labelled target data');
  const scheduler = pathScheduler(spec.path);
  const source = opts.source ?? gaussianSource(shape);
  if (opts.source) {
    if (!sameShape(opts.source.shape, shape))
      throw new ShapeError(`source samples have shape [${opts.source.shape}], target samples [${shape}]; they must match`);
    const c0 = scheduler.coeffs(0);
    if (!(Math.abs(c0.alpha) <= 0.01 && Math.abs(c0.sigma - 1) <= 0.01)) {
      throw new ConfigError(
        'path',
        `a data source needs a path that starts at it (alpha_0 = 0, sigma_0 = 1); this one has alpha_0 = ${c0.alpha}, sigma_0 = ${c0.sigma}`,
      );
    }
  }
  const labelledSource = opts.source !== undefined && opts.source.numClasses > 0;
  if (spec.coupling.classAware && labelledSource && opts.source!.numClasses !== numClasses) {
    throw new ConfigError(
      'coupling.classAware',
      `pairs rows of the same class, but the source has ${opts.source!.numClasses} classes and the target ${numClasses}`,
    );
  }
  return { paired, shape, numClasses, scheduler, source, labelledSource };
}

/**
 * A second model holding the EMA weights, for sampling: built on first use and refreshed from the
 * optimiser when a field is used after an update (not at every step, which would copy the weights
 * for nothing).
 */
class EmaTwin {
  private twin: VelocityModel | null = null;
  private version = -1;

  constructor(
    private readonly base: VelocityModel,
    private readonly optimizer: Optimizer,
  ) {}

  model(): VelocityModel {
    if (!this.twin) this.twin = createModel(this.base.config, 0);
    if (this.version !== this.optimizer.version) {
      this.optimizer.assignEma(this.twin.variables as tf.Variable[]);
      this.version = this.optimizer.version;
    }
    return this.twin;
  }

  dispose(): void {
    this.twin?.dispose();
    this.twin = null;
  }
}

/**
 * Creates a trainer. Validates the spec (ConfigError naming the field), that the model fits the
 * data (ShapeError), and the combinations: conditional <-> labelled data and a model with classes;
 * classAware coupling needs labels; a non-Gaussian source needs a path that starts at the source
 * (alpha_0 ~ 0, sigma_0 ~ 1); a paired target takes no source and no re-coupling.
 *
 * Class-aware coupling pairs rows only within a class: noise rows (or an unlabelled source's rows)
 * take the target batch's labels, a labelled source is drawn to match them (same class count
 * required). The pairs of different classes may cross, which one deterministic flow cannot follow,
 * so use it with a conditional model and sample with the start points' labels.
 *
 * The default source is N(0, I) for every path: in x_t = alpha_t x1 + sigma_t x0 the scheduler's
 * sigma_t carries any scale (VE), and `sample` starts from sourceScale(scheduler) N(0, I).
 *
 * @example
 *   const model = createModel(modelConfigFor(spec.model, [2], 0), spec.seed);
 *   const trainer = createTrainer({ spec, model, target: toy2dSource('moons') });
 *   for (let i = 0; i < spec.train.steps; i++) { const r = trainer.step(); if (r.diverged) break; }
 *   const { x } = trainer.sample({ n: 512, seed: 1 });
 */
export function createTrainer(opts: TrainerOptions): Trainer {
  const { spec, model } = opts;
  validateTrainSpec(spec);
  const { shape, numClasses, scheduler, source, labelledSource } = checkInputs(opts);
  const seed = opts.seed ?? spec.seed;
  if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${seed}`);
  let key = seed >>> 0;

  const timeRange = trainingTimeRange(spec.path, spec.prediction);
  const sampleRange = samplingTimeRange(spec.path, spec.prediction);
  const predict = modelPredictor(model);
  const vars = model.variables as tf.Variable[];
  const optimizer = new Optimizer(vars, model.names, spec.optim, spec.train.steps);
  let steps = 0;

  const twin = new EmaTwin(model, optimizer);

  const batches = new BatchStream({ spec, target: opts.target, source, labelledSource, shape, numClasses, range: timeRange });

  /**
   * The optimiser's outcome as a step result (steps counts the update when it was applied). The
   * return type is left inferred: tf.tidy accepts object-literal types, not the interface.
   */
  const finishStep = (info: OptimizerStepInfo, loss: number, cost: { couplingCost?: number }) => {
    if (!info.applied) return { step: steps + 1, loss, lr: info.lr, gradNorm: info.gradNorm, diverged: true, ...cost };
    steps++;
    return { step: steps, loss, lr: info.lr, gradNorm: info.gradNorm, diverged: false, ...cost };
  };

  /**
   * The batch's loss and its gradient per variable (same order as `vars`; undefined where a variable
   * does not affect the loss): the model's tape-free fast path when it has one for this batch
   * (VelocityModel.mseLossAndGrads; MLPs see flat rows, U-Nets the images), else tf.variableGrads
   * over flowBatchLoss.
   */
  const lossAndGrads = (batch: FlowBatch): { value: Tensor; grads: (Tensor | undefined)[] } => {
    if (model.mseLossAndGrads) {
      const n = batch.xt.shape[0]!;
      const mlp = model.config.kind === 'mlp';
      const flat = (x: Tensor): Tensor => (!mlp || x.rank === 2 ? x : tf.reshape(x, [n, -1]));
      const w = batch.weights && mlp ? tf.reshape(batch.weights, [n, 1]) : batch.weights;
      const fast = model.mseLossAndGrads(flat(batch.xt), batch.t, batch.labels, flat(batch.target), w);
      if (fast) return { value: fast.loss, grads: fast.grads };
    }
    const { value, grads } = tf.variableGrads(() => flowBatchLoss(predict, batch), vars);
    return { value, grads: vars.map((v) => grads[v.name]) };
  };

  const parameterCount = optimizer.size;

  const trainer: Trainer = {
    spec,
    model,
    shape,
    scheduler,
    timeRange,
    sampleRange,
    get stepCount() {
      return steps;
    },

    step(): TrainStepResult {
      const rng = new Rng(stepSeed(key, steps));
      return tf.tidy(() => {
        const { batch, cost: c } = batches.prepare(rng);
        const { value, grads } = lossAndGrads(batch);
        const loss = value.dataSync()[0]!;
        const cost = c !== undefined ? { couplingCost: c } : {};
        disposeFlowBatch(batch);
        if (!Number.isFinite(loss)) {
          return { step: steps + 1, loss, lr: optimizer.nextLr, gradNorm: NaN, diverged: true, ...cost };
        }
        return finishStep(optimizer.apply(vars.map((v, i) => grads[i] ?? tf.zerosLike(v))), loss, cost);
      });
    },

    parameterCount,

    shardGradients(shard, shards, out) {
      if (out.length !== parameterCount) throw new ShapeError(`the gradient buffer needs ${parameterCount} values, got ${out.length}`);
      const rng = new Rng(stepSeed(key, steps));
      return tf.tidy(() => {
        const { batch: full, cost } = batches.prepare(rng);
        const { lo, hi } = shardRows(full.t.shape[0]!, shard, shards);
        const base = { step: steps, rows: hi - lo, ...(cost !== undefined ? { couplingCost: cost } : {}) };
        if (hi === lo) {
          disposeFlowBatch(full);
          out.fill(0);
          return { ...base, loss: 0 };
        }
        const batch = hi - lo === full.t.shape[0] ? full : sliceFlowBatch(full, lo, hi);
        if (batch !== full) disposeFlowBatch(full);
        const { value, grads } = lossAndGrads(batch);
        const loss = value.dataSync()[0]!;
        disposeFlowBatch(batch);
        // One copy per variable straight into `out` (no concat kernel: it would copy all values once more).
        let offset = 0;
        for (const [i, v] of vars.entries()) {
          const g = grads[i];
          if (g) readInto(g, out, offset);
          else out.fill(0, offset, offset + v.size);
          offset += v.size;
        }
        return { ...base, loss };
      });
    },

    applyGradients(grads, loss, couplingCost) {
      if (grads.length !== parameterCount) throw new ShapeError(`a flat gradient needs ${parameterCount} values, got ${grads.length}`);
      const cost = couplingCost !== undefined ? { couplingCost } : {};
      if (!Number.isFinite(loss)) return { step: steps + 1, loss, lr: optimizer.nextLr, gradNorm: NaN, diverged: true, ...cost };
      return tf.tidy(() => finishStep(optimizer.applyFlat(tf.tensor1d(grads, 'float32')), loss, cost));
    },

    applyShards(parts, couplingCost) {
      const used = parts.filter((p) => p.rows > 0);
      if (used.length !== 2 || !adamKernelActive()) {
        const g = new Float32Array(parameterCount);
        return trainer.applyGradients(g, combineShards(parts, g), couplingCost);
      }
      const total = used[0]!.rows + used[1]!.rows;
      const [w0, w1] = [used[0]!.rows / total, used[1]!.rows / total];
      for (const p of used)
        if (p.grads.length !== parameterCount)
          throw new ShapeError(`a flat gradient needs ${parameterCount} values, got ${p.grads.length}`);
      const loss = w0 * used[0]!.loss + w1 * used[1]!.loss; // combineShards' loss, same order
      const cost = couplingCost !== undefined ? { couplingCost } : {};
      if (!Number.isFinite(loss)) return { step: steps + 1, loss, lr: optimizer.nextLr, gradNorm: NaN, diverged: true, ...cost };
      return tf.tidy(() =>
        finishStep(
          optimizer.applyFlat(combine2(tf.tensor1d(used[0]!.grads, 'float32'), tf.tensor1d(used[1]!.grads, 'float32'), w0, w1)),
          loss,
          cost,
        ),
      );
    },

    modelField(cfg = spec.sampling.cfg) {
      return guidedField(model, spec.prediction, scheduler, cfg);
    },

    emaField(cfg = spec.sampling.cfg) {
      // Built over a proxy that resolves the twin at call time, so the field follows later training.
      const proxy: VelocityModel = {
        config: model.config,
        get variables() {
          return twin.model().variables;
        },
        names: model.names,
        apply: (x, t, labels) => twin.model().apply(x, t, labels),
        dispose: () => undefined,
      };
      return guidedField(proxy, spec.prediction, scheduler, cfg);
    },

    sample(so) {
      const field = so.ema === false ? trainer.modelField(so.cfg) : trainer.emaField(so.cfg);
      const cond = so.labels ? tf.tensor1d(so.labels, 'int32') : undefined;
      if (so.labels && so.labels.length !== so.n) {
        cond?.dispose();
        throw new ShapeError(`labels must have n = ${so.n} entries. Got ${so.labels.length}`);
      }
      const from = opts.source ? opts.source.sample(so.n, new Rng(so.seed)).x : undefined;
      try {
        return sampleFromField(field, {
          n: so.n,
          shape,
          seed: so.seed,
          solver: so.solver ?? spec.sampling.solver,
          steps: so.steps ?? spec.sampling.steps,
          rtol: spec.sampling.rtol,
          atol: spec.sampling.atol,
          ...samplerSettings(spec.sampling),
          ...(so.noiseSeed !== undefined ? { noiseSeed: so.noiseSeed } : {}),
          scheduler,
          t0: sampleRange.lo,
          t1: sampleRange.hi,
          ...(cond ? { cond } : {}),
          ...(from ? { from } : {}),
          ...(so.returnTrajectory ? { returnTrajectory: true } : {}),
        });
      } finally {
        tf.dispose([...(cond ? [cond] : []), ...(from ? [from] : [])]);
      }
    },

    getState() {
      const out = new Map<string, Tensor>();
      for (const [name, w] of getWeights(model)) out.set(`model/${name}`, w);
      for (const [name, t] of optimizer.getState()) out.set(`optim/${name}`, t);
      out.set('trainer/rng', tf.tensor1d([key | 0, steps], 'int32'));
      return out;
    },

    setState(state) {
      const rng = state.get('trainer/rng');
      if (!rng || rng.size !== 2)
        throw new CheckpointError('trainer/rng', 'missing from the state (int32 [2]: stream key, steps completed)');
      const [k, s] = rng.dataSync() as unknown as [number, number];
      if (!(Number.isInteger(s) && s >= 0)) throw new CheckpointError('trainer/rng', `steps completed must be an integer >= 0, got ${s}`);
      const weights = new Map<string, Tensor>();
      const optim = new Map<string, Tensor>();
      for (const [name, t] of state) {
        if (name.startsWith('model/')) weights.set(name.slice(6), t);
        else if (name.startsWith('optim/')) optim.set(name.slice(6), t);
        else if (name !== 'trainer/rng') throw new CheckpointError(name, 'not a key of a trainer state (model/*, optim/*, trainer/rng)');
      }
      // Both setters validate everything before changing anything. The weights go first; if the
      // optimiser part then fails, the previous weights are put back, so a bad state changes nothing.
      const prevWeights = getWeights(model);
      try {
        setWeights(model, weights);
        try {
          optimizer.setState(optim);
        } catch (e) {
          setWeights(model, prevWeights);
          throw e;
        }
      } finally {
        tf.dispose([...prevWeights.values()]);
      }
      key = k >>> 0;
      steps = s;
    },

    dispose() {
      optimizer.dispose();
      twin.dispose();
    },
  };
  return trainer;
}
