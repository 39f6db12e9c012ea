/**
 * Runs as every process sees them: the statuses, the lifecycle rule (which status may follow which),
 * and the row of a run list with its owner (docs/runs.md). The run store enforces these
 * (main/store/store.ts), the app layer decides with them (main/app/runs.ts), the renderer shows them.
 *
 * The lifecycle:
 *
 *   queued    -> running | cancelled | failed
 *   running   -> paused | completed | cancelled | failed | diverged
 *   paused    -> running (resume) | queued | cancelled | failed
 *   cancelled -> queued (retry from the latest checkpoint)
 *   failed    -> queued (retry from the latest checkpoint)
 *   completed, diverged: final
 *
 * completed and diverged are final: training further, or again with other settings, is a new run
 * (possibly a reflow child), so a finished run's metrics always describe one training history.
 */

/** Every status a run can have, in lifecycle order. */
export const RUN_STATUSES = ['queued', 'running', 'paused', 'completed', 'cancelled', 'failed', 'diverged'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** For each status, the statuses it may change to. */
export const TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['paused', 'completed', 'cancelled', 'failed', 'diverged'],
  paused: ['running', 'queued', 'cancelled', 'failed'],
  completed: [],
  cancelled: ['queued'],
  failed: ['queued'],
  diverged: [],
};

/** Statuses in which the run is over (finished_at is set on entering them). */
export const FINISHED_STATUSES: readonly RunStatus[] = ['completed', 'cancelled', 'failed', 'diverged'];

/** True when `from -> to` is allowed. A status never changes to itself. */
export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Who trains a run (its lease), judged by the rules of main/store/owner.ts at the time of reading. */
export interface RunOwner {
  host: string;
  pid: number;
  /** Last heartbeat (ms since the epoch), null for a lease recorded by an older release. */
  heartbeatAt: number | null;
  /** The owning process still exists. */
  alive: boolean;
  /** The owner is the process that read this record (one of its threads). */
  self: boolean;
  /** Why a dead owner is considered gone, for messages; null while alive. */
  gone: string | null;
}

/** One row of the runs table view. */
export interface RunListItem {
  id: string;
  name: string;
  /** Dataset name read from the config (see summariseConfig); null when the config names none. */
  dataset: string | null;
  /** Probability path / scheduler read from the config; null when the config names none. */
  path: string | null;
  status: RunStatus;
  step: number;
  /** Latest value of the loss metric (NaN if it was NaN), null if none was logged. */
  finalLoss: number | null;
  backend: string;
  createdAt: number;
  updatedAt: number;
  parentRunId: string | null;
  /** The lease on the run and whether its owner is alive; null when none is held. */
  owner: RunOwner | null;
  /** 'running' or 'queued' with its owner gone: show it as interrupted (resumable). */
  interrupted: boolean;
}
