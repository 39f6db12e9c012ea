/**
 * The training engines as this machine offers them, for `flow-studio doctor` and the Settings view
 * (common/contract.ts EngineDiagnostics): the PyTorch engine (the interpreter, torch, its devices:
 * python.ts torchEngineStatus) and what tfjs-node-gpu needs (gpu.ts diagnoseTfjsGpu).
 */
import { createRequire } from 'node:module';
import type { EngineDiagnostics, PytorchEngineDiagnosis, TfjsGpuDiagnosis } from '../../common/contract';
import { diagnoseTfjsGpu, type GpuDiagnosisOptions } from './gpu';
import { torchEngineStatus, type TorchEngineStatus } from './python';

const requireHere = createRequire(import.meta.url);

function installedVersion(pkg: string): string | null {
  try {
    return (requireHere(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** torchEngineStatus as the contract's PytorchEngineDiagnosis. */
export function pytorchDiagnosis(s: TorchEngineStatus): PytorchEngineDiagnosis {
  if (!s.ok) return { ok: false, reason: s.reason };
  const { info } = s;
  if (!info.torch || !info.devices) return { ok: false, reason: info.error ?? `${info.python} reports no torch` };
  return {
    ok: true,
    python: info.python,
    pythonVersion: info.pythonVersion,
    torch: info.torch.version,
    cuda: info.torch.cuda,
    devices: info.devices,
    libraries: info.libraries,
  };
}

/** Both engines' diagnostics. `gpu` overrides where gpu.ts looks (tests). */
export async function engineDiagnostics(opts: { refresh?: boolean; gpu?: GpuDiagnosisOptions } = {}): Promise<EngineDiagnostics> {
  const status = await torchEngineStatus({ refresh: opts.refresh ?? false });
  const g = diagnoseTfjsGpu(opts.gpu);
  const tfjsGpu: TfjsGpuDiagnosis = {
    installed: installedVersion('@tensorflow/tfjs-node-gpu'),
    ok: g.ok,
    driver: g.driver,
    libraries: g.libraries.map((l) => ({ name: l.name, path: l.path })),
    cuda12: g.cuda12,
    message: g.message,
  };
  return { pytorch: pytorchDiagnosis(status), tfjsGpu };
}

/** "24.0 GB" for a device's memory in bytes (powers of 1000). */
function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

/** The report's lines for doctor's text output. */
export function engineLines(d: EngineDiagnostics): string[] {
  const p = d.pytorch;
  const lines: string[] = [];
  if (p.ok) {
    const devices = [
      ...p.devices.cuda.map((c) => `cuda:${c.index} ${c.name} ${gb(c.memory)}`),
      ...(p.devices.mps ? ['mps'] : []),
      `cpu (${p.devices.cpu.threads} threads)`,
    ];
    const libs = Object.entries(p.libraries)
      .map(([k, v]) => `${k} ${v ?? '-'}`)
      .join(', ');
    lines.push(
      `ok  PyTorch engine: ${p.python} (Python ${p.pythonVersion}), torch ${p.torch}${p.cuda ? ` (CUDA ${p.cuda})` : ''}; devices ${devices.join(', ')}`,
    );
    lines.push(`    libraries ${libs}`);
  } else {
    lines.push(`--  PyTorch engine not available (train.engine 'pytorch'): ${p.reason}`);
  }
  const g = d.tfjsGpu;
  lines.push(`${g.ok ? 'ok ' : '-- '} tfjs-node-gpu ${g.installed ?? 'not installed'}: ${g.message}`);
  return lines;
}
