// `flow-studio train --engine pytorch` through the real command line: the moons preset trained by a
// real Python child process (the interpreter findTorchPython finds; skipped with the reason printed
// when there is none), stored in the run store, then sampled, inverted and decoded by the studio's
// own tfjs engine from the weights PyTorch trained. The quality bar is the tfjs preset's
// (train-sample.test.ts: energy distance of 1000 rk4 samples to fresh moons below 0.03).
import { beforeAll, describe, expect, it } from 'vitest';
import { energyDistance } from '../../../core/metrics/distances';
import { sample2d } from '../../../core/data/toy2d';
import { findTorchPython } from '../../../main/runtime/python';
import { cli, freshHome, jsonOf, show, writeJson } from './helpers';

/** The tfjs preset's bound (train-sample.test.ts explains the scale). */
const ED_BOUND = 0.03;
const STEPS = 300;

let reason: string | null = 'not probed';
const home = freshHome();
let runId = '';
let trainDoc: Record<string, unknown> = {};

beforeAll(async () => {
  const found = await findTorchPython();
  reason = found.ok ? null : found.reason;
  if (reason) {
    console.log(`[skip] flow-studio train --engine pytorch: ${reason}`);
    return;
  }
  const r = await cli(['train', '--preset', 'moons', '--engine', 'pytorch', '--steps', String(STEPS), '--json'], {
    home,
    timeoutMs: 200_000,
  });
  expect(r.code, show(r)).toBe(0);
  trainDoc = jsonOf(r);
  runId = String(trainDoc.runId);
}, 220_000);

describe('flow-studio train --engine pytorch (moons preset)', () => {
  it('trains to completion on the PyTorch engine and stores train.engine in the run', async (ctx) => {
    if (reason) return ctx.skip();
    expect(trainDoc).toMatchObject({ status: 'completed', step: STEPS, totalSteps: STEPS, backend: 'pytorch' });
    const summary = trainDoc.summary as Record<string, number>;
    expect(Number.isFinite(summary.finalLoss)).toBe(true);
    const shown = await cli(['runs', 'show', runId, '--json'], { home });
    expect(shown.code, show(shown)).toBe(0);
    const doc = jsonOf<{ run: { config: { train: { engine: string } }; backend: string } }>(shown);
    expect(doc.run.config.train.engine).toBe('pytorch');
    expect(doc.run.backend).toBe('pytorch');
  });

  it(`the studio samples the PyTorch weights with tfjs: energy distance to fresh moons below ${ED_BOUND}`, async (ctx) => {
    if (reason) return ctx.skip();
    const r = await cli(['sample', '--model', runId, '--n', '1000', '--solver', 'rk4', '--steps', '20', '--json'], { home });
    expect(r.code, show(r)).toBe(0);
    const { samples } = jsonOf<{ samples: number[][] }>(r);
    expect(samples).toHaveLength(1000);
    const ed = energyDistance(samples, sample2d('moons', 1000, 12345));
    console.log(`energy distance of the ${STEPS}-step moons run trained by PyTorch (1000 rk4 samples): ${ed.toFixed(5)}`);
    expect(ed).toBeLessThan(ED_BOUND);
  });

  it('inverts and decodes points with the PyTorch weights: the round trip returns them within 1e-3 (dopri5)', async (ctx) => {
    if (reason) return ctx.skip();
    const flat = sample2d('moons', 20, 777);
    const pts = Array.from({ length: 20 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]);
    const file = writeJson(home, 'points.json', pts);
    // Tight tolerances: a trained field bends more than an oracle's, and both directions must agree.
    const TOL = ['--solver', 'dopri5', '--rtol', '1e-7', '--atol', '1e-7'];
    const inv = await cli(['invert', '--model', runId, '--points', file, ...TOL, '--json'], { home });
    expect(inv.code, show(inv)).toBe(0);
    const { latents } = jsonOf<{ latents: number[][] }>(inv);
    expect(latents).toHaveLength(pts.length);
    const dec = await cli(['decode', '--model', runId, '--latents', '-', ...TOL, '--json'], { home, input: JSON.stringify(latents) });
    expect(dec.code, show(dec)).toBe(0);
    const back = jsonOf<{ points: number[][] }>(dec).points;
    pts.forEach((p, i) => {
      for (let j = 0; j < 2; j++) expect(Math.abs(back[i]![j]! - p[j]!), `round trip of point ${i}`).toBeLessThan(1e-3);
    });
    // The latents are not the points: the field moved them (a zero field would pass the round trip).
    const moved = latents.reduce((s, z, i) => s + Math.hypot(z[0]! - pts[i]![0]!, z[1]! - pts[i]![1]!), 0) / pts.length;
    expect(moved).toBeGreaterThan(0.1);
  });
});

describe('flow-studio train --engine: bad input', () => {
  it('an unknown engine is refused with exit 2 naming train.engine, and no run is stored', async () => {
    const h = freshHome();
    const r = await cli(['train', '--preset', 'moons', '--engine', 'jax', '--steps', '5'], { home: h });
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/train\.engine.*"tfjs", "pytorch"/);
    const runs = await cli(['runs', 'list', '--json'], { home: h });
    expect(jsonOf<unknown[] | { runs: unknown[] }>(runs)).toSatisfy((d) => (Array.isArray(d) ? d : d.runs).length === 0);
  });

  it('a missing Python is refused with exit 2 naming FLOW_STUDIO_PYTHON, and no run is stored', async () => {
    const h = freshHome();
    const r = await cli(['train', '--preset', 'moons', '--engine', 'pytorch', '--steps', '5'], {
      home: h,
      env: { FLOW_STUDIO_PYTHON: '/nonexistent/python3' },
    });
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/train\.engine.*FLOW_STUDIO_PYTHON=\/nonexistent\/python3.*not found/);
    const runs = await cli(['runs', 'list', '--json'], { home: h });
    expect(jsonOf<unknown[] | { runs: unknown[] }>(runs)).toSatisfy((d) => (Array.isArray(d) ? d : d.runs).length === 0);
  });
});
