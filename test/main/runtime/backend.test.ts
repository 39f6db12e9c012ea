// Backend selection. selectBackend initialises tfjs once per thread (and this test process already
// runs on wasm), so each case runs in a fresh child process; the last case goes through a worker.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKEND_NAMES, parseBackendName, type BackendInfo } from '../../../main/runtime/backend';
import { Harness, tinyMoons } from '../training/helpers';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../..');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'select-backend.ts');

type Outcome = { ok: true; info: BackendInfo; tfBackend: string; again: string; sum: number } | { ok: false; error: string };

/** selectBackend in a fresh Node process with FLOW_STUDIO_BACKEND = env (undefined: unset). */
async function selectIn(env: string | undefined, preferred?: string): Promise<Outcome> {
  const vars: NodeJS.ProcessEnv = { ...process.env };
  delete vars.FLOW_STUDIO_BACKEND;
  if (env !== undefined) vars.FLOW_STUDIO_BACKEND = env;
  const args = [
    '--experimental-transform-types',
    '--disable-warning=ExperimentalWarning',
    '--import',
    join(ROOT, 'scripts/ts-hooks.mjs'),
    FIXTURE,
  ];
  const { stdout } = await run(process.execPath, preferred === undefined ? args : [...args, preferred], {
    cwd: ROOT,
    env: vars,
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Outcome;
}

const harnesses: Harness[] = [];
afterAll(async () => {
  await Promise.all(harnesses.map((x) => x.dispose()));
});

describe('parseBackendName', () => {
  it('accepts auto (also empty or unset) and the four names; rejects others with the allowed list', () => {
    expect(BACKEND_NAMES).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    expect(parseBackendName(undefined)).toBe('auto');
    expect(parseBackendName('')).toBe('auto');
    expect(parseBackendName('auto')).toBe('auto');
    for (const n of BACKEND_NAMES) expect(parseBackendName(n)).toBe(n);
    for (const bad of ['webgl', 'WASM', 'gpu', ' cpu']) {
      expect(() => parseBackendName(bad)).toThrow(
        `backend: unknown backend '${bad}'; allowed: auto, tensorflow-gpu, tensorflow, wasm, cpu`,
      );
    }
  });
});

describe('selectBackend (fresh processes)', () => {
  it('FLOW_STUDIO_BACKEND=cpu gives cpu; auto tries the native backends first and lands on wasm here', async () => {
    const [cpu, auto, argWins, missing, bogus] = await Promise.all([
      selectIn('cpu'),
      selectIn(undefined),
      selectIn('cpu', 'wasm'),
      selectIn('tensorflow'),
      selectIn('bogus'),
    ]);

    if (!cpu.ok) throw new Error(cpu.error);
    expect(cpu.info).toMatchObject({
      name: 'cpu',
      tfName: 'cpu',
      reason: 'requested',
      skipped: [],
      version: '4.22.0',
      coreVersion: '4.22.0',
    });
    expect(cpu.tfBackend).toBe('cpu');
    expect(cpu.sum).toBe(6);
    // Once per thread: a later, different request gets the first result.
    expect(cpu.again).toBe('cpu');

    if (!auto.ok) throw new Error(auto.error);
    expect(auto.info).toMatchObject({ name: 'wasm', tfName: 'wasm', reason: 'auto', version: '4.22.0' });
    expect(auto.tfBackend).toBe('wasm');
    // The optional native packages are not installed here (no network at install time).
    expect(auto.info.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow']);
    for (const s of auto.info.skipped) {
      expect(s.error).toMatch(/Cannot find (package|module) '@tensorflow\/tfjs-node/);
      expect(s.error).not.toContain('\n');
    }

    // An explicit argument beats the environment.
    expect(argWins).toMatchObject({ ok: true, info: { name: 'wasm', reason: 'requested' } });

    expect(missing.ok).toBe(false);
    if (missing.ok) return;
    expect(missing.error).toMatch(
      /^backend 'tensorflow' is not available here \(tensorflow: Cannot find (package|module) '@tensorflow\/tfjs-node'/,
    );

    expect(bogus).toEqual({ ok: false, error: "backend: unknown backend 'bogus'; allowed: auto, tensorflow-gpu, tensorflow, wasm, cpu" });
  });

  it('a worker trains on the backend the supervisor asks for, and a bad name fails the run with the allowed list', async () => {
    const h = new Harness({ backend: 'cpu' });
    harnesses.push(h);
    const id = h.run(tinyMoons({ model: { width: 16, depth: 1 }, train: { steps: 20, batchSize: 32 } }));
    const r = await h.sup.start(id);
    expect(r.status).toBe('completed');
    expect(h.of(id, 'started')[0]!.backend).toMatchObject({ name: 'cpu', tfName: 'cpu', reason: 'requested' });
    expect(h.store.getRun(id)).toMatchObject({ backend: 'cpu', backendVersion: '4.22.0' });
    expect(r.summary.backend).toBe('cpu');

    const bad = h.run(tinyMoons());
    const rb = await h.sup.start(bad, { backend: 'webgpu' });
    expect(rb).toMatchObject({
      status: 'failed',
      error: "backend: unknown backend 'webgpu'; allowed: auto, tensorflow-gpu, tensorflow, wasm, cpu",
    });
    expect(h.store.getRun(bad)).toMatchObject({ status: 'failed', error: rb.error });
  });
});
