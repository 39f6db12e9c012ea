/**
 * The worker thread of startBackup (backup.ts): makes one backup and posts its BackupOutcome. The
 * message 'cancel' aborts the copy at its next step.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { backupStore, type BackupOutcome, type WorkerBackupOptions } from './backup';

if (!parentPort) throw new Error('main/store/backup-worker.ts must run in a worker thread');
const port = parentPort;
const { dbPath, options } = workerData as { dbPath: string; options: WorkerBackupOptions };
const controller = new AbortController();
port.on('message', (m) => {
  if (m === 'cancel') controller.abort();
});

let outcome: BackupOutcome;
try {
  outcome = await backupStore(dbPath, { ...options, signal: controller.signal });
} catch (e) {
  outcome = (e as Error).name === 'AbortError' ? { status: 'cancelled' } : { status: 'failed', error: (e as Error).message };
}
port.postMessage(outcome);
port.close();
