import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    setupFiles: ['test/setup-tf.ts'],
    // tfjs-core's gradient registration ships only as ESM files inside a CJS package: let Vite
    // transform it instead of handing it to Node's loader.
    server: { deps: { inline: [/tfjs-core\/dist\/(register_all_gradients|gradients)/] } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
