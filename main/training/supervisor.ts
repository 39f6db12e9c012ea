/**
 * The supervisor: runs training jobs in worker_threads, never on the thread that serves the UI.
 *
 * Runs are queued and started while fewer than `maxConcurrent` are active; each gets its own worker
 * (its own tfjs backend instance and SQLite connection), so two runs never share state. Pause,
 * resume and cancel are messages to the worker; the worker checkpoints before it pauses or stops.
 * Events from all workers reach listeners tagged with their run id.
 *
 * Ownership (main/store/owner.ts): starting a run takes its lease for this process, so no other
 * process (the app, a CLI, a second window's host) trains, renames or deletes it meanwhile. The lease
 * is kept while the run is queued here or its worker lives (paused included), refreshed by a
 * heartbeat (this thread for queued runs, the worker for its own), and given up when the worker exits.
 */
import { Worker } from 'node:worker_threads';
import type { Control, FinalStatus, TrainJob, WorkerEvent } from './protocol';
import { isWorkerEvent } from './protocol';
import { RunStore } from '../store';
import { HEARTBEAT_INTERVAL_MS, thisProcess } from '../store/owner';
import { workerEntry, type WorkerEntry } from '../runtime/resources';

export type { WorkerEntry } from '../runtime/resources';

/**
 * A worker that died without reporting (out of memory, a native crash) leaves its run 'queued' or
 * 'running'; record why, so the run list does not show a ghost. A run with a checkpoint becomes
 * 'paused' (resumable), one without 'failed'.
 */
function recordLostWorker(store: RunStore, runId: string, why: string): void {
  const run = store.getRun(runId);
  if (run.status !== 'queued' && run.status !== 'running') return;
  const resumable = run.status === 'running' && store.latestCheckpoint(runId) !== null;
  store.setStatus(runId, resumable ? 'paused' : 'failed', {
    error: `${why}; ${resumable ? 'resume from the last checkpoint' : 'no checkpoint was written'}`,
  });
}

/** A queued run cancelled before a worker took it: the store says so too (a paused run stays paused). */
function recordCancelledInQueue(store: RunStore, runId: string): void {
  if (store.getRun(runId).status === 'queued') store.setStatus(runId, 'cancelled');
}

export interface SupervisorOptions {
  dbPath: string;
  /** How many runs train at once (default 1; each run is single-threaded on wasm). */
  maxConcurrent?: number;
  /** Backend request passed to every worker. */
  backend?: string;
  /** Override of the worker entry (tests, packaged builds). */
  workerEntry?: WorkerEntry;
}

export interface RunResult {
  runId: string;
  status: FinalStatus;
  step: number;
  summary: Record<string, number | string | null>;
  error?: string;
}

type Listener = (e: WorkerEvent) => void;

interface Active {
  job: TrainJob;
  worker: Worker;
  done: Promise<RunResult>;
  /** The worker reported 'finished' and is only tearing down (it writes nothing more). */
  finished: boolean;
}

/** The training worker: main/training/worker.ts from sources, worker.js when built. */
export function defaultWorkerEntry(): WorkerEntry {
  return workerEntry('worker');
}

