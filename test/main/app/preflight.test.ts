/**
 * createRun's checks (main/app/preflight.ts) through the real service: the image folder check
 * runs in its own short-lived worker, so the compute worker (sampling, fields, settings for every
 * page) answers while a slow folder is being checked; errors name the field; a good folder creates
 * the run; the other checks (validateTrainSpec, the reflow parent) still hold.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preflight } from '../../../main/app/preflight';
import { FOLDER_CHECK_LIMITS } from '../../../main/data/folder-check';
import { parseExperiment } from '../../../common/config';
import { noisePng1Bit, tempDir } from '../data/helpers';
import { tinyMoons } from '../training/helpers';
import { freshStudio } from '../studio/helpers';

let studio: ReturnType<typeof freshStudio>;
beforeAll(() => {
  studio = freshStudio();
});
afterAll(async () => {
  await studio.dispose();
});

const imagesConfig = (folder: string, onCorrupt: 'skip' | 'reject' = 'skip') => ({
  ...tinyMoons(),
  data: { kind: 'images', folder, size: 28, channels: 1, onCorrupt },
  model: { kind: 'unet' },
});

describe('createRun checks an image folder off the compute worker', () => {
  it('the compute worker answers while a slow folder is being checked; the run is then created', async () => {
    const dir = tempDir();
    // Two large pictures: decoding each takes long enough to be seen (the check decodes both).
    writeFileSync(join(dir, 'a.png'), noisePng1Bit(4000, 3000, 1));
    writeFileSync(join(dir, 'b.png'), noisePng1Bit(4000, 3000, 2));
    await studio.call('settings', {}); // the compute worker is up
    let created = 0;
    const t0 = performance.now();
    const create = studio.service.call('createRun', { config: imagesConfig(dir), name: 'slow folder', start: false }).then((env) => {
      created = performance.now() - t0;
      return env;
    });
    const settings = await studio.call('settings', {});
    const answered = performance.now() - t0;
    expect(settings.backend.name).toBeTruthy();
    const env = await create;
    expect(env.ok, JSON.stringify(env)).toBe(true);
    // Before this change the check ran in the compute worker, one request at a time, so settings
    // waited for the whole check.
    expect(answered).toBeLessThan(created);
    if (env.ok) expect((env.value as { name: string }).name).toBe('slow folder');
  });

  it('a corrupt first file under reject, or an empty folder, is refused by field and stores nothing', async () => {
    const before = (await studio.call('listRuns', {})).length;
    const dir = tempDir();
    writeFileSync(join(dir, 'a.png'), 'not a picture');
    const bad = await studio.service.call('createRun', { config: imagesConfig(dir, 'reject') });
    expect(bad).toMatchObject({
      ok: false,
      error: { code: 'invalid', field: 'data.folder', message: expect.stringContaining(join(dir, 'a.png')) },
    });
    const empty = await studio.service.call('createRun', { config: imagesConfig(tempDir()) });
    expect(empty).toMatchObject({
      ok: false,
      error: { code: 'invalid', field: 'data.folder', message: expect.stringContaining('contains no PNG or JPEG files') },
    });
    expect((await studio.call('listRuns', {})).length).toBe(before);
  });
});

describe('preflight', () => {
  const parse = (input: unknown) => {
    const p = parseExperiment(input);
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    return p.value;
  };

  it('a bound of the folder check is refused on the folder field, naming the bound', async () => {
    const dir = tempDir();
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, `${i}.txt`), 'x');
    await expect(
      preflight(studio.service.store, parse(imagesConfig(dir)), { ...FOLDER_CHECK_LIMITS, maxEntries: 3 }),
    ).rejects.toMatchObject({
      field: 'data.folder',
      message: `data.folder: image folder "${dir}" has more than 3 files and folders, the most the check lists`,
    });
  });

  it('still refuses combinations validateTrainSpec refuses, and a reflow parent without a run', async () => {
    await expect(preflight(studio.service.store, parse({ ...tinyMoons(), reflow: { from: '01NOSUCHRUN' } }))).rejects.toMatchObject({
      field: 'reflow.from',
    });
    await expect(preflight(studio.service.store, parse(tinyMoons()))).resolves.toBeUndefined();
  });
});
