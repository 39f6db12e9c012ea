// registerFlowKernels (core/kernels/register.ts): the one place our kernels are registered. In a
// fresh process (this one registered them already, in test/setup-tf.ts), importing the kernel files
// and running the ops that route to them registers nothing; registerFlowKernels then registers every
// kernel of FLOW_KERNELS and the sharing Identity, once.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { FLOW_KERNELS, FLOW_MODULES, moduleValidates, type FlowRegistration } from '../../../core/kernels/register';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../..');

interface Phase {
  known: string[];
  identityShares: boolean;
  asked: Record<string, boolean>;
  value: number[];
}
interface Outcome {
  before: Phase;
  after: Phase & { identityReplaced: boolean; identityOnce: boolean };
  first: FlowRegistration;
  second: FlowRegistration;
  cpu: FlowRegistration;
}

describe('registerFlowKernels', () => {
  it('is the only registration: nothing before it (imports, predicates, ops), every kernel and the sharing Identity after, once', async () => {
    const args = [
      '--experimental-transform-types',
      '--disable-warning=ExperimentalWarning',
      '--import',
      join(ROOT, 'scripts/ts-hooks.mjs'),
      join(import.meta.dirname, 'fixtures', 'registration.ts'),
    ];
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 60_000 });
    const o = JSON.parse(stdout.trim().split('\n').at(-1)!) as Outcome;
    const all = FLOW_KERNELS.map((k) => k.kernelName);

    expect(o.before.known).toEqual([]);
    expect(o.before.identityShares).toBe(false);
    expect(Object.values(o.before.asked).every((v) => v === false)).toBe(true);

    const simd = Object.keys(FLOW_MODULES).every((m) => moduleValidates(m as keyof typeof FLOW_MODULES));
    expect(o.first.kernels).toEqual(simd ? all : all.filter((k) => !o.first.unsupported.includes(k)));
    expect(o.second).toEqual(o.first);
    expect(o.after.known).toEqual(o.first.kernels);
    expect(o.after.identityReplaced).toBe(true);
    expect(o.after.identityOnce).toBe(true);
    expect(o.after.identityShares).toBe(true);
    if (simd) expect(Object.values(o.after.asked).every((v) => v === true)).toBe(true);
    // The fallback and the kernels compute the same function.
    o.after.value.forEach((v, i) => expect(Math.abs(v - o.before.value[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));

    expect(o.cpu).toEqual({ backendName: 'cpu', kernels: [], unsupported: [], identityShared: false });
  });

  it('lists each kernel once, for the wasm backend, with modules that exist', () => {
    const names = FLOW_KERNELS.map((k) => k.kernelName);
    expect(new Set(names).size).toBe(names.length);
    for (const k of FLOW_KERNELS) {
      expect(k.backendName).toBe('wasm');
      for (const m of k.modules) expect(Object.keys(FLOW_MODULES)).toContain(m);
    }
    if (tf.getBackend() === 'wasm') for (const k of FLOW_KERNELS) expect(tf.getKernel(k.kernelName, 'wasm'), k.kernelName).toBeDefined();
  });
});
