/**
 * One training run, as executed inside a worker thread: load the run from SQLite, build data, model
 * and trainer (resuming from the latest checkpoint if there is one), step until done, and report.
 *
 * Durability: metrics are flushed in batches (one transaction each); a checkpoint (model, EMA,
 * optimiser, data-stream position) is written atomically every `checkpointEvery` steps and whenever
 * the run pauses or stops. A process killed at any moment therefore resumes from its last checkpoint,
 * and the metrics logged after it are rewound. A non-finite loss, or a state found non-finite when a
 * checkpoint is due, ends the run as 'diverged'; no non-finite checkpoint is ever written, and the
 * error says which finite one is left (diverged.ts).
 *
 * With train.threads > 1 (or 'auto' resolving to more than 1) the steps run data-parallel over
 * replica threads (parallel.ts); this thread is replica 0 and everything else here (checkpoints,
 * samples, metrics) reads its trainer. The thread count is stored in each checkpoint's meta.
 *
 * The parts, in the order a run meets them: `prepare` (the run record, its lease and heartbeat, the
 * config, data, model and trainer, the resume, the threads), `train` (the step loop with its
 * controls), and one `finish...` per way a run can end; `MetricsBuffer` batches metric rows,
 * `ProgressMeter` turns steps into steps/s and an ETA, `LeaseHeartbeat` keeps the lease fresh.
 */
import { availableParallelism } from 'node:os';
import { tf, type Tensor } from '../../core/tf';
import { createModel, type ModelConfig } from '../../core/model';
import { createTrainer, type Trainer } from '../../core/train/trainer';
import { modelConfigFor } from '../../core/train/config';
import { energyDistance } from '../../core/metrics/distances';
import { coverage } from '../../core/metrics/quality';
import { ConfigError } from '../../core/errors';
import { generateReflowPairs, measureStraightness, pairedSource, type ReflowPairs } from '../../core/train/reflow';
import type { TimeRange } from '../../core/train/loss';
import type { PairedSource } from '../../core/data/source';
import type { VelocityField } from '../../core/field';
import { sourceScale } from '../../core/path/scheduler';
import { runModel } from '../models/load';
import { Rng } from '../../core/util/random';
import { parseExperiment, formatIssues, type ExperimentConfig } from '../../common/config';
import { RunStore } from '../store';
import { LeaseLostError, OwnershipError } from '../store/errors';
import { adoptProcessNonce, HEARTBEAT_INTERVAL_MS } from '../store/owner';
import type { MetricRow } from '../store/types';
import { imageGridPng } from '../data';
import { selectBackend, type BackendInfo } from '../runtime/backend';
import { loadExperimentData } from './sources';
import { blobsToState, loadNewestUsable, NonFiniteCheckpointError, stateToBlobs } from '../models/state';
import { StateDivergedError } from './diverged';
import { moveTo, RunEnding, type Summary } from './ending';
import { createParallelTrainer, measureIdleCores, resolveThreads, type ParallelTrainer } from './parallel';
import type { Control, FinalStatus, TrainJob, WorkerEvent } from './protocol';

/** Controls arrive asynchronously (worker messages); the loop polls this between steps. */
export class ControlState {
  paused = false;
  cancelled = false;
  sampleNow = false;
  /** Write a checkpoint at the next step boundary (the app samples "now" from the current weights). */
  checkpointNow = false;
  private wake: (() => void) | null = null;

  handle(c: Control): void {
    if (c.type === 'pause') this.paused = true;
    else if (c.type === 'resume') this.paused = false;
    else if (c.type === 'cancel') this.cancelled = true;
    else if (c.type === 'sample-now') this.sampleNow = true;
    else if (c.type === 'checkpoint-now') this.checkpointNow = true;
    this.wake?.();
  }

  /** Resolves on the next control message. */
  next(): Promise<void> {
    return new Promise((r) => (this.wake = () => ((this.wake = null), r())));
  }
}

/**
 * Thrown by the `crashAfterStep` test hook: the run stops as if its process had died, with no status
 * change and no final checkpoint (metrics up to that step are flushed, as after a crash that came
 * just after a flush). runTrainJob rethrows it; the worker exits with code 1 without a 'finished'.
 */
export class SimulatedCrash extends Error {
  constructor(step: number) {
    super(`simulated crash after step ${step}`);
    this.name = 'SimulatedCrash';
  }
}

