/** Builds the renderer (and the main bundle the host may use) once before the e2e suite. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function globalSetup(): void {
  if (process.env.FLOW_STUDIO_E2E_SKIP_BUILD === '1') return;
  const root = join(import.meta.dirname, '..', '..');
  const started = Date.now();
  execFileSync(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.stdout.write(`e2e: built the renderer in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
