/**
 * Worker-thread entry: runs the job in workerData and answers control messages. Each worker has its
 * own tfjs backend and SQLite connection; nothing is shared with the UI thread but messages. A run
 * whose config says train.engine 'pytorch' is trained by a Python child process this thread
 * supervises (torch-job.ts); every other by this thread's tfjs (train-job.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Control, Job } from './protocol';
import { ControlState, runTrainJob, SimulatedCrash } from './train-job';
import { runEngine, runTorchJob } from './torch-job';

if (!parentPort) throw new Error('main/training/worker.ts must run in a worker thread');
const port = parentPort;
const control = new ControlState();
port.on('message', (m: Control) => control.handle(m));

const job = workerData as Job;
let exitCode = 0;
// The run's config says which engine trains it: this thread's tfjs, or a PyTorch child process.
const run = runEngine(job.dbPath, job.runId) === 'pytorch' ? runTorchJob : runTrainJob;
void run(job, (e) => port.postMessage(e), control)
  .catch((e: unknown) => {
    // runTrainJob reports its own failures as 'finished'; only the crash test hook (or a bug) gets here.
    exitCode = 1;
    if (!(e instanceof SimulatedCrash)) console.error(e);
  })
  .finally(() => {
    // Leave the thread once the run is over, even if tfjs keeps handles open.
    port.close();
    process.exit(exitCode);
  });
