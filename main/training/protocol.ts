/**
 * The typed message protocol between the supervisor (UI thread, CLI) and a training worker thread.
 *
 * workerData is a Job; the supervisor sends Control messages; the worker answers with WorkerEvents.
 * Events are batched by the worker (progress at most every `progressIntervalMs`), so a UI can render
 * each one without falling behind. Metrics go to SQLite in batches from the worker itself; events
 * carry only what a live view needs.
 */
import type { BackendInfo } from '../runtime/backend';

export interface TrainJob {
  kind: 'train';
  runId: string;
  /** SQLite file the worker opens itself (WAL lets the UI read while the worker writes). */
  dbPath: string;
  /** Requested backend ('auto' by default, FLOW_STUDIO_BACKEND otherwise). */
  backend?: string;
  /** Stop after this many total steps instead of the config's (the CLI's --steps). */
  stepsOverride?: number;
  /** Minimum time between progress events. */
  progressIntervalMs?: number;
  /** Test hook: stop after this step as if the process died (no final checkpoint). */
  crashAfterStep?: number;
  /**
   * The supervising process's nonce (main/store/owner.ts): the worker writes as that process, which
   * claimed the run's lease before starting it.
   */
  ownerNonce?: string;
}

export type Job = TrainJob;

/**
 * The PyTorch engine as the backend of a run (train.engine 'pytorch', main/training/torch-job.ts):
 * what its 'started' line reports about the Python process that trains.
 */
export interface TorchBackendInfo {
  name: 'pytorch';
  /** torch.__version__. */
  version: string;
  /** Why this engine, and which interpreter runs it. */
  reason: string;
  skipped: BackendInfo['skipped'];
  /** 'cpu', 'cuda:0', 'mps'. */
  device: string;
  /** The interpreter (sys.executable) and its version. */
  python: string;
  pythonVersion: string;
  /** Processes training the run (1; more under torchrun). */
  world: number;
  /** CUDA devices: the GPU's name and memory in bytes. */
  deviceName?: string;
  deviceMemory?: number;
  /** The Python process's id (to watch it, or to stop it from outside). */
  pid: number;
}

export type Control = { type: 'pause' } | { type: 'resume' } | { type: 'cancel' } | { type: 'sample-now' } | { type: 'checkpoint-now' };

export type FinalStatus = 'completed' | 'cancelled' | 'diverged' | 'failed';

export type WorkerEvent =
  | {
      type: 'started';
      runId: string;
      backend: BackendInfo | TorchBackendInfo;
      resumedFrom: number | null;
      totalSteps: number;
      startStep: number;
      /** Data-parallel threads training the run (1: the worker alone; see main/training/parallel.ts). */
      threads?: number;
      /** E.g. that the newest checkpoint was unusable and the run resumed from an older one. */
      warnings?: string[];
    }
  | {
      type: 'progress';
      runId: string;
      step: number;
      totalSteps: number;
      loss: number;
      /** Exponential moving average of the loss (the smoothed curve). */
      lossSmoothed: number;
      lr: number;
      stepsPerSec: number;
      /** Seconds left at the current speed. */
      etaSec: number;
    }
  | { type: 'sample'; runId: string; step: number; sampleId: number; kind: 'points' | 'image-grid' }
  | { type: 'checkpoint'; runId: string; step: number }
  | { type: 'paused'; runId: string; step: number }
  | { type: 'resumed'; runId: string; step: number }
  | { type: 'finished'; runId: string; status: FinalStatus; step: number; summary: Record<string, number | string | null>; error?: string };

export function isWorkerEvent(v: unknown): v is WorkerEvent {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { type?: unknown }).type === 'string' &&
    typeof (v as { runId?: unknown }).runId === 'string'
  );
}
