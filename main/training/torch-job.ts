/**
 * One training run on the PyTorch engine (train.engine 'pytorch'), as executed inside a training
 * worker thread beside the tfjs job (train-job.ts): the same run record, lease, events and controls,
 * with the steps taken by a Python child process (python/flow_studio_torch, docs/pytorch-engine.md).
 *
 * The worker prepares a job folder beside the store (`engine/<run id>/`): the job file, the data file
 * for MNIST and image folders (writeDataFile of what main/data loads, so both engines see the same
 * arrays), reflow pairs generated from the parent run with tfjs, and the run's newest usable
 * checkpoint as safetensors to resume from. It then starts `python -m flow_studio_torch train`,
 * relays the supervisor's controls to its stdin as JSON lines, and stores what comes back on stdout:
 * metric batches, checkpoints and samples (files, read and stored by torch-ingest.ts, then deleted),
 * pause/resume, and the final status. The studio stays the only writer of its store.
 *
 * Failure modes, each ending the run with one 'finished' event as a tfjs run does:
 * - no Python with torch: 'failed' before anything starts, naming what is missing;
 * - the engine reports an error (a bad file, a missing library): 'failed' with its message;
 * - the engine's loss or gradient goes non-finite: 'diverged', naming the last finite checkpoint;
 * - a checkpoint file that is not finite: never stored; the engine is stopped and the run 'diverged';
 * - the Python process dies without its 'finished' line (killed, out of memory): 'failed', naming
 *   the exit and the last lines of its stderr; its last stored checkpoint is intact and the run
 *   resumes from it.
 * If the studio process dies, the engine sees EOF on stdin and cancels at its next step (a
 * checkpoint file nobody stores); the run is 'interrupted' and resumes from its last stored one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ModelConfig } from '../../core/model';
import { parseExperiment, formatIssues, type DataInput, type ExperimentConfig } from '../../common/config';
import { RunStore } from '../store';
import { LeaseLostError, OwnershipError } from '../store/errors';
import { adoptProcessNonce } from '../store/owner';
import { loadImageData } from '../data';
import { float32Tensor, int32Tensor, writeDataFile, writeSafetensorsFile, FLOW_STUDIO_METADATA_KEY } from '../models/safetensors';
import { blobsToSafeTensors, loadNewestUsable, NonFiniteCheckpointError } from '../models/state';
import { runModel } from '../models/load';
import { engineEnv, findTorchPython, type TorchPython } from '../runtime/python';
import { selectBackend } from '../runtime/backend';
import { divergedMessage } from './diverged';
import { moveTo, RunEnding, type Summary } from './ending';
import { LeaseHeartbeat, reflowPairs, straightnessOf, type ControlState } from './train-job';
import { metricRows, numberOrNaN, parseEngineLine, storeCheckpointFile, storeSampleFile, type EngineEvent } from './torch-ingest';
import type { Control, FinalStatus, TorchBackendInfo, TrainJob, WorkerEvent } from './protocol';

/** Lines of the engine's stderr kept for messages (the end is what tells why it stopped). */
const STDERR_KEEP = 6000;

/** The engine a stored run trains on: its config's train.engine ('tfjs' when it cannot be read). */
export function runEngine(dbPath: string, runId: string): 'tfjs' | 'pytorch' {
  let store: RunStore | null = null;
  try {
    store = RunStore.open(dbPath, { access: 'read', verify: false });
    const train = (store.getRun(runId).config as { train?: { engine?: unknown } }).train;
    return train?.engine === 'pytorch' ? 'pytorch' : 'tfjs';
  } catch {
    // The tfjs job opens the run again and reports what is wrong with it.
    return 'tfjs';
  } finally {
    store?.close();
  }
}

/** The folder a run's engine job works in: beside the store, removed when the job ends. */
export function engineJobDir(dbPath: string, runId: string): string {
  return join(dirname(dbPath), 'engine', runId);
}

/**
 * The device the engine trains on: FLOW_STUDIO_TORCH_DEVICE (auto, cpu, cuda, cuda:N, mps), else
 * 'auto' (a CUDA GPU, else Apple's MPS, else the CPU).
 */
export function torchDevice(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLOW_STUDIO_TORCH_DEVICE?.trim() || 'auto';
}

