/**
 * Honest diagnostics for tfjs-node-gpu: what its native library needs on this machine and what is
 * missing. @tensorflow/tfjs-node-gpu 4.x links libtensorflow 2.9, which loads the CUDA 11 runtime
 * (libcudart.so.11.0) and cuDNN 8 (libcudnn.so.8) by those exact names; on a machine with only
 * CUDA 12 it logs "Could not load dynamic library 'libcudart.so.11.0'" and quietly runs on the CPU.
 * So: the NVIDIA driver (/proc/driver/nvidia/version on Linux), and each library looked up where the
 * dynamic loader looks (LD_LIBRARY_PATH, the ldconfig cache, the usual CUDA folders). A file with the
 * exact name counts as found: this is what the loader opens; whether it loads is the import's test.
 * When the CUDA 12 runtime (libcudart.so.12) is there but 11.0 is not, the advice is the PyTorch
 * engine, which runs on CUDA 12 (docs/pytorch-engine.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The libraries libtensorflow 2.9 (tfjs-node-gpu 4.x) opens for the GPU, by the names it opens. */
export const TFJS_GPU_LIBRARIES = [
  { name: 'libcudart.so.11.0', what: 'the CUDA 11 runtime (CUDA 11.2 is what libtensorflow 2.9 is built for)' },
  { name: 'libcudnn.so.8', what: 'cuDNN 8 (8.1 for libtensorflow 2.9)' },
] as const;

/** Where the CUDA 12 runtime shows the machine has CUDA 12. */
const CUDA12_RUNTIME = /^libcudart\.so\.12(\.|$)/;

/** Folders CUDA installs into that are not always in the loader's cache. */
const CUDA_DIRS = ['/usr/local/cuda/lib64', '/usr/local/cuda-11.2/lib64', '/usr/local/cuda-12/lib64', '/usr/lib/x86_64-linux-gnu'];

export interface GpuDiagnosisOptions {
  env?: NodeJS.ProcessEnv;
  /** Folders to search instead of LD_LIBRARY_PATH, the ldconfig cache and CUDA's folders. */
  libDirs?: readonly string[];
  /** The driver's version file (default /proc/driver/nvidia/version). */
  driverFile?: string;
  platform?: NodeJS.Platform;
}

export interface GpuDiagnosis {
  /** The NVIDIA kernel driver: its version, or why none was seen. */
  driver: { found: boolean; version: string | null; source: string };
  /** Each library tfjs-node-gpu needs: the file found, or null. */
  libraries: { name: string; what: string; path: string | null }[];
  /** The CUDA 12 runtime, when found (the machine has CUDA 12). */
  cuda12: string | null;
  /** The folders searched (the ldconfig cache counts as one entry, 'ldconfig -p'). */
  searched: string[];
  /** True when the driver and every library are there: tfjs-node-gpu can use the GPU. */
  ok: boolean;
  /** One paragraph: what is missing and what to do. */
  message: string;
}

/** The ldconfig cache as name -> path (Linux; empty elsewhere or when ldconfig is missing). */
function ldconfigCache(): Map<string, string> {
  const out = new Map<string, string>();
  for (const cmd of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    const r = spawnSync(cmd, ['-p'], { encoding: 'utf8', timeout: 5000 });
    if (r.status !== 0 || !r.stdout) continue;
    for (const line of r.stdout.split('\n')) {
      // "	libcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.11.0"
      const m = /^\s*(\S+)\s+\(.*\)\s+=>\s+(\S+)/.exec(line);
      if (m && !out.has(m[1]!)) out.set(m[1]!, m[2]!);
    }
    break;
  }
  return out;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The driver version from /proc/driver/nvidia/version ("... Kernel Module  535.104.05 ..."). */
function readDriver(file: string): { found: boolean; version: string | null; source: string } {
  if (!existsSync(file)) return { found: false, version: null, source: `${file} does not exist (no NVIDIA kernel driver loaded)` };
  try {
    const text = readFileSync(file, 'utf8');
    const m = /Kernel Module(?: for [^\s]+)?\s+(\d+(?:\.\d+)+)/.exec(text) ?? /(\d{3,}\.\d+(?:\.\d+)?)/.exec(text);
    return { found: true, version: m ? m[1]! : null, source: file };
  } catch (e) {
    return { found: false, version: null, source: `${file} cannot be read (${(e as Error).message})` };
  }
}

/**
 * What tfjs-node-gpu needs here and what is missing (module comment). Linux only: elsewhere it says
 * that tfjs-node-gpu has no GPU support on this platform (no Apple GPU, and Windows is not covered).
 */
export function diagnoseTfjsGpu(opts: GpuDiagnosisOptions = {}): GpuDiagnosis {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const pytorch =
    "train with the PyTorch engine instead (train.engine 'pytorch'; flow-studio train --engine pytorch; docs/pytorch-engine.md)";
  if (platform !== 'linux') {
    return {
      driver: { found: false, version: null, source: `not checked on ${platform}` },
      libraries: TFJS_GPU_LIBRARIES.map((l) => ({ ...l, path: null })),
      cuda12: null,
      searched: [],
      ok: false,
      message: `tfjs-node-gpu uses NVIDIA GPUs on Linux only (no Apple GPU); on ${platform} ${pytorch}, which uses CUDA or Apple's MPS`,
    };
  }
  const driver = readDriver(opts.driverFile ?? '/proc/driver/nvidia/version');
  const searched: string[] = [];
  const found = new Map<string, string>();
  const look = (dir: string) => {
    if (!dir || searched.includes(dir)) return;
    searched.push(dir);
    for (const f of listDir(dir)) if (!found.has(f)) found.set(f, join(dir, f));
  };
  if (opts.libDirs) opts.libDirs.forEach(look);
  else {
    for (const d of (env.LD_LIBRARY_PATH ?? '').split(delimiter)) look(d);
    const cache = ldconfigCache();
    searched.push('ldconfig -p');
    for (const [k, v] of cache) if (!found.has(k)) found.set(k, v);
    CUDA_DIRS.forEach(look);
  }
  const libraries = TFJS_GPU_LIBRARIES.map((l) => ({ ...l, path: found.get(l.name) ?? null }));
  const cuda12 = [...found].find(([k]) => CUDA12_RUNTIME.test(k))?.[1] ?? null;
  const missing = libraries.filter((l) => !l.path);
  const ok = driver.found && missing.length === 0;
  const parts: string[] = [];
  if (ok)
    parts.push(
      `tfjs-node-gpu can use the GPU: NVIDIA driver ${driver.version ?? '(version unknown)'}, ${libraries.map((l) => l.path).join(', ')}`,
    );
  else {
    parts.push('tfjs-node-gpu (libtensorflow 2.9) needs the NVIDIA driver, CUDA 11.2 and cuDNN 8.1');
    if (!driver.found) parts.push(`no NVIDIA driver: ${driver.source}`);
    if (missing.length)
      parts.push(
        `missing ${missing.map((l) => `${l.name} (${l.what})`).join(' and ')}; searched ${searched.join(', ') || 'nothing'}; without them tfjs-node-gpu runs on the CPU`,
      );
    if (cuda12 && missing.some((l) => l.name === 'libcudart.so.11.0'))
      parts.push(`this machine has CUDA 12 (${cuda12}), which tfjs-node-gpu cannot use: ${pytorch}`);
    else if (driver.found) parts.push(`or ${pytorch}`);
  }
  return { driver, libraries, cuda12, searched, ok, message: parts.join('; ') };
}
