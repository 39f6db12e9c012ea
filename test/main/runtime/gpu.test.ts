// diagnoseTfjsGpu against fake machines: this machine has no NVIDIA GPU, so the driver's version file
// and the CUDA library folders are made in a temporary folder (files with the exact names the loader
// opens; their contents do not matter to the check, which is what the loader would find by name).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnoseTfjsGpu } from '../../../main/runtime/gpu';

const root = mkdtempSync(join(tmpdir(), 'fs-gpu-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder holding empty files with these names. */
function libDir(name: string, files: string[]): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  for (const f of files) writeFileSync(join(d, f), '');
  return d;
}

const driverFile = join(root, 'nvidia-version');
writeFileSync(
  driverFile,
  'NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n',
);

describe('diagnoseTfjsGpu', () => {
  it('a CUDA 11.2 + cuDNN 8 machine with the driver: ok, with the files found', () => {
    const d = libDir('cuda11', ['libcudart.so.11.0', 'libcudnn.so.8', 'libcublas.so.11']);
    const r = diagnoseTfjsGpu({ libDirs: [d], driverFile, platform: 'linux' });
    expect(r.ok).toBe(true);
    expect(r.driver).toEqual({ found: true, version: '535.104.05', source: driverFile });
    expect(r.libraries.map((l) => l.path)).toEqual([join(d, 'libcudart.so.11.0'), join(d, 'libcudnn.so.8')]);
    expect(r.message).toBe(
      `tfjs-node-gpu can use the GPU: NVIDIA driver 535.104.05, ${join(d, 'libcudart.so.11.0')}, ${join(d, 'libcudnn.so.8')}`,
    );
  });

  it('a CUDA 12 machine: names both missing libraries and points to the PyTorch engine', () => {
    const d = libDir('cuda12', ['libcudart.so.12', 'libcudart.so.12.2.140', 'libcudnn.so.9']);
    const r = diagnoseTfjsGpu({ libDirs: [d], driverFile, platform: 'linux' });
    expect(r.ok).toBe(false);
    expect(r.cuda12).toMatch(/libcudart\.so\.12/);
    expect(r.message).toBe(
      'tfjs-node-gpu (libtensorflow 2.9) needs the NVIDIA driver, CUDA 11.2 and cuDNN 8.1; ' +
        'missing libcudart.so.11.0 (the CUDA 11 runtime (CUDA 11.2 is what libtensorflow 2.9 is built for)) and libcudnn.so.8 (cuDNN 8 (8.1 for libtensorflow 2.9)); ' +
        `searched ${d}; without them tfjs-node-gpu runs on the CPU; ` +
        `this machine has CUDA 12 (${r.cuda12}), which tfjs-node-gpu cannot use: ` +
        "train with the PyTorch engine instead (train.engine 'pytorch'; flow-studio train --engine pytorch; docs/pytorch-engine.md)",
    );
  });

  it('cuDNN missing only: names it alone; the first folder on the path wins for a name', () => {
    const a = libDir('a', ['libcudart.so.11.0']);
    const b = libDir('b', ['libcudart.so.11.0']);
    const r = diagnoseTfjsGpu({ libDirs: [a, b], driverFile, platform: 'linux' });
    expect(r.libraries.map((l) => l.path)).toEqual([join(a, 'libcudart.so.11.0'), null]);
    expect(r.message).toContain('; missing libcudnn.so.8 (cuDNN 8 (8.1 for libtensorflow 2.9)); ');
    expect(r.message).not.toContain('CUDA 12');
  });

  it('no driver: says which file is missing; LD_LIBRARY_PATH is searched when no folders are given', () => {
    const d = libDir('ld', ['libcudart.so.11.0', 'libcudnn.so.8']);
    const r = diagnoseTfjsGpu({ env: { LD_LIBRARY_PATH: d }, driverFile: join(root, 'none'), platform: 'linux' });
    expect(r.driver.found).toBe(false);
    expect(r.searched[0]).toBe(d);
    expect(r.searched).toContain('ldconfig -p');
    expect(r.libraries.map((l) => l.path)).toEqual([join(d, 'libcudart.so.11.0'), join(d, 'libcudnn.so.8')]);
    expect(r.ok).toBe(false);
    expect(r.message).toContain(`no NVIDIA driver: ${join(root, 'none')} does not exist (no NVIDIA kernel driver loaded)`);
  });

  it('macOS: no tfjs-node-gpu support; points to the PyTorch engine (MPS)', () => {
    const r = diagnoseTfjsGpu({ platform: 'darwin' });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/^tfjs-node-gpu uses NVIDIA GPUs on Linux only \(no Apple GPU\); on darwin train with the PyTorch engine/);
  });
});