/** One run on the PyTorch engine. Create, `execute()` once, then `dispose()`. */
class TorchRun {
  private readonly runId: string;
  private readonly store: RunStore;
  private heartbeat: LeaseHeartbeat | null = null;
  private child: ChildProcess | null = null;
  private dir: string | null = null;
  private config: ExperimentConfig | null = null;
  private numClasses = 0;
  private step = 0;
  private stderr = '';
  /** The engine's last 'error' line: what failed, for the final message. */
  private engineError: string | null = null;
  private readonly warnings: string[] = [];
  /** Set once the run's one 'finished' event is posted. */
  private readonly ending: RunEnding;
  /** A reason the studio stopped the engine (a checkpoint that is not finite, a lost lease). */
  private stopped: { status: 'diverged' | 'failed'; message: string } | null = null;
  private resumeWarnings: string[] = [];
  private skippedFiles = 0;
  private reflow: { straightnessBefore: number } | null = null;
  /** The device the engine reported ('cpu', 'cuda:0', 'mps'). */
  private device = 'cpu';

  constructor(
    private readonly job: TrainJob,
    private readonly post: (e: WorkerEvent) => void,
    private readonly control: ControlState,
  ) {
    adoptProcessNonce(job.ownerNonce);
    this.runId = job.runId;
    this.store = RunStore.open(job.dbPath, { verify: false });
    this.ending = new RunEnding(this.store, this.runId, post);
  }

  async execute(): Promise<FinalStatus> {
    try {
      const python = await this.prepare();
      if (typeof python === 'string') return python;
      return await this.train(python.python, python.jobFile);
    } catch (e) {
      return this.finishFailed(e instanceof Error ? e.message : String(e));
    }
  }

