/**
 * What a diverged run says about itself. A run diverges when a step's loss or gradient is not finite
 * (the trainer refuses that step), or when its weights, EMA or Adam moments are found non-finite at
 * a checkpoint while the loss still looked finite (stateToBlobs refuses to write them). Either way no
 * non-finite checkpoint is ever written, and the stored error says whether the run has one to sample
 * from, and at which step, checked by decoding it rather than assumed.
 */
import type { RunStore } from '../store';
import { lastFiniteCheckpointStep, type NonFiniteCheckpointError } from '../models/state';

/** Thrown by a checkpoint whose trainer state is not finite: the run has diverged at `step`. */
export class StateDivergedError extends Error {
  constructor(
    readonly step: number,
    readonly nonFinite: NonFiniteCheckpointError,
  ) {
    super(`the weights became non-finite by step ${step} while the loss stayed finite (${nonFinite.message})`);
    this.name = 'StateDivergedError';
  }
}

/**
 * "<what>; the last finite checkpoint is at step 400 (sample from it)", or "<what>; no checkpoint
 * had been written yet, so this run has no usable weights".
 */
export function divergedMessage(store: RunStore, runId: string, what: string): string {
  const step = lastFiniteCheckpointStep(store, runId);
  if (step !== null) return `${what}; the last finite checkpoint is at step ${step} (sample from it)`;
  const kept = store.listCheckpoints(runId).length;
  return kept === 0
    ? `${what}; no checkpoint had been written yet, so this run has no usable weights`
    : `${what}; none of its ${kept} checkpoints decodes to finite weights, so this run has no usable weights`;
}
