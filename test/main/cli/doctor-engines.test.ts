// `flow-studio doctor` reports the training engines: the PyTorch engine as the real Python on this
// machine sees it (checked against that Python asked directly), and tfjs-node-gpu's libraries. This
// machine has no NVIDIA GPU: a fake library folder (empty files named as the CUDA 12 runtime) on
// LD_LIBRARY_PATH stands for a CUDA 12 machine.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDiagnostics } from '../../../common/contract';
import { findTorchPython, type TorchPython } from '../../../main/runtime/python';
import { cli, freshHome, jsonOf, show } from './helpers';

let python: TorchPython | null = null;
beforeAll(async () => {
  const found = await findTorchPython();
  if (found.ok) python = found.python;
  else console.log(`[skip] the PyTorch engine part: ${found.reason}`);
}, 120_000);

describe('flow-studio doctor: engines', () => {
  it('names the Python, its torch version and devices; tfjs-node-gpu on a CUDA 12 machine points to the PyTorch engine', async () => {
    const home = freshHome();
    const libs = join(home, 'cuda12-lib');
    mkdirSync(libs);
    writeFileSync(join(libs, 'libcudart.so.12'), '');
    const r = await cli(['doctor', '--json'], { home, env: { LD_LIBRARY_PATH: libs }, timeoutMs: 120_000 });
    expect([0, 1], show(r)).toContain(r.code);
    const { engines } = jsonOf<{ engines: EngineDiagnostics }>(r);
    expect(engines.tfjsGpu.ok).toBe(false);
    expect(engines.tfjsGpu.cuda12).toBe(join(libs, 'libcudart.so.12'));
    expect(engines.tfjsGpu.libraries).toEqual([
      { name: 'libcudart.so.11.0', path: null },
      { name: 'libcudnn.so.8', path: null },
    ]);
    expect(engines.tfjsGpu.message).toContain(
      `this machine has CUDA 12 (${join(libs, 'libcudart.so.12')}), which tfjs-node-gpu cannot use`,
    );
    expect(engines.tfjsGpu.message).toContain("train with the PyTorch engine instead (train.engine 'pytorch'");
    if (!python) return;
    // The reference: the same interpreter asked directly.
    const direct = spawnSync(python.command, ['-c', 'import sys, torch; print(sys.executable); print(torch.__version__)'], {
      encoding: 'utf8',
    });
    const [exe, version] = direct.stdout.trim().split('\n');
    expect(engines.pytorch).toMatchObject({ ok: true, python: exe, torch: version });
    if (engines.pytorch.ok) {
      expect(engines.pytorch.devices.cpu.threads).toBeGreaterThan(0);
      expect(Array.isArray(engines.pytorch.devices.cuda)).toBe(true);
    }
    const text = await cli(['doctor'], { home, env: { LD_LIBRARY_PATH: libs }, timeoutMs: 120_000 });
    expect(text.stdout).toContain(`ok  PyTorch engine: ${exe} (Python `);
    expect(text.stdout).toContain(`torch ${version}`);
  }, 240_000);

  it('a FLOW_STUDIO_PYTHON that does not exist: the engine is reported unavailable, naming it; doctor does not fail for it', async () => {
    const home = freshHome();
    const r = await cli(['doctor', '--json'], { home, env: { FLOW_STUDIO_PYTHON: '/nonexistent/python3' }, timeoutMs: 120_000 });
    const doc = jsonOf<{ ok: boolean; engines: EngineDiagnostics }>(r);
    expect(doc.engines.pytorch.ok).toBe(false);
    if (!doc.engines.pytorch.ok)
      expect(doc.engines.pytorch.reason).toMatch(/^FLOW_STUDIO_PYTHON=\/nonexistent\/python3 cannot run the PyTorch engine: .*not found/);
    expect(r.code).toBe(doc.ok ? 0 : 1);
  }, 120_000);
});
