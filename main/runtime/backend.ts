/**
 * Backend selection for the engine (worker threads, CLI): the fastest tfjs backend this machine has.
 *
 * Order: @tensorflow/tfjs-node-gpu (CUDA), @tensorflow/tfjs-node (native CPU), wasm, cpu. The native
 * packages are optionalDependencies: their install downloads libtensorflow, which fails without
 * internet, and npm then drops them; users with a network get them. FLOW_STUDIO_BACKEND (or the
 * `preferred` argument) picks one explicitly: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu'.
 * Once a backend is up, our own kernels for it are registered (core/kernels/register.ts; the wasm
 * backend's FMA GEMM, SiLU, Adam and U-Net kernels).
 */
import { createRequire } from 'node:module';
import { tf } from '../../core/tf';
import { registerFlowKernels } from '../../core/kernels/register';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  /** Our name of the backend in use. */
  name: BackendName;
  /** tfjs's own backend name (tf.getBackend()). */
  tfName: string;
  /** Version of the package that provides it, and of tfjs-core. */
  version: string;
  coreVersion: string;
  /** Why this one: 'requested' or 'auto'. */
  reason: string;
  /** Backends tried before it and why each was not used. */
  skipped: { name: BackendName; error: string }[];
}

// Not named `require`: electron-vite adds its own `const require` shim to ESM chunks that use CommonJS require calls.
const requireHere = createRequire(import.meta.url);

function packageVersion(pkg: string): string {
  try {
    return (requireHere(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** How to bring up each backend: import its package, then tf.setBackend(its tfjs name). */
const loaders: Record<BackendName, { pkg: string; tfName: string; load: () => Promise<unknown> }> = {
  // The module names are in variables so bundlers leave these optional imports to run time.
  'tensorflow-gpu': { pkg: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow', load: () => dynamicImport('@tensorflow/tfjs-node-gpu') },
  tensorflow: { pkg: '@tensorflow/tfjs-node', tfName: 'tensorflow', load: () => dynamicImport('@tensorflow/tfjs-node') },
  wasm: { pkg: '@tensorflow/tfjs-backend-wasm', tfName: 'wasm', load: () => import('@tensorflow/tfjs-backend-wasm') },
  cpu: { pkg: '@tensorflow/tfjs-backend-cpu', tfName: 'cpu', load: () => import('@tensorflow/tfjs-backend-cpu') },
};

function dynamicImport(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

/** Parses a requested backend; throws with the allowed values for anything else. */
export function parseBackendName(value: string | undefined): BackendName | 'auto' {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`backend: unknown backend '${value}'; allowed: auto, ${BACKEND_NAMES.join(', ')}`);
}

let selected: Promise<BackendInfo> | null = null;

/**
 * Initialises tfjs with the requested backend, or the first that works in the order above.
 * Idempotent per thread: later calls return the first result.
 */
export function selectBackend(preferred: string | undefined = process.env.FLOW_STUDIO_BACKEND): Promise<BackendInfo> {
  selected ??= initBackend(parseBackendName(preferred));
  return selected;
}

async function initBackend(want: BackendName | 'auto'): Promise<BackendInfo> {
  const order: BackendName[] = want === 'auto' ? [...BACKEND_NAMES] : [want];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    const l = loaders[name];
    try {
      await l.load();
      if (name === 'tensorflow-gpu' && !hasCudaDevice()) throw new Error('no CUDA device visible');
      if (!(await tf.setBackend(l.tfName))) throw new Error(`tf.setBackend('${l.tfName}') returned false`);
      await tf.ready();
      registerFlowKernels(l.tfName);
      return {
        name,
        tfName: tf.getBackend(),
        version: packageVersion(l.pkg),
        coreVersion: tf.version_core,
        reason: want === 'auto' ? 'auto' : 'requested',
        skipped,
      };
    } catch (e) {
      skipped.push({ name, error: firstLine(e) });
    }
  }
  const detail = skipped.map((s) => `${s.name}: ${s.error}`).join('; ');
  throw new Error(
    want === 'auto' ? `no tfjs backend could be initialised (${detail})` : `backend '${want}' is not available here (${detail})`,
  );
}

function hasCudaDevice(): boolean {
  // tfjs-node-gpu loads without a GPU and then runs on the CPU; say so instead of reporting a GPU.
  return process.env.CUDA_VISIBLE_DEVICES !== '' && process.env.CUDA_VISIBLE_DEVICES !== '-1';
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.slice(0, 300);
}
