/**
 * The API's bounded image folder check (main/data/folder-check.ts) on real folders: it stops at
 * each documented bound with a message naming the folder and the bound, decodes only the first few
 * files in load order, refuses FIFOs unread, and in its worker thread is cut off when time is up,
 * even inside a decode that no deadline check can interrupt.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, openSync, closeSync, constants as fsc, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../../core/errors';
import { decodeImage, encodePng, ImageFileError, loadImageFolder } from '../../../main/data';
import { checkImageFolder, checkImageFolderInWorker, FOLDER_CHECK_LIMITS, type FolderCheckLimits } from '../../../main/data/folder-check';
import { FolderLimitError } from '../../../main/data/types';
import { noisePng1Bit, randomBytes, tempDir } from './helpers';

const spec = (folder: string, extra: { onCorrupt?: 'skip' | 'reject'; labelsFromSubfolders?: boolean } = {}) => ({
  folder,
  size: 8,
  channels: 1 as const,
  ...extra,
});
const limits = (over: Partial<FolderCheckLimits>): FolderCheckLimits => ({ ...FOLDER_CHECK_LIMITS, ...over });
const png = (seed: number) => encodePng(randomBytes(12 * 12, seed), 12, 12, 1);

/** The error a promise rejects with (failing the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('bounds', () => {
  it('documents its limits', () => {
    expect(FOLDER_CHECK_LIMITS).toEqual({ maxEntries: 200_000, maxDepth: 16, seconds: 15, decodeFiles: 4 });
    expect(Object.isFrozen(FOLDER_CHECK_LIMITS)).toBe(true);
  });

  it('stops after maxEntries files and folders, naming the folder and the bound', async () => {
    const dir = tempDir();
    for (let i = 0; i < 30; i++) writeFileSync(join(dir, `${String(i).padStart(2, '0')}.${i % 2 ? 'png' : 'txt'}`), png(i));
    const e = await rejection(checkImageFolder(spec(dir), limits({ maxEntries: 20 })));
    expect(e).toBeInstanceOf(FolderLimitError);
    expect(e).toMatchObject({
      folder: dir,
      bound: 'entries',
      message: `image folder "${dir}" has more than 20 files and folders, the most the check lists`,
    });
    expect(await checkImageFolder(spec(dir), limits({ maxEntries: 30 }))).toMatchObject({ files: 15, decoded: 4, skipped: [] });
  });

  it('stops at a folder deeper than maxDepth (with and without class subfolders)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a', 'b', 'c'), { recursive: true });
    writeFileSync(join(dir, 'a', 'b', 'c', 'x.png'), png(1));
    const e = await rejection(checkImageFolder(spec(dir), limits({ maxDepth: 2 })));
    expect(e).toMatchObject({
      name: 'FolderLimitError',
      bound: 'depth',
      message: `image folder "${dir}": "a/b/c" is 3 folders deep; the check looks at most 2 deep`,
    });
    expect(await checkImageFolder(spec(dir), limits({ maxDepth: 3 }))).toMatchObject({ files: 1 });
    // Class subfolders are at depth 1, so their own subfolders at 2.
    const labelled = await rejection(checkImageFolder(spec(dir, { labelsFromSubfolders: true }), limits({ maxDepth: 2 })));
    expect(labelled).toMatchObject({ bound: 'depth' });
    expect(await checkImageFolder(spec(dir, { labelsFromSubfolders: true }), limits({ maxDepth: 3 }))).toMatchObject({
      files: 1,
      classes: 1,
    });
  });
});

describe('what it decides', () => {
  it('decodes only the first decodeFiles files in load order: a bad file later is left to the training load', async () => {
    const dir = tempDir();
    for (let i = 0; i < 3; i++) writeFileSync(join(dir, `a${i}.png`), png(i));
    writeFileSync(join(dir, 'z-bad.png'), 'not a picture');
    expect(await checkImageFolder(spec(dir, { onCorrupt: 'reject' }), limits({ decodeFiles: 3 }))).toEqual({
      files: 4,
      classes: 0,
      decoded: 3,
      skipped: [],
    });
    const e = await rejection(checkImageFolder(spec(dir, { onCorrupt: 'reject' }), limits({ decodeFiles: 4 })));
    expect(e).toBeInstanceOf(ImageFileError);
    expect(e).toMatchObject({ file: join(dir, 'z-bad.png'), reason: expect.stringContaining('not a PNG or JPEG') });
    // The full loader agrees that this file is bad.
    await expect(loadImageFolder({ folder: dir, size: 8, channels: 1, onCorrupt: 'reject' })).rejects.toThrow(/z-bad\.png/);
  });

  it("under 'skip', only a folder whose every file was decoded and failed is refused", async () => {
    const dir = tempDir();
    for (let i = 0; i < 3; i++) writeFileSync(join(dir, `bad${i}.png`), 'nope');
    const none = await rejection(checkImageFolder(spec(dir), limits({ decodeFiles: 4 })));
    expect(none).toBeInstanceOf(DataError);
    expect(none.message).toMatch(
      new RegExp(`^no image in "${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" could be loaded: 3 file\\(s\\) skipped`),
    );
    writeFileSync(join(dir, 'good.png'), png(7)); // after the bad ones in load order
    const partial = await checkImageFolder(spec(dir), limits({ decodeFiles: 2 }));
    expect(partial).toMatchObject({ files: 4, decoded: 2, skipped: [{ file: 'bad0.png' }, { file: 'bad1.png' }] });
  });

  it('a missing folder, a file, an empty folder: DataError naming the folder', async () => {
    const dir = tempDir();
    expect((await rejection(checkImageFolder(spec(join(dir, 'nope'))))).message).toBe(`image folder "${join(dir, 'nope')}" does not exist`);
    writeFileSync(join(dir, 'f.txt'), 'x');
    expect((await rejection(checkImageFolder(spec(join(dir, 'f.txt'))))).message).toBe(
      `image folder "${join(dir, 'f.txt')}" is not a folder`,
    );
    expect((await rejection(checkImageFolder(spec(dir)))).message).toMatch(/contains no PNG or JPEG files/);
  });

  it('a FIFO behind an image name is refused unread, by the check and by the loader (reading it would block)', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    symlinkSync(fifo, join(dir, 'a.png'));
    writeFileSync(join(dir, 'b.png'), png(3));
    try {
      expect(await checkImageFolder(spec(dir))).toMatchObject({
        files: 2,
        decoded: 2,
        skipped: [{ file: 'a.png', reason: 'not a regular file' }],
      });
      const ds = await loadImageFolder({ folder: dir, size: 8, channels: 1, onCorrupt: 'skip' });
      expect(ds.count).toBe(1);
      expect(ds.skipped).toEqual([{ file: 'a.png', reason: 'not a regular file' }]);
    } finally {
      // Should a reader have opened the FIFO after all, a writer that opens and closes it releases it.
      try {
        closeSync(openSync(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK));
      } catch {
        // no reader: nothing is blocked
      }
    }
  });
});

describe('in its own worker thread', () => {
  it('answers as in-process, and errors arrive as the same classes with their fields', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'cats'));
    mkdirSync(join(dir, 'dogs'));
    writeFileSync(join(dir, 'cats', 'c.png'), png(1));
    writeFileSync(join(dir, 'dogs', 'd.png'), png(2));
    writeFileSync(join(dir, 'dogs', 'e.png'), 'broken');
    const s = spec(dir, { labelsFromSubfolders: true });
    expect(await checkImageFolderInWorker(s)).toEqual(await checkImageFolder(s));
    const bad = await rejection(checkImageFolderInWorker({ ...s, onCorrupt: 'reject' }));
    expect(bad).toBeInstanceOf(ImageFileError);
    expect(bad).toMatchObject({ file: join(dir, 'dogs', 'e.png') });
    const bound = await rejection(checkImageFolderInWorker(s, limits({ maxEntries: 2 })));
    expect(bound).toBeInstanceOf(FolderLimitError);
    expect(bound).toMatchObject({ folder: dir, bound: 'entries' });
  });

  it('is terminated when the seconds run out, even inside one long decode', async () => {
    const dir = tempDir();
    const big = noisePng1Bit(6000, 5000, 9); // 30 megapixels
    writeFileSync(join(dir, 'big.png'), big);
    // The reference: this one decode takes longer than the bound below, in this thread.
    const t0 = performance.now();
    decodeImage(big, 'big.png', { size: 8, channels: 1 });
    const decodeMs = performance.now() - t0;
    const seconds = 0.3;
    const t1 = performance.now();
    const e = await rejection(checkImageFolderInWorker(spec(dir), limits({ seconds })));
    const elapsed = performance.now() - t1;
    expect(e).toBeInstanceOf(FolderLimitError);
    expect(e).toMatchObject({
      folder: dir,
      bound: 'seconds',
      message: `image folder "${dir}": the check took longer than ${seconds} s, its limit (a slow or network drive?)`,
    });
    // Cut off: the answer came sooner than the worker's decode alone could have finished, though its
    // time also holds the worker's start and the file's read.
    expect(elapsed).toBeLessThan(decodeMs);
  });
});
