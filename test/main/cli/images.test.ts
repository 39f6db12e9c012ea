// Image models through the command line: PNG grids out, PNG files in (likelihood in bits/dim,
// inversion, interpolation strips). A tiny class-conditional MLP on two MNIST digits is enough:
// these tests are about shapes, files and flags, not image quality.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../../main/data';
import { cli, freshHome, jsonOf, show, writeJson } from './helpers';

const home = freshHome();
let runId = '';

function png(file: string): { width: number; height: number } {
  const p = PNG.sync.read(readFileSync(file));
  return { width: p.width, height: p.height };
}

beforeAll(async () => {
  const config = writeJson(home, 'mnist.json', {
    name: 'tiny mnist',
    data: { kind: 'mnist', digits: [0, 1] },
    conditional: true,
    labelDropout: 0.2,
    model: { kind: 'mlp', width: 32, depth: 1 },
    train: { steps: 20, batchSize: 16, checkpointEvery: 10, logEvery: 5, sampleEvery: 0 },
    sampling: { solver: 'euler', steps: 4 },
  });
  const r = await cli(['train', '--config', config, '--json'], { home });
  expect(r.code, show(r)).toBe(0);
  runId = String(jsonOf(r).runId);
  // Two 28x28 grey pictures to feed back in.
  const a = new Float32Array(28 * 28).map((_, i) => (i % 28) / 14 - 1);
  writeFileSync(join(home, 'a.png'), encodePng(a, 28, 28, 1));
  writeFileSync(
    join(home, 'b.png'),
    encodePng(
      a.map((v) => -v),
      28,
      28,
      1,
    ),
  );
}, 120_000);

describe('image models', () => {
  it('sample writes a PNG grid (and refuses to print images to stdout)', async () => {
    const out = join(home, 'grid.png');
    const r = await cli(['sample', '--model', runId, '--n', '12', '--class', '1', '--cfg', '1.5', '--cols', '4', '--out', out, '--json'], {
      home,
    });
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r)).toMatchObject({ n: 12, nfe: 4, format: 'png', cfg: 1.5, class: 1 });
    expect(png(out)).toEqual({ width: 4 * 30 + 2, height: 3 * 30 + 2 }); // 28 px cells, 2 px padding

    const noOut = await cli(['sample', '--model', runId, '--n', '2'], { home });
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toMatch(/--out FILE\.png is required/);
    const badClass = await cli(['sample', '--model', runId, '--class', '10', '--out', out], { home });
    expect(badClass.code).toBe(2);
    expect(badClass.stderr).toMatch(/--class: must be in \[0, 9\]/);
  });

  it('likelihood of PNG files in bits/dim (Hutchinson by default), invert and interpolate', async () => {
    const a = join(home, 'a.png');
    const b = join(home, 'b.png');
    const l = await cli(['likelihood', '--model', runId, '--images', a, b, '--solver', 'euler', '--steps', '4', '--json'], { home });
    expect(l.code, show(l)).toBe(0);
    const doc = jsonOf<{ divergence: string; bitsPerDim: number[]; logp: number[]; inputs: string[]; dim: number }>(l);
    expect(doc.divergence).toBe('hutchinson');
    expect(doc.dim).toBe(784);
    expect(doc.inputs).toEqual([a, b]);
    expect(doc.bitsPerDim.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    // bpd = -log p / (d ln 2) + 7 for 8-bit data in [-1, 1]
    expect(doc.bitsPerDim[0]).toBeCloseTo(-doc.logp[0]! / (784 * Math.LN2) + 7, 9);

    const inv = await cli(['invert', '--model', runId, '--image', a, '--solver', 'euler', '--steps', '4', '--json'], { home });
    expect(inv.code, show(inv)).toBe(0);
    const { latents } = jsonOf<{ latents: number[][] }>(inv);
    expect(latents).toHaveLength(1);
    expect(latents[0]).toHaveLength(784);

    const strip = join(home, 'strip.png');
    const i = await cli(
      ['interpolate', '--model', runId, '--from', a, '--to', b, '--frames', '5', '--solver', 'euler', '--steps', '4', '--out', strip],
      { home },
    );
    expect(i.code, show(i)).toBe(0);
    expect(png(strip)).toEqual({ width: 5 * 30 + 2, height: 30 + 2 });

    const corrupt = writeJson(home, 'c.png', 'not an image');
    const bad = await cli(['likelihood', '--model', runId, '--images', corrupt], { home });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/c\.png/);
  });
});
