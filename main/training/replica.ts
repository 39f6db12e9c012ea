/**
 * Worker-thread entry of a data-parallel replica (main/training/parallel.ts): rebuilds the leader's
 * trainer in this thread's own tfjs backend and serves training rounds through the shared buffer.
 * Started by the training worker, never by the supervisor; it ends when the leader says stop (or
 * with the leader's thread).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runReplica, type ReplicaSetup } from './parallel';

if (!parentPort) throw new Error('main/training/replica.ts must run in a worker thread');
const port = parentPort;

void runReplica(workerData as ReplicaSetup, (m) => port.postMessage(m))
  .catch((e: unknown) => console.error(e))
  .finally(() => {
    port.close();
    process.exit(0);
  });
