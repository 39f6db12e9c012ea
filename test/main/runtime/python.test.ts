// Finding a Python for the PyTorch engine (main/runtime/python.ts), with real interpreters: a missing
// command, a Python whose torch is broken, and (where one exists) a working one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineEnv, findTorchPython, probePython } from '../../../main/runtime/python';
import { enginePackageDir } from '../../../main/runtime/resources';

const dir = mkdtempSync(join(tmpdir(), 'fs-python-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('findTorchPython', () => {
  it('names a FLOW_STUDIO_PYTHON that does not exist, and tries nothing else', async () => {
    const r = await findTorchPython({ env: { ...process.env, FLOW_STUDIO_PYTHON: join(dir, 'no-such-python') } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toContain(`FLOW_STUDIO_PYTHON=${join(dir, 'no-such-python')} cannot run the PyTorch engine`);
    expect(r.reason).toContain('not found');
    expect(r.refused).toHaveLength(1);
  });

  it('says which candidates were refused and why', async () => {
    const r = await findTorchPython({ env: { ...process.env, FLOW_STUDIO_PYTHON: '' }, candidates: ['flow-studio-no-such-python-3'] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(/^no Python with PyTorch found \(flow-studio-no-such-python-3: not found\); install PyTorch/);
  });

  it('reports a torch that fails to import, with its error', async (ctx) => {
    // A torch whose shared library cannot load (a broken install): a module named torch that fails to
    // import, first on PYTHONPATH; the machine has no broken torch to test with otherwise.
    const fake = join(dir, 'fake');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'torch.py'), 'raise ImportError("libtorch_cpu.so: cannot open shared object file")\n');
    const env = { ...process.env, PYTHONPATH: [fake, process.env.PYTHONPATH].filter(Boolean).join(delimiter) };
    const r = await probePython('python3', { env });
    expect('reason' in r).toBe(true);
    if (!('reason' in r)) return;
    if (r.reason === 'python3: not found') {
      console.log('[skip] no python3 on the PATH');
      return ctx.skip();
    }
    // numpy may be the missing piece on a bare machine; either way the reason names the module.
    expect(r.reason).toMatch(/cannot import (torch: ImportError: libtorch_cpu\.so: cannot open shared object file|numpy)/);
  });

  it('finds a working Python where there is one', async (ctx) => {
    const r = await findTorchPython();
    if (!r.ok) {
      console.log(`[skip] no Python with torch here: ${r.reason}`);
      return ctx.skip();
    }
    expect(r.python.torch).toMatch(/^\d+\.\d+/);
    expect(r.python.executable).toMatch(/python/);
    expect(r.python.cudaDevices).toBeGreaterThanOrEqual(0);
  });
});

describe('engineEnv', () => {
  it('puts the engine package first on PYTHONPATH', () => {
    const pkg = enginePackageDir();
    expect(pkg.endsWith('python')).toBe(true);
    expect(engineEnv({ PYTHONPATH: '/x' }).PYTHONPATH).toBe(`${pkg}${delimiter}/x`);
    expect(engineEnv({}).PYTHONPATH).toBe(pkg);
  });
});
