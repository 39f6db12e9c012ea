/**
 * Finding a Python that can run the PyTorch engine (python/flow_studio_torch).
 *
 * Order: FLOW_STUDIO_PYTHON when set (then only it: a user who names an interpreter wants that one,
 * and a silent fallback would hide their mistake); otherwise `python3` on the PATH (a venv or conda
 * environment the user activated comes first there), /usr/bin/python3 (Debian's python3-torch),
 * then `python`. The first that can `import torch` and `import numpy` wins. Each probe is a real
 * child process with a timeout (importing torch takes seconds on a cold disk).
 *
 * The result says why each candidate was refused, so the studio (and the tests, which skip with
 * that reason) can tell the user what to install.
 */
import { execFile } from 'node:child_process';
import { delimiter } from 'node:path';
import { enginePackageDir } from './resources';

/** What the probe found about one interpreter that can run the engine. */
export interface TorchPython {
  /** The command or path that was probed (what to spawn). */
  readonly command: string;
  /** sys.executable as the interpreter reports it. */
  readonly executable: string;
  readonly pythonVersion: string;
  readonly torch: string;
  readonly numpy: string;
  /** CUDA devices torch sees (0 on CPU-only builds). */
  readonly cudaDevices: number;
  /** True when the `safetensors` library imports (else the engine's built-in reader/writer is used). */
  readonly safetensors: boolean;
}

/** One refused candidate and why. */
export interface PythonRefusal {
  readonly command: string;
  readonly reason: string;
}

export type PythonDiscovery =
  { ok: true; python: TorchPython; refused: PythonRefusal[] } | { ok: false; reason: string; refused: PythonRefusal[] };

export interface DiscoverOptions {
  /** Environment to read FLOW_STUDIO_PYTHON and PATH from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Candidates to try instead of the default list (FLOW_STUDIO_PYTHON still takes precedence). */
  candidates?: readonly string[];
  /** Per-probe timeout (default 60 s). */
  timeoutMs?: number;
}

/** The default candidates, in order (module comment). */
export const DEFAULT_PYTHON_CANDIDATES: readonly string[] = ['python3', '/usr/bin/python3', 'python'];

// Prints one JSON line; failures become a JSON line too, so the reason reaches the caller verbatim.
const PROBE = [
  'import json, sys',
  'out = {"executable": sys.executable, "pythonVersion": sys.version.split()[0]}',
  'try:',
  '    import numpy',
  '    out["numpy"] = numpy.__version__',
  'except Exception as e:',
  '    out["error"] = "numpy: %s: %s" % (type(e).__name__, e)',
  'if "error" not in out:',
  '    try:',
  '        import torch',
  '        out["torch"] = torch.__version__',
  '        out["cudaDevices"] = torch.cuda.device_count() if torch.cuda.is_available() else 0',
  '    except Exception as e:',
  '        out["error"] = "torch: %s: %s" % (type(e).__name__, e)',
  'try:',
  '    import safetensors',
  '    out["safetensors"] = True',
  'except Exception:',
  '    out["safetensors"] = False',
  'print(json.dumps(out))',
].join('\n');

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string; error: Error | null }> {
  return new Promise((done) => {
    execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 1 << 20, windowsHide: true }, (error, stdout, stderr) => {
      done({ stdout: String(stdout), stderr: String(stderr), error });
    });
  });
}

