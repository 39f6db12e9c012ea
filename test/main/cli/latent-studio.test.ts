// The latent studio from the command line, on the shipped MNIST model: image statistics and PSNR
// in `invert --json`, interpolation strips with GIF and APNG exports (decoded back), the four edits,
// --save into the run store, and bad image files: exit 2 naming the file, with every stored row
// (runs, artifacts, metrics, checkpoints, samples) the same before and after.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../../../main/data';
import { shippedModelsDir } from '../../../main/runtime/resources';
import { readApng, readGif } from '../latent/anim-readers';
import { cli, freshHome, jsonOf, show } from './helpers';

const shipped = existsSync(join(shippedModelsDir(), 'mnist', 'model.json'));
const home = freshHome();
const M = ['--model', 'shipped:mnist'];
const RK4 = ['--solver', 'rk4', '--steps', '10'];

/** Every row of every table of the store, as text (blobs by length and a checksum). */
function snapshot(db: string): string {
  const conn = new Database(db, { readonly: true });
  try {
    const tables = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    return JSON.stringify(
      tables.map((t) => [
        t,
        conn
          .prepare(`SELECT * FROM "${t}"`)
          .all()
          .map((row) =>
            Object.values(row as object).map((v) =>
              Buffer.isBuffer(v) ? `blob ${v.length} ${v.reduce((a, b) => (a * 31 + b) >>> 0, 7)}` : v,
            ),
          ),
      ]),
    );
  } finally {
    conn.close();
  }
}

const pngSize = (file: string): [number, number] => {
  const p = PNG.sync.read(readFileSync(file));
  return [p.width, p.height];
};