/** Lets queued worker messages (pause, cancel) in: one macrotask turn. */
const yieldToEvents = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Weight of the previous value in the smoothed loss (an exponential moving average). */
const SMOOTHING = 0.98;
/** Metric rows are flushed when this many are pending, or after FLUSH_MS. */
const FLUSH_ROWS = 300;
const FLUSH_MS = 1000;

/**
 * Metric rows waiting for the next flush: one transaction per flush instead of one per value is what
 * makes logging cheap (main/store/store.ts appendMetrics).
 */
class MetricsBuffer {
  private readonly pending: MetricRow[] = [];
  private lastFlush = Date.now();

  constructor(
    private readonly store: RunStore,
    private readonly runId: string,
  ) {}

  push(...rows: MetricRow[]): void {
    this.pending.push(...rows);
  }

  flush(): void {
    if (this.pending.length) this.store.appendMetrics(this.runId, this.pending.splice(0));
    this.lastFlush = Date.now();
  }

  flushIfDue(): void {
    if (this.pending.length >= FLUSH_ROWS || Date.now() - this.lastFlush > FLUSH_MS) this.flush();
  }
}

/**
 * Steps per second over windows of at least 0.25 s (a single step's time is noise), and the time
 * left at that rate. `restart` after a pause, so the pause does not count as slow steps.
 */
class ProgressMeter {
  private readonly t0 = performance.now();
  private rateStep: number;
  private rateTime = this.t0;
  stepsPerSec = 0;

  constructor(private readonly startStep: number) {
    this.rateStep = startStep;
  }

  restart(step: number): void {
    this.rateStep = step;
    this.rateTime = performance.now();
  }

  update(step: number, now: number): void {
    const dt = (now - this.rateTime) / 1000;
    if (dt > 0.25) {
      this.stepsPerSec = (step - this.rateStep) / dt;
      this.rateStep = step;
      this.rateTime = now;
    } else if (this.stepsPerSec === 0 && now > this.t0) {
      this.stepsPerSec = (step - this.startStep) / ((now - this.t0) / 1000);
    }
  }

  etaSec(step: number, total: number): number {
    return this.stepsPerSec > 0 ? (total - step) / this.stepsPerSec : 0;
  }

  /** Seconds since the job started training. */
  elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }
}

/**
 * The lease's heartbeat (main/store/owner.ts): proves to other hosts that this trainer is alive. A
 * lease this process no longer holds (the run was deleted, or taken over after this process was
 * judged gone) cancels the run: it must stop writing.
 */
export class LeaseHeartbeat {
  private readonly timer: NodeJS.Timeout;

