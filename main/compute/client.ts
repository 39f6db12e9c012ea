/**
 * The host's handle on the compute worker: started on first use, one request at a time in the
 * worker (replies matched by id), restarted if it dies; a request in flight when it dies fails with
 * the reason instead of hanging.
 *
 * `run(task, args)` is typed by the protocol's table (main/compute/protocol.ts): the arguments must
 * be the task's, and the reply is the task's result type (a latent task's: that of its op).
 */
import { Worker } from 'node:worker_threads';
import { workerEntry, type WorkerEntry } from '../runtime/resources';
import type { ErrorInfo } from '../../common/contract';
import type { LatentOp, LatentTaskResults } from '../../common/latent';
import { ContractError } from './errors';
import {
  CLOSE_TASK,
  type CloseRequest,
  type ComputeJob,
  type ComputeReply,
  type ComputeRequest,
  type LatentRunArgs,
  type TaskArgs,
  type TaskName,
  type TaskProgress,
  type TaskResult,
} from './protocol';

interface Pending {
  /** Settles the caller's promise with the worker's value (typed by the task the caller ran). */
  resolve: (v: never) => void;
  reject: (e: Error) => void;
  onProgress?: (p: TaskProgress) => void;
}

/** The compute worker: main/compute/worker.ts from sources, compute.js when built. */
function computeEntry(): WorkerEntry {
  return workerEntry('compute');
}

export class ComputeClient {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly job: ComputeJob) {}

  /** Runs a latent task of op O; resolves to that op's result. */
  run<O extends LatentOp>(task: 'latent', args: LatentRunArgs<O>, onProgress?: Pending['onProgress']): Promise<LatentTaskResults[O]>;
  /** Runs task N with its arguments; resolves to its result. */
  run<N extends TaskName>(task: N, args: TaskArgs<N>, onProgress?: Pending['onProgress']): Promise<TaskResult<N>>;
  run<N extends TaskName>(task: N, args: TaskArgs<N>, onProgress?: Pending['onProgress']): Promise<TaskResult<N>> {
    if (this.closed) return Promise.reject(new Error('compute worker is shut down'));
    const w = this.ensure();
    const id = this.nextId++;
    return new Promise<TaskResult<N>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onProgress ? { onProgress } : {}) });
      w.postMessage({ id, task, args } satisfies ComputeRequest<N>);
    });
  }

  /**
   * Asks the worker to finish its current task, close its store and exit; terminates it only if it
   * does not within `graceMs` (terminating a thread inside a native SQLite call is not safe).
   */
  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    w.postMessage({ id: 0, task: CLOSE_TASK, args: null } satisfies CloseRequest);
    const timer = setTimeout(() => void w.terminate(), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const entry = computeEntry();
    const w = new Worker(entry.url, { workerData: this.job, execArgv: entry.execArgv });
    w.on('message', (m: ComputeReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if ('progress' in m) {
        p.onProgress?.(m.progress);
        return;
      }
      this.pending.delete(m.id);
      // The worker ran the task the caller named: its value is that task's result (protocol.ts).
      if (m.ok) p.resolve(m.value as never);
      else p.reject(new ContractError(m.error));
    });
    const fail = (why: string) => {
      if (this.worker === w) this.worker = null;
      const info: ErrorInfo = { code: 'failed', message: `compute worker stopped: ${why}` };
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new ContractError(info));
      }
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', (code) => fail(`exit code ${code}`));
    this.worker = w;
    return w;
  }
}
