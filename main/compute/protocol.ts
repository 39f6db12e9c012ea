/**
 * The compute worker's protocol, typed the way the contract is (common/contract.ts): one table of
 * task names with the schema of their arguments (`TASK_ARGS`) and the type of their results
 * (`TaskResults`). The host's ComputeClient.run takes a task's arguments and resolves to its result
 * type, the worker (main/compute/worker.ts) parses the arguments by the same schema before it runs
 * the task of main/compute/registry.ts, so a wrong argument is a compile error in the host and an
 * 'invalid' error naming the field if one gets through at run time.
 *
 * Messages: a request names a task and carries its JSON arguments (plus a SharedArrayBuffer to
 * cancel a latent task); a reply carries the result, progress, or an error with the field it is about.
 */
import { z } from 'zod';
import {
  contract,
  modelSpecSchema,
  type ErrorInfo,
  type FieldView,
  type InvertedPoints,
  type LatentModelInfo,
  type QualityCurve,
  type Replies,
  type SampleResult,
  type TrainingEstimate,
  type TaskEstimate,
} from '../../common/contract';
import {
  latentResultSchema,
  latentTaskSchema,
  type LatentFile,
  type LatentOp,
  type LatentTask,
  type LatentTaskResults,
} from '../../common/latent';
import type { BackendInfo } from '../runtime/backend';
import type { Check, SameSet } from '../../core/util/types';

const none = z.strictObject({});
/** The run a task reads: the contract's `id`, named `runId` in the worker. */
const onRun = { runId: contract.getRun.request.shape.id };

/**
 * The arguments of every task, as schemas. Most come from a renderer's request (the contract's own
 * schema, so both ends agree); the worker parses them all, whoever sent them.
 */
export const TASK_ARGS = {
  /**
   * "Sample now" and the export's sample: the contract's sample request, plus the seed; a non-zero
   * int32 in `cancel` stops the solve (its taskId stays with the host, which streams the progress).
   */
  sample: contract.sampleNow.request.omit({ id: true, taskId: true }).extend({
    ...onRun,
    seed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    cancel: z.instanceof(SharedArrayBuffer).optional(),
  }),
  field: contract.vectorField.request.omit({ id: true }).extend(onRun),
  'sample-quality': contract.sampleQuality.request.omit({ id: true }).extend(onRun),
  'invert-points': contract.invertPoints.request.omit({ id: true }).extend(onRun),
  /** The backend the worker selected. */
  backend: none,
  /** One latent-studio task on a model; a non-zero int32 in `cancel` cancels it (main/latent sharedCancel). */
  latent: z.strictObject({ model: modelSpecSchema, task: latentTaskSchema, cancel: z.instanceof(SharedArrayBuffer).optional() }),
  'latent-save': z.strictObject({ model: modelSpecSchema, result: latentResultSchema }),
  'latent-export': z.strictObject({ result: latentResultSchema }),
  'latent-models': none,
  /** A few timed training steps of a config (main/studio/estimate.ts). */
  estimate: z.strictObject({ config: z.unknown() }),
  /** How long a sample would take (main/compute/estimate-task.ts): the contract's sample estimate, by runId. */
  'estimate-task': contract.estimateTask.request.options[0].omit({ id: true, kind: true }).extend(onRun),
  /** How long a latent tool would take (main/compute/estimate-task.ts): the contract's latent estimate. */
  'estimate-latent': contract.estimateTask.request.options[1].omit({ kind: true }),
};

export type TaskName = keyof typeof TASK_ARGS;
/** The arguments of task N as the host builds them. */
export type TaskArgs<N extends TaskName> = z.input<(typeof TASK_ARGS)[N]>;
/** The arguments of task N as the worker's function gets them (parsed). */
export type ParsedTaskArgs<N extends TaskName> = z.output<(typeof TASK_ARGS)[N]>;

/** The result of every task. */
export interface TaskResults {
  sample: SampleResult;
  field: FieldView;
  'sample-quality': QualityCurve;
  'invert-points': InvertedPoints;
  backend: BackendInfo;
  /** Any op's result here; ComputeClient.run narrows it to the task's op (LatentRunArgs). */
  latent: LatentTaskResults[LatentOp];
  'latent-save': Replies['latentSave'];
  'latent-export': LatentFile[];
  'latent-models': LatentModelInfo[];
  estimate: TrainingEstimate;
  'estimate-task': TaskEstimate;
  'estimate-latent': TaskEstimate;
}
export type TaskResult<N extends TaskName> = TaskResults[N];
// Every task has a result type and no other name does: one added to one table only fails to compile.
export type TaskTablesAgree = Check<SameSet<keyof TaskResults, TaskName>>;

/** The latent task's arguments for a task of op O (the result is LatentTaskResults[O]). */
export type LatentRunArgs<O extends LatentOp = LatentOp> = Omit<TaskArgs<'latent'>, 'task'> & { task: LatentTask<O> };

export type SampleArgs = ParsedTaskArgs<'sample'>;
export type FieldArgs = ParsedTaskArgs<'field'>;
export type QualityArgs = ParsedTaskArgs<'sample-quality'>;
export type InvertPointsArgs = ParsedTaskArgs<'invert-points'>;

/** A request of task N (by default: of any task, as the worker receives them). */
export type ComputeRequest<N extends TaskName = TaskName> = { [K in N]: { id: number; task: K; args: TaskArgs<K> } }[N];

/** The request that ends the worker after the tasks queued before it. */
export const CLOSE_TASK = '__close';
export type CloseRequest = { id: 0; task: typeof CLOSE_TASK; args: null };

export type ComputeMessage = ComputeRequest | CloseRequest;

/** Progress of a task: what a long latent computation reports (stage, fraction done, NFE so far). */
export interface TaskProgress {
  stage: string;
  fraction: number;
  nfe: number;
}

export type ComputeReply =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ErrorInfo } | { id: number; progress: TaskProgress };

export interface ComputeJob {
  dbPath: string;
  backend?: string;
}