  async dispose(): Promise<void> {
    this.heartbeat?.stop();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      // Only after a failure of this thread: the engine must not train on unsupervised.
      child.kill('SIGKILL');
    }
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.store.close();
  }

  // ------------------------------------------------------------------------------------ prepare

  /** The run, its lease, the engine's interpreter and the job folder; a final status when it cannot train. */
  private async prepare(): Promise<FinalStatus | { python: TorchPython; jobFile: string }> {
    const { store, runId, job } = this;
    const run = store.getRun(runId);
    this.step = run.step;
    if (run.status === 'completed' || run.status === 'diverged') {
      return this.finish('failed', run.step, {}, `run ${runId} is ${run.status}; a finished run cannot train further (start a new run)`);
    }
    try {
      store.claimRun(runId);
    } catch (e) {
      if (e instanceof OwnershipError) return this.finish('failed', run.step, {}, e.message);
      throw e;
    }
    this.heartbeat = new LeaseHeartbeat(store, runId, this.control);
    const parsed = parseExperiment(run.config);
    if (!parsed.ok) return this.finishFailed(`invalid config:\n${formatIssues(parsed.issues)}`);
    const config: ExperimentConfig = job.stepsOverride
      ? { ...parsed.value, train: { ...parsed.value.train, steps: job.stepsOverride } }
      : parsed.value;
    this.config = config;

    const found = await findTorchPython();
    if (!found.ok) return this.finishFailed(`the PyTorch engine (train.engine 'pytorch') cannot start: ${found.reason}`);

    const dir = engineJobDir(job.dbPath, runId);
    await rm(dir, { recursive: true, force: true }); // what a killed studio left
    await mkdir(dir, { recursive: true });
    this.dir = dir;
    const files: Record<string, string> = {};
    const data = await this.writeData(config.data, join(dir, 'data.safetensors'));
    if (data) files.data = data;
    if (config.source.kind === 'data') {
      const source = await this.writeData(config.source.data, join(dir, 'source.safetensors'));
      if (source) files.sourceData = source;
    }
    if (config.reflow) files.pairs = await this.writePairs(config, join(dir, 'pairs.safetensors'));
    const resume = await this.writeResume(run.step, join(dir, 'resume.safetensors'));
    if (resume) files.resume = resume;

    const jobFile = join(dir, 'job.json');
    const threads = config.train.threads;
    await writeFile(
      jobFile,
      JSON.stringify({
        runId,
        config,
        out: join(dir, 'out'),
        ...files,
        device: torchDevice(),
        ...(typeof threads === 'number' ? { threads } : {}),
        progressIntervalMs: job.progressIntervalMs ?? 200,
        stdinControl: true,
      }),
    );
    moveTo(store, runId, 'running', {});
    return { python: found.python, jobFile };
  }

  /** MNIST and image folders as the engine's data file (docs/pytorch-engine.md); null for data it generates. */
  private async writeData(spec: DataInput, file: string): Promise<string | null> {
    if (spec.kind !== 'mnist' && spec.kind !== 'images') return null;
    const ds = await loadImageData(spec);
    this.skippedFiles += ds.skipped.length;
    await writeDataFile(file, { ...ds, shape: [ds.height, ds.width, ds.channels] });
    return file;
  }

  /**
   * Reflow: the (noise, sample) pairs of the parent run, generated here with tfjs as the tfjs job does
   * (train-job.ts reflowPairs), with the parent's straightness to report before/after.
   */
  private async writePairs(config: ExperimentConfig, file: string): Promise<string> {
    await selectBackend(this.job.backend);
    const parent = runModel(this.store, config.reflow!.from);
    const shape = parent.shape;
    const k = config.conditional ? parent.numClasses : 0;
    parent.dispose();
    const r = reflowPairs(this.store, config, shape, k);
    this.reflow = { straightnessBefore: r.straightnessBefore };
    const { pairs } = r;
    const tensors = new Map([
      ['x0', float32Tensor([pairs.n, ...pairs.shape], pairs.x0)],
      ['x1', float32Tensor([pairs.n, ...pairs.shape], pairs.x1)],
    ]);
    if (pairs.labels) tensors.set('labels', int32Tensor([pairs.n], pairs.labels));
    await writeSafetensorsFile(file, tensors, { [FLOW_STUDIO_METADATA_KEY]: JSON.stringify({ numClasses: pairs.numClasses }) });
    return file;
  }

  /**
   * The newest usable checkpoint (an undecodable or non-finite newest one is skipped for the previous
   * kept one, with a warning) as the engine's resume file; the run is rewound to it, as a tfjs resume.
   */
  private async writeResume(recordedStep: number, file: string): Promise<string | null> {
    const { store, runId } = this;
    const found = loadNewestUsable(store, runId, (c, what) => blobsToSafeTensors(c, what), 'resuming from');
    if (!found) {
      if (recordedStep > 0) store.rewindRun(runId, 0);
      this.step = 0;
      return null;
    }
    await writeSafetensorsFile(file, found.value);
    store.rewindRun(runId, found.checkpoint.step);
    this.step = found.checkpoint.step;
    this.resumeWarnings = found.warnings;
    return file;
  }

  // ------------------------------------------------------------------------------------ train

  /** Runs the engine to its end, storing what it reports; returns the final status. */
  private async train(python: TorchPython, jobFile: string): Promise<FinalStatus> {
    const child = spawn(python.command, ['-m', 'flow_studio_torch', 'train', '--job', jobFile], {
      env: engineEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.child = child;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error: Error | null }>((resolve) => {
      let error: Error | null = null;
      child.on('error', (e) => {
        error = e;
        // A spawn failure emits 'error' and then 'close' (no 'exit').
      });
      child.on('close', (code, signal) => resolve({ code, signal, error }));
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-STDERR_KEEP);
    });
    child.stdin!.on('error', () => {
      // EPIPE: the engine has exited; its exit is handled below.
    });
    const relay = this.relayControls(child);
    try {
      for await (const line of createInterface({ input: child.stdout!, crlfDelay: Infinity })) {
        const e = parseEngineLine(line);
        if (!e) {
          if (line.trim()) this.warnings.push(`engine output: ${line.trim().slice(0, 300)}`);
          continue;
        }
        try {
          await this.handle(e);
        } catch (err) {
          this.stopEngine('failed', err instanceof Error ? err.message : String(err));
        }
      }
    } finally {
      relay.stop();
      child.stdin!.end();
    }
    const exit = await exited;
    if (this.ending.status) return this.ending.status;
    if (this.stopped?.status === 'diverged') return this.finishDiverged(this.step, {}, this.stopped.message, true);
    if (this.stopped) return this.finishFailed(this.stopped.message);
    return this.finishFailed(this.deathMessage(exit));
  }

  /** The supervisor's controls, to the engine's stdin as they arrive. */
  private relayControls(child: ChildProcess): { stop(): void } {
    const { control } = this;
    let done = false;
    let paused = control.paused;
    const send = (type: Control['type']) => {
      if (!done && child.stdin!.writable) child.stdin!.write(`${JSON.stringify({ type })}\n`);
    };
    void (async () => {
      while (!done) {
        await control.next();
        if (done) return;
        if (control.cancelled) send('cancel');
        else if (control.paused !== paused) send(control.paused ? 'pause' : 'resume');
        paused = control.paused;
        if (control.sampleNow) {
          control.sampleNow = false;
          send('sample-now');
        }
        if (control.checkpointNow) {
          control.checkpointNow = false;
          send('checkpoint-now');
        }
      }
    })();
    // A control that came while the job was being prepared.
    if (control.cancelled) send('cancel');
    else if (control.paused) send('pause');
    return {
      stop: () => {
        done = true;
        control.handle({ type: 'resume' }); // wakes the loop so it can end (the engine is done)
        control.paused = false;
      },
    };
  }

  /** Stops the engine (SIGTERM: it has no chance to write more) for a reason of the studio's. */
  private stopEngine(status: 'diverged' | 'failed', message: string): void {
    this.stopped ??= { status, message };
    this.child?.kill('SIGTERM');
  }

  /** One event of the engine. */
  private async handle(e: EngineEvent): Promise<void> {
    const { store, runId } = this;
    if (this.stopped) return; // nothing more is stored once the studio stopped the engine
    switch (e.type) {
      case 'started': {
        const mc = e.modelConfig as ModelConfig | undefined;
        this.numClasses = mc?.numClasses ?? 0;
        const backend: TorchBackendInfo = {
          name: 'pytorch',
          version: String(e.torch ?? 'unknown'),
          reason: `train.engine 'pytorch' (${String(e.python ?? 'python')})`,
          skipped: [],
          device: String(e.device ?? 'cpu'),
          python: String(e.python ?? ''),
          pythonVersion: String(e.pythonVersion ?? ''),
          world: typeof e.world === 'number' ? e.world : 1,
          ...(typeof e.deviceName === 'string' ? { deviceName: e.deviceName } : {}),
          ...(typeof e.deviceMemory === 'number' ? { deviceMemory: e.deviceMemory } : {}),
          pid: this.child?.pid ?? 0,
        };
        this.device = backend.device;
        store.setBackend(runId, 'pytorch', `torch ${backend.version} on ${backend.device}`);
        this.step = Number(e.startStep ?? this.step);
        this.post({
          type: 'started',
          runId,
          backend,
          resumedFrom: typeof e.resumedFrom === 'number' ? e.resumedFrom : null,
          totalSteps: Number(e.totalSteps),
          startStep: Number(e.startStep),
          threads: backend.world,
          ...(this.resumeWarnings.length ? { warnings: this.resumeWarnings } : {}),
        });
        return;
      }
      case 'progress':
        this.step = Number(e.step);
        this.post({
          type: 'progress',
          runId,
          step: Number(e.step),
          totalSteps: Number(e.totalSteps),
          loss: numberOrNaN(e.loss),
          lossSmoothed: numberOrNaN(e.lossSmoothed),
          lr: numberOrNaN(e.lr),
          stepsPerSec: numberOrNaN(e.stepsPerSec),
          etaSec: numberOrNaN(e.etaSec),
        });
        return;
      case 'metrics':
        store.appendMetrics(runId, metricRows(e));
        return;
      case 'checkpoint': {
        const file = String(e.file);
        // This process must still hold the run before it writes its checkpoint (as the tfjs job).
        if (store.heartbeat([runId]).length > 0) throw new LeaseLostError(runId);
        try {
          const meta = await storeCheckpointFile(store, runId, file, { device: this.device });
          this.step = meta.step;
          this.post({ type: 'checkpoint', runId, step: meta.step });
        } catch (err) {
          if (!(err instanceof NonFiniteCheckpointError)) throw err;
          // Weights, EMA or moments went non-finite under a finite loss: never a checkpoint.
          const step = Number(e.step);
          this.stopEngine(
            'diverged',
            divergedMessage(store, runId, `the weights became non-finite by step ${step} while the loss stayed finite (${err.message})`),
          );
        }
        await rm(file, { force: true });
        return;
      }
      case 'sample': {
        const file = String(e.file);
        const step = Number(e.step);
        const info = await storeSampleFile(store, runId, file, step, this.numClasses);
        this.post({ type: 'sample', runId, step, sampleId: info.id, kind: info.kind === 'points' ? 'points' : 'image-grid' });
        await rm(file, { force: true });
        return;
      }
      case 'paused':
        moveTo(store, runId, 'paused', {});
        this.post({ type: 'paused', runId, step: Number(e.step) });
        return;
      case 'resumed':
        moveTo(store, runId, 'running', {});
        this.post({ type: 'resumed', runId, step: Number(e.step) });
        return;
      case 'warning':
        this.warnings.push(String(e.message));
        return;
      case 'error': {
        const where = [
          e.field && `field ${String(e.field)}`,
          e.file && `file ${String(e.file)}`,
          e.package && `package ${String(e.package)}`,
        ]
          .filter(Boolean)
          .join(', ');
        this.engineError = `${String(e.message)}${where ? ` (${where})` : ''}`;
        return;
      }
      case 'finished':
        await this.finished(e);
        return;
      default:
        return; // 'exported' and future events: the final checkpoint holds the weights already
    }
  }

  /** The engine's 'finished': the run's final status in the store, and the one 'finished' event. */
  private async finished(e: EngineEvent): Promise<void> {
    const status = e.status as FinalStatus;
    const step = Number(e.step);
    const summary: Summary = { ...((e.summary as Summary | undefined) ?? {}) };
    for (const [k, v] of Object.entries(summary)) if (v !== null && typeof v === 'object') delete summary[k];
    if (this.skippedFiles) summary.skippedFiles = this.skippedFiles;
    const error = typeof e.error === 'string' ? e.error : undefined;
    if (status === 'completed') {
      if (this.reflow) Object.assign(summary, this.reflowSummary());
      moveTo(this.store, this.runId, 'completed', { summary });
      this.finish('completed', step, summary);
    } else if (status === 'cancelled') {
      moveTo(this.store, this.runId, 'cancelled', { summary });
      this.finish('cancelled', step, summary);
    } else if (status === 'diverged') {
      this.finishDiverged(step, summary, error ?? 'the loss became non-finite');
    } else {
      this.finishFailed(`the PyTorch engine failed: ${this.engineError ?? error ?? 'no reason given'}`, step);
    }
  }

  /** Straightness of the parent (measured before) and of this run's final EMA field, as the tfjs job reports. */
  private reflowSummary(): Summary {
    const config = this.config!;
    const m = runModel(this.store, this.runId);
    try {
      return {
        straightnessBefore: this.reflow!.straightnessBefore,
        straightnessAfter: straightnessOf(m.field(0), m.shape, m.timeRange, config.seed),
        reflowFrom: config.reflow!.from,
      };
    } finally {
      m.dispose();
    }
  }

  /** Why the engine stopped without its 'finished' line. */
  private deathMessage(exit: { code: number | null; signal: NodeJS.Signals | null; error: Error | null }): string {
    const pid = this.child?.pid;
    const how = exit.error
      ? `could not be started (${exit.error.message})`
      : exit.signal
        ? `was killed by ${exit.signal}`
        : `exited with code ${String(exit.code)}`;
    const tail = this.stderr.trim().split('\n').slice(-8).join('\n');
    const last = this.store.listCheckpoints(this.runId).at(-1);
    const kept = last
      ? `its last checkpoint (step ${last.step}) is intact: resume the run to continue from it`
      : 'no checkpoint had been stored yet';
    return `the PyTorch engine (pid ${pid ?? '?'}) ${how} before finishing${this.engineError ? ` (${this.engineError})` : ''}; ${kept}${tail ? `\nits last output on stderr:\n${tail}` : ''}`;
  }

  // ------------------------------------------------------------------------------------ finish

  private finishDiverged(step: number, summary: Summary, what: string, said = false): FinalStatus {
    // The engine's message ends "the last good checkpoint is kept"; the store says which one that is.
    return this.ending.diverged(step, summary, said ? what : what.replace(/; the last good checkpoint is kept$/, ''), said);
  }

  private finishFailed(msg: string, step = this.step): FinalStatus {
    return this.ending.failed(msg, step);
  }

  private finish(status: FinalStatus, step: number, summary: Summary, error?: string): FinalStatus {
    return this.ending.finish(status, step, summary, error);
  }
}

/** Runs one job on the PyTorch engine (see the file comment) and reports how it ended. */
export async function runTorchJob(job: TrainJob, post: (e: WorkerEvent) => void, control: ControlState): Promise<FinalStatus> {
  const run = new TorchRun(job, post, control);
  try {
    return await run.execute();
  } finally {
    await run.dispose();
  }
}
