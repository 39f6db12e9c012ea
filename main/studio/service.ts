/**
 * The studio service: one implementation of the contract (common/contract.ts) that the Electron
 * main process and the web host both serve. It owns the run store connection of the host thread
 * (reads, renames, deletes; WAL lets it read while training workers write), the Supervisor (training
 * in worker threads) and the compute worker (sampling, vector fields, preflight checks), so nothing
 * heavy runs on the thread that serves the UI.
 *
 * `call(method, payload)` validates the payload with the method's schema and always resolves to an
 * envelope: a bad request is { ok: false, error: { code: 'invalid', field } }, never a thrown error.
 */
import { availableParallelism } from 'node:os';
import {
  contract,
  EXPORT_KINDS,
  type AppInfo,
  type Comparison,
  type Envelope,
  type ExportFile,
  type LatentRunCall,
  type Method,
  type ParsedRequest,
  type Replies,
  type RunDetail,
  type RunEvent,
  type RunRow,
} from '../../common/contract';
import { fieldName, parseExperiment, type ExperimentConfig } from '../../common/config';
import { fieldSentence } from '../../common/messages';
import { Supervisor, type WorkerEntry } from '../training/supervisor';
import type { BackendInfo } from '../runtime/backend';
import { engineDiagnostics } from '../runtime/engines';
import { RunStore } from '../store';
import { startBackup, type BackgroundBackup, type BackupOutcome, type WorkerBackupOptions } from '../store/backup';
import { summariseConfig } from '../store/summary';
import type { RunRecord } from '../store/types';
import { ComputeClient } from '../compute/client';
import { ContractError, errorInfo } from '../compute/errors';
import { oracleMixture } from '../compute/tasks';
import type { EngineDiagnostics, TaskEvent } from '../../common/contract';
import { listPresets } from '../app/presets';
import { createRun, Runs } from '../app/runs';
import { exportArchive, exportFiles } from './export';
import { sampleView, toRunEvent, toSeries } from './views';

export interface StudioOptions {
  dbPath: string;
  dataDir: string;
  host: AppInfo['host'];
  version: string;
  /** Backend request for training and compute workers (default FLOW_STUDIO_BACKEND or auto). */
  backend?: string;
  /** Runs training at once (default 1). */
  maxConcurrent?: number;
  workerEntry?: WorkerEntry;
  /** How long "sample now" waits for a running run's fresh checkpoint (ms). */
  checkpointWaitMs?: number;
  /** The daily backup started with the service (main/store/backup.ts): its options, or false for none. */
  backup?: WorkerBackupOptions | false;
}

/** The handler of method M; latentRun's is generic, its reply the result of the task's op. */
type Handler<M extends Method> = M extends 'latentRun' ? LatentRunCall : (req: ParsedRequest<M>) => Replies[M] | Promise<Replies[M]>;

/** How long Settings waits for the engines' diagnostics (main/runtime/engines.ts). */
const ENGINES_WAIT_MS = 1500;

export class StudioService {
  readonly store: RunStore;
  readonly supervisor: Supervisor;
  /** The run use-cases (main/app/runs.ts) on this host's store and supervisor. */
  readonly runs: Runs;
  readonly compute: ComputeClient;
  private readonly listeners = new Set<(stream: 'run' | 'task', e: RunEvent | TaskEvent) => void>();
  /** Cancel flags of running latent tasks, by the renderer's taskId. */
  private readonly cancels = new Map<string, Int32Array>();
  private readonly handlers: { [M in Method]: Handler<M> };
  private closed = false;
  private readonly backupTask: BackgroundBackup | null;
  /** How the backup started with the service ended (resolves once; never rejects). */
  readonly backup: Promise<BackupOutcome | null>;

