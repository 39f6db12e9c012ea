// electron-vite looks under src/ by default; our layout (main/, preload/, renderer/) names every
// input explicitly.
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';
import { cspMetaTag } from './main/security/csp';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // tfjs-core registers its gradients only through dist/register_all_gradients, an ES module
      // with extensionless imports inside a CommonJS package, which plain Node cannot load (sources
      // run with scripts/ts-hooks.mjs; vitest inlines it). Bundle that file and what it imports,
      // keep the package's main entry external as for every other dependency. The gradient
      // registry lives on globalThis, so the bundled copy registers into the runtime's engine.
      externalizeDeps: { exclude: ['@tensorflow/tfjs-core'] },
      rollupOptions: {
        external: ['@tensorflow/tfjs-core'],
        input: {
          index: resolve(root, 'main/index.ts'),
          // The command line (bin/flow-studio.mjs runs out/main/cli.js when there are no sources) and
          // the training worker, which the Supervisor loads as worker.js beside the bundle.
          cli: resolve(root, 'main/cli/index.ts'),
          worker: resolve(root, 'main/engine/worker.ts'),
          // Data-parallel training replicas, which the training worker loads as replica.js beside it.
          replica: resolve(root, 'main/engine/replica.ts'),
          // The compute worker (sampling, vector fields) the studio service starts as compute.js.
          compute: resolve(root, 'main/compute/worker.ts'),
          // The short-lived worker of the API's bounded image folder check (main/data/folder-check.ts).
          'folder-check': resolve(root, 'main/data/folder-check-worker.ts'),
          // The rolling backup of the run store (main/store/backup.ts starts it as backup.js).
          backup: resolve(root, 'main/store/backup-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload cannot require() packages: bundle everything into one CommonJS file.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(root, 'preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    // The Content-Security-Policy meta tag comes from main/security/csp.ts, the one source of the
    // policy (the web host and Electron send the same policy as a header).
    plugins: [vue(), { name: 'flow-studio-csp', transformIndexHtml: () => [cspMetaTag()] }],
    build: {
      outDir: resolve(root, 'out/renderer'),
      rollupOptions: { input: { index: resolve(root, 'renderer/index.html') } },
    },
  },
});
