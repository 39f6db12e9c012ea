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
 */
import { availableParallelism } from 'node:os';
import { tf, type Tensor } from '../../core/tf';
import { createModel } from '../../core/model';
import { createTrainer, type Trainer } from '../../core/train/trainer';
import { modelConfigFor } from '../../core/train/config';
import { energyDistance } from '../../core/metrics/distances';
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
import { selectBackend } from '../runtime/backend';
import { loadExperimentData } from './sources';
import { blobsToState, loadNewestUsable, NonFiniteCheckpointError, stateToBlobs } from '../models/state';
import { divergedMessage, StateDivergedError } from './diverged';
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

const SMOOTHING = 0.98;

export async function runTrainJob(job: TrainJob, post: (e: WorkerEvent) => void, control: ControlState): Promise<FinalStatus> {
  adoptProcessNonce(job.ownerNonce);
  // The host that started this worker verified the file; a second full check would only cost time.
  const store = RunStore.open(job.dbPath, { verify: false });
  let heartbeat: NodeJS.Timeout | null = null;
  let trainer: Trainer | null = null;
  let parallel: ParallelTrainer | null = null;
  let disposeModel: (() => void) | null = null;
  const runId = job.runId;
  const finish = (status: FinalStatus, step: number, summary: Record<string, number | string | null>, error?: string): FinalStatus => {
    post({ type: 'finished', runId, status, step, summary, ...(error !== undefined ? { error } : {}) });
    return status;
  };
  try {
    const backend = await selectBackend(job.backend);
    const run = store.getRun(runId);
    // completed and diverged are final (main/store/status.ts). Refuse before anything is written:
    // the resume path below rewinds to the latest checkpoint, which would delete a diverged run's
    // non-finite loss and whatever a completed run logged after its last periodic checkpoint.
    if (run.status === 'completed' || run.status === 'diverged') {
      return finish('failed', run.step, {}, `run ${runId} is ${run.status}; a finished run cannot train further (start a new run)`);
    }
    // One trainer per run: another live process (the app, a CLI) owning the run would interleave its
    // checkpoints and metrics with ours. The supervisor claimed the lease for this process already;
    // claiming again refreshes it, takes over a dead owner's (a crash: resume), or refuses a live one.
    try {
      store.claimRun(runId);
    } catch (e) {
      if (e instanceof OwnershipError) return finish('failed', run.step, {}, e.message);
      throw e;
    }
    // The lease's heartbeat: proves to other hosts that this trainer is alive (main/store/owner.ts).
    heartbeat = setInterval(() => {
      try {
        if (store.heartbeat([runId]).length > 0) control.handle({ type: 'cancel' });
      } catch {
        // a busy store: the next beat will do
      }
    }, HEARTBEAT_INTERVAL_MS);
    heartbeat.unref();
    const parsed = parseExperiment(run.config);
    if (!parsed.ok) {
      const msg = `invalid config:\n${formatIssues(parsed.issues)}`;
      moveTo(store, runId, 'failed', { error: msg });
      return finish('failed', run.step, {}, msg);
    }
    // --steps N makes N the run's length: the learning-rate schedule follows it, not the config's.
    const config: ExperimentConfig = job.stepsOverride ? { ...parsed.value, train: { ...parsed.value.train, steps: job.stepsOverride } } : parsed.value;
    const totalSteps = config.train.steps;

    const { target, source } = await loadExperimentData(config);
    const numClasses = config.conditional ? target.source.numClasses : 0;
    const model = createModel(modelConfigFor(config.model, target.source.shape, numClasses), config.seed);
    disposeModel = () => model.dispose();
    const reflow = config.reflow ? reflowPairs(store, config, target.source.shape, numClasses) : null;
    trainer = reflow
      ? createTrainer({ spec: config, model, target: reflow.source })
      : createTrainer({ spec: config, model, target: target.source, source });

    // Resume from the latest usable checkpoint (an undecodable or non-finite newest one is skipped
    // for the previous kept one, with a warning); anything logged after it belongs to lost work.
    const resumed = loadNewestUsable(store, runId, (c, what) => blobsToState(c, what), 'resuming from');
    const ckpt = resumed?.checkpoint ?? null;
    if (resumed) {
      try {
        trainer.setState(resumed.value);
      } finally {
        tf.dispose([...resumed.value.values()]);
      }
      store.rewindRun(runId, resumed.checkpoint.step);
    } else if (run.step > 0) {
      store.rewindRun(runId, 0);
    }
    // Data-parallel replicas start from the state just restored. A resumed 'auto' run keeps the
    // count of its checkpoint: another count would round the gradients differently.
    const setting = config.train.threads;
    const previous = ckpt && typeof ckpt.meta.threads === 'number' ? ckpt.meta.threads : undefined;
    const threads =
      setting === 'auto' && previous !== undefined
        ? previous
        : resolveThreads(setting, { modelKind: config.model.kind, batchSize: config.train.batchSize, backend: backend.name }, setting === 'auto' ? { cores: availableParallelism(), idleCores: await measureIdleCores() } : undefined);
    if (threads > 1) {
      const data = reflow ? { kind: 'paired' as const, pairs: reflow.pairs } : { kind: 'experiment' as const, data: config.data, source: config.source };
      parallel = await createParallelTrainer(trainer, { threads, data, backend: backend.name });
    }

    moveTo(store, runId, 'running', {});
    store.setBackend(runId, backend.name, backend.version);
    const startStep = trainer.stepCount;
    post({ type: 'started', runId, backend, resumedFrom: ckpt ? ckpt.step : null, totalSteps, startStep, threads, ...(resumed?.warnings.length ? { warnings: resumed.warnings } : {}) });

    const checkpoint = async (): Promise<void> => {
      if (parallel) {
        // The replicas must hold the very state saved here; a difference would be a bug, not noise.
        const hashes = await parallel.stateHashes();
        if (hashes.some((h) => h !== hashes[0])) throw new Error(`data-parallel replicas disagree at step ${trainer!.stepCount} (state hashes ${hashes.join(', ')})`);
      }
      if (store.heartbeat([runId]).length > 0) throw new LeaseLostError(runId);
      const state = trainer!.getState();
      try {
        let blobs;
        try {
          blobs = stateToBlobs(state, `the trainer state at step ${trainer!.stepCount}`);
        } catch (e) {
          // Weights, EMA or moments went non-finite under a finite loss: never a checkpoint.
          throw e instanceof NonFiniteCheckpointError ? new StateDivergedError(trainer!.stepCount, e) : e;
        }
        store.saveCheckpoint(runId, {
          step: trainer!.stepCount,
          model: blobs.model,
          ema: blobs.ema,
          optimizer: blobs.optimizer,
          // Enough to rebuild the network for sampling without loading the data set again.
          meta: { backend: backend.name, modelConfig: model.config, shape: trainer!.shape, numClasses, sampleRange: trainer!.sampleRange, threads },
        });
      } finally {
        tf.dispose([...state.values()]);
      }
      post({ type: 'checkpoint', runId, step: trainer!.stepCount });
    };

    const pending: MetricRow[] = [];
    let lastFlush = Date.now();
    const flush = (): void => {
      if (pending.length) store.appendMetrics(runId, pending.splice(0));
      lastFlush = Date.now();
    };

    const sampleLabels = (n: number): Int32Array | undefined => (numClasses > 0 ? Int32Array.from({ length: n }, (_, i) => i % numClasses) : undefined);
    const takeSample = (): void => {
      const shape = trainer!.shape;
      const n = shape.length === 1 ? config.train.sampleCount : Math.min(config.train.sampleCount, 64);
      const labels = sampleLabels(n);
      const r = trainer!.sample({ n, seed: config.seed + 7919, ...(labels ? { labels } : {}) });
      try {
        let info;
        if (shape.length === 1) {
          info = store.addSample(runId, { step: trainer!.stepCount, kind: 'points', data: r.x.arraySync() as number[][], meta: { n } });
        } else {
          const [h, w, c] = shape as [number, number, 1 | 3];
          const png = imageGridPng(r.x.dataSync() as Float32Array, n, h, w, c, Math.min(n, numClasses > 0 ? numClasses : 8));
          info = store.addSample(runId, { step: trainer!.stepCount, kind: 'image-grid', data: png, meta: { n, ...(labels ? { labels: Array.from(labels) } : {}) } });
        }
        post({ type: 'sample', runId, step: trainer!.stepCount, sampleId: info.id, kind: shape.length === 1 ? 'points' : 'image-grid' });
      } finally {
        tf.dispose([r.x, r.x0, ...(r.trajectory ?? [])]);
      }
    };

    const interval = job.progressIntervalMs ?? 200;
    let lastProgress = 0;
    let smoothed = NaN;
    let lastLoss = NaN;
    let lastLr = 0;
    const t0 = performance.now();
    let rateStep = startStep;
    let rateTime = t0;
    let stepsPerSec = 0;

    while (trainer.stepCount < totalSteps) {
      await yieldToEvents();
      if (control.cancelled) break;
      if (control.paused) {
        flush();
        await checkpoint();
        moveTo(store, runId, 'paused', {});
        post({ type: 'paused', runId, step: trainer.stepCount });
        while (control.paused && !control.cancelled) await control.next();
        if (control.cancelled) break;
        moveTo(store, runId, 'running', {});
        post({ type: 'resumed', runId, step: trainer.stepCount });
        rateStep = trainer.stepCount;
        rateTime = performance.now();
      }
      if (control.sampleNow) {
        control.sampleNow = false;
        takeSample();
      }
      if (control.checkpointNow) {
        control.checkpointNow = false;
        flush();
        await checkpoint();
      }

      const r = parallel ? await parallel.step() : trainer.step();
      if (r.diverged) {
        flush();
        // Both values: a gradient can overflow while the loss is still finite, and then only the
        // stored gradient norm shows why the run stopped.
        store.appendMetrics(runId, [
          { step: r.step, name: 'loss', value: r.loss },
          { step: r.step, name: 'grad_norm', value: r.gradNorm },
        ]);
        const msg = divergedMessage(store, runId, `loss became ${r.loss} (gradient norm ${r.gradNorm}) at step ${r.step}`);
        moveTo(store, runId, 'diverged', { error: msg });
        return finish('diverged', r.step - 1, { finalLoss: r.loss }, msg);
      }
      lastLoss = r.loss;
      lastLr = r.lr;
      smoothed = Number.isNaN(smoothed) ? r.loss : SMOOTHING * smoothed + (1 - SMOOTHING) * r.loss;
      const step = r.step;
      if (step % config.train.logEvery === 0 || step === totalSteps) {
        pending.push({ step, name: 'loss', value: r.loss }, { step, name: 'lr', value: r.lr }, { step, name: 'grad_norm', value: r.gradNorm });
      }
      if (job.crashAfterStep !== undefined && step >= job.crashAfterStep) {
        flush();
        throw new SimulatedCrash(step);
      }
      const now = performance.now();
      if (pending.length >= 300 || Date.now() - lastFlush > 1000) flush();
      if (step % config.train.checkpointEvery === 0 && step < totalSteps) {
        flush();
        await checkpoint();
      }
      if (config.train.sampleEvery > 0 && step % config.train.sampleEvery === 0) takeSample();
      if (now - lastProgress >= interval || step === totalSteps) {
        const dt = (now - rateTime) / 1000;
        if (dt > 0.25) {
          stepsPerSec = (step - rateStep) / dt;
          rateStep = step;
          rateTime = now;
        } else if (stepsPerSec === 0 && now > t0) {
          stepsPerSec = (step - startStep) / ((now - t0) / 1000);
        }
        lastProgress = now;
        post({ type: 'progress', runId, step, totalSteps, loss: r.loss, lossSmoothed: smoothed, lr: r.lr, stepsPerSec, etaSec: stepsPerSec > 0 ? (totalSteps - step) / stepsPerSec : 0 });
      }
    }

    flush();
    await checkpoint();
    // The replicas are done: the final evaluation and samples run on this thread.
    await parallel?.close();
    const wall = (performance.now() - t0) / 1000;
    const summary: Record<string, number | string | null> = {
      steps: trainer.stepCount,
      finalLoss: lastLoss,
      smoothedLoss: smoothed,
      lr: lastLr,
      wallSeconds: wall,
      stepsPerSec: wall > 0 ? (trainer.stepCount - startStep) / wall : 0,
      backend: backend.name,
      threads,
    };
    if (target.skipped.length) summary.skippedFiles = target.skipped.length;
    if (control.cancelled) {
      moveTo(store, runId, 'cancelled', { summary });
      return finish('cancelled', trainer.stepCount, summary);
    }
    if (trainer.shape.length === 1) Object.assign(summary, finalPointMetrics(trainer, config, target.source));
    if (reflow) {
      summary.straightnessBefore = reflow.straightnessBefore;
      summary.straightnessAfter = straightnessOf(trainer.emaField(), trainer.shape, trainer.sampleRange, config.seed);
      summary.reflowFrom = config.reflow!.from;
    }
    // The final sample, unless the loop just took one at this very step (totalSteps a multiple of sampleEvery).
    if (config.train.sampleEvery > 0 && trainer.stepCount % config.train.sampleEvery !== 0) takeSample();
    moveTo(store, runId, 'completed', { summary });
    return finish('completed', trainer.stepCount, summary);
  } catch (e) {
    if (e instanceof SimulatedCrash) throw e;
    if (e instanceof StateDivergedError) {
      const msg = divergedMessage(store, runId, e.message);
      moveTo(store, runId, 'diverged', { error: msg });
      return finish('diverged', e.step, {}, msg);
    }
    const msg = e instanceof Error ? e.message : String(e);
    try {
      moveTo(store, runId, 'failed', { error: msg });
    } catch {
      // the run may be gone (deleted while training)
    }
    return finish('failed', trainer?.stepCount ?? 0, {}, msg);
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    await parallel?.close();
    trainer?.dispose();
    disposeModel?.();
    store.close();
  }
}

