/**
 * The short-lived worker of checkImageFolderInWorker (folder-check.ts): one check, one reply, exit.
 * Built as out/main/folder-check.js (electron.vite.config.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkImageFolder, toWire, type FolderCheckLimits, type FolderCheckMessage, type FolderCheckSpec } from './folder-check';

const { spec, limits } = workerData as { spec: FolderCheckSpec; limits: FolderCheckLimits };
const post = (m: FolderCheckMessage) => parentPort!.postMessage(m);

post({ started: true });
checkImageFolder(spec, limits).then(
  (value) => post({ ok: true, value }),
  (e: unknown) => post({ ok: false, error: toWire(e) }),
);
