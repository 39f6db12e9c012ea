import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CancelledError, DataError } from '../../../core/errors';
import { encodePng, ImageFileError, loadImageData, loadImageFolder } from '../../../main/data';
import { gradientRgba, jpegBytes, randomBytes, tempDir, toBytes } from './helpers';

/** A grey PNG of one value. */
const flatPng = (value: number, side = 10) => encodePng(new Uint8Array(side * side).fill(value), side, side, 1);

/**
 * 3 good files (grey PNG, RGB JPEG, upper-case .PNG of another size), 3 bad ones (truncated PNG,
 * random bytes named .png, zero bytes), and files that are not images or are hidden.
 */
function mixedFolder(): string {
  const dir = tempDir();
  const good = flatPng(200, 12);
  writeFileSync(join(dir, 'a.png'), good);
  writeFileSync(join(dir, 'b.jpg'), jpegBytes(gradientRgba(20, 16), 20, 16));
  writeFileSync(join(dir, 'c.PNG'), encodePng(randomBytes(40 * 40 * 3, 4), 40, 40, 3));
  writeFileSync(join(dir, 'trunc.png'), good.subarray(0, good.length - 20));
  writeFileSync(join(dir, 'random.png'), randomBytes(500, 8));
  writeFileSync(join(dir, 'empty.png'), new Uint8Array(0));
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  writeFileSync(join(dir, '._a.png'), randomBytes(100, 9)); // macOS AppleDouble junk: hidden, ignored
  return dir;
}