export class Supervisor {
  private readonly queue: TrainJob[] = [];
  private readonly active = new Map<string, Active>();
  private readonly waiters = new Map<string, { resolve: (r: RunResult) => void; promise: Promise<RunResult> }>();
  private readonly listeners = new Set<Listener>();
  private readonly entry: WorkerEntry;
  private closed = false;
  /** This thread's connection for leases and the few status changes made here (opened on first use). */
  private leaseStore: RunStore | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: SupervisorOptions) {
    this.entry = opts.workerEntry ?? defaultWorkerEntry();
  }

  private store(): RunStore {
    // The supervisor's owner (the app, the CLI) opened and verified the store already.
    this.leaseStore ??= RunStore.open(this.opts.dbPath, { verify: false });
    return this.leaseStore;
  }

  /** Runs a small store update of this thread; the run may be gone or the file unreachable. */
  private withStore(fn: (store: RunStore) => void): void {
    try {
      fn(this.store());
    } catch {
      // The run may have been deleted, or the database be unreachable: nothing more to record.
    }
  }

  /** Keeps the leases of queued runs fresh (workers refresh their own). */
  private heartbeatQueued(): void {
    const ids = this.queue.map((j) => j.runId);
    if (ids.length > 0) this.withStore((s) => void s.heartbeat(ids));
  }

  /** Subscribes to events of all runs; returns the unsubscribe function. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Takes the run's lease and queues it (new, or to resume from its last checkpoint); resolves when
   * it finishes.
   * @throws OwnershipError when another live process trains it; NotFoundError for an unknown id
   */
  start(runId: string, extra: Partial<Omit<TrainJob, 'kind' | 'runId' | 'dbPath'>> = {}): Promise<RunResult> {
    if (this.closed) throw new Error('supervisor is shut down');
    if (this.active.has(runId) || this.queue.some((j) => j.runId === runId)) throw new Error(`run ${runId} is already queued or running`);
    this.store().claimRun(runId);
    if (!this.heartbeatTimer) {
      this.heartbeatTimer = setInterval(() => this.heartbeatQueued(), HEARTBEAT_INTERVAL_MS);
      this.heartbeatTimer.unref();
    }
    const job: TrainJob = {
      kind: 'train',
      runId,
      dbPath: this.opts.dbPath,
      backend: this.opts.backend,
      ownerNonce: thisProcess().nonce,
      ...extra,
    };
    const w = this.waiter(runId);
    this.queue.push(job);
    this.pump();
    return w;
  }

  /** Resolves when the run finishes (also for runs started before this call). */
  wait(runId: string): Promise<RunResult> {
    return this.waiter(runId);
  }

  pause(runId: string): void {
    this.send(runId, { type: 'pause' });
  }

  resume(runId: string): void {
    this.send(runId, { type: 'resume' });
  }

  /** Cancels a running run (it checkpoints and stops) or removes a queued one. */
  cancel(runId: string): void {
    const q = this.queue.findIndex((j) => j.runId === runId);
    if (q >= 0) {
      this.queue.splice(q, 1);
      this.withStore((s) => {
        recordCancelledInQueue(s, runId);
        s.releaseRun(runId);
      });
      this.settle({ runId, status: 'cancelled', step: 0, summary: {} });
      return;
    }
    this.send(runId, { type: 'cancel' });
  }

  sampleNow(runId: string): void {
    this.send(runId, { type: 'sample-now' });
  }

  /** Asks a running run to checkpoint at its next step (a 'checkpoint' event follows). */
  checkpointNow(runId: string): void {
    this.send(runId, { type: 'checkpoint-now' });
  }

  /** Whether the run has a worker (running or paused in it, or tearing down after it finished). */
  isActive(runId: string): boolean {
    return this.active.has(runId);
  }

  /** Whether the run's worker still trains it (running or paused): active and not yet finished. */
  isTraining(runId: string): boolean {
    const a = this.active.get(runId);
    return a !== undefined && !a.finished;
  }

  /** Ids of running and queued runs. */
  status(): { running: string[]; queued: string[] } {
    return { running: [...this.active.keys()], queued: this.queue.map((j) => j.runId) };
  }

  /** Cancels everything and waits for the workers to checkpoint and exit. */
  async shutdown(): Promise<void> {
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const j of this.queue.splice(0)) {
      this.withStore((s) => {
        recordCancelledInQueue(s, j.runId);
        s.releaseRun(j.runId);
      });
      this.settle({ runId: j.runId, status: 'cancelled', step: 0, summary: {} });
    }
    const pending = [...this.active.values()].map((a) => a.done);
    for (const id of this.active.keys()) this.send(id, { type: 'cancel' });
    await Promise.allSettled(pending);
    this.leaseStore?.close();
    this.leaseStore = null;
  }

  private waiter(runId: string): Promise<RunResult> {
    let w = this.waiters.get(runId);
    if (!w) {
      let resolve!: (r: RunResult) => void;
      const promise = new Promise<RunResult>((r) => (resolve = r));
      w = { resolve, promise };
      this.waiters.set(runId, w);
    }
    return w.promise;
  }

  private settle(r: RunResult): void {
    const w = this.waiters.get(r.runId);
    this.waiters.delete(r.runId);
    w?.resolve(r);
  }

  private send(runId: string, msg: Control): void {
    const a = this.active.get(runId);
    if (!a) throw new Error(`run ${runId} is not running`);
    a.worker.postMessage(msg);
  }

  private emit(e: WorkerEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A failing listener must not stop training or other listeners.
      }
    }
  }

  private pump(): void {
    const max = Math.max(1, this.opts.maxConcurrent ?? 1);
    while (this.active.size < max && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.launch(job);
    }
  }

  private launch(job: TrainJob): void {
    const worker = new Worker(this.entry.url, { workerData: job, execArgv: this.entry.execArgv });
    let finished: RunResult | null = null;
    let lastStep = 0;
    const done = new Promise<RunResult>((resolve) => {
      worker.on('message', (m: unknown) => {
        if (!isWorkerEvent(m)) return;
        if ('step' in m) lastStep = m.step;
        if (m.type === 'finished') {
          finished = { runId: m.runId, status: m.status, step: m.step, summary: m.summary, error: m.error };
          const a = this.active.get(job.runId);
          if (a) a.finished = true;
        }
        this.emit(m);
      });
      worker.on('error', (err) => {
        finished ??= { runId: job.runId, status: 'failed', step: lastStep, summary: {}, error: err.message };
      });
      worker.on('exit', (code) => {
        const r = finished ?? {
          runId: job.runId,
          status: 'failed' as const,
          step: lastStep,
          summary: {},
          error: `worker exited with code ${code}`,
        };
        this.withStore((s) => {
          if (!finished) recordLostWorker(s, job.runId, r.error ?? 'worker exited');
          // The worker is gone: whatever it left, this process no longer trains the run.
          s.releaseRun(job.runId);
        });
        if (!finished) this.emit({ type: 'finished', ...r });
        this.active.delete(job.runId);
        this.settle(r);
        resolve(r);
        if (!this.closed) this.pump();
      });
    });
    this.active.set(job.runId, { job, worker, done, finished: false });
  }
}
