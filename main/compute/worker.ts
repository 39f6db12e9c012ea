/**
 * Compute worker: evaluates models for the app (sampling, vector fields, and the tasks registered in
 * main/compute/registry.ts) on its own thread and tfjs backend, so the thread that serves the UI never
 * runs a solver. Requests are handled one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../runtime/backend';
import { RunStore } from '../store';
import { errorInfo } from './errors';
import { CLOSE_TASK, type ComputeJob, type ComputeReply, type ComputeRequest } from './protocol';
import { TASKS } from './registry';

if (!parentPort) throw new Error('main/compute/worker.ts must run in a worker thread');
const port = parentPort;
const job = workerData as ComputeJob;
const ready = selectBackend(job.backend);
let store: RunStore | null = null;
let chain: Promise<void> = Promise.resolve();

port.on('message', (req: ComputeRequest) => {
  chain = chain.then(() => handle(req));
});

async function handle(req: ComputeRequest): Promise<void> {
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
    const task = TASKS[req.task];
    if (!task) throw new Error(`unknown compute task '${req.task}'`);
    const value = await task(store, req.args, (p) => port.postMessage({ id: req.id, progress: p } satisfies ComputeReply));
    reply = { id: req.id, ok: true, value };
  } catch (e) {
    reply = { id: req.id, ok: false, error: errorInfo(e) };
  }
  port.postMessage(reply);
}