describe('loadImageFolder', () => {
  it("with 'skip' loads the good files and lists the bad ones with reasons", async () => {
    const dir = mixedFolder();
    const ds = await loadImageFolder({ folder: dir, size: 28, channels: 1, onCorrupt: 'skip' });
    expect(ds.count).toBe(3);
    expect(ds.names).toEqual(['a.png', 'b.jpg', 'c.PNG']);
    expect([ds.height, ds.width, ds.channels, ds.numClasses, ds.labels]).toEqual([28, 28, 1, 0, null]);
    expect(ds.images.length).toBe(3 * 28 * 28);
    expect(ds.images.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(toBytes(ds.images.subarray(0, 784)).every((p) => p === 200)).toBe(true); // a constant picture stays constant
    expect(ds.skipped.map((s) => s.file)).toEqual(['empty.png', 'random.png', 'trunc.png']);
    expect(ds.skipped[0]!.reason).toBe('empty file (0 bytes)');
    expect(ds.skipped[1]!.reason).toMatch(/^not a PNG or JPEG/);
    expect(ds.skipped[2]!.reason).toMatch(/^truncated PNG/);
  });

  it("with 'reject' throws an ImageFileError naming the first bad file and why", async () => {
    const dir = mixedFolder();
    const e = await loadImageFolder({ folder: dir, size: 28, channels: 1, onCorrupt: 'reject' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImageFileError);
    expect(e).toBeInstanceOf(DataError);
    expect((e as ImageFileError).file).toBe(join(dir, 'empty.png'));
    expect((e as Error).message).toBe(`${join(dir, 'empty.png')}: empty file (0 bytes)`);
  });

  it('loads RGB at 32x32, replicating grey pictures', async () => {
    const dir = mixedFolder();
    const ds = await loadImageFolder({ folder: dir, size: 32, channels: 3, onCorrupt: 'skip' });
    expect(ds.images.length).toBe(3 * 32 * 32 * 3);
    expect(toBytes(ds.images.subarray(0, 32 * 32 * 3)).every((p) => p === 200)).toBe(true);
  });

  it('labels images by sorted subfolder names, round-robin over classes', async () => {
    const dir = tempDir();
    for (const [cls, n, value] of [
      ['dogs', 3, 30],
      ['cats', 2, 220],
    ] as const) {
      mkdirSync(join(dir, cls));
      for (let i = 0; i < n; i++) writeFileSync(join(dir, cls, `${i}.png`), flatPng(value));
    }
    mkdirSync(join(dir, 'cats', 'kittens'));
    writeFileSync(join(dir, 'cats', 'kittens', 'k.jpeg'), jpegBytes(new Uint8Array(8 * 8 * 4).fill(220), 8, 8));
    mkdirSync(join(dir, 'notes'));
    writeFileSync(join(dir, 'notes', 'readme.txt'), 'no images here');
    writeFileSync(join(dir, 'stray.png'), flatPng(0));

    const ds = await loadImageFolder({ folder: dir, size: 28, channels: 1, onCorrupt: 'reject', labelsFromSubfolders: true });
    expect(ds.classNames).toEqual(['cats', 'dogs']);
    expect(ds.numClasses).toBe(2);
    expect(ds.names).toEqual(['cats/0.png', 'dogs/0.png', 'cats/1.png', 'dogs/1.png', 'cats/kittens/k.jpeg', 'dogs/2.png']);
    expect(Array.from(ds.labels!)).toEqual([0, 1, 0, 1, 0, 1]);
    // each image's pixels match its class's value
    for (let k = 0; k < ds.count; k++) {
      const mean = toBytes(ds.images.subarray(k * 784, (k + 1) * 784)).reduce((a, b) => a + b, 0) / 784;
      expect(Math.abs(mean - (ds.labels![k] === 0 ? 220 : 30))).toBeLessThan(3);
    }
    // a stray top-level image is reported but does not make 'reject' fail
    expect(ds.skipped).toEqual([{ file: 'stray.png', reason: 'not inside a class subfolder (labelsFromSubfolders is on)' }]);

    const limited = await loadImageFolder({ folder: dir, size: 28, channels: 1, onCorrupt: 'skip', labelsFromSubfolders: true, limit: 2 });
    expect(Array.from(limited.labels!)).toEqual([0, 1]);
    expect(limited.images.length).toBe(2 * 784);

    const flat = await loadImageFolder({ folder: dir, size: 28, channels: 1, onCorrupt: 'skip' });
    expect(flat.labels).toBeNull();
    expect(flat.count).toBe(7);
    expect(flat.names).toEqual(['cats/0.png', 'cats/1.png', 'cats/kittens/k.jpeg', 'dogs/0.png', 'dogs/1.png', 'dogs/2.png', 'stray.png']);
  });

  it('fills the limit past skipped files', async () => {
    const dir = mixedFolder();
    const ds = await loadImageFolder({ folder: dir, size: 28, channels: 1, onCorrupt: 'skip', limit: 2 });
    expect(ds.names).toEqual(['a.png', 'b.jpg']);
    expect(ds.images.length).toBe(2 * 784);
  });

  it('names the folder when it is missing, a file, empty, or has no loadable image', async () => {
    const dir = tempDir();
    const load = (folder: string, extra = {}) => loadImageFolder({ folder, size: 28, channels: 1, onCorrupt: 'skip', ...extra });
    const missing = join(dir, 'nope');
    await expect(load(missing)).rejects.toThrow(new DataError(`image folder "${missing}" does not exist`));
    writeFileSync(join(dir, 'file.png'), flatPng(1));
    await expect(load(join(dir, 'file.png'))).rejects.toThrow(`image folder "${join(dir, 'file.png')}" is not a folder`);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expect(load(empty)).rejects.toThrow(`image folder "${empty}" contains no PNG or JPEG files`);
    writeFileSync(join(empty, 'a.txt'), 'x');
    await expect(load(empty)).rejects.toThrow(DataError);
    await expect(load(empty, { labelsFromSubfolders: true })).rejects.toThrow(
      `image folder "${empty}" has no subfolders with PNG or JPEG files`,
    );
    writeFileSync(join(empty, 'bad.jpg'), randomBytes(64, 1));
    await expect(load(empty)).rejects.toThrow(
      `no image in "${empty}" could be loaded: 1 file(s) skipped (first: bad.jpg: not a PNG or JPEG`,
    );
  });

  it('treats files over maxFileBytes as corrupt without reading them', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'big.png'), flatPng(9, 64));
    writeFileSync(join(dir, 'small.png'), flatPng(9, 4));
    const ds = await loadImageFolder({ folder: dir, size: 28, channels: 1, onCorrupt: 'skip', maxFileBytes: 100 });
    expect(ds.names).toEqual(['small.png']);
    expect(ds.skipped[0]!.file).toBe('big.png');
    expect(ds.skipped[0]!.reason).toMatch(/^file is \d+ bytes; the largest accepted is 100$/);
  });

  it('reports progress and stops when aborted', async () => {
    const dir = mixedFolder();
    const seen: [number, number][] = [];
    await loadImageFolder({ folder: dir, size: 28, channels: 1, onCorrupt: 'skip', onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6].map((d) => [d, 6]));

    const ac = new AbortController();
    const run = loadImageFolder({
      folder: dir,
      size: 28,
      channels: 1,
      onCorrupt: 'skip',
      signal: ac.signal,
      onProgress: (d) => d === 2 && ac.abort(),
    });
    await expect(run).rejects.toThrow(CancelledError);
  });

  it('loads through the experiment data spec', async () => {
    const dir = mixedFolder();
    const ds = await loadImageData({ kind: 'images', folder: dir, size: 32, channels: 3, onCorrupt: 'skip' });
    expect([ds.count, ds.channels, ds.height]).toEqual([3, 3, 32]);
  });
});
