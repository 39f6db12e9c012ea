/**
 * The compute worker's function of every task of the protocol (main/compute/protocol.ts): a table
 * typed by the protocol's, so each function takes its task's parsed arguments and returns its
 * result type, and the worker dispatches by name without casts.
 */
import type { RunStore } from '../store';
import { selectBackend } from '../runtime/backend';
import { fieldTask, invertPointsTask, sampleTask } from './tasks';
import { sampleQualityTask } from './quality';
import { latentExport, latentModels, latentRun, latentSave } from './latent';
import { sharedCancel } from '../latent';
import { estimateTraining } from '../studio/estimate';
import { estimateLatent, estimateSample } from './estimate-task';
import type { ParsedTaskArgs, TaskName, TaskProgress, TaskResult } from './protocol';

/** Progress of a task: what a long latent computation reports (stage, fraction done, NFE so far). */
export type Progress = (p: TaskProgress) => void;
/** The function of task N. */
export type Task<N extends TaskName> = (
  store: RunStore,
  args: ParsedTaskArgs<N>,
  progress: Progress,
) => TaskResult<N> | Promise<TaskResult<N>>;

export const TASKS: { [N in TaskName]: Task<N> } = {
  sample: (store, { cancel, ...args }, progress) =>
    sampleTask(store, args, {
      ...(cancel ? { signal: sharedCancel(cancel) } : {}),
      onStep: (s) => progress({ stage: 'sampling', fraction: s.progress, nfe: s.nfe }),
    }),
  field: (store, args) => fieldTask(store, args),
  'sample-quality': (store, args) => sampleQualityTask(store, args),
  'invert-points': (store, args) => invertPointsTask(store, args),
  // The worker selected its backend at start (the same selection a training worker makes).
  backend: () => selectBackend(),
  latent: (store, args, progress) => latentRun(store, args, progress),
  'latent-save': (store, args) => latentSave(store, args),
  'latent-export': (_store, args) => latentExport(args),
  'latent-models': (store) => latentModels(store),
  estimate: (_store, args) => estimateTraining(args.config),
  'estimate-task': (store, args) => estimateSample(store, args),
  'estimate-latent': (store, args) => estimateLatent(store, args),
};
