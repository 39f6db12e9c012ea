/**
 * The latent studio through the contract (StudioService -> compute worker -> main/latent) on the
 * shipped MNIST model: requests validated, progress events under the caller's taskId, cancellation,
 * results saved as artifacts of a "Latent studio" run, and bad image bytes refused by name with
 * nothing stored lost. The numerics of main/latent are tested in test/main/latent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { freshStudio } from './helpers';
import type { InvertResult, LatentImage } from '../../../common/latent';
import type { TaskEvent } from '../../../common/contract';

let studio: ReturnType<typeof freshStudio>;
const tasks: TaskEvent[] = [];
beforeAll(() => {
  studio = freshStudio();
  studio.service.onEvent((stream, e) => stream === 'task' && tasks.push(e as TaskEvent));
});
afterAll(async () => {
  await studio.dispose();
});

describe('latent studio over the contract', () => {
  it('offers the shipped model', async () => {
    const models = await studio.call('latentModels', {});
    expect(models).toContainEqual(expect.objectContaining({ spec: 'shipped:mnist', kind: 'shipped', shape: [28, 28, 1], numClasses: 10 }));
  });

  it('picks a digit, inverts it with progress events, and decodes it back', async () => {
    const img = (await studio.call('latentRun', {
      model: 'shipped:mnist',
      task: { op: 'pick', source: { kind: 'dataset', classId: 3, index: 0 } },
    })) as LatentImage;
    expect(img.shape).toEqual([28, 28, 1]);
    expect(img.label).toBe(3);
    const inv = (await studio.call('latentRun', {
      model: 'shipped:mnist',
      taskId: 'inv-1',
      task: { op: 'invert', request: { images: [img], classLabel: 3, solver: { method: 'rk4', steps: 12 } } },
    })) as InvertResult;
    const item = inv.items[0]!;
    expect(item.latent.length).toBe(784);
    // The reconstruction PNG decodes to the reconstruction's pixels (byte = round((x + 1) * 127.5)).
    const png = PNG.sync.read(Buffer.from(item.reconstructionPng, 'base64'));
    expect([png.width, png.height]).toEqual([28, 28]);
    const px = (i: number) => png.data[i * 4]!;
    for (const i of [0, 100, 400, 783])
      expect(Math.abs(px(i) - Math.round((Math.min(1, Math.max(-1, item.reconstruction[i]!)) + 1) * 127.5))).toBeLessThanOrEqual(1);
    // PSNR is 10 log10(4 / MSE) against the input.
    const mse = img.pixels.reduce((s, v, i) => s + (v - item.reconstruction[i]!) ** 2, 0) / 784;
    expect(item.error.psnr).toBeCloseTo(10 * Math.log10(4 / mse), 4);
    const mine = tasks.filter((t) => t.taskId === 'inv-1');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.at(-1)!.fraction).toBe(1);
    for (let k = 1; k < mine.length; k++) expect(mine[k]!.fraction).toBeGreaterThanOrEqual(mine[k - 1]!.fraction);

    const before = studio.service.store.listRuns().length;
    const saved = await studio.call('latentSave', { model: 'shipped:mnist', result: { kind: 'invert', result: inv } });
    expect(saved.artifacts.length).toBeGreaterThanOrEqual(2);
    expect(studio.service.store.listRuns().length).toBe(before + 1);
    const art = studio.service.store.getArtifact(saved.artifacts[0]!.id);
    expect(art.runId).toBe(saved.runId);
    const files = await studio.call('latentExport', { result: { kind: 'invert', result: inv } });
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(saved.artifacts.map((a) => a.name)));

    // The store keeps them in a holder run, but the Runs list shows trained runs only; the Latent
    // view lists the saved files of the model instead.
    expect((await studio.call('listRuns', {})).map((r) => r.id)).not.toContain(saved.runId);
    const kept = await studio.call('latentSaved', { model: 'shipped:mnist' });
    expect(kept.runId).toBe(saved.runId);
    expect(kept.artifacts.map((a) => a.name)).toEqual(saved.artifacts.map((a) => a.name));
  }, 120_000);

  it('request errors are sentences: no method name, no dotted path, no zod wording', async () => {
    const bad = await studio.service.call('latentRun', {
      model: 'shipped:mnist',
      task: { op: 'pick', source: { kind: 'dataset', classId: 12, index: 0 } },
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid', field: 'task.source.classId' } });
    if (!bad.ok) {
      expect(bad.error.message).toMatch(/^Class /);
      expect(bad.error.message).not.toMatch(/latentRun|task\.|classId|expected|Too big|<=/);
    }
  });

  it('a running task can be cancelled by its id', async () => {
    const img = (await studio.call('latentRun', {
      model: 'shipped:mnist',
      task: { op: 'pick', source: { kind: 'dataset', classId: 1, index: 2 } },
    })) as LatentImage;
    const running = studio.service.call('latentRun', {
      model: 'shipped:mnist',
      taskId: 'sweep-1',
      task: { op: 'nfe-sweep', request: { images: [img], steps: [50, 100, 200], tolerances: [] } },
    });
    await new Promise<void>((resolve) => {
      const off = studio.service.onEvent((s, e) => s === 'task' && (e as TaskEvent).taskId === 'sweep-1' && (off(), resolve()));
    });
    expect(await studio.call('latentCancel', { taskId: 'sweep-1' })).toEqual({ cancelled: true });
    expect(await running).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(await studio.call('latentCancel', { taskId: 'sweep-1' })).toEqual({ cancelled: false });
  }, 120_000);

  it('refuses host paths, and names a corrupt upload without losing stored runs', async () => {
    const path = await studio.service.call('latentRun', {
      model: 'shipped:mnist',
      task: { op: 'pick', source: { kind: 'file', path: '/etc/passwd' } },
    });
    expect(path).toMatchObject({ ok: false, error: { code: 'invalid' } });
    const runs = studio.service.store.listRuns().map((r) => r.id);
    const bad = await studio.service.call('latentRun', {
      model: 'shipped:mnist',
      task: {
        op: 'pick',
        source: { kind: 'bytes', name: 'scan-7.png', base64: Buffer.from('\x89PNG\r\n\x1a\n garbage').toString('base64') },
      },
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid' } });
    if (!bad.ok) expect(bad.error.message).toContain('scan-7.png');
    expect(studio.service.store.listRuns().map((r) => r.id)).toEqual(runs);
    const model = await studio.service.call('latentRun', {
      model: 'shipped:nope',
      task: { op: 'pick', source: { kind: 'dataset', classId: 1, index: 0 } },
    });
    expect(model.ok).toBe(false);
  }, 60_000);
});
