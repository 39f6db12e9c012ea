// `sample` with the samplers of core/solver/samplers.ts, its exports (scatter PNG, CSV, trajectories),
// sampling a trained model under another scheduler, and `edit` with several images and the SDE,
// all through the real command in a child process.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { condOT } from '../../../core/path/scheduler';
import { gmmOracle } from '../../../core/oracle/gmm';
import { mixtureOf2d } from '../../../core/data/toy2d';
import { energyDistance } from '../../../core/metrics/distances';
import { shippedModelsDir } from '../../../main/runtime/resources';
import { cli, freshHome, jsonOf, show } from './helpers';

const home = freshHome();
const O = ['--model', 'oracle:8gaussians'];
const fresh = (() => {
  const x = gmmOracle(mixtureOf2d('8gaussians')!, condOT()).sample(500, 77);
  const v = x.arraySync() as number[][];
  x.dispose();
  return v;
})();
const shipped = existsSync(join(shippedModelsDir(), 'mnist', 'model.json'));

describe('sample: samplers and exports on the 8-gaussians oracle', () => {
  it('writes a real scatter PNG for --out x.png, CSV for .csv, and the trajectories CSV', async () => {
    const png = join(home, 'points.png');
    const traj = join(home, 'traj.csv');
    const r = await cli(
      ['sample', ...O, '--n', '300', '--solver', 'heun', '--steps', '8', '--out', png, '--trajectories', traj, '--json'],
      { home },
    );
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r)).toMatchObject({ format: 'png', out: png, trajectories: traj, solver: 'heun', steps: 8 });
    const img = PNG.sync.read(readFileSync(png));
    expect([img.width, img.height]).toEqual([512, 512]);
    // Dots: a good share of dark pixels on white (RGBA after decoding).
    let dark = 0;
    for (let i = 0; i < img.data.length; i += 4) if (img.data[i]! < 128) dark++;
    expect(dark).toBeGreaterThan(300);
    const rows = readFileSync(traj, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('step,t,sample,x0,x1');
    expect(rows.length).toBe(1 + 9 * 300);
    const last = rows.slice(1 + 8 * 300).map((l) => l.split(',').map(Number));
    expect(last[0]!.slice(0, 3)).toEqual([8, 1, 0]);

    const csv = join(home, 'points.csv');
    const c = await cli(['sample', ...O, '--n', '20', '--solver', 'rk4', '--steps', '5', '--out', csv], { home });
    expect(c.code, show(c)).toBe(0);
    expect(readFileSync(csv, 'utf8').trim().split('\n').length).toBe(21);
  });

  for (const [sampler, extra, bound] of [
    ['dpm++2m', ['--steps', '10'], 0.05],
    ['ddim', ['--steps', '20', '--grid', 'uniform'], 0.05],
    ['sde', ['--steps', '100', '--noise', '0.5'], 0.05],
    ['ancestral', ['--steps', '50'], 0.05],
    ['pc', ['--steps', '50', '--snr', '0.1'], 0.05],
    ['edm', ['--steps', '20', '--churn', '10'], 0.05],
  ] as const) {
    it(`--solver ${sampler} samples the data (energy distance < ${bound})`, async () => {
      const r = await cli(['sample', ...O, '--n', '500', '--solver', sampler, ...extra, '--json'], { home });
      expect(r.code, show(r)).toBe(0);
      const doc = jsonOf<{ samples: number[][]; solver: string; nfe: number }>(r);
      expect(doc.solver).toBe(sampler);
      const ed = energyDistance(doc.samples, fresh);
      expect(ed).toBeLessThan(bound);
    });
  }

  it('refuses settings the sampler does not use, and unknown samplers, naming the flag', async () => {
    const a = await cli(['sample', ...O, '--solver', 'heun', '--noise', '1'], { home });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--noise applies to the sde, ancestral, pc samplers, not heun/);
    const b = await cli(['sample', ...O, '--solver', 'magic'], { home });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--solver/);
    expect(b.stderr).toMatch(/dpm\+\+2m/);
  });
});

describe.skipIf(!shipped)('sample under another scheduler, edit with several images (shipped:mnist)', () => {
  const M = ['--model', 'shipped:mnist'];
  it('--scheduler with the scheduler the model was trained on changes nothing; cosine samples images', async () => {
    const base = ['sample', ...M, '--n', '4', '--solver', 'heun', '--steps', '6', '--json'];
    const plain = await cli([...base, '--out', join(home, 'a.png')], { home });
    expect(plain.code, show(plain)).toBe(0);
    const kind = jsonOf<{ model: { scheduler: { kind: string } } }>(plain).model.scheduler.kind;
    const same = await cli([...base, '--out', join(home, 'b.png'), '--scheduler', kind], { home });
    expect(same.code, show(same)).toBe(0);
    const pa = PNG.sync.read(readFileSync(join(home, 'a.png'))).data;
    const pb = PNG.sync.read(readFileSync(join(home, 'b.png'))).data;
    let diff = 0;
    for (let i = 0; i < pa.length; i++) diff = Math.max(diff, Math.abs(pa[i]! - pb[i]!));
    expect(diff).toBeLessThanOrEqual(2); // 8-bit rounding of float32 results
    const other = await cli([...base, '--out', join(home, 'c.png'), '--scheduler', 'cosine'], { home });
    expect(other.code, show(other)).toBe(0);
    expect(jsonOf(other)).toMatchObject({ scheduler: { kind: 'cosine' } });
    const likelihood = await cli(['likelihood', ...M, '--images', join(home, 'a.png'), '--scheduler', 'cosine'], { home });
    expect(likelihood.code).toBe(2);
  });

  it('edit sdedit --image a b takes both images; the SDE edit reports Euler-Maruyama', async () => {
    const r = await cli(['edit', 'sdedit', ...M, '--image', 'mnist:3:0', 'mnist:7:1', '--sampler', 'sde', '--steps', '10', '--json'], {
      home,
    });
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{ items: unknown[]; solver: string; t0: number; inverter: string }>(r);
    expect(doc.items.length).toBe(2);
    expect(doc.solver).toBe('euler-maruyama');
    expect(doc.inverter).toBe('dopri5');
    expect(doc.t0).toBe(0.2);
    const bad = await cli(['edit', 'arithmetic', ...M, 'stray'], { home });
    expect(bad.code).toBe(2);
  });
});
