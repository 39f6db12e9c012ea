// electron-vite looks under src/ by default; our layout (main/, preload/, renderer/) names every
// input explicitly.
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';
import { cspMetaTag } from './main/security/csp';
import { MAIN_ENTRIES, WORKER_ENTRIES } from './main/runtime/entries';

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
        // Electron's main process, the command line (bin/flow-studio.mjs runs out/main/cli.js where
        // there are no sources) and every worker thread, as out/main/<name>.js: one table,
        // main/runtime/entries.ts, which main/runtime/resources.ts reads to start the workers.
        input: Object.fromEntries(
          Object.entries({ ...MAIN_ENTRIES, ...WORKER_ENTRIES }).map(([name, file]) => [name, resolve(root, file)]),
        ),
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
      // KaTeX's fonts stay files: inlined as data: URLs they would break the policy's font-src ('self').
      assetsInlineLimit: (file: string) => (/\.(woff2?|ttf)$/.test(file) ? false : undefined),
      rollupOptions: { input: { index: resolve(root, 'renderer/index.html') } },
    },
  },
});
