/**
 * What the PyTorch engine implements, as the preflight states it (TORCH_ENGINE_SUPPORT), against the
 * engine package itself: its config.py lists are read by the real interpreter (skipped with the
 * reason printed when this machine has no Python with torch). Settings only the tfjs engine has
 * (score matching, sub-VP, samplers past the ODE methods) are refused before a run exists, naming
 * the field, even where no Python is installed.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors';
import { parseExperiment, type ExperimentConfig } from '../../../common/config';
import { preflight, TORCH_ENGINE_SUPPORT, torchUnsupported } from '../../../main/app/preflight';
import { engineEnv, findTorchPython } from '../../../main/runtime/python';
import { tinyMoons } from '../training/helpers';

let python: string | null = null;
beforeAll(async () => {
  const found = await findTorchPython();
  if (found.ok) python = found.python.command;
  else console.log(`[skip] engine package lists: ${found.reason}`);
}, 120_000);

function config(patch: Record<string, unknown>): ExperimentConfig {
  const base = tinyMoons() as Record<string, unknown>;
  const r = parseExperiment({ ...base, ...patch, train: { ...(base.train as object), engine: 'pytorch' } });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

describe('PyTorch engine support', () => {
  it('the preflight lists are the engine package’s own', (ctx) => {
    if (!python) return ctx.skip();
    const code = 'import json; from flow_studio_torch import config as c; print(json.dumps([c.PREDICTIONS, c.SCHEDULERS, c.SOLVERS]))';
    const out = spawnSync(python, ['-c', code], { encoding: 'utf8', env: engineEnv() });
    expect(out.stderr).toBe('');
    const [predictions, schedulers, solvers] = JSON.parse(out.stdout) as string[][];
    expect([...TORCH_ENGINE_SUPPORT.predictions]).toEqual(predictions);
    expect([...TORCH_ENGINE_SUPPORT.schedulers]).toEqual(schedulers);
    expect([...TORCH_ENGINE_SUPPORT.solvers]).toEqual(solvers);
  });

  it('tfjs-only settings are named by field', () => {
    expect(torchUnsupported(config({}))).toBeNull();
    expect(torchUnsupported(config({ prediction: 'score', path: { kind: 'affine', scheduler: { kind: 'vp' } } }))?.[0]).toBe('prediction');
    expect(torchUnsupported(config({ path: { kind: 'affine', scheduler: { kind: 'sub-vp' } } }))?.[0]).toBe('path.scheduler.kind');
    expect(torchUnsupported(config({ sampling: { solver: 'dpm++2m', steps: 10 } }))?.[0]).toBe('sampling.solver');
    expect(torchUnsupported(config({ sampling: { solver: 'heun', steps: 10, grid: 'karras' } }))?.[0]).toBe('sampling.grid');
  });

  it('the preflight refuses them before looking for Python', async () => {
    const store = () => {
      throw new Error('the store is not needed for this check');
    };
    const err = await preflight(store, config({ path: { kind: 'affine', scheduler: { kind: 'sub-vp' } } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('path.scheduler.kind');
    expect((err as Error).message).toContain("engine 'tfjs'");
  });
});