  constructor(store: RunStore, runId: string, control: ControlState) {
    this.timer = setInterval(() => {
      try {
        if (store.heartbeat([runId]).length > 0) control.handle({ type: 'cancel' });
      } catch {
        // a busy store: the next beat will do
      }
    }, HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Everything `prepare` builds for the loop. */
interface Prepared {
  backend: BackendInfo;
  config: ExperimentConfig;
  totalSteps: number;
  target: Awaited<ReturnType<typeof loadExperimentData>>['target'];
  numClasses: number;
  modelConfig: ModelConfig;
  trainer: Trainer;
  parallel: ParallelTrainer | null;
  threads: number;
  reflow: { pairs: ReflowPairs; straightnessBefore: number } | null;
  startStep: number;
}

/** One training run inside its worker. Create, `execute()` once, then `dispose()`. */
class TrainRun {
  private readonly runId: string;
  private readonly store: RunStore;
  private heartbeat: LeaseHeartbeat | null = null;
  private disposeModel: (() => void) | null = null;
  private p: Prepared | null = null;
  private readonly metrics: MetricsBuffer;
  private readonly ending: RunEnding;
  private smoothed = NaN;
  private lastLoss = NaN;
  private lastLr = 0;

  constructor(
    private readonly job: TrainJob,
    private readonly post: (e: WorkerEvent) => void,
    private readonly control: ControlState,
  ) {
    adoptProcessNonce(job.ownerNonce);
    this.runId = job.runId;
    // The host that started this worker verified the file; a second full check would only cost time.
    this.store = RunStore.open(job.dbPath, { verify: false });
    this.metrics = new MetricsBuffer(this.store, this.runId);
    this.ending = new RunEnding(this.store, this.runId, post);
  }

  /** Prepares and trains the run; every way it ends is reported as one 'finished' event. */
  async execute(): Promise<FinalStatus> {
    try {
      const refused = await this.prepare();
      if (refused) return refused;
      return await this.train();
    } catch (e) {
      if (e instanceof SimulatedCrash) throw e;
      if (e instanceof StateDivergedError) return this.finishDiverged(e.step, {}, e.message);
      return this.finishFailed(e instanceof Error ? e.message : String(e));
    }
  }

  async dispose(): Promise<void> {
    this.heartbeat?.stop();
    await this.p?.parallel?.close();
    this.p?.trainer.dispose();
    this.disposeModel?.();
    this.store.close();
  }

  // ------------------------------------------------------------------------------------ prepare

  /**
   * The run record, its lease, the config, data, model and trainer (restored from the newest usable
   * checkpoint), and the data-parallel replicas. Returns a final status when the run cannot train.
   */
  private async prepare(): Promise<FinalStatus | null> {
    const { store, runId, job } = this;
    const backend = await selectBackend(job.backend);
    const run = store.getRun(runId);
    // completed and diverged are final (common/runs.ts). Refuse before anything is written: the
    // resume below rewinds to the latest checkpoint, which would delete a diverged run's non-finite
    // loss and whatever a completed run logged after its last periodic checkpoint.
    if (run.status === 'completed' || run.status === 'diverged') {
      return this.finish('failed', run.step, {}, `run ${runId} is ${run.status}; a finished run cannot train further (start a new run)`);
    }
    // One trainer per run: another live process (the app, a CLI) owning the run would interleave its
    // checkpoints and metrics with ours. The supervisor claimed the lease for this process already;
    // claiming again refreshes it, takes over a dead owner's (a crash: resume), or refuses a live one.
    try {
      store.claimRun(runId);
    } catch (e) {
      if (e instanceof OwnershipError) return this.finish('failed', run.step, {}, e.message);
      throw e;
    }
    this.heartbeat = new LeaseHeartbeat(store, runId, this.control);
    const parsed = parseExperiment(run.config);
    if (!parsed.ok) return this.finishFailed(`invalid config:\n${formatIssues(parsed.issues)}`, run.step);
    // --steps N makes N the run's length: the learning-rate schedule follows it, not the config's.
    const config: ExperimentConfig = job.stepsOverride
      ? { ...parsed.value, train: { ...parsed.value.train, steps: job.stepsOverride } }
      : parsed.value;

    const { target, source } = await loadExperimentData(config);
    const numClasses = config.conditional ? target.source.numClasses : 0;
    const model = createModel(modelConfigFor(config.model, target.source.shape, numClasses), config.seed);
    this.disposeModel = () => model.dispose();
    const reflow = config.reflow ? reflowPairs(store, config, target.source.shape, numClasses) : null;
    const trainer = reflow
      ? createTrainer({ spec: config, model, target: reflow.source })
      : createTrainer({ spec: config, model, target: target.source, source });
    this.p = {
      backend,
      config,
      totalSteps: config.train.steps,
      target,
      numClasses,
      modelConfig: model.config,
      trainer,
      parallel: null,
      threads: 1,
      reflow,
      startStep: 0,
    };

    const resumed = this.restore(run.step);
    const threads = await this.chooseThreads(resumed?.checkpoint.meta.threads);
    this.p.threads = threads;
    if (threads > 1) {
      const data = reflow
        ? { kind: 'paired' as const, pairs: reflow.pairs }
        : { kind: 'experiment' as const, data: config.data, source: config.source };
      this.p.parallel = await createParallelTrainer(trainer, { threads, data, backend: backend.name });
    }

    moveTo(store, runId, 'running', {});
    store.setBackend(runId, backend.name, backend.version);
    this.p.startStep = trainer.stepCount;
    this.post({
      type: 'started',
      runId,
      backend,
      resumedFrom: resumed ? resumed.checkpoint.step : null,
      totalSteps: this.p.totalSteps,
      startStep: trainer.stepCount,
      threads,
      ...(resumed?.warnings.length ? { warnings: resumed.warnings } : {}),
    });
    return null;
  }

  /**
   * Resumes from the latest usable checkpoint (an undecodable or non-finite newest one is skipped
   * for the previous kept one, with a warning) and rewinds: anything logged after it is lost work.
   */
  private restore(recordedStep: number): ReturnType<typeof loadNewestUsable<Map<string, Tensor>>> {
    const { store, runId } = this;
    const resumed = loadNewestUsable(store, runId, (c, what) => blobsToState(c, what), 'resuming from');
    if (resumed) {
      try {
        this.p!.trainer.setState(resumed.value);
      } finally {
        tf.dispose([...resumed.value.values()]);
      }
      store.rewindRun(runId, resumed.checkpoint.step);
    } else if (recordedStep > 0) {
      store.rewindRun(runId, 0);
    }
    return resumed;
  }

  /**
   * Data-parallel threads. Replicas start from the state just restored; a resumed 'auto' run keeps
   * the count of its checkpoint (another count would round the gradients differently).
   */
  private async chooseThreads(previous: unknown): Promise<number> {
    const { config, backend } = this.p!;
    const setting = config.train.threads;
    if (setting === 'auto' && typeof previous === 'number') return previous;
    const shape = { modelKind: config.model.kind, batchSize: config.train.batchSize, backend: backend.name };
    return resolveThreads(
      setting,
      shape,
      setting === 'auto' ? { cores: availableParallelism(), idleCores: await measureIdleCores() } : undefined,
    );
  }

  // ------------------------------------------------------------------------------------ train

  /** The step loop, with pause, cancel, sample-now and checkpoint-now between steps. */
  private async train(): Promise<FinalStatus> {
    const { control, job } = this;
    const p = this.p!;
    const { trainer, config, totalSteps } = p;
    const meter = new ProgressMeter(p.startStep);
    const interval = job.progressIntervalMs ?? 200;
    let lastProgress = 0;

    while (trainer.stepCount < totalSteps) {
      await yieldToEvents();
      if (control.cancelled) break;
      if (control.paused) {
        await this.pause();
        if (control.cancelled) break;
        meter.restart(trainer.stepCount);
      }
      if (control.sampleNow) {
        control.sampleNow = false;
        this.takeSample();
      }
      if (control.checkpointNow) {
        control.checkpointNow = false;
        this.metrics.flush();
        await this.checkpoint();
      }

      const r = p.parallel ? await p.parallel.step() : trainer.step();
      if (r.diverged) {
        this.metrics.flush();
        // Both values: a gradient can overflow while the loss is still finite, and then only the
        // stored gradient norm shows why the run stopped.
        this.metrics.push({ step: r.step, name: 'loss', value: r.loss }, { step: r.step, name: 'grad_norm', value: r.gradNorm });
        this.metrics.flush();
        return this.finishDiverged(
          r.step - 1,
          { finalLoss: r.loss },
          `loss became ${r.loss} (gradient norm ${r.gradNorm}) at step ${r.step}`,
        );
      }
      this.lastLoss = r.loss;
      this.lastLr = r.lr;
      this.smoothed = Number.isNaN(this.smoothed) ? r.loss : SMOOTHING * this.smoothed + (1 - SMOOTHING) * r.loss;
      const step = r.step;
      if (step % config.train.logEvery === 0 || step === totalSteps) {
        this.metrics.push(
          { step, name: 'loss', value: r.loss },
          { step, name: 'lr', value: r.lr },
          { step, name: 'grad_norm', value: r.gradNorm },
        );
      }
      if (job.crashAfterStep !== undefined && step >= job.crashAfterStep) {
        this.metrics.flush();
        throw new SimulatedCrash(step);
      }
      const now = performance.now();
      this.metrics.flushIfDue();
      if (step % config.train.checkpointEvery === 0 && step < totalSteps) {
        this.metrics.flush();
        await this.checkpoint();
      }
      if (config.train.sampleEvery > 0 && step % config.train.sampleEvery === 0) this.takeSample();
      if (now - lastProgress >= interval || step === totalSteps) {
        meter.update(step, now);
        lastProgress = now;
        this.post({
          type: 'progress',
          runId: this.runId,
          step,
          totalSteps,
          loss: r.loss,
          lossSmoothed: this.smoothed,
          lr: r.lr,
          stepsPerSec: meter.stepsPerSec,
          etaSec: meter.etaSec(step, totalSteps),
        });
      }
    }

    this.metrics.flush();
    await this.checkpoint();
    // The replicas are done: the final evaluation and samples run on this thread.
    await p.parallel?.close();
    const summary = this.summary(meter.elapsed());
    if (control.cancelled) return this.finishWith('cancelled', summary);
    return this.finishCompleted(summary);
  }

  /** Checkpoints, waits while paused (the worker, the lease and the trainer stay), and resumes. */
  private async pause(): Promise<void> {
    const { store, runId, control } = this;
    const trainer = this.p!.trainer;
    this.metrics.flush();
    await this.checkpoint();
    moveTo(store, runId, 'paused', {});
    this.post({ type: 'paused', runId, step: trainer.stepCount });
    while (control.paused && !control.cancelled) await control.next();
    if (control.cancelled) return;
    moveTo(store, runId, 'running', {});
    this.post({ type: 'resumed', runId, step: trainer.stepCount });
  }

  /**
   * Writes the trainer's state as the run's checkpoint, atomically, after checking that this
   * process still holds the run and that every replica holds the same state. A state that is not
   * finite is never written: the run has diverged (StateDivergedError).
   */
  private async checkpoint(): Promise<void> {
    const { store, runId } = this;
    const { trainer, parallel, backend, numClasses, modelConfig, threads } = this.p!;
    if (parallel) {
      // The replicas must hold the very state saved here; a difference would be a bug, not noise.
      const hashes = await parallel.stateHashes();
      if (hashes.some((h) => h !== hashes[0]))
        throw new Error(`data-parallel replicas disagree at step ${trainer.stepCount} (state hashes ${hashes.join(', ')})`);
    }
    if (store.heartbeat([runId]).length > 0) throw new LeaseLostError(runId);
    const state = trainer.getState();
    try {
      let blobs;
      try {
        blobs = stateToBlobs(state, `the trainer state at step ${trainer.stepCount}`);
      } catch (e) {
        // Weights, EMA or moments went non-finite under a finite loss: never a checkpoint.
        throw e instanceof NonFiniteCheckpointError ? new StateDivergedError(trainer.stepCount, e) : e;
      }
      store.saveCheckpoint(runId, {
        step: trainer.stepCount,
        model: blobs.model,
        ema: blobs.ema,
        optimizer: blobs.optimizer,
        // Enough to rebuild the network for sampling without loading the data set again.
        meta: { backend: backend.name, modelConfig, shape: trainer.shape, numClasses, sampleRange: trainer.sampleRange, threads },
      });
    } finally {
      tf.dispose([...state.values()]);
    }
    this.post({ type: 'checkpoint', runId, step: trainer.stepCount });
  }

  /** Samples from the EMA model (points, or an image grid with classes in turn) and stores them. */
  private takeSample(): void {
    const { store, runId } = this;
    const { trainer, config, numClasses } = this.p!;
    const shape = trainer.shape;
    const n = shape.length === 1 ? config.train.sampleCount : Math.min(config.train.sampleCount, 64);
    const labels = numClasses > 0 ? Int32Array.from({ length: n }, (_, i) => i % numClasses) : undefined;
    const r = trainer.sample({ n, seed: config.seed + 7919, ...(labels ? { labels } : {}) });
    try {
      let info;
      if (shape.length === 1) {
        info = store.addSample(runId, { step: trainer.stepCount, kind: 'points', data: r.x.arraySync() as number[][], meta: { n } });
      } else {
        const [h, w, c] = shape as [number, number, 1 | 3];
        const png = imageGridPng(r.x.dataSync() as Float32Array, n, h, w, c, Math.min(n, numClasses > 0 ? numClasses : 8));
        info = store.addSample(runId, {
          step: trainer.stepCount,
          kind: 'image-grid',
          data: png,
          meta: { n, ...(labels ? { labels: Array.from(labels) } : {}) },
        });
      }
      this.post({ type: 'sample', runId, step: trainer.stepCount, sampleId: info.id, kind: shape.length === 1 ? 'points' : 'image-grid' });
    } finally {
      tf.dispose([r.x, r.x0, ...(r.trajectory ?? [])]);
    }
  }

  // ------------------------------------------------------------------------------------ finish

  /** The numbers every finished run reports. */
  private summary(wallSeconds: number): Summary {
    const { trainer, startStep, backend, threads, target } = this.p!;
    const summary: Summary = {
      steps: trainer.stepCount,
      finalLoss: this.lastLoss,
      smoothedLoss: this.smoothed,
      lr: this.lastLr,
      wallSeconds,
      stepsPerSec: wallSeconds > 0 ? (trainer.stepCount - startStep) / wallSeconds : 0,
      backend: backend.name,
      threads,
    };
    if (target.skipped.length) summary.skippedFiles = target.skipped.length;
    return summary;
  }

  /** The final evaluation (2D: energy distance; reflow: straightness before and after), a last sample. */
  private finishCompleted(summary: Summary): FinalStatus {
    const { trainer, config, target, reflow } = this.p!;
    if (trainer.shape.length === 1) Object.assign(summary, finalPointMetrics(trainer, config, target.source));
    if (reflow) {
      summary.straightnessBefore = reflow.straightnessBefore;
      summary.straightnessAfter = straightnessOf(trainer.emaField(), trainer.shape, trainer.sampleRange, config.seed);
      summary.reflowFrom = config.reflow!.from;
    }
    // The final sample, unless the loop just took one at this very step (totalSteps a multiple of sampleEvery).
    if (config.train.sampleEvery > 0 && trainer.stepCount % config.train.sampleEvery !== 0) this.takeSample();
    return this.finishWith('completed', summary);
  }

  private finishWith(status: 'completed' | 'cancelled', summary: Summary): FinalStatus {
    moveTo(this.store, this.runId, status, { summary });
    return this.finish(status, this.p!.trainer.stepCount, summary);
  }

  private finishDiverged(step: number, summary: Summary, what: string): FinalStatus {
    return this.ending.diverged(step, summary, what);
  }

  private finishFailed(msg: string, step = this.p?.trainer.stepCount ?? 0): FinalStatus {
    return this.ending.failed(msg, step);
  }

  private finish(status: FinalStatus, step: number, summary: Summary, error?: string): FinalStatus {
    return this.ending.finish(status, step, summary, error);
  }
}

/** Runs one training job (see the file comment) and reports how it ended. */
export async function runTrainJob(job: TrainJob, post: (e: WorkerEvent) => void, control: ControlState): Promise<FinalStatus> {
  const run = new TrainRun(job, post, control);
  try {
    return await run.execute();
  } finally {
    await run.dispose();
  }
}

/** Straightness of a field's own Euler trajectories (100 steps) from 512 seeded noise points. */
export function straightnessOf(field: VelocityField, shape: number[], range: TimeRange, seed: number): number {
  return measureStraightness(field, { n: 512, shape, seed: seed + 31337, solver: 'euler', steps: 100, t0: range.lo, t1: range.hi });
}

/**
 * Reflow pairs: noise pushed through the parent run's EMA model (Liu et al.'s rectified flow), and
 * the parent's straightness on the same measure, to report before/after.
 */
export function reflowPairs(
  store: RunStore,
  config: ExperimentConfig,
  shape: number[],
  numClasses: number,
): { source: PairedSource; pairs: ReflowPairs; straightnessBefore: number } {
  const r = config.reflow!;
  const parent = runModel(store, r.from);
  try {
    if (parent.shape.join('x') !== shape.join('x')) {
      throw new ConfigError('reflow.from', `run ${r.from} models data of shape [${parent.shape}], this run's data has shape [${shape}]`);
    }
    const field = parent.field();
    const pairs = generateReflowPairs(field, {
      n: r.pairs,
      shape,
      seed: config.seed + 271828,
      solver: r.solver,
      steps: r.steps,
      scale: sourceScale(parent.scheduler),
      t0: parent.timeRange.lo,
      t1: parent.timeRange.hi,
      ...(numClasses > 0 ? { numClasses } : {}),
    });
    return { source: pairedSource(pairs), pairs, straightnessBefore: straightnessOf(field, shape, parent.timeRange, config.seed) };
  } finally {
    parent.dispose();
  }
}

/**
 * Energy distance of 2000 EMA samples to 2000 fresh data points: the run's quality number; and the
 * coverage of the data by the samples (core/metrics/quality.ts, k = 5: the share of data points
 * whose 5-NN ball holds a sample, so a missed mode shows).
 */
function finalPointMetrics(
  trainer: Trainer,
  config: ExperimentConfig,
  target: { sample(n: number, rng: Rng): { x: Tensor } },
): Record<string, number> {
  const n = 2000;
  const r = trainer.sample({ n, seed: config.seed + 104729 });
  const fresh = target.sample(n, new Rng(config.seed + 15485863)).x;
  try {
    const dim = trainer.shape[0]!;
    return {
      energyDistance: energyDistance(r.x, fresh, { dim }),
      coverage: coverage(fresh, r.x, { k: 5, dim }).coverage,
      samplingNfe: r.nfe,
    };
  } finally {
    tf.dispose([r.x, r.x0, fresh, ...(r.trajectory ?? [])]);
  }
}
