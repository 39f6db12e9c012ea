/**
 * Where the studio's own files are: the one place every module asks (presets, shipped models, the
 * built renderer, the PyTorch engine package, worker entries, the package version).
 *
 * Three layouts run the same code:
 * - a source checkout: this file is <root>/main/runtime/resources.ts, run by Node 22 with type
 *   transformation (scripts/ts-hooks.mjs); workers are started from their .ts files;
 * - a build: out/main/*.js (electron-vite may split shared code into out/main/chunks/); the
 *   resources are still under <root>;
 * - a packaged app: the code is in app.asar, `resources/` and `python/` are copied beside it by
 *   electron-builder (extraResources, at process.resourcesPath).
 * The root is found by walking up to the package.json that names this package, never by a fixed
 * '../..' (which differs between the layouts). FLOW_STUDIO_RESOURCES overrides resources/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WORKER_ENTRIES, type WorkerName } from './entries';

const here = dirname(fileURLToPath(import.meta.url));
let root: string | null | undefined;

/** The package root (holding package.json "name": "flow-studio"), or null when none is above this file. */
export function packageRoot(): string | null {
  if (root !== undefined) return root;
  for (let dir = here; ;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'flow-studio') return (root = dir);
      } catch {
        // an unreadable package.json is not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) return (root = null);
    dir = up;
  }
}

/** True when this code runs from TypeScript sources (a checkout), not from the bundle. */
export function runningFromSources(): boolean {
  return import.meta.url.endsWith('.ts');
}

/** electron-builder's extraResources folder of a packaged app, or null. */
function packagedResources(): string | null {
  const p = (process as { resourcesPath?: string }).resourcesPath;
  return p && existsSync(p) ? p : null;
}

/** The first candidate that holds `probe`, else the first candidate (for a message that names it). */
function firstWith(candidates: (string | null | undefined)[], probe: string): string {
  const list = candidates.filter((c): c is string => !!c);
  return list.find((c) => existsSync(join(c, probe))) ?? list[0] ?? join(here, probe);
}

/** resources/: presets and shipped models. */
export function resourcesDir(): string {
  const packaged = packagedResources();
  const r = packageRoot();
  return firstWith([process.env.FLOW_STUDIO_RESOURCES, r && join(r, 'resources'), packaged && join(packaged, 'resources')], 'presets');
}

/** resources/presets: the bundled experiment presets (*.json). */
export function presetsDir(): string {
  return join(resourcesDir(), 'presets');
}

/** resources/models: the shipped models (one folder each, with model.json). */
export function shippedModelsDir(): string {
  return join(resourcesDir(), 'models');
}

/** The built renderer (out/renderer with index.html and assets/). */
export function rendererDir(): string {
  const r = packageRoot();
  return firstWith([r && join(r, 'out', 'renderer'), join(here, '..', 'renderer'), join(here, '..', '..', 'renderer')], 'index.html');
}

/** The folder holding the PyTorch engine's package `flow_studio_torch` (python/). */
export function enginePackageDir(): string {
  const packaged = packagedResources();
  const r = packageRoot();
  return firstWith([r && join(r, 'python'), packaged && join(packaged, 'python')], join('flow_studio_torch', '__init__.py'));
}

/** This package's version (package.json), or '0.0.0' when it cannot be read. */
export function packageVersion(): string {
  const r = packageRoot();
  if (!r) return '0.0.0';
  try {
    return (JSON.parse(readFileSync(join(r, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Node flags that let Node 22 run the project's TypeScript (see scripts/ts-hooks.mjs). */
export function tsNodeFlags(projectRoot: string): string[] {
  // A file URL, not a path: --import takes a module specifier, and C:\... is not one on Windows.
  return [
    '--experimental-transform-types',
    '--disable-warning=ExperimentalWarning',
    '--import',
    pathToFileURL(join(projectRoot, 'scripts', 'ts-hooks.mjs')).href,
  ];
}

/** How to start a worker thread: its module and the Node flags it needs. */
export interface WorkerEntry {
  url: URL;
  execArgv: string[];
}

/**
 * A worker of main/runtime/entries.ts: from sources its .ts file (with the TypeScript flags), built the
 * bundle's `<name>.js` in out/main (this module may sit in out/main/chunks/).
 * @throws Error naming the file when the build lacks it
 */
export function workerEntry(name: WorkerName): WorkerEntry {
  const r = packageRoot();
  if (runningFromSources() && r) return { url: pathToFileURL(join(r, WORKER_ENTRIES[name])), execArgv: tsNodeFlags(r) };
  const outMain = /[\\/]chunks$/.test(here) ? dirname(here) : here;
  const file = join(outMain, `${name}.js`);
  if (!existsSync(file)) throw new Error(`the ${name} worker (${file}) is missing from the build; rebuild with 'npm run build'`);
  return { url: pathToFileURL(file), execArgv: [] };
}
