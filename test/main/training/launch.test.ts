// Launch folders (main/training/launch.ts) end to end, with real processes: a moons run trained 10
// steps by the studio (PyTorch engine, real Supervisor and worker thread) is exported; the folder is
// trained to the end by ONE Python process and, in a copy, by TWO under torchrun (gloo, the global
// batch split across ranks); both loss curves must agree to float tolerance, and importing the
// torchrun folder must bring back its metrics, checkpoints and samples as a new run the tfjs
// samplers load. Skipped, with the reason printed, when no Python with torch is found.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModel } from '../../../main/models/load';
import { findTorchPython, type TorchPython } from '../../../main/runtime/python';
import { exportLaunchFolder, importLaunchFolder, LaunchFolderError, replayEvents } from '../../../main/training/launch';
import { Harness, tinyMoons } from './helpers';

let python: TorchPython | null = null;
let reason: string | null = 'not probed';
beforeAll(async () => {
  const found = await findTorchPython();
  if (found.ok) python = found.python;
  reason = found.ok ? null : found.reason;
  if (reason) console.log(`[skip] launch folders: ${reason}`);
}, 120_000);

const harnesses: Harness[] = [];
afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.dispose()));
});

/** Runs a command in `cwd` as the README says (PYTHONPATH=python); resolves with its exit code and stderr. */
function runIn(cwd: string, args: string[], timeoutMs = 180_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PYTHONPATH: 'python', PYTHONUNBUFFERED: '1' };
    const child = spawn(python!.command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** The loss rows of a trained folder's events file, step -> value. */
function lossCurve(dir: string): Map<number, number> {
  const lines = readFileSync(join(dir, 'out', 'events.jsonl'), 'utf8').split('\n');
  const { rows } = replayEvents(lines, 'events.jsonl');
  return new Map(rows.filter((r) => r.name === 'loss').map((r) => [r.step, r.value]));
}

describe('launch folders', () => {
  it('export, train with one process and with torchrun (2 gloo ranks): the same loss curve; import brings the run back', async (ctx) => {
    if (reason) return ctx.skip();
    const h = new Harness({ backend: 'cpu' });
    harnesses.push(h);
    // Batch 63: the ranks get 31 + 32 rows, an uneven split on purpose.
    const id = h.run(
      tinyMoons({
        train: { engine: 'pytorch', steps: 40, batchSize: 63, checkpointEvery: 10, logEvery: 1, sampleEvery: 20, sampleCount: 32 },
      }),
    );
    const first = await h.sup.start(id, { stepsOverride: 10, progressIntervalMs: 0 });
    expect(first, first.error).toMatchObject({ status: 'completed', step: 10 });

    const one = join(h.dir, 'launch-1');
    const exported = await exportLaunchFolder(h.store, id, one);
    expect(exported.info).toMatchObject({ runId: id, startStep: 10, format: 'flow-studio-launch' });
    for (const f of ['job.json', 'launch.json', 'README.md', 'resume.safetensors', 'history.json', 'python/flow_studio_torch/__main__.py'])
      expect(existsSync(join(one, f)), f).toBe(true);
    const readme = readFileSync(join(one, 'README.md'), 'utf8');
    expect(readme).toContain('--nproc_per_node=2');
    expect(readme).toContain('flow-studio import');
    // The run in the store is untouched by the export.
    expect(h.store.getRun(id)).toMatchObject({ status: 'completed', step: 10 });
    // A second export into the same (now non-empty) folder is refused, naming it.
    await expect(exportLaunchFolder(h.store, id, one)).rejects.toThrow(LaunchFolderError);

    const two = join(h.dir, 'launch-2');
    cpSync(one, two, { recursive: true });
    const a = await runIn(one, ['-m', 'flow_studio_torch', 'train', '--job', 'job.json']);
    expect(a.code, a.stderr).toBe(0);
    const b = await runIn(two, [
      '-m',
      'torch.distributed.run',
      '--standalone',
      '--nnodes=1',
      '--nproc_per_node=2',
      '--redirects',
      '2',
      '--tee',
      '2',
      '-m',
      'flow_studio_torch',
      'train',
      '--job',
      'job.json',
    ]);
    expect(b.code, b.stderr).toBe(0);

    const ca = lossCurve(one);
    const cb = lossCurve(two);
    expect([...ca.keys()]).toEqual(Array.from({ length: 30 }, (_, i) => 11 + i));
    expect([...cb.keys()]).toEqual([...ca.keys()]);
    for (const [step, la] of ca) {
      const lb = cb.get(step)!;
      expect(Math.abs(la - lb), `loss at step ${step}: ${la} (1 process) vs ${lb} (2 processes)`).toBeLessThanOrEqual(
        1e-5 * Math.abs(la) + 1e-6,
      );
    }
    const started = readFileSync(join(two, 'out', 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"started"'))
      .map((l) => JSON.parse(l) as { world: number; resumedFrom: number });
    expect(started).toMatchObject([{ world: 2, resumedFrom: 10 }]);

    // Import: a new run with the studio's history (steps 1..10), the folder's curve (11..40), its
    // checkpoints and samples, completed; the tfjs samplers load its weights.
    const imp = await importLaunchFolder(h.store, two);
    expect(imp).toMatchObject({ checkpoints: 3, samples: 2, finished: 'completed' });
    const run = h.store.getRun(imp.run.id);
    expect(run).toMatchObject({ status: 'completed', step: 40, backend: 'pytorch', owner: null });
    expect(run.id).not.toBe(id);
    const loss = h.store.getMetrics(imp.run.id, ['loss'])[0]!;
    expect(loss.steps).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const orig = h.store.getMetrics(id, ['loss'])[0]!;
    expect(loss.values.slice(0, 10)).toEqual(orig.values.slice(0, 10));
    expect(loss.values.slice(10)).toEqual([...cb.values()]);
    expect(h.store.listCheckpoints(imp.run.id).map((c) => c.step)).toEqual([20, 30, 40]);
    expect(h.store.latestCheckpoint(imp.run.id)!.meta).toMatchObject({ engine: 'pytorch', world: 2 });
    expect(h.store.listSamples(imp.run.id).map((s) => [s.step, s.kind])).toEqual([
      [20, 'points'],
      [40, 'points'],
    ]);
    const m = resolveModel(imp.run.id, { store: h.store });
    expect(m.label).toBe(`run ${imp.run.id} step 40 (EMA)`);
    m.dispose();
  }, 400_000);

  it('a folder whose engine was killed imports as failed, resumable from its last checkpoint; a folder that is not one is refused', async (ctx) => {
    if (reason) return ctx.skip();
    const h = new Harness({ backend: 'cpu' });
    harnesses.push(h);
    const id = h.run(tinyMoons({ train: { engine: 'pytorch', steps: 40, checkpointEvery: 10, logEvery: 1 } }));
    const dir = join(h.dir, 'launch');
    await exportLaunchFolder(h.store, id, dir);
    const r = await runIn(dir, ['-m', 'flow_studio_torch', 'train', '--job', 'job.json']);
    expect(r.code, r.stderr).toBe(0);
    // As if killed after step 25: the events file cut there, checkpoints after it gone.
    const ev = join(dir, 'out', 'events.jsonl');
    const lines = readFileSync(ev, 'utf8').split('\n');
    const cut = lines.findIndex((l) => {
      const e = l ? (JSON.parse(l) as { type: string; step?: number }) : null;
      return e?.type === 'checkpoint' && e.step === 30;
    });
    expect(cut).toBeGreaterThan(0);
    writeFileSync(ev, `${lines.slice(0, cut).join('\n')}\n{"type": "progress", "st`); // a partial last line
    for (const s of [30, 40]) writeFileSync(join(dir, 'out', 'checkpoints', `step-000000${s}.safetensors`), '');
    // An empty checkpoint file is not one: the import fails naming it and stores nothing.
    const runsBefore = h.store.listRuns().length;
    await expect(importLaunchFolder(h.store, dir)).rejects.toThrow(/step-00000030\.safetensors/);
    expect(h.store.listRuns()).toHaveLength(runsBefore);
    for (const s of [30, 40]) rmSync(join(dir, 'out', 'checkpoints', `step-000000${s}.safetensors`));

    const imp = await importLaunchFolder(h.store, dir, { name: 'partial' });
    expect(imp.finished).toBeNull();
    const run = h.store.getRun(imp.run.id);
    expect(run).toMatchObject({ name: 'partial', status: 'failed', owner: null });
    expect(run.error).toMatch(/no 'finished' line .*resume it to continue from its checkpoint at step 20/);
    expect(h.store.listCheckpoints(imp.run.id).map((c) => c.step)).toEqual([10, 20]);
    // Resumed in the studio: the PyTorch engine continues from step 20 to the end.
    const again = await h.sup.start(imp.run.id, { progressIntervalMs: 0 });
    expect(again, again.error).toMatchObject({ status: 'completed', step: 40 });

    const empty = join(h.dir, 'not-a-launch-folder');
    mkdirSync(empty);
    await expect(importLaunchFolder(h.store, empty)).rejects.toThrow(/launch\.json: cannot be read \(ENOENT\); is this a launch folder\?/);
  }, 300_000);
});
