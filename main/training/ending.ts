/**
 * How a training job ends, on either engine (train-job.ts for tfjs, torch-job.ts for PyTorch): the
 * run's final status in the store and the one 'finished' event the supervisor waits for. A store
 * write that fails because the run was deleted or is held by another process does not stop the
 * event: the supervisor must still learn that this job is over.
 */
import type { RunStore } from '../store';
import { divergedMessage } from './diverged';
import type { FinalStatus, WorkerEvent } from './protocol';

export type Summary = Record<string, number | string | null>;

export class RunEnding {
  private final: FinalStatus | null = null;

  constructor(
    private readonly store: RunStore,
    private readonly runId: string,
    private readonly post: (e: WorkerEvent) => void,
  ) {}

  /** The status already reported, or null while the job runs. */
  get status(): FinalStatus | null {
    return this.final;
  }

  /** The one 'finished' event of the run; later calls return the first status and post nothing. */
  finish(status: FinalStatus, step: number, summary: Summary, error?: string): FinalStatus {
    if (this.final) return this.final;
    this.final = status;
    this.post({ type: 'finished', runId: this.runId, status, step, summary, ...(error !== undefined ? { error } : {}) });
    return status;
  }

  /** Stores `status` (tolerating a run deleted or taken meanwhile), then finishes. */
  private end(status: 'failed' | 'diverged', step: number, summary: Summary, msg: string): FinalStatus {
    try {
      moveTo(this.store, this.runId, status, { error: msg });
    } catch {
      // the run may be gone (deleted while training), or held by another process
    }
    return this.finish(status, step, summary, msg);
  }

  failed(msg: string, step: number): FinalStatus {
    return this.end('failed', step, {}, msg);
  }

  /** Diverged: the message says which finite checkpoint is left (diverged.ts), unless `said` already. */
  diverged(step: number, summary: Summary, what: string, said = false): FinalStatus {
    return this.end('diverged', step, summary, said ? what : divergedMessage(this.store, this.runId, what));
  }
}

/** setStatus, tolerating "already there" (a resumed run may already be 'running'). */
export function moveTo(
  store: RunStore,
  runId: string,
  to: Parameters<RunStore['setStatus']>[1],
  opts: Parameters<RunStore['setStatus']>[2],
): void {
  const cur = store.getRun(runId).status;
  if (cur === to) return;
  if (to === 'running' && (cur === 'failed' || cur === 'cancelled')) store.setStatus(runId, 'queued');
  store.setStatus(runId, to, opts);
}
