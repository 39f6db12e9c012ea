// An image model trained by the PyTorch engine, used by the studio's tfjs engine unchanged: a small
// class-conditional U-Net on MNIST trained with `flow-studio train --engine pytorch` (a real Python
// child process; skipped, with the reason printed, when there is none), then inverted (round trip
// PSNR >= 40 dB, dopri5), edited (class swap) and sampled from the command line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findTorchPython } from '../../../main/runtime/python';
import { cli, freshHome, jsonOf, show, writeJson } from './helpers';

const home = freshHome();
let reason: string | null = 'not probed';
let runId = '';

beforeAll(async () => {
  const found = await findTorchPython();
  reason = found.ok ? null : found.reason;
  if (reason) {
    console.log(`[skip] an image model trained on the PyTorch engine: ${reason}`);
    return;
  }
  const preset = JSON.parse(readFileSync(join(import.meta.dirname, '../../../resources/presets/mnist.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const config = writeJson(home, 'mnist-small.json', {
    ...preset,
    name: 'mnist small (pytorch)',
    model: { kind: 'unet', baseChannels: 8, channelMults: [1, 2], blocksPerLevel: 1, attention: false, groups: 4, timeEmbedDim: 16 },
    optim: { ...(preset.optim as object), warmupSteps: 5 },
    train: { steps: 40, batchSize: 16, checkpointEvery: 40, logEvery: 10, sampleEvery: 40, sampleCount: 20, engine: 'pytorch' },
  });
  const r = await cli(['train', '--config', config, '--json'], { home, timeoutMs: 300_000 });
  expect(r.code, show(r)).toBe(0);
  expect(jsonOf(r)).toMatchObject({ status: 'completed', step: 40, backend: 'pytorch' });
  runId = String(jsonOf<{ runId: string }>(r).runId);
}, 320_000);

describe('a U-Net trained by PyTorch, in the studio', () => {
  it('inverts MNIST digits and decodes them back at >= 40 dB PSNR (dopri5)', async (ctx) => {
    if (reason) return ctx.skip();
    const r = await cli(['invert', '--model', runId, '--image', 'mnist:3:0', '--image', 'mnist:7:1', '--class', '3', '--json'], {
      home,
      timeoutMs: 300_000,
    });
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{ latents: number[][]; images: { psnr: number; maxAbsError: number }[] }>(r);
    expect(doc.latents).toHaveLength(2);
    expect(doc.latents[0]).toHaveLength(784);
    for (const im of doc.images) {
      console.log(`round trip PSNR of a digit through the PyTorch-trained U-Net: ${im.psnr.toFixed(1)} dB`);
      expect(im.psnr).toBeGreaterThanOrEqual(40);
    }
  }, 320_000);

  it('class-swap edits and samples images (PNG files)', async (ctx) => {
    if (reason) return ctx.skip();
    const swap = join(home, 'swap.png');
    const e = await cli(
      [
        'edit',
        'class-swap',
        '--model',
        runId,
        '--image',
        'mnist:3:0',
        '--to-class',
        '8',
        '--solver',
        'rk4',
        '--steps',
        '10',
        '--out',
        swap,
        '--json',
      ],
      { home, timeoutMs: 200_000 },
    );
    expect(e.code, show(e)).toBe(0);
    expect(jsonOf(e)).toMatchObject({ op: 'class-swap', items: [{ fromClass: 3, toClass: 8 }] });
    expect(readFileSync(swap).subarray(1, 4).toString()).toBe('PNG');
    const grid = join(home, 'grid.png');
    const s = await cli(['sample', '--model', runId, '--n', '8', '--class', '5', '--solver', 'rk4', '--steps', '10', '--out', grid], {
      home,
      timeoutMs: 200_000,
    });
    expect(s.code, show(s)).toBe(0);
    expect(readFileSync(grid).subarray(1, 4).toString()).toBe('PNG');
  }, 420_000);
});
