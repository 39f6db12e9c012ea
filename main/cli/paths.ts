/**
 * Where the command line finds the project's files. The same code runs from sources
 * (main/cli/*.ts) and from the bundle (out/main/cli.js), at different depths, so the root is found
 * by walking up to the package.json that names this package rather than by a fixed '../..'.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

let cached: string | null | undefined;

/** The package root (holding package.json "name": "flow-studio"), or null if it cannot be found. */
export function projectRoot(): string | null {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'flow-studio') return (cached = dir);
      } catch {
        // an unreadable package.json is not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) return (cached = null);
    dir = up;
  }
}

/** True when this code runs from TypeScript sources (a checkout), not from the bundle. */
export function runningFromSources(): boolean {
  return import.meta.url.endsWith('.ts');
}

/** Node flags that let Node 22 run the project's TypeScript (see scripts/ts-hooks.mjs). */
export function tsNodeFlags(root: string): string[] {
  // A file URL, not a path: --import takes a module specifier, and C:\... is not one on Windows.
  return ['--experimental-transform-types', '--disable-warning=ExperimentalWarning', '--import', pathToFileURL(join(root, 'scripts', 'ts-hooks.mjs')).href];
}
