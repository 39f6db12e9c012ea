// Lets plain Node 22 run the project's TypeScript sources (benchmarks, forked test children, the
// worker in development):
//   node --experimental-transform-types --no-warnings --import ./scripts/ts-hooks.mjs FILE.ts
// Why: the sources use extensionless relative imports (bundler resolution, as Vite and tsc expect),
// and tfjs-core's register_all_gradients is an ESM file with extensionless imports inside a CJS
// package. Node's ESM resolver wants full file names, so on "not found" this hook retries with
// .ts, .js and /index.ts appended. (--experimental-transform-types rather than strip-types: the
// sources use TypeScript parameter properties.)
import { registerHooks } from 'node:module';

const suffixes = ['.ts', '.js', '/index.ts', '/index.js'];

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      const code = err && typeof err === 'object' && 'code' in err ? err.code : undefined;
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'ERR_UNSUPPORTED_DIR_IMPORT') throw err;
      for (const s of suffixes) {
        try {
          return nextResolve(specifier + s, context);
        } catch {
          // try the next suffix
        }
      }
      throw err;
    }
  },
});
