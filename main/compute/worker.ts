/**
 * Compute worker: evaluates models for the app (sampling, vector fields, and the tasks registered in
 * main/compute/registry.ts) on its own thread and tfjs backend, so the thread that serves the UI never
 * runs a solver. Requests are handled one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { z } from 'zod';
import { selectBackend } from '../runtime/backend';
import { RunStore } from '../store';
import { fieldName } from '../../common/config';
import { ContractError, errorInfo } from './errors';
import {
  CLOSE_TASK,
  TASK_ARGS,
  type ComputeJob,
  type ComputeMessage,
  type ComputeReply,
  type ComputeRequest,
  type ParsedTaskArgs,
  type TaskArgs,
  type TaskName,
  type TaskResult,
} from './protocol';
import { TASKS, type Progress } from './registry';

if (!parentPort) throw new Error('main/compute/worker.ts must run in a worker thread');
const port = parentPort;
const job = workerData as ComputeJob;
const ready = selectBackend(job.backend);
let store: RunStore | null = null;
let chain: Promise<void> = Promise.resolve();
/** The protocol's schemas by task name, typed per name so a lookup by a generic name keeps its types. */
const ARGS: { [K in TaskName]: z.ZodType<ParsedTaskArgs<K>, TaskArgs<K>> } = TASK_ARGS;

port.on('message', (req: ComputeMessage) => {
  chain = chain.then(() => handle(req));
});

/**
 * The task's arguments parsed by its schema, then its function: both looked up by the request's
 * task name, so arguments and result stay those of that task.
 */
async function runTask<N extends TaskName>(store: RunStore, req: ComputeRequest<N>, progress: Progress): Promise<TaskResult<N>> {
  const parsed = ARGS[req.task].safeParse(req.args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = fieldName(issue.path);
    throw new ContractError({ code: 'invalid', message: `compute task ${req.task}: ${field}: ${issue.message}`, field });
  }
  return TASKS[req.task](store, parsed.data, progress);
}

async function handle(req: ComputeMessage): Promise<void> {
  if (req.task === CLOSE_TASK) {
    store?.close();
    store = null;
    port.close();
    process.exit(0);
  }
  let reply: ComputeReply;
  try {
    await ready;
    // The host opened (and checked) the store before starting this worker.
    store ??= RunStore.open(job.dbPath, { verify: false });
    if (!Object.hasOwn(TASKS, req.task)) throw new Error(`unknown compute task '${req.task}'`);
    const value = await runTask(store, req, (p) => port.postMessage({ id: req.id, progress: p } satisfies ComputeReply));
    reply = { id: req.id, ok: true, value };
  } catch (e) {
    reply = { id: req.id, ok: false, error: errorInfo(e) };
  }
  port.postMessage(reply);
}
