/**
 * The bundle's entries: the Electron main process, the command line, and every worker thread the
 * studio starts. electron.vite.config.ts builds each as out/main/<name>.js; main/runtime/resources.ts
 * finds them there, or runs the source file itself in a checkout. One table, so a worker cannot be
 * started under a name the build does not produce. No imports: the build config loads this file.
 */
export const MAIN_ENTRIES = {
  /** Electron's main process (package.json "main"). */
  index: 'main/index.ts',
  /** The command line (bin/flow-studio.mjs runs out/main/cli.js where there are no sources). */
  cli: 'main/cli/index.ts',
} as const;

export const WORKER_ENTRIES = {
  /** One training run (main/training/supervisor.ts starts it). */
  worker: 'main/training/worker.ts',
  /** A data-parallel training replica (main/training/parallel.ts). */
  replica: 'main/training/replica.ts',
  /** Sampling, vector fields and the latent studio, off the thread that serves the UI. */
  compute: 'main/compute/worker.ts',
  /** A helper thread of a model's forward pass, splitting its batch (main/models/threaded.ts). */
  infer: 'main/models/infer-worker.ts',
  /** The bounded image folder check of createRun (main/data/folder-check.ts). */
  'folder-check': 'main/data/folder-check-worker.ts',
  /** The daily rolling backup of the run store (main/store/backup.ts). */
  backup: 'main/store/backup-worker.ts',
} as const;

export type WorkerName = keyof typeof WORKER_ENTRIES;
