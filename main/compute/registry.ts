/** Compute tasks by name: what the compute worker can run. */
import type { RunStore } from '../store';
import { selectBackend } from '../runtime/backend';
import { fieldTask, invertPointsTask, sampleTask, type FieldTask, type InvertPointsTask, type SampleTask } from './tasks';
import { latentExport, latentModels, latentRun, latentSave, type LatentRunArgs } from './latent';
import type { LatentResult } from '../latent';

/** Progress of a task: what a long latent computation reports (stage, fraction done, NFE so far). */
export type Progress = (p: { stage: string; fraction: number; nfe: number }) => void;
export type Task = (store: RunStore, args: unknown, progress: Progress) => unknown;

export const TASKS: Record<string, Task> = {
  sample: (store, args) => sampleTask(store, args as SampleTask),
  field: (store, args) => fieldTask(store, args as FieldTask),
  'invert-points': (store, args) => invertPointsTask(store, args as InvertPointsTask),
  // The worker selected its backend at start (the same selection a training worker makes).
  backend: () => selectBackend(),
  latent: (store, args, progress) => latentRun(store, args as LatentRunArgs, progress),
  'latent-save': (store, args) => latentSave(store, args as { model: string; result: LatentResult }),
  'latent-export': (_store, args) => latentExport(args as { result: LatentResult }),
  'latent-models': (store) => latentModels(store),
};