/** Straightness of a field's own Euler trajectories (100 steps) from 512 seeded noise points. */
function straightnessOf(field: VelocityField, shape: number[], range: TimeRange, seed: number): number {
  return measureStraightness(field, { n: 512, shape, seed: seed + 31337, solver: 'euler', steps: 100, t0: range.lo, t1: range.hi });
}

/**
 * Reflow pairs: noise pushed through the parent run's EMA model (Liu et al.'s rectified flow), and
 * the parent's straightness on the same measure, to report before/after.
 */
function reflowPairs(store: RunStore, config: ExperimentConfig, shape: number[], numClasses: number): { source: PairedSource; pairs: ReflowPairs; straightnessBefore: number } {
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

/** Energy distance of 2000 EMA samples to 2000 fresh data points: the run's quality number. */
function finalPointMetrics(trainer: Trainer, config: ExperimentConfig, target: { sample(n: number, rng: Rng): { x: Tensor } }): Record<string, number> {
  const n = 2000;
  const r = trainer.sample({ n, seed: config.seed + 104729 });
  const fresh = target.sample(n, new Rng(config.seed + 15485863)).x;
  try {
    return { energyDistance: energyDistance(r.x, fresh), samplingNfe: r.nfe };
  } finally {
    tf.dispose([r.x, r.x0, fresh, ...(r.trajectory ?? [])]);
  }
}

/** setStatus, tolerating "already there" (a resumed run may already be 'running'). */
function moveTo(store: RunStore, runId: string, to: Parameters<RunStore['setStatus']>[1], opts: Parameters<RunStore['setStatus']>[2]): void {
  const cur = store.getRun(runId).status;
  if (cur === to) return;
  if (to === 'running' && (cur === 'failed' || cur === 'cancelled')) store.setStatus(runId, 'queued');
  store.setStatus(runId, to, opts);
}