  constructor(private readonly opts: StudioOptions) {
    this.store = RunStore.open(opts.dbPath);
    // Runs whose training process died (a host, a CLI) become paused (resumable) or failed. Live
    // owners, including another host or CLI training right now, are left alone (main/store/owner.ts).
    this.store.markInterruptedRuns();
    const backend = opts.backend ?? process.env.FLOW_STUDIO_BACKEND;
    this.supervisor = new Supervisor({
      dbPath: opts.dbPath,
      maxConcurrent: opts.maxConcurrent ?? 1,
      ...(backend ? { backend } : {}),
      ...(opts.workerEntry ? { workerEntry: opts.workerEntry } : {}),
    });
    this.compute = new ComputeClient({ dbPath: opts.dbPath, ...(backend ? { backend } : {}) });
    this.runs = new Runs(this.store, this.supervisor);
    this.supervisor.on((e) => this.emit('run', toRunEvent(e)));
    this.handlers = this.makeHandlers();
    // The daily backup, in a worker thread; a failure is reported and never stops the app.
    this.backupTask = opts.backup === false ? null : startBackup(opts.dbPath, opts.backup ?? {});
    this.backup = this.backupTask
      ? this.backupTask.done.then((outcome) => {
          if (outcome.status === 'failed')
            process.stderr.write(`flow-studio: warning: the daily backup of ${opts.dbPath} failed: ${outcome.error}\n`);
          return outcome;
        })
      : Promise.resolve(null);
  }