/** Probes one interpreter: its TorchPython, or the reason it cannot run the engine. */
export async function probePython(
  command: string,
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<TorchPython | PythonRefusal> {
  const env = opts.env ?? process.env;
  const r = await run(command, ['-c', PROBE], env, opts.timeoutMs ?? 60_000);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let out: Record<string, unknown> | null;
  try {
    out = JSON.parse(line) as Record<string, unknown>;
  } catch {
    out = null;
  }
  if (!out) {
    const e = r.error as (Error & { code?: unknown; killed?: boolean }) | null;
    if (e && e.code === 'ENOENT') return { command, reason: `${command}: not found` };
    if (e && e.killed) return { command, reason: `${command}: no answer within ${(opts.timeoutMs ?? 60_000) / 1000} s` };
    const detail = (r.stderr.trim() || e?.message || 'no output').split('\n').slice(-3).join(' ');
    return { command, reason: `${command}: cannot run the probe (${detail})` };
  }
  if (typeof out.error === 'string') {
    const where = String(out.executable) === command ? command : `${command} (${String(out.executable)})`;
    return { command, reason: `${where}: cannot import ${out.error}` };
  }
  return {
    command,
    executable: String(out.executable),
    pythonVersion: String(out.pythonVersion),
    torch: String(out.torch),
    numpy: String(out.numpy),
    cudaDevices: Number(out.cudaDevices ?? 0),
    safetensors: out.safetensors === true,
  };
}

const isRefusal = (p: TorchPython | PythonRefusal): p is PythonRefusal => 'reason' in p;

/**
 * The first interpreter that can run the engine (module comment for the order), with the reasons
 * the others were refused; or ok = false with a reason naming every candidate.
 */
export async function findTorchPython(opts: DiscoverOptions = {}): Promise<PythonDiscovery> {
  const env = opts.env ?? process.env;
  const named = env.FLOW_STUDIO_PYTHON?.trim();
  const candidates = named ? [named] : [...new Set(opts.candidates ?? DEFAULT_PYTHON_CANDIDATES)];
  const refused: PythonRefusal[] = [];
  for (const c of candidates) {
    const p = await probePython(c, { env, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
    if (!isRefusal(p)) return { ok: true, python: p, refused };
    refused.push(p);
  }
  const how =
    'install PyTorch for a Python (Debian: apt-get install python3-torch python3-numpy; elsewhere: pip install torch numpy) or set FLOW_STUDIO_PYTHON to one that has it';
  const reason = named
    ? `FLOW_STUDIO_PYTHON=${named} cannot run the PyTorch engine: ${refused[0]!.reason}`
    : `no Python with PyTorch found (${refused.map((r) => r.reason).join('; ')}); ${how}`;
  return { ok: false, reason, refused };
}

/** The environment for spawning the engine: PYTHONPATH starts with the package folder; unbuffered output. */
export function engineEnv(base: NodeJS.ProcessEnv = process.env, packageDir: string = enginePackageDir()): NodeJS.ProcessEnv {
  const prev = base.PYTHONPATH;
  return { ...base, PYTHONPATH: prev ? `${packageDir}${delimiter}${prev}` : packageDir, PYTHONUNBUFFERED: '1' };
}

/** What `python -m flow_studio_torch info` reports (docs/pytorch-engine.md, "info"). */
export interface EngineInfo {
  ok: boolean;
  engine: string;
  protocol: number;
  python: string;
  pythonVersion: string;
  platform: string;
  libraries: Record<string, string | null>;
  torch: { version: string; cuda: string | null; distributed: boolean } | null;
  devices: {
    cuda: { index: number; name: string; memory: number; capability: string }[];
    mps: boolean;
    cpu: { threads: number; cores: number | null };
  } | null;
  safetensors?: string;
  error?: string;
}

/** The engine as this machine can run it: the interpreter and its `info`, or why it cannot. */
export type TorchEngineStatus =
  { ok: true; python: TorchPython; info: EngineInfo } | { ok: false; reason: string; refused: PythonRefusal[] };

const engineCache = new Map<string, Promise<TorchEngineStatus>>();

/**
 * Finds the interpreter (findTorchPython) and asks the engine package itself what it sees (`info`:
 * torch, devices, optional libraries). A success is kept for the process (importing torch takes
 * seconds), per FLOW_STUDIO_PYTHON value; a failure is asked again next time, so installing torch
 * needs no restart. `refresh` asks again in any case.
 */
export function torchEngineStatus(opts: DiscoverOptions & { refresh?: boolean } = {}): Promise<TorchEngineStatus> {
  const env = opts.env ?? process.env;
  const key = `${env.FLOW_STUDIO_PYTHON ?? ''}\n${env.PATH ?? ''}\n${(opts.candidates ?? []).join(' ')}`;
  const cached = opts.refresh ? undefined : engineCache.get(key);
  if (cached) return cached;
  const p = probeEngine(opts, env);
  engineCache.set(key, p);
  void p.then((s) => {
    if (!s.ok) engineCache.delete(key);
  });
  return p;
}

async function probeEngine(opts: DiscoverOptions, env: NodeJS.ProcessEnv): Promise<TorchEngineStatus> {
  const found = await findTorchPython({ ...opts, env });
  if (!found.ok) return found;
  const r = await run(found.python.command, ['-m', 'flow_studio_torch', 'info'], engineEnv(env), opts.timeoutMs ?? 60_000);
  let info: EngineInfo | null;
  try {
    info = JSON.parse(r.stdout) as EngineInfo;
  } catch {
    info = null;
  }
  if (!info || typeof info !== 'object') {
    const detail = (r.stderr.trim() || r.error?.message || 'no output').split('\n').slice(-3).join(' ');
    return {
      ok: false,
      reason: `${found.python.command} imports torch, but the engine package does not run (python -m flow_studio_torch info: ${detail})`,
      refused: found.refused,
    };
  }
  if (!info.ok) return { ok: false, reason: info.error ?? 'the engine reports that it cannot run', refused: found.refused };
  return { ok: true, python: found.python, info };
}
