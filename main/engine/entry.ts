/**
 * Where a worker thread's code is. From sources (tests, development): a .ts file beside the caller,
 * run by Node 22 with type transformation and the project's resolve hook. Built: `<name>.js`, an entry
 * of out/main (electron.vite.config.ts), while the calling module may sit in out/main/chunks/.
 */
import { fileURLToPath } from 'node:url';

export interface WorkerEntry {
  url: URL;
  execArgv: string[];
}

/**
 * @param from the caller's import.meta.url
 * @param source the worker's .ts file relative to the caller, e.g. './worker.ts'
 * @param built the bundle entry's file name, e.g. 'worker.js'
 */
export function workerEntry(from: string, source: string, built: string): WorkerEntry {
  if (from.endsWith('.ts')) {
    const hooks = fileURLToPath(new URL('../../scripts/ts-hooks.mjs', import.meta.url));
    return { url: new URL(source, from), execArgv: ['--experimental-transform-types', '--disable-warning=ExperimentalWarning', '--import', hooks] };
  }
  return { url: new URL(/\/chunks\/[^/]*$/.test(from) ? `../${built}` : `./${built}`, from), execArgv: [] };
}