  /** Subscribes to every event stream: 'run' (training) and 'task' (progress of compute tasks). */
  onEvent(listener: (stream: 'run' | 'task', e: RunEvent | TaskEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Subscribes to training events of every run. */
  onRunEvent(listener: (e: RunEvent) => void): () => void {
    return this.onEvent((stream, e) => stream === 'run' && listener(e as RunEvent));
  }

  /** Validates and runs one contract method; never throws. */
  async call(method: string, payload: unknown): Promise<Envelope<unknown>> {
    if (!Object.hasOwn(contract, method)) return { ok: false, error: { code: 'not-found', message: `unknown method '${method}'` } };
    const m = method as Method;
    const parsed = contract[m].request.safeParse(payload ?? {});
    if (!parsed.success) {
      // In words a person reads ("Class must be at most 9"); the dotted field stays in `field` for code.
      const issue = parsed.error.issues[0]!;
      const field = issue.path.length ? fieldName(issue.path) : '';
      return {
        ok: false,
        error: { code: 'invalid', message: fieldSentence(field || undefined, issue.message), ...(field ? { field } : {}) },
      };
    }
    try {
      // The payload was parsed by this method's schema: it is this method's request.
      const value: unknown = await (this.handlers[m] as (req: ParsedRequest<Method>) => unknown)(parsed.data);
      return { ok: true, value };
    } catch (e) {
      return { ok: false, error: errorInfo(e) };
    }
  }

  /** Cancels training (workers checkpoint first), stops the compute worker, closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.backupTask?.cancel(); // stops at its next step and removes its partial file
    await this.supervisor.shutdown();
    await this.compute.close();
    await this.backup;
    this.store.close();
  }

  private emit(stream: 'run' | 'task', e: RunEvent | TaskEvent | null): void {
    if (!e) return;
    for (const l of this.listeners) {
      try {
        l(stream, e);
      } catch {
        // one broken subscriber (a closed socket) must not starve the others
      }
    }
  }

  private engines: Promise<EngineDiagnostics> | null = null;

  /** The engines' diagnostics, probed once per service (a failed probe is probed again). */
  private engineProbe(): Promise<EngineDiagnostics> {
    const p = (this.engines ??= engineDiagnostics());
    void p.then((d) => {
      if (!d.pytorch.ok && this.engines === p) this.engines = null;
    });
    return p;
  }

  private makeHandlers(): { [M in Method]: Handler<M> } {
    const { store, compute, opts, runs } = this;
    return {
      appInfo: () => ({ name: 'Flow Studio', version: opts.version, host: opts.host, platform: process.platform }),
      settings: async () => {
        const b = await compute.run('backend', {});
        // Importing torch takes seconds: Settings does not wait longer than ENGINES_WAIT_MS for it;
        // without 'engines' the renderer asks again later (the probe goes on and is kept).
        const engines = await Promise.race([
          this.engineProbe(),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), ENGINES_WAIT_MS).unref()),
        ]);
        return {
          dataDir: opts.dataDir,
          dbPath: opts.dbPath,
          backend: {
            name: b.name,
            version: b.version ?? null,
            reason: backendReason(b),
            tried: b.skipped.map((s) => ({ name: s.name, why: s.error })),
            threads: availableParallelism(),
          },
          requested: opts.backend ?? process.env.FLOW_STUDIO_BACKEND ?? 'auto',
          nodeVersion: process.versions.node,
          ...(engines ? { engines } : {}),
        };
      },
      listPresets: () => listPresets(),
      validateConfig: ({ config }) => {
        const p = parseExperiment(config);
        return p.ok ? { ok: true, config: p.value as unknown as Record<string, unknown> } : { ok: false, issues: p.issues };
      },
      createRun: async ({ config, name, start }) => {
        const run = await createRun(store, config, {
          ...(name ? { name } : {}),
          backend: opts.backend ?? process.env.FLOW_STUDIO_BACKEND ?? 'auto',
        });
        if (start !== false) this.startTraining(run.id);
        return this.detail(store.getRun(run.id));
      },
      // The latent studio's results holders (main/latent/save.ts) are not runs anyone trained: their
      // files show in the Latent view (latentSaved), not as "completed" rows.
      listRuns: () =>
        store
          .listRuns()
          .map((r) => ({ item: r, record: store.getRun(r.id) }))
          .filter(({ record }) => !isLatentHolder(record))
          .map(({ item, record }) => ({ ...item, totalSteps: totalStepsOf(record), shape: shapeOf(record) }) satisfies RunRow),
      getRun: ({ id }) => this.detail(store.getRun(id)),
      renameRun: ({ id, name }) => this.detail(runs.rename(id, name)),
      deleteRun: ({ id }) => {
        runs.delete(id);
        return { deleted: id };
      },
      startRun: ({ id, steps }) => {
        this.startTraining(id, steps);
        return this.detail(store.getRun(id));
      },
      pauseRun: ({ id }) => {
        runs.pause(id);
        return this.detail(store.getRun(id));
      },
      resumeRun: ({ id }) => {
        // Paused in this host's worker: it continues; stopped (or paused by a previous host): it
        // continues from its checkpoint in a new worker.
        void runs.resume(id)?.catch(() => {});
        return this.detail(store.getRun(id));
      },
      cancelRun: ({ id }) => {
        runs.cancel(id);
        return this.detail(store.getRun(id));
      },
      getMetrics: ({ id, names, fromStep, maxPoints }) =>
        store
          .getMetrics(id, names ?? null, {
            ...(fromStep !== undefined ? { fromStep } : {}),
            ...(maxPoints !== undefined ? { maxPoints } : {}),
          })
          .map(toSeries),
      latestSample: ({ id }) => {
        store.getRun(id);
        const info = store
          .listSamples(id)
          .filter((s) => s.kind !== 'trajectory')
          .at(-1);
        return info ? sampleView(store, info.id) : null;
      },
      sampleNow: async ({ taskId, ...req }) => {
        await this.freshCheckpoint(req.id);
        return this.withTask(taskId, (cancel, progress) => compute.run('sample', { runId: req.id, ...withoutId(req), cancel }, progress));
      },
      vectorField: (req) => compute.run('field', { runId: req.id, ...withoutId(req) }),
      sampleQuality: async (req) => {
        await this.freshCheckpoint(req.id);
        return compute.run('sample-quality', { runId: req.id, ...withoutId(req) });
      },
      invertPoints: (req) => compute.run('invert-points', { runId: req.id, ...withoutId(req) }),
      compareRuns: ({ ids }) => {
        const runs = ids.map((id) => this.detail(store.getRun(id)));
        const loss = ids.map((id) => toSeries(store.getMetrics(id, ['loss'], { maxPoints: 500 })[0]!));
        const keys = [...new Set(runs.flatMap((r) => Object.keys(r.summary ?? {})))].sort();
        // The runs' own numbers first, then every summary key not already shown.
        const metrics: Comparison['metrics'] = [
          { name: 'final loss', values: runs.map((r) => r.finalLoss) },
          { name: 'steps', values: runs.map((r) => r.step) },
          ...keys
            .filter((k) => k !== 'finalLoss' && k !== 'steps' && k !== 'step')
            .map((name) => ({ name, values: runs.map((r) => scalar((r.summary ?? {})[name])) })),
        ];
        const samples = ids.map((id) => {
          const info = store
            .listSamples(id)
            .filter((s) => s.kind !== 'trajectory')
            .at(-1);
          return info ? sampleView(store, info.id) : null;
        });
        return { runs, loss, metrics, samples };
      },
      exportRun: async ({ id, kinds }): Promise<ExportFile[]> => {
        const run = store.getRun(id);
        return exportFiles(store, run, kinds ?? EXPORT_KINDS, (args) => compute.run('sample', { runId: id, ...args }));
      },
      exportArchive: async ({ id }): Promise<ExportFile> => {
        const run = store.getRun(id);
        const zip = await exportArchive(store, run, (args) => compute.run('sample', { runId: id, ...args }));
        return { name: zip.name, mime: 'application/zip', base64: Buffer.from(zip.bytes).toString('base64') };
      },
      estimateTraining: ({ config }) => compute.run('estimate', { config }),
      estimateTask: (req) => {
        if (req.kind === 'latent') {
          const { kind: _kind, ...rest } = req;
          return compute.run('estimate-latent', rest);
        }
        const { id, kind: _kind, ...rest } = req;
        return compute.run('estimate-task', { runId: id, ...rest });
      },
      cancelTask: ({ taskId }) => this.cancelTask(taskId),
      latentModels: () => compute.run('latent-models', {}),
      latentRun: ({ model, taskId, task }) =>
        this.withTask(taskId, (cancel, progress) => compute.run('latent', { model, task, cancel }, progress)),
      latentCancel: ({ taskId }) => this.cancelTask(taskId),
      latentSaved: ({ model }) => {
        const runId = model.startsWith('shipped:')
          ? (store
              .listRuns({ order: 'oldest' })
              .map((r) => store.getRun(r.id))
              .find((r) => isLatentHolder(r) && (r.config as { model?: unknown }).model === model)?.id ?? null)
          : store.getRun(model.split('@')[0]!).id;
        const artifacts = runId
          ? store.listArtifacts(runId).map(({ id, name, mime, bytes, createdAt }) => ({ id, name, mime, bytes, createdAt }))
          : [];
        return { runId, artifacts };
      },
      latentSave: ({ model, result }) => compute.run('latent-save', { model, result }),
      latentExport: async ({ result }) =>
        (await compute.run('latent-export', { result })).map(({ name, mime, base64 }) => ({ name, mime, base64 })),
    };
  }

  /**
   * Runs a compute task that can be cancelled: with a taskId, its cancel flag is kept for cancelTask
   * and its progress streams as 'task' events (at most ~10 a second per task, and always the last).
   */
  private async withTask<T>(
    taskId: string | undefined,
    fn: (cancel: SharedArrayBuffer, progress: (p: { stage: string; fraction: number; nfe: number }) => void) => Promise<T>,
  ): Promise<T> {
    const cancel = new SharedArrayBuffer(4);
    if (taskId) {
      if (this.cancels.has(taskId))
        throw new ContractError({ code: 'conflict', message: `task ${taskId} is already running`, field: 'taskId' });
      this.cancels.set(taskId, new Int32Array(cancel));
    }
    let last = 0;
    const progress = (p: { stage: string; fraction: number; nfe: number }) => {
      const now = performance.now();
      if (!taskId || (now - last < 100 && p.fraction < 1)) return;
      last = now;
      this.emit('task', { taskId, ...p });
    };
    try {
      return await fn(cancel, progress);
    } finally {
      if (taskId) this.cancels.delete(taskId);
    }
  }

  private cancelTask(taskId: string): { cancelled: boolean } {
    const flag = this.cancels.get(taskId);
    if (flag) Atomics.store(flag, 0, 1);
    return { cancelled: flag !== undefined };
  }

  private startTraining(id: string, steps?: number): void {
    // The result arrives as a 'finished' event; a rejection here would only repeat it. A refusal
    // (RunActionError, OwnershipError) is thrown at once, before anything is queued.
    void this.runs.start(id, steps !== undefined ? { steps } : {}).catch(() => {});
  }

  /**
   * A running run checkpoints on request, so "sample now" uses the current weights, not those of the
   * last scheduled checkpoint. Paused runs checkpointed when they paused.
   */
  private async freshCheckpoint(id: string): Promise<void> {
    const run = this.store.getRun(id);
    if (!this.supervisor.isActive(id) || run.status !== 'running') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.opts.checkpointWaitMs ?? 20_000);
      const off = this.supervisor.on((e) => {
        if (e.runId === id && (e.type === 'checkpoint' || e.type === 'finished' || e.type === 'paused')) done();
      });
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
      try {
        this.supervisor.checkpointNow(id);
      } catch {
        done(); // it finished in between
      }
    });
  }

  private detail(run: RunRecord): RunDetail {
    const parsed = parseExperiment(run.config);
    const config = parsed.ok ? parsed.value : null;
    const { dataset, path } = summariseConfig(run.config);
    const loss = this.store.getMetrics(run.id, ['loss'], { maxPoints: 2 })[0];
    const last = loss?.values.at(-1);
    const ckpt = this.store.listCheckpoints(run.id).at(-1);
    const meta = (ckpt?.meta ?? {}) as { shape?: number[]; numClasses?: number };
    return {
      id: run.id,
      name: run.name,
      dataset,
      path,
      status: run.status,
      step: run.step,
      totalSteps: config?.train.steps ?? null,
      finalLoss: last === undefined || !Number.isFinite(last) ? null : last,
      backend: run.backend,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
      parentRunId: run.parentRunId,
      owner: run.owner,
      interrupted: run.interrupted,
      config: run.config,
      seed: run.seed,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      error: run.error,
      summary: run.summary,
      shape: meta.shape ?? (config ? dataShape(config) : [2]),
      numClasses: meta.numClasses ?? (config ? classCount(config) : 0),
      hasOracle: config ? oracleMixture(config) !== null : false,
      // A worker lingers a moment after its 'finished' event; a finished run is not live.
      live: this.supervisor.isActive(run.id) && (run.status === 'running' || run.status === 'paused' || run.status === 'queued'),
    };
  }
}

