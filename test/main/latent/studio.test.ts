// The latent studio on the shipped class-conditional MNIST U-Net (resources/models/mnist), checked
// against references that do not go through main/latent: core encode/decode and logLikelihood
// called directly, host arithmetic on the returned latents, and the project's MNIST classifier
// (trained once for this file on its fixed 8000-digit split) as the judge of class swaps.
//
// Bounds, and why:
// - dopri5 (rtol = atol = 1e-5) round trip: PSNR >= 40 dB (the bar; measured 60-73 dB).
// - latent of a dataset image, per image: |mean| <= 0.1 and 0.85 <= std <= 1.1. For an exact flow the
//   784 entries would be i.i.d. N(0, 1): the mean has standard error 1/28 = 0.036 (0.1 is ~3 SE) and
//   the std ~1/sqrt(2 * 784) = 0.025. This small model (3750 steps) contracts latents a little
//   (measured std 0.91-1.00), hence the wider lower bound; pooled over the images, |mean| <= 0.05.
// - slerp: every frame's norm between the two end norms (+-1%) and within 15% of sqrt(d) = 28 (with
//   rk4 at 20 steps the end latents measure 0.87 and 0.95 sqrt(d)), while lerp's midpoint sags to
//   |z_a + z_b| / 2 (0.65 sqrt(d) here; sqrt(d / 2) for independent latents).
// - bits/dim: between 0.5 and 3 with dopri5 (measured ~1.3 for a "1"; fixed-step solves with few
//   steps get the divergence integral wrong, even negative).
// - inpainting: unmasked pixels within 1e-5 of the original (the known region is reset to x1 at the
//   last step; float32 blend round-off is ~1e-7).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { tf } from '../../../core/tf';
import { CancelledError, ShapeError } from '../../../core/errors';
import { decode, encode } from '../../../core/inversion/encode';
import { logLikelihood } from '../../../core/likelihood/likelihood';
import { bitsPerDim, dequantize } from '../../../core/likelihood/bpd';
import type { Classifier } from '../../../core/eval/classifier';
import { encodePng, ImageFileError, unitToByte } from '../../../main/data';
import { shippedModel } from '../../../main/models/shipped';
import { shippedModelsDir } from '../../../main/runtime/resources';
import type { LoadedModel } from '../../../main/models/load';
import { trainMnistClassifier } from '../../../main/eval/mnist-quality';
import { RunStore } from '../../../main/store';
import { SDEDIT_DEFAULT_T0 } from '../../../common/latent';
import {
  classSwap,
  inpaint,
  interpolateImages,
  invertImage,
  invertImages,
  latentArithmetic,
  pickImage,
  reconstructionVsNfe,
  resultFiles,
  runLatentTask,
  saveArtifacts,
  sdedit,
  sharedCancel,
  type InvertResult,
  type LatentImage,
  type LatentProgress,
} from '../../../main/latent';

const shipped = existsSync(join(shippedModelsDir(), 'mnist', 'model.json'));

let model: LoadedModel;
let clf: Classifier;
let digits: LatentImage[];
let inverted: InvertResult;
let tensorsBefore = 0;
const dir = mkdtempSync(join(tmpdir(), 'latent-'));

const predict = (images: number[][]): number[] => {
  const x = tf.tensor(images.flat(), [images.length, 28, 28, 1]);
  try {
    return Array.from(clf.predict(x));
  } finally {
    x.dispose();
  }
};

