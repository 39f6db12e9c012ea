import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors';
import { clearMnistCache, loadImageData, loadMnist, mnistClassCounts, mnistDigit, mnistDigitsDir } from '../../../main/data';

// The package's own files, read independently of the loader, are the expected answers.
const raw = Array.from(
  { length: 10 },
  (_, d) => (JSON.parse(readFileSync(join(mnistDigitsDir(), `${d}.json`), 'utf8')) as { data: number[] }).data,
);
const counts = raw.map((r) => r.length / 784);
const total = counts.reduce((a, b) => a + b, 0);

describe('loadMnist', () => {
  it('loads every image of the package with labels 0-9, 28x28x1 in [-1, 1]', () => {
    clearMnistCache();
    const t0 = performance.now();
    const ds = loadMnist();
    const cold = performance.now() - t0;
    const t1 = performance.now();
    loadMnist();
    const warm = performance.now() - t1;
    console.log(`MNIST: ${ds.count} images, cold load ${cold.toFixed(0)} ms, cached ${warm.toFixed(0)} ms`);

    expect(ds.count).toBe(total);
    expect([ds.height, ds.width, ds.channels, ds.numClasses]).toEqual([28, 28, 1, 10]);
    expect(ds.images.length).toBe(total * 784);
    expect(ds.labels!.length).toBe(total);
    expect(ds.names!.length).toBe(total);
    expect(ds.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(ds.skipped).toEqual([]);

    const perClass = new Array<number>(10).fill(0);
    for (const l of ds.labels!) perClass[l]!++;
    expect(perClass).toEqual(counts);
    expect(perClass.reduce((a, b) => a + b, 0)).toBe(ds.count);
    expect(mnistClassCounts()).toEqual(counts);

    let min = Infinity;
    let max = -Infinity;
    for (const v of ds.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(-1);
    expect(max).toBe(1);
  });

  it('keeps each image intact: image k of a digit is 2 v - 1 of the JSON values', () => {
    const ds = loadMnist();
    const k = ds.names!.indexOf('3/5');
    expect(ds.labels![k]).toBe(3);
    const expected = raw[3]!.slice(5 * 784, 6 * 784).map((v) => Math.fround(v * 2 - 1));
    expect(Array.from(ds.images.subarray(k * 784, (k + 1) * 784))).toEqual(expected);
  });

  it('orders images round-robin over digits, so a limit is class-balanced', () => {
    const ds = loadMnist({ limit: 100 });
    expect(ds.count).toBe(100);
    expect(Array.from(ds.labels!.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    const perClass = new Array<number>(10).fill(0);
    for (const l of ds.labels!) perClass[l]!++;
    expect(perClass).toEqual(new Array<number>(10).fill(10));
  });

  it('filters digits and keeps the digits as labels', () => {
    const ds = loadMnist({ digits: [7, 3] });
    expect(ds.count).toBe(counts[3]! + counts[7]!);
    expect(new Set(ds.labels)).toEqual(new Set([3, 7]));
    expect(ds.numClasses).toBe(10);
    expect(ds.images.length).toBe(ds.count * 784);
  });

  it('returns arrays the caller owns', () => {
    const a = loadMnist({ limit: 1 });
    a.images.fill(0);
    expect(loadMnist({ limit: 1 }).images[0]).toBe(-1);
  });

  it('rejects bad options naming the field', () => {
    expect(() => loadMnist({ digits: [1, 11] })).toThrow(ConfigError);
    expect(() => loadMnist({ digits: [1, 11] })).toThrow(/digits\[1\]/);
    expect(() => loadMnist({ digits: [] })).toThrow(/digits/);
    expect(() => loadMnist({ limit: 0 })).toThrow(/limit/);
  });

  it('loads through the experiment data spec', async () => {
    const ds = await loadImageData({ kind: 'mnist', digits: [0] }, { limit: 5 });
    expect(ds.count).toBe(5);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('mnistDigit', () => {
  it('picks one image by class and index', () => {
    const img = mnistDigit(9, counts[9]! - 1);
    expect([img.height, img.width, img.channels, img.label]).toEqual([28, 28, 1, 9]);
    const i = counts[9]! - 1;
    expect(Array.from(img.data)).toEqual(raw[9]!.slice(i * 784, (i + 1) * 784).map((v) => Math.fround(v * 2 - 1)));
  });

  it('rejects a class or index out of range, naming it', () => {
    expect(() => mnistDigit(10, 0)).toThrow(/classId/);
    expect(() => mnistDigit(2, counts[2]!)).toThrow(new RegExp(`index: must be an integer in \\[0, ${counts[2]}\\)`));
    expect(() => mnistDigit(2, -1)).toThrow(ConfigError);
    expect(() => mnistDigit(2, 0.5)).toThrow(ConfigError);
  });
});
