/**
 * The run lifecycle: which status changes are allowed.
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
import type { RunStatus } from './types';

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