describe.skipIf(!shipped)('latent studio on the shipped MNIST model', () => {
  beforeAll(async () => {
    tensorsBefore = tf.memory().numTensors;
    model = shippedModel('mnist');
    clf = trainMnistClassifier(1).classifier;
    digits = await Promise.all([3, 7, 1, 5].map((c, i) => pickImage(model, { kind: 'dataset', classId: c, index: i })));
  });
  afterAll(() => {
    model?.dispose();
    clf?.dispose();
    rmSync(dir, { recursive: true, force: true });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('picks images: dataset digits, PNG files (resized), pixels; bad files and sizes are refused by name', async () => {
    expect(digits[0]).toMatchObject({ shape: [28, 28, 1], label: 3, source: 'mnist 3/0' });
    expect(predict(digits.map((d) => d.pixels))).toEqual([3, 7, 1, 5]);
    // A 56x56 PNG of the digit (each pixel doubled) comes back as the digit: box filter of 2x2 blocks.
    const big = new Uint8Array(56 * 56);
    for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) big[y * 56 + x] = unitToByte(digits[0]!.pixels[(y >> 1) * 28 + (x >> 1)]!);
    const file = join(dir, 'three.png');
    writeFileSync(file, encodePng(big, 56, 56, 1));
    const img = await pickImage(model, { kind: 'file', path: file });
    img.pixels.forEach((v, i) => expect(Math.abs(v - digits[0]!.pixels[i]!)).toBeLessThan(1 / 127.5 + 1e-6));
    await expect(pickImage(model, { kind: 'file', path: file, exactSize: true })).rejects.toThrow(
      /three\.png: is 56x56 pixels; .* takes 28x28/,
    );
    const corrupt = join(dir, 'corrupt.png');
    writeFileSync(corrupt, Buffer.concat([Buffer.from(encodePng(big, 56, 56, 1)).subarray(0, 60)]));
    await expect(pickImage(model, { kind: 'file', path: corrupt })).rejects.toThrow(ImageFileError);
    await expect(pickImage(model, { kind: 'file', path: corrupt })).rejects.toThrow(/corrupt\.png/);
    await expect(pickImage(model, { kind: 'file', path: join(dir, 'missing.png') })).rejects.toThrow(/missing\.png: no such file/);
    await expect(pickImage(model, { kind: 'bytes', name: 'drop.jpg', base64: Buffer.from('hello').toString('base64') })).rejects.toThrow(
      /drop\.jpg: not a PNG or JPEG/,
    );
    await expect(pickImage(model, { kind: 'pixels', pixels: [0, 1, 2] })).rejects.toThrow(ShapeError);
    const bytes = await pickImage(model, { kind: 'pixels', pixels: new Array(784).fill(255), range: 'byte' });
    expect(bytes.pixels.every((v) => v === 1)).toBe(true);
    const viaTask = await runLatentTask(model, { op: 'pick', source: { kind: 'dataset', classId: 3, index: 0 } });
    expect(viaTask.pixels).toEqual(digits[0]!.pixels);
    const drawn = await pickImage(model, { kind: 'sample', classLabel: 4, seed: 2, solver: { method: 'heun', steps: 2 } });
    expect(drawn).toMatchObject({ shape: [28, 28, 1], label: 4, source: 'sample class 4 seed 2' });
    expect(drawn.pixels).toHaveLength(784);
    await expect(pickImage(model, { kind: 'dataset', classId: 3, index: 1e6 })).rejects.toThrow(/source\.index/);
  });

  it('requests are parsed by their schema, and checked against the model, before anything is solved; errors name the field', async () => {
    const calls = tf.memory().numTensors;
    // What the schema knows (common/latent.ts): the same checks the contract and the worker make.
    await expect(interpolateImages(model, { a: digits[0]!, b: digits[1]!, frames: 1 })).rejects.toThrow(
      /^frames: must be an integer in \[2, 256\], got 1$/,
    );
    await expect(invertImages(model, { images: [digits[0]!], solver: { method: 'rk4' } })).rejects.toMatchObject({ field: 'solver.steps' });
    await expect(pickImage(model, { kind: 'dataset', classId: 12, index: 0 })).rejects.toThrow(
      /^source\.classId: must be a digit 0\.\.9, got 12$/,
    );
    // What only the model knows: its class count, its time range, its image size.
    await expect(classSwap(model, { images: [digits[0]!], toClass: 12 })).rejects.toThrow(
      /^toClass: must be a class in \[0, 9\] or null, got 12$/,
    );
    await expect(sdedit(model, { images: [digits[0]!], t0: 1 })).rejects.toMatchObject({ field: 't0' });
    await expect(invertImages(model, { images: [{ ...digits[0]!, pixels: [0, 0.5] }] })).rejects.toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(calls);
  });

  it('invert + decode with dopri5 reconstructs to PSNR >= 40 dB; latents ~ N(0, I) within the stated bounds', async () => {
    const progress: LatentProgress[] = [];
    inverted = await invertImages(model, { images: digits, classLabel: [3, 7, 1, 5] }, { onProgress: (p) => progress.push(p) });
    // Reference: the same solve through core directly.
    const x = tf.tensor(
      digits.flatMap((d) => d.pixels),
      [4, 28, 28, 1],
    );
    const cond = tf.tensor1d([3, 7, 1, 5], 'int32');
    const z = encode(model.field(0), x, { method: 'dopri5', rtol: 1e-5, atol: 1e-5, cond });
    const zHost = z.x.dataSync();
    const lat = inverted.items.flatMap((it) => it.latent);
    expect(Math.max(...lat.map((v, i) => Math.abs(v - zHost[i]!)))).toBeLessThan(1e-5);
    tf.dispose([x, cond, z.x]);
    expect(inverted.encode.method).toBe('dopri5');
    expect(inverted.encode.nfe).toBeGreaterThan(20);
    const pooled: number[] = [];
    for (const it of inverted.items) {
      console.log(
        `${it.source}: PSNR ${it.error.psnr.toFixed(1)} dB, max abs ${it.error.maxAbsError.toFixed(4)}, mean ${it.stats.mean.toFixed(3)}, std ${it.stats.std.toFixed(3)}, KS ${it.stats.ks.toFixed(3)}`,
      );
      expect(it.error.psnr).toBeGreaterThanOrEqual(40);
      // Independent PSNR from the returned arrays.
      const mse = it.reconstruction.reduce((s, v, i) => s + (v - digits[inverted.items.indexOf(it)]!.pixels[i]!) ** 2, 0) / 784;
      expect(it.error.psnr).toBeCloseTo(10 * Math.log10(4 / mse), 6);
      expect(Math.abs(it.stats.mean)).toBeLessThanOrEqual(0.1);
      expect(it.stats.std).toBeGreaterThanOrEqual(0.85);
      expect(it.stats.std).toBeLessThanOrEqual(1.1);
      expect(it.stats.normRatio).toBeCloseTo(Math.sqrt(it.latent.reduce((s, v) => s + v * v, 0) / 784), 9);
      pooled.push(...it.latent);
      expect(PNG.sync.read(Buffer.from(it.reconstructionPng, 'base64')).width).toBe(28);
    }
    expect(Math.abs(pooled.reduce((s, v) => s + v, 0) / pooled.length)).toBeLessThanOrEqual(0.05);
    expect(progress.length).toBeGreaterThan(10);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.fraction).toBeGreaterThanOrEqual(progress[i - 1]!.fraction);
    expect(progress.at(-1)!.fraction).toBe(1);
  });

  it('reconstruction error falls as the NFE grows, for every fixed-step solver', async () => {
    const r = await reconstructionVsNfe(model, {
      images: digits.slice(0, 2),
      classLabel: [3, 7],
      methods: ['euler', 'heun', 'rk4'],
      steps: [2, 4, 8],
      tolerances: [1e-3],
    });
    for (const s of r.series) {
      console.log(s.method, s.points.map((p) => `${p.nfe} NFE: ${p.psnr.toFixed(1)} dB`).join(', '));
      if (s.method === 'dopri5') continue;
      expect(s.points.map((p) => p.nfe)).toEqual(
        [2, 4, 8].map((k) => 2 * k * { euler: 1, midpoint: 2, heun: 2, rk4: 4 }[s.method as 'euler']!),
      );
      for (let i = 1; i < s.points.length; i++) expect(s.points[i]!.mse).toBeLessThan(s.points[i - 1]!.mse);
    }
    expect(r.series.map((s) => s.method)).toEqual(['euler', 'heun', 'rk4', 'dopri5']);
  });

  it('interpolation: endpoints decode to the two inputs; slerp keeps norms near sqrt(d), lerp sags', async () => {
    const r = await interpolateImages(model, { a: digits[0]!, b: digits[1]!, frames: 5, solver: { method: 'rk4', steps: 20 } });
    const [slerp, lerp] = r.paths;
    expect(slerp!.mode).toBe('slerp');
    console.log(
      'endpoint PSNR',
      r.endpoints.a.psnr.toFixed(1),
      r.endpoints.b.psnr.toFixed(1),
      'slerp norms',
      slerp!.norms.map((n) => n.toFixed(1)).join(' '),
      'lerp',
      lerp!.norms.map((n) => n.toFixed(1)).join(' '),
    );
    expect(r.endpoints.a.psnr).toBeGreaterThanOrEqual(35);
    expect(r.endpoints.b.psnr).toBeGreaterThanOrEqual(35);
    expect(r.sqrtD).toBe(28);
    const ends = [slerp!.norms[0]!, slerp!.norms[4]!];
    for (const n of slerp!.norms) {
      expect(Math.abs(n / r.sqrtD - 1)).toBeLessThanOrEqual(0.15);
      expect(n).toBeGreaterThanOrEqual(0.99 * Math.min(...ends));
      expect(n).toBeLessThanOrEqual(1.01 * Math.max(...ends));
    }
    // lerp's midpoint by host arithmetic on the two latents.
    const mid = Math.sqrt(r.latentA.reduce((s, v, i) => s + ((v + r.latentB[i]!) / 2) ** 2, 0));
    expect(lerp!.norms[2]).toBeCloseTo(mid, 3);
    expect(lerp!.norms[2]! / slerp!.norms[2]!).toBeLessThan(0.85);
    expect(slerp!.frames).toHaveLength(5);
  });

  it('class swap changes the class the classifier sees for most images', async () => {
    const targets = [8, 2, 4, 0];
    const r = await classSwap(model, { images: digits, toClass: targets, cfg: 2, solver: { method: 'rk4', steps: 10 } });
    expect(r.items.map((it) => it.fromClass)).toEqual([3, 7, 1, 5]); // the images' labels by default
    const pred = predict(r.items.map((it) => it.edited));
    const hits = pred.filter((p, i) => p === targets[i]).length;
    console.log('class swap predictions', pred.join(' '), `(${hits}/4 hit the target)`);
    expect(hits).toBeGreaterThanOrEqual(3);
  });

  it('masked inpainting keeps unmasked pixels within 1e-5 and regenerates the masked half', async () => {
    const mask = Array.from({ length: 784 }, (_, p) => (Math.floor(p / 28) >= 14 ? 1 : 0)); // bottom half
    const r = await inpaint(model, {
      images: digits.slice(0, 2),
      mask,
      classLabel: [3, 7],
      solver: { method: 'heun', steps: 10 },
      seed: 1,
    });
    expect(r.nfe).toBe(20);
    r.items.forEach((it, k) => {
      let kept = 0;
      let changed = 0;
      for (let p = 0; p < 784; p++) {
        const diff = Math.abs(it.edited[p]! - digits[k]!.pixels[p]!);
        if (mask[p] === 0) kept = Math.max(kept, diff);
        else changed += diff / 392;
      }
      console.log(`inpaint ${it.source}: max |change| unmasked ${kept.toExponential(2)}, mean |change| masked ${changed.toFixed(3)}`);
      expect(kept).toBeLessThanOrEqual(1e-5);
      expect(it.maxAbsErrorUnmasked).toBeCloseTo(kept, 9);
      expect(changed).toBeGreaterThan(0.01);
    });
  });

  it('SDEdit: a short trip (t0 = 0.9, inverted, ODE) keeps the image; from t0 = 0.2 by SDE under another class it changes', async () => {
    const near = await sdedit(model, { images: [digits[0]!], t0: 0.9, solver: { method: 'rk4', steps: 5 } });
    const back = near.items[0]!;
    const mse = back.edited.reduce((s, v, i) => s + (v - back.original[i]!) ** 2, 0) / 784;
    expect(10 * Math.log10(4 / mse)).toBeGreaterThan(30);
    const far = await sdedit(model, {
      images: digits.slice(0, 2),
      t0: 0.2,
      start: 'noise',
      sampler: 'sde',
      toClass: [8, 2],
      cfg: 2,
      seed: 3,
      solver: { method: 'euler', steps: 20 },
    });
    expect(far.nfe).toBe(20);
    const pred = predict(far.items.map((it) => it.edited));
    console.log('sdedit t0 = 0.2 to classes 8, 2:', pred.join(' '));
    expect(pred.filter((p, i) => p === [8, 2][i]).length).toBeGreaterThanOrEqual(1);
  });

  it("SDEdit's defaults (t0 = 0.2, cfg = 1, inverted, ODE) turn digits into the class asked for", async () => {
    const to = [8, 2, 4, 0];
    const r = await sdedit(model, { images: digits, toClass: to, solver: { method: 'rk4', steps: 10 } });
    expect(r.t0).toBe(SDEDIT_DEFAULT_T0);
    const pred = predict(r.items.map((it) => it.edited));
    console.log('sdedit defaults, classes 3 7 1 5 -> 8 2 4 0:', pred.join(' '));
    expect(pred.filter((p, i) => p === to[i]).length).toBeGreaterThanOrEqual(3);
  });

  it('latent arithmetic: z_a + s (z_b - z_c) with z_b = z_c decodes like z_a; the latent is the host sum', async () => {
    const [a, b, c] = inverted.items;
    const r = await latentArithmetic(model, {
      a: { latent: a!.latent },
      b: { latent: b!.latent },
      c: { latent: c!.latent },
      scale: 0.5,
      classLabel: 3,
      solver: { method: 'rk4', steps: 20 },
    });
    r.latent.forEach((v, i) => expect(v).toBeCloseTo(a!.latent[i]! + 0.5 * (b!.latent[i]! - c!.latent[i]!), 5));
    const same = await latentArithmetic(model, {
      a: { latent: a!.latent },
      b: { latent: b!.latent },
      c: { latent: b!.latent },
      scale: 2,
      classLabel: 3,
      solver: { method: 'rk4', steps: 20 },
    });
    // Reference: decode z_a directly with core under class 3.
    const z = tf.tensor(a!.latent, [1, 28, 28, 1]);
    const cond = tf.tensor1d([3], 'int32');
    const ref = decode(model.field(0), z, { method: 'rk4', steps: 20, cond });
    const refHost = ref.x.dataSync();
    tf.dispose([z, cond, ref.x]);
    expect(Math.max(...same.result.map((v, i) => Math.abs(v - refHost[i]!)))).toBeLessThan(1e-4);
    expect(same.nfe).toBe(80);
  });

  it('bits/dim by Hutchinson equals core logLikelihood with the same seeds; its spread is reported', async () => {
    const solver = { method: 'dopri5' as const, rtol: 1e-3, atol: 1e-3 };
    const r = await invertImages(model, { images: [digits[2]!], classLabel: 1, solver, bitsPerDim: { repeats: 2, seed: 5 } });
    const b = r.items[0]!.bitsPerDim!;
    expect(b.values).toHaveLength(2);
    // Reference for repeat 0 (seed 5).
    const ints = tf.tensor(Int32Array.from(digits[2]!.pixels, unitToByte), [1, 28, 28, 1], 'int32');
    const y = dequantize(ints, { seed: 5, low: -1, high: 1 });
    const cond = tf.tensor1d([1], 'int32');
    const ll = logLikelihood(model.field(0), y, {
      divergence: 'hutchinson',
      probes: 1,
      seed: 5,
      method: 'dopri5',
      rtol: 1e-3,
      atol: 1e-3,
      t0: 0,
      t1: 1,
      scheduler: model.scheduler,
      cond,
    });
    tf.dispose([ints, y, cond, ll.latent]);
    expect(b.values[0]).toBeCloseTo(bitsPerDim(ll.logp[0]!, 784), 6);
    expect(b.mean).toBeCloseTo((b.values[0]! + b.values[1]!) / 2, 9);
    expect(b.std).toBeCloseTo(Math.abs(b.values[0]! - b.values[1]!) / Math.SQRT2, 9);
    console.log(`bits/dim ${b.mean.toFixed(3)} +- ${b.std.toFixed(3)} (dopri5 1e-3, 2 repeats)`);
    expect(b.mean).toBeGreaterThan(0.5);
    expect(b.mean).toBeLessThan(3);
  });

  it('cancellation: a set flag stops a solve with CancelledError and frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const flag = sharedCancel(new SharedArrayBuffer(4));
    let steps = 0;
    const run = invertImage(model, { image: digits[0]! }, { signal: flag, onProgress: () => ++steps === 3 && flag.cancel() });
    await expect(run).rejects.toThrow(CancelledError);
    expect(steps).toBeLessThan(10);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('results become files saved to a dedicated run for shipped models (created once), or to the model run', async () => {
    const store = RunStore.open(':memory:');
    try {
      const files = resultFiles({ kind: 'invert', result: inverted });
      expect(files.map((f) => f.name)).toContain('invert.json');
      const first = saveArtifacts(store, model, files, { modelKey: 'shipped:mnist' });
      const second = saveArtifacts(store, model, files.slice(0, 1), { modelKey: 'shipped:mnist' });
      expect(second.runId).toBe(first.runId);
      const run = store.getRun(first.runId);
      expect(run).toMatchObject({
        name: 'Latent studio: shipped:mnist',
        status: 'completed',
        config: { kind: 'latent-studio', model: 'shipped:mnist' },
      });
      expect(store.listArtifacts(first.runId)).toHaveLength(files.length + 1);
      const png = store.getArtifact(first.artifacts[0]!.id);
      expect(png.mime).toBe('image/png');
      expect(PNG.sync.read(Buffer.from(png.data)).width).toBe(28);
      const json = JSON.parse(Buffer.from(store.getArtifact(first.artifacts.at(-1)!.id).data).toString()) as {
        kind: string;
        items: { latent: number[] }[];
      };
      expect(json.kind).toBe('invert');
      expect(json.items[0]!.latent).toHaveLength(784);
      // A trained run's model: the results go to that run.
      const trained = store.createRun({ name: 'trained', config: {}, backend: 'wasm' });
      const own = saveArtifacts(store, { ...model, runId: trained.id }, files.slice(0, 2));
      expect(own.runId).toBe(trained.id);
      expect(() => saveArtifacts(store, model, [{ name: '', mime: 'x', base64: '' }])).toThrow(/files\[0\]/);
      expect(store.listArtifacts(first.runId)).toHaveLength(files.length + 1); // the refused save wrote nothing
    } finally {
      store.close();
    }
  });
});
