/** Compute tasks by name: what the compute worker can run. */
import type { RunStore } from '../store';
import type { ExperimentConfig } from '../../preload/schema';
import { selectBackend } from '../engine/backend';
import { fieldTask, preflightTask, sampleTask, type FieldTask, type SampleTask } from './tasks';

export type Progress = (p: { done: number; total: number; note?: string }) => void;
export type Task = (store: RunStore, args: unknown, progress: Progress) => unknown;

export const TASKS: Record<string, Task> = {
  sample: (store, args) => sampleTask(store, args as SampleTask),
  field: (store, args) => fieldTask(store, args as FieldTask),
  preflight: (_store, args) => preflightTask(args as ExperimentConfig),
  // The worker selected its backend at start (the same selection a training worker makes).
  backend: () => selectBackend(),
};
