// kill -9 of `flow-studio train --engine pytorch`: the Python child process must not train on
// unsupervised (it sees EOF on stdin and stops by itself), the store stays sound, and
// `train --resume` continues the run from its last stored checkpoint to the end on the PyTorch
// engine. Real processes throughout; skipped, with the reason printed, without a Python with torch.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../../main/store';
import { findTorchPython } from '../../../main/runtime/python';
import { cli, collect, freshHome, jsonOf, show, startCli, writeJson } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pids of processes whose command line contains `needle` (Linux /proc). */
function pidsWith(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('kill -9 of train --engine pytorch, then --resume', () => {
  it('the engine stops by itself, the store is sound, and the run resumes to the end', async (ctx) => {
    const found = await findTorchPython();
    if (!found.ok) {
      console.log(`[skip] ${found.reason}`);
      return ctx.skip();
    }
    const home = freshHome();
    const dbPath = join(home, 'flow-studio.db');
    const TOTAL = 3000;
    const config = writeJson(home, 'crash.json', {
      name: 'torch-crash',
      data: { kind: 'toy2d', name: 'moons' },
      model: { kind: 'mlp', width: 32, depth: 2, timeEmbedDim: 8 },
      optim: { lr: 0.002 },
      train: { engine: 'pytorch', steps: TOTAL, batchSize: 128, checkpointEvery: 100, logEvery: 10, sampleEvery: 0 },
    });
    const child = startCli(['train', '--config', config, '--json'], { home });
    const done = collect(child, 120_000);
    // Until a checkpoint is stored (the store file appears once the run is created).
    let runId: string;
    const end = Date.now() + 90_000;
    for (;;) {
      if (Date.now() > end) throw new Error('no checkpoint within 90 s');
      if (existsSync(dbPath)) {
        const s = RunStore.open(dbPath, { access: 'read', verify: false });
        try {
          const run = s.listRuns()[0];
          if (run && s.latestCheckpoint(run.id)) {
            runId = run.id;
            break;
          }
        } finally {
          s.close();
        }
      }
      await sleep(50);
    }
    const engine = pidsWith(join('engine', runId, 'job.json'));
    expect(engine.length, 'the Python engine process').toBeGreaterThan(0);
    process.kill(child.pid!, 'SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    // The engine sees EOF on stdin (or a broken stdout) and ends at its next step.
    const gone = Date.now() + 30_000;
    while (engine.some((p) => existsSync(`/proc/${p}`) && !readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z '))) {
      if (Date.now() > gone) throw new Error(`the engine (pid ${engine.join(', ')}) still runs 30 s after its supervisor was killed`);
      await sleep(100);
    }

    const store = RunStore.open(dbPath);
    let kept: number;
    try {
      expect(store.integrityCheck().ok).toBe(true);
      kept = store.latestCheckpoint(runId)!.step;
    } finally {
      store.close();
    }
    const r = await cli(['train', '--resume', runId, '--json'], { home, timeoutMs: 180_000 });
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r)).toMatchObject({ status: 'completed', step: TOTAL, backend: 'pytorch' });
    const after = RunStore.open(dbPath, { access: 'read', verify: false });
    try {
      const loss = after.getMetrics(runId, ['loss'])[0]!;
      // Every logged step once: the killed process's rows after its last checkpoint were rewound.
      expect(loss.steps).toEqual(Array.from({ length: TOTAL / 10 }, (_, i) => 10 * (i + 1)));
      expect(after.listCheckpoints(runId).at(-1)!.step).toBe(TOTAL);
      expect(kept).toBeGreaterThanOrEqual(100);
    } finally {
      after.close();
    }
  }, 300_000);
});