describe.skipIf(!shipped)('latent studio commands (shipped:mnist)', () => {
  it('invert --image reports latent statistics, PSNR and max abs error; --save stores artifacts', async () => {
    const recon = join(home, 'recon.png');
    const r = await cli(
      [
        'invert',
        ...M,
        '--image',
        'mnist:3:0',
        '--image',
        'mnist:7:1',
        '--class',
        '3',
        ...RK4,
        '--reconstruction',
        recon,
        '--save',
        '--json',
      ],
      { home },
    );
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{
      latents: number[][];
      nfe: number;
      decodeNfe: number;
      dataRange: number;
      images: {
        input: string;
        psnr: number;
        maxAbsError: number;
        stats: { mean: number; std: number; ks: number; ksPValue: number; normRatio: number };
      }[];
      saved: { runId: string; artifacts: { name: string }[] };
    }>(r);
    expect(doc.latents).toHaveLength(2);
    expect(doc.latents[0]).toHaveLength(784);
    expect(doc).toMatchObject({ nfe: 40, decodeNfe: 40, dataRange: 2 });
    expect(doc.images.map((i) => i.input)).toEqual(['mnist 3/0', 'mnist 7/1']);
    for (const im of doc.images) {
      expect(im.psnr).toBeGreaterThan(30); // rk4 at 10 steps: ~40 dB
      expect(im.maxAbsError).toBeGreaterThan(0);
      expect(Math.abs(im.stats.mean)).toBeLessThan(0.1);
      expect(im.stats.std).toBeGreaterThan(0.7);
      expect(im.stats.ks).toBeGreaterThan(0);
    }
    expect(pngSize(recon)).toEqual([3 * 30 + 2, 2 * 30 + 2]); // input | reconstruction | latent per row
    expect(doc.saved.artifacts.map((a) => a.name)).toContain('invert.json');
    const runs = await cli(['runs', 'list', '--json'], { home });
    expect(jsonOf<{ runs: { id: string; name: string; status: string }[] }>(runs).runs).toContainEqual(
      expect.objectContaining({ id: doc.saved.runId, name: 'Latent studio: shipped:mnist', status: 'completed' }),
    );
  });

  it('interpolate two digits: strip per mode, latent norms vs sqrt(d), GIF and APNG that decode back', async () => {
    const strip = join(home, 'strip.png');
    const gif = join(home, 'strip.gif');
    const apng = join(home, 'strip.apng.png');
    const r = await cli(
      [
        'interpolate',
        ...M,
        '--from',
        'mnist:3:0',
        '--to',
        'mnist:7:1',
        '--frames',
        '5',
        '--mode',
        'both',
        ...RK4,
        '--out',
        strip,
        '--gif',
        gif,
        '--apng',
        apng,
        '--delay',
        '100',
        '--json',
      ],
      { home },
    );
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{
      sqrtD: number;
      norms: { slerp: number[]; lerp: number[] };
      endpoints: { a: { psnr: number }; b: { psnr: number } };
    }>(r);
    expect(doc.sqrtD).toBe(28);
    expect(doc.norms.lerp[2]! / doc.norms.slerp[2]!).toBeLessThan(0.85);
    expect(doc.endpoints.a.psnr).toBeGreaterThan(30);
    expect(pngSize(strip)).toEqual([5 * 30 + 2, 2 * 30 + 2]);
    // Read back through omggif and upng-js.
    const g = readGif(readFileSync(gif));
    const a = readApng(readFileSync(apng));
    expect([g.frames.length, g.width, g.height, g.delaysMs[0], g.loops]).toEqual([5, 28, 28, 100, 0]);
    expect([a.frames.length, a.numFrames, a.width, a.height, a.delaysMs[0], a.loops]).toEqual([5, 5, 28, 28, 100, 0]);
    // The two animations hold the same grey (r = g = b) frames (grey GIF is lossless), and pngjs
    // reads the APNG's first.
    a.frames.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(g.frames[i]!)), `frame ${i}`).toBe(true));
    for (let p = 0; p < 784; p++)
      expect([a.frames[0]![p * 4 + 1], a.frames[0]![p * 4 + 2]]).toEqual([a.frames[0]![p * 4], a.frames[0]![p * 4]]);
    const first = PNG.sync.read(readFileSync(apng));
    expect(Buffer.from(first.data).equals(Buffer.from(a.frames[0]!))).toBe(true);
  });

  it('edit class-swap, inpaint, sdedit and arithmetic write PNGs and report their numbers', async () => {
    const swap = join(home, 'swap.png');
    const s = await cli(
      ['edit', 'class-swap', ...M, '--image', 'mnist:3:0', '--to-class', '8', '--cfg', '2', ...RK4, '--out', swap, '--json'],
      { home },
    );
    expect(s.code, show(s)).toBe(0);
    expect(jsonOf(s)).toMatchObject({ op: 'class-swap', cfg: 2, nfe: 80, items: [{ input: 'mnist 3/0', fromClass: 3, toClass: 8 }] });
    expect(pngSize(swap)).toEqual([2 * 30 + 2, 30 + 2]);

    const inp = await cli(
      ['edit', 'inpaint', ...M, '--image', 'mnist:3:0', '--mask-rect', '0,14,28,14', '--class', '3', '--steps', '8', '--json'],
      { home },
    );
    expect(inp.code, show(inp)).toBe(0);
    const di = jsonOf<{ nfe: number; maskedPixels: number; items: { maxAbsErrorUnmasked: number; meanAbsChangeMasked: number }[] }>(inp);
    expect(di).toMatchObject({ nfe: 16, maskedPixels: 392 });
    expect(di.items[0]!.maxAbsErrorUnmasked).toBeLessThanOrEqual(1e-5);
    expect(di.items[0]!.meanAbsChangeMasked).toBeGreaterThan(0.01);

    const sd = await cli(
      [
        'edit',
        'sdedit',
        ...M,
        '--image',
        'mnist:3:0',
        '--t0',
        '0.5',
        '--start',
        'noise',
        '--sampler',
        'sde',
        '--steps',
        '10',
        '--class',
        '3',
        '--json',
      ],
      { home },
    );
    expect(sd.code, show(sd)).toBe(0);
    expect(jsonOf(sd)).toMatchObject({ op: 'sdedit', t0: 0.5, start: 'noise', sampler: 'sde', nfe: 10 });

    const ar = join(home, 'arith.png');
    const a = await cli(
      [
        'edit',
        'arithmetic',
        ...M,
        '--a',
        'mnist:3:0',
        '--b',
        'mnist:3:1',
        '--c',
        'mnist:3:2',
        '--scale',
        '0.5',
        '--class',
        '3',
        ...RK4,
        '--out',
        ar,
        '--json',
      ],
      { home },
    );
    expect(a.code, show(a)).toBe(0);
    expect(jsonOf(a)).toMatchObject({ op: 'arithmetic', scale: 0.5, nfe: 80 });
    expect(pngSize(ar)).toEqual([4 * 30 + 2, 30 + 2]);

    const wrongFlag = await cli(['edit', 'inpaint', ...M, '--image', 'mnist:3:0', '--to-class', '3'], { home });
    expect(wrongFlag.code).toBe(2);
    expect(wrongFlag.stderr).toMatch(/--to-class \(not an option of 'edit inpaint'\)/);
  });

  it('corrupt or wrong-size image files: exit 2 naming the file, nothing stored changes', async () => {
    const db = join(home, 'flow-studio.db');
    expect(existsSync(db)).toBe(true); // the first test saved into it
    const before = snapshot(db);
    const corrupt = join(home, 'corrupt.png');
    writeFileSync(corrupt, Buffer.from(encodePng(new Uint8Array(28 * 28), 28, 28, 1)).subarray(0, 50));
    const big = join(home, 'big.png');
    writeFileSync(big, encodePng(new Uint8Array(40 * 30), 40, 30, 1));
    const runs: [string[], RegExp][] = [
      [['invert', ...M, '--image', corrupt, '--save', '--json'], /corrupt\.png/],
      [['edit', 'class-swap', ...M, '--image', 'mnist:3:0', '--image', corrupt, '--to-class', '8', '--save'], /corrupt\.png/],
      [['edit', 'class-swap', ...M, '--image', big, '--exact-size', '--to-class', '8', '--save'], /big\.png: is 40x30 pixels/],
      [['interpolate', ...M, '--from', 'mnist:3:0', '--to', corrupt, '--out', join(home, 'x.png'), '--save'], /corrupt\.png/],
      [['edit', 'inpaint', ...M, '--image', 'mnist:3:0', '--mask', join(home, 'nope.png'), '--save'], /nope\.png: no such file/],
    ];
    for (const [args, message] of runs) {
      const r = await cli(args, { home });
      expect(r.code, show(r)).toBe(2);
      if (args.includes('--json')) expect(jsonOf<{ error: { message: string } }>(r).error.message).toMatch(message);
      else expect(r.stderr).toMatch(message);
    }
    expect(snapshot(db)).toBe(before);
    expect(existsSync(join(home, 'x.png'))).toBe(false);
  });
});