/** A latent-studio results holder (main/latent/save.ts latentRunFor), not a trained run. */
function isLatentHolder(run: RunRecord): boolean {
  return (run.config as { kind?: unknown }).kind === 'latent-studio';
}

/** Data shape per sample of a run's config, or null when it does not parse. */
function shapeOf(run: RunRecord): number[] | null {
  const p = parseExperiment(run.config);
  return p.ok ? dataShape(p.value) : null;
}

function totalStepsOf(run: RunRecord): number | null {
  const steps = (run.config as { train?: { steps?: unknown } }).train?.steps;
  return typeof steps === 'number' ? steps : null;
}

/** Per-sample data shape a config trains on, before any checkpoint records it. */
function dataShape(config: ExperimentConfig): number[] {
  const d = config.data;
  if (d.kind === 'mnist') return [28, 28, 1];
  if (d.kind === 'images') return [d.size, d.size, d.channels];
  return [2];
}

function classCount(config: ExperimentConfig): number {
  if (!config.conditional) return 0;
  const d = config.data;
  if (d.kind === 'mnist') return 10;
  if (d.kind === 'gmm') return d.gmm.weights.length;
  return 0;
}

function backendReason(b: BackendInfo): string {
  const skipped = b.skipped.map((s) => `${s.name} (${s.error})`).join('; ');
  if (b.reason === 'requested') return `requested by FLOW_STUDIO_BACKEND or the settings`;
  return skipped
    ? `first available in the order tensorflow-gpu, tensorflow, wasm, cpu; not available: ${skipped}`
    : 'first in the order tensorflow-gpu, tensorflow, wasm, cpu';
}

function withoutId<T extends { id: string }>(req: T): Omit<T, 'id'> {
  const { id: _id, ...rest } = req;
  return rest;
}

function scalar(v: unknown): number | string | null {
  return typeof v === 'number' || typeof v === 'string' ? v : v === null || v === undefined ? null : JSON.stringify(v);
}
