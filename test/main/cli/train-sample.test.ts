// Train -> sample through the real command line, and what the run store then says about the run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { energyDistance } from '../../../core/metrics/distances';
import { sample2d } from '../../../core/data/toy2d';
import { decodeSafetensors, flowStudioMetadata } from '../../../main/models/safetensors';
import { cli, freshHome, jsonOf, ROOT, show } from './helpers';

/** The preset's own target: the reference points come from the same dataset and noise the run trained on. */
const PRESET_DATA = (JSON.parse(readFileSync(join(ROOT, 'resources', 'presets', 'moons.json'), 'utf8')) as { data: { noise?: number } })
  .data;

/**
 * Energy distance (squared form, unbiased) of 1000 RK4 samples of the 300-step moons run to 1000
 * fresh points of the preset's own moons (its dataset and noise) must stay below 0.03. For scale at
 * n = 1000: the estimator's noise floor (two independent samples of the same moons) and the distance
 * of plain N(0, I) noise to the moons lie two orders of magnitude apart; 0.03 sits near the floor,
 * so it fails a run that did not learn the two moons while allowing the blur of a short run.
 */
const ED_BOUND = 0.03;
const STEPS = 300;

describe('train then sample (moons preset)', () => {
  const home = freshHome();
  let runId = '';
  let trainDoc: Record<string, unknown> = {};

  beforeAll(async () => {
    const r = await cli(['train', '--preset', 'moons', '--steps', String(STEPS), '--json'], { home, timeoutMs: 150_000 });
    expect(r.code, show(r)).toBe(0);
    trainDoc = jsonOf(r);
    runId = String(trainDoc.runId);
  }, 160_000);

  it(`trains ${STEPS} steps to completion and reports it as one JSON document`, () => {
    expect(trainDoc.status).toBe('completed');
    expect(trainDoc.step).toBe(STEPS);
    expect(trainDoc.totalSteps).toBe(STEPS);
    expect(trainDoc.backend).toBe('wasm');
    const summary = trainDoc.summary as Record<string, number>;
    expect(Number.isFinite(summary.finalLoss)).toBe(true);
  });

  it(`samples 1000 points with rk4 x 20 whose energy distance to fresh moons is below ${ED_BOUND}`, async () => {
    const r = await cli(['sample', '--model', runId, '--n', '1000', '--solver', 'rk4', '--steps', '20', '--json'], { home });
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{ samples: number[][]; nfe: number; steps: number; solver: string }>(r);
    expect(doc.solver).toBe('rk4');
    expect(doc.steps).toBe(20);
    expect(doc.nfe).toBe(80); // 4 evaluations per RK4 step: the steps asked for are the steps taken
    expect(doc.samples).toHaveLength(1000);
    expect(doc.samples.every((p) => p.length === 2 && p.every(Number.isFinite))).toBe(true);
    const ed = energyDistance(
      doc.samples,
      sample2d('moons', 1000, 12345, PRESET_DATA.noise !== undefined ? { noise: PRESET_DATA.noise } : {}),
    );
    console.log(`energy distance of the ${STEPS}-step moons run (1000 rk4 samples): ${ed.toFixed(5)}`);
    expect(ed).toBeLessThan(ED_BOUND);

    // Text mode prints the same points as a plain JSON array, and --out writes them to a file.
    const out = join(home, 'samples.json');
    const t = await cli(['sample', '--model', `${runId}@${STEPS}`, '--n', '1000', '--solver', 'rk4', '--steps', '20', '--out', out], {
      home,
    });
    expect(t.code, show(t)).toBe(0);
    expect(t.stdout).toBe('');
    expect(t.stderr).toMatch(/80 NFE/);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(doc.samples);
  });

  it('runs list --json lists the run with its status and final loss; show and export agree', async () => {
    const r = await cli(['runs', 'list', '--json'], { home });
    expect(r.code, show(r)).toBe(0);
    const { runs } = jsonOf<{ runs: { id: string; status: string; step: number; finalLoss: number }[] }>(r);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: runId, status: 'completed', step: STEPS });
    expect(Number.isFinite(runs[0]!.finalLoss)).toBe(true);

    const table = await cli(['runs', 'list'], { home });
    expect(table.stdout).toMatch(new RegExp(`${runId}\\s+moons\\s+moons\\s+affine/condot\\s+completed\\s+${STEPS}`));

    const s = jsonOf<{
      run: { id: string; config: { train: { steps: number; checkpointEvery: number; sampleEvery: number } } };
      checkpoints: { step: number }[];
    }>(await cli(['runs', 'show', runId, '--json'], { home }));
    expect(s.run.config.train.steps).toBe(STEPS); // --steps is stored in the run's config
    // The preset checkpoints every 500 steps: a 300-step run shortens that to fit (and keeps the rest).
    expect(s.run.config.train).toMatchObject({ checkpointEvery: STEPS, sampleEvery: 250 });
    expect(s.checkpoints.at(-1)?.step).toBe(STEPS);

    const exportFile = join(home, 'export.json');
    const weights = join(home, 'ema.bin');
    const e = await cli(['runs', 'export', runId, '--out', exportFile, '--model', weights, '--json'], { home });
    expect(e.code, show(e)).toBe(0);
    const exported = JSON.parse(readFileSync(exportFile, 'utf8')) as {
      run: { id: string };
      metrics: { name: string; steps: number[] }[];
      checkpoints: unknown[];
    };
    expect(exported.run.id).toBe(runId);
    expect(exported.metrics.find((m) => m.name === 'loss')?.steps.at(-1)).toBe(STEPS);
    expect(jsonOf<{ model: { weights: string; step: number } }>(e).model).toMatchObject({ weights: 'ema', step: STEPS });
    // A safetensors model file: the EMA weights under the model's names, its config in the metadata.
    const file = decodeSafetensors(new Uint8Array(readFileSync(weights)));
    expect(file.tensors.get('mlp/0/W')?.dtype).toBe('F32');
    expect(flowStudioMetadata(file)).toMatchObject({ format: 'flow-studio-model', step: STEPS, ema: true, shape: [2], numClasses: 0 });
  });

  it('runs export --dir writes the app export files; sample --scheduler and --solver dpm++2m on the run', async () => {
    const dir = join(home, 'bundle');
    const e = await cli(['runs', 'export', runId, '--dir', dir, '--json'], { home });
    expect(e.code, show(e)).toBe(0);
    const files = jsonOf<{ files: { name: string; file: string }[] }>(e).files;
    expect(files.map((f) => f.name.replace(/^moons-?/, ''))).toEqual([
      'config.json',
      'metrics.csv',
      `samples-step${STEPS}.png`,
      `trajectories-step${STEPS}.csv`,
      `model-step${STEPS}.json`,
    ]);
    const cfg = JSON.parse(readFileSync(files[0]!.file, 'utf8')) as { train: { steps: number } };
    expect(cfg.train.steps).toBe(STEPS);
    expect(readFileSync(files[2]!.file).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(files[3]!.file, 'utf8').split('\n')[0]).toBe('particle,k,t,x,y');

    // The trained condot model under cosine, and DPM-Solver++(2M) at 10 NFE: both still draw moons.
    const fresh = sample2d('moons', 1000, 77);
    for (const extra of [
      ['--scheduler', 'cosine', '--solver', 'heun', '--steps', '20'],
      ['--solver', 'dpm++2m', '--steps', '10'],
    ]) {
      const r = await cli(['sample', '--model', runId, '--n', '1000', ...extra, '--json'], { home });
      expect(r.code, show(r)).toBe(0);
      const ed = energyDistance(jsonOf<{ samples: number[][] }>(r).samples, fresh);
      console.log(`${extra.join(' ')}: energy distance ${ed.toFixed(4)}`);
      expect(ed).toBeLessThan(ED_BOUND);
    }
  });

  it('refuses to resume a completed run (exit 2) and deletes only with --yes', async () => {
    const again = await cli(['train', '--resume', runId], { home });
    expect(again.code, show(again)).toBe(2);
    expect(again.stderr).toMatch(/completed/);

    const noYes = await cli(['runs', 'delete', runId], { home });
    expect(noYes.code, show(noYes)).toBe(2);
    expect(noYes.stderr).toMatch(/--yes/);
    const del = await cli(['runs', 'delete', runId, '--yes', '--json'], { home });
    expect(jsonOf(del)).toEqual({ deleted: runId });
    expect(jsonOf<{ runs: unknown[] }>(await cli(['runs', 'list', '--json'], { home })).runs).toEqual([]);
    expect(existsSync(join(home, 'flow-studio.db'))).toBe(true);
  });
});
