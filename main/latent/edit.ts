/**
 * Edits through the probability-flow ODE of a (class-conditional) flow, x_t = alpha_t x1 + sigma_t x0:
 *
 * - class swap: z = encode(x | class a) with the plain conditional field, then decode(z | class b)
 *   with guidance weight w (v = (1 + w) v_cond - w v_uncond). The latent keeps what the classes share
 *   (position, thickness, slant); the class decides the rest.
 * - SDEdit: go back to the noise-side time t0, either by inverting the PF-ODE from 1 to t0 or by
 *   drawing the path sample alpha_t0 x + sigma_t0 eps, then integrate forwards to the data end under
 *   the target class, by the ODE or the SDE dx = [v + (g^2/2) score] dt + g dW (core/solver/sde).
 * - masked inpainting ("replacement"): fix x0 (seeded noise, or the image's own latent); integrate
 *   the ODE from the noise end, and after every step set the known region (mask 0) to its path
 *   sample alpha_t x1 + sigma_t x0, while the masked region (mask 1) follows the field. At the data
 *   end the known region is x1 itself, so unmasked pixels come back exactly (up to float32 round-off
 *   of the blend, ~1e-7); the field sees a consistent context throughout and fills the hole to match.
 * - latent arithmetic: z = z_a + s (z_b - z_c), decoded; optionally rescaled to ||z_a|| so it stays
 *   on the Gaussian shell.
 */
import { tf, type Tensor } from '../../core/tf';
import { ConfigError, ShapeError } from '../../core/errors';
import { decode, encode } from '../../core/inversion/encode';
import { latentStats } from '../../core/inversion/stats';
import { integrateField } from '../../core/solver/sample';
import { uniformGrid } from '../../core/solver/ode';
import { sampleSde } from '../../core/solver/sde';
import { sourceScale } from '../../core/path/scheduler';
import { Rng } from '../../core/util/random';
import type { LoadedModel } from '../models/load';
import {
  batchOf,
  checkPixels,
  classesFor,
  condOf,
  DEFAULT_SOLVER,
  editInputs,
  imageShape,
  latentBatch,
  modelSummary,
  odeOptions,
  parseRequest,
  pngBase64,
  rowsOf,
  since,
  solveInfo,
  Stages,
  stripBase64,
  withTensors,
} from './common';
import {
  arithmeticRequestSchema,
  classSwapRequestSchema,
  inpaintRequestSchema,
  sdeditRequestSchema,
  type ArithmeticRequest,
  type ArithmeticResult,
  SDEDIT_DEFAULT_CFG,
  SDEDIT_DEFAULT_T0,
  type ClassChoice,
  type ClassSwapRequest,
  type ClassSwapResult,
  type EditItem,
  type InpaintRequest,
  type InpaintResult,
  type LatentControl,
  type LatentImage,
  type LatentOperand,
  type SdeditRequest,
  type SdeditResult,
} from '../../common/latent';

/** Each image's label as its class (null when it has none), unless the request names classes. */
function sourceClasses(
  model: LoadedModel,
  images: readonly LatentImage[],
  choice: ClassChoice | readonly ClassChoice[] | undefined,
  field: string,
): ClassChoice[] {
  if (choice !== undefined) return classesFor(model, choice, images.length, field);
  return classesFor(
    model,
    images.map((im) => (model.numClasses > 0 && im.label !== undefined ? im.label : null)),
    images.length,
    field,
  );
}

function editItem(img: LatentImage, edited: number[], shape: number[]): EditItem {
  return {
    source: img.source,
    original: img.pixels,
    edited,
    editedPng: pngBase64(edited, shape),
    pairPng: stripBase64([img.pixels, edited], shape),
  };
}

/**
 * Class swap: invert each image under `fromClass`, decode under `toClass` with guidance `cfg`
 * (default 1).
 *
 * @example
 *   const r = await classSwap(model, { images: [three], fromClass: 3, toClass: 8, cfg: 2 });
 */
export async function classSwap(model: LoadedModel, input: ClassSwapRequest, ctl: LatentControl = {}): Promise<ClassSwapResult> {
  const shape = imageShape(model);
  if (model.numClasses === 0) throw new ConfigError('model', `${model.label} is unconditional: class swap needs a class-conditional model`);
  const req = parseRequest(classSwapRequestSchema, input);
  const spec = req.solver ?? DEFAULT_SOLVER;
  const cfg = req.cfg ?? 1;
  const n = req.images.length;
  const from = sourceClasses(model, req.images, req.fromClass, 'fromClass');
  // The schema admits no null here, so every class is a number.
  const to = classesFor(model, req.toClass, n, 'toClass').map((c) => c!);
  return withTensors(async (keep) => {
    const { x, condA, condB } = editInputs(model, req.images, from, to, keep);
    const stages = new Stages(ctl, [
      { name: 'encode', weight: 1 },
      { name: 'decode', weight: cfg > 0 ? 2 : 1 },
    ]);
    let t = performance.now();
    const enc = encode(model.field(0), x, { ...odeOptions(model, spec, condA ? { cond: condA } : {}), ...stages.controls() });
    keep(enc.x);
    const encInfo = solveInfo(spec.method, enc, since(t));
    await stages.next();
    t = performance.now();
    const dec = decode(model.field(cfg), enc.x, { ...odeOptions(model, spec, condB ? { cond: condB } : {}), ...stages.controls() });
    keep(dec.x);
    const decInfo = solveInfo(spec.method, dec, since(t));
    await stages.next();
    const z = rowsOf(enc.x);
    const out = rowsOf(dec.x);
    return {
      model: modelSummary(model),
      items: req.images.map((img, i) => ({
        ...editItem(img, out[i]!, shape),
        fromClass: from[i]!,
        toClass: to[i]!,
        latentStats: latentStats(z[i]!),
      })),
      cfg,
      encode: encInfo,
      decode: decInfo,
    };
  });
}

/**
 * SDEdit-style editing: back to t0 (invert or noise), forwards under `toClass` (ODE or SDE).
 *
 * @example
 *   await sdedit(model, { images: [img], t0: 0.4, toClass: 5, sampler: 'sde', seed: 1 });
 */
export async function sdedit(model: LoadedModel, input: SdeditRequest, ctl: LatentControl = {}): Promise<SdeditResult> {
  const shape = imageShape(model);
  const req = parseRequest(sdeditRequestSchema, input);
  const spec = req.solver ?? DEFAULT_SOLVER;
  const cfg = req.cfg ?? SDEDIT_DEFAULT_CFG;
  const { lo, hi } = model.timeRange;
  const t0 = req.t0 ?? SDEDIT_DEFAULT_T0;
  if (!(t0 >= lo && t0 < hi)) throw new ConfigError('t0', `must be in [${lo}, ${hi}) (the noise-side time to go back to), got ${t0}`);
  const start = req.start ?? 'invert';
  const sampler = req.sampler ?? 'ode';
  const seed = req.seed ?? 0;
  const n = req.images.length;
  const from = sourceClasses(model, req.images, req.fromClass, 'fromClass');
  const to = req.toClass === undefined ? from : classesFor(model, req.toClass, n, 'toClass');
  return withTensors(async (keep) => {
    const { x, condA, condB } = editInputs(model, req.images, from, to, keep);
    const stages = new Stages(ctl, [
      { name: start === 'invert' ? 'invert to t0' : 'noise to t0', weight: start === 'invert' ? 1 : 0 },
      { name: sampler === 'ode' ? 'decode' : 'SDE', weight: 1 },
    ]);
    let nfe = 0;
    let zt: Tensor;
    if (start === 'invert') {
      const enc = encode(model.field(0), x, {
        ...odeOptions(model, spec, { ...(condA ? { cond: condA } : {}), t0 }),
        ...stages.controls(),
      });
      nfe += enc.nfe;
      zt = enc.x;
    } else {
      const c = model.scheduler.coeffs(t0);
      const eps = tf.tensor(new Rng(seed).normals(x.size), x.shape, 'float32');
      keep(eps);
      zt = tf.tidy(() => tf.add(tf.mul(x, c.alpha), tf.mul(eps, c.sigma)));
    }
    keep(zt);
    await stages.next();
    let y: Tensor;
    if (sampler === 'ode') {
      const dec = decode(model.field(cfg), zt, {
        ...odeOptions(model, spec, { ...(condB ? { cond: condB } : {}), t0 }),
        ...stages.controls(),
      });
      nfe += dec.nfe;
      y = dec.x;
    } else {
      const noise = req.noise ?? 1;
      const steps = spec.steps ?? 50;
      const r = sampleSde(model.field(cfg), zt, {
        scheduler: model.scheduler,
        timeGrid: uniformGrid(t0, hi, steps),
        noise,
        seed: seed + 1,
        ...(condB ? { cond: condB } : {}),
        ...stages.controls(),
      });
      nfe += r.nfe;
      y = r.x;
    }
    keep(y);
    await stages.next();
    const out = rowsOf(y);
    return {
      model: modelSummary(model),
      items: req.images.map((img, i) => ({ ...editItem(img, out[i]!, shape), toClass: to[i]! })),
      t0,
      start,
      sampler,
      nfe,
    };
  });
}

/**
 * Masks [B, h, w, c] in [0, 1] from per-pixel or per-value lists (one shared, or one per image);
 * the schema checked the values, this checks the counts against the model and the images.
 */
function maskBatch(model: LoadedModel, mask: InpaintRequest['mask'], n: number): Tensor {
  const [h, w, c] = imageShape(model);
  const lists = isMaskList(mask) ? mask : Array.from({ length: n }, () => mask);
  if (lists.length !== n) throw new ConfigError('mask', `has ${lists.length} masks for ${n} images`);
  const data = new Float32Array(n * h * w * c);
  lists.forEach((m, i) => {
    if (m.length !== h * w && m.length !== h * w * c) {
      throw new ShapeError(
        `mask${lists.length > 1 ? `[${i}]` : ''}: must have ${h}x${w} = ${h * w} values (one per pixel)${c > 1 ? ` or ${h * w * c} (one per value)` : ''}; got ${m.length}`,
      );
    }
    for (let p = 0; p < h * w; p++)
      for (let ch = 0; ch < c; ch++) data[i * h * w * c + p * c + ch] = m.length === h * w ? m[p]! : m[p * c + ch]!;
  });
  return tf.tensor(data, [n, h, w, c], 'float32');
}

/**
 * Masked inpainting by replacement (see the module comment). The ODE is integrated with `solver`
 * one grid interval at a time (default heun, 25 steps), the known region reset after each.
 *
 * @example
 *   const mask = Array.from({ length: 784 }, (_, p) => (Math.floor(p / 28) >= 14 ? 1 : 0)); // bottom half
 *   const r = await inpaint(model, { images: [img], mask, classLabel: 7, seed: 0 });
 *   r.items[0].maxAbsErrorUnmasked; // ~1e-7
 */
export async function inpaint(model: LoadedModel, input: InpaintRequest, ctl: LatentControl = {}): Promise<InpaintResult> {
  const shape = imageShape(model);
  const req = parseRequest(inpaintRequestSchema, input);
  const spec = req.solver ?? { method: 'heun', steps: 25 };
  const steps = spec.steps ?? 25;
  const cfg = req.cfg ?? 0;
  const x0Kind = req.x0 ?? 'random';
  const seed = req.seed ?? 0;
  const n = req.images.length;
  const classes = sourceClasses(model, req.images, req.classLabel, 'classLabel');
  const { lo, hi } = model.timeRange;
  const grid = uniformGrid(lo, hi, steps);
  return withTensors(async (keep) => {
    const x1 = batchOf(model, req.images);
    keep(x1);
    const m = maskBatch(model, req.mask, n);
    keep(m);
    const keepMask = tf.sub(1, m);
    keep(keepMask);
    const cond = condOf(model, classes);
    keep(cond);
    const stages = new Stages(ctl, [
      { name: 'invert', weight: x0Kind === 'inverted' ? 1 : 0 },
      { name: 'inpaint', weight: 1 },
    ]);
    let nfe = 0;
    let x0: Tensor;
    if (x0Kind === 'inverted') {
      const enc = encode(model.field(0), x1, {
        ...odeOptions(model, { method: 'dopri5', rtol: 1e-5, atol: 1e-5 }, cond ? { cond } : {}),
        ...stages.controls(),
      });
      nfe += enc.nfe;
      x0 = enc.x;
    } else {
      const z = new Rng(seed).normals(x1.size);
      const s0 = sourceScale(model.scheduler);
      if (s0 !== 1) for (let i = 0; i < z.length; i++) z[i] = z[i]! * s0;
      x0 = tf.tensor(z, x1.shape, 'float32');
    }
    keep(x0);
    await stages.next();
    const known = (t: number): Tensor => {
      const c = model.scheduler.coeffs(t);
      return tf.add(tf.mul(x1, c.alpha), tf.mul(x0, c.sigma));
    };
    const field = model.field(cfg);
    const controls = stages.controls();
    // Start: the masked region at its noise (sigma_lo x0; alpha_lo = 0 at the noise end of every
    // affine path but VE), the known region at its path sample.
    let x = tf.tidy(() => tf.add(tf.mul(m, tf.mul(x0, model.scheduler.coeffs(lo).sigma)), tf.mul(keepMask, known(lo))));
    try {
      for (let k = 0; k + 1 < grid.length; k++) {
        const a = grid[k]!;
        const b = grid[k + 1]!;
        const r = integrateField(field, x, {
          method: spec.method,
          timeGrid: [a, b],
          ...(spec.rtol !== undefined ? { rtol: spec.rtol } : {}),
          ...(spec.atol !== undefined ? { atol: spec.atol } : {}),
          ...(cond ? { cond } : {}),
          ...(ctl.signal ? { signal: ctl.signal } : {}),
        });
        nfe += r.nfe;
        const last = k + 2 === grid.length;
        const next = tf.tidy(() => tf.add(tf.mul(m, r.x), tf.mul(keepMask, last ? x1 : known(b))));
        r.x.dispose();
        x.dispose();
        x = next;
        controls.onStep({ t: b, step: k + 1, nfe, progress: (k + 1) / steps });
      }
    } catch (e) {
      x.dispose();
      throw e;
    }
    keep(x);
    await stages.next();
    const out = rowsOf(x);
    const masks = rowsOf(m);
    const items = req.images.map((img, i) => {
      let maxKept = 0;
      let changed = 0;
      let count = 0;
      const mk = masks[i]!;
      for (let j = 0; j < mk.length; j++) {
        const diff = Math.abs(out[i]![j]! - img.pixels[j]!);
        if (mk[j] === 0) maxKept = Math.max(maxKept, diff);
        else {
          changed += diff;
          count++;
        }
      }
      return {
        ...editItem(img, out[i]!, shape),
        maskPng: pngBase64(
          mk.map((v) => v * 2 - 1),
          shape,
        ),
        maxAbsErrorUnmasked: maxKept,
        meanAbsChangeMasked: count ? changed / count : 0,
      };
    });
    return { model: modelSummary(model), items, nfe, steps };
  });
}

/** One mask per image (a list of lists), rather than one mask for all. */
function isMaskList(mask: InpaintRequest['mask']): mask is number[][] {
  return Array.isArray(mask[0]);
}

function isLatentOperand(o: LatentOperand): o is Extract<LatentOperand, { latent: number[] }> {
  return 'latent' in o;
}

/**
 * Latent arithmetic z = z_a + scale (z_b - z_c), decoded. Image operands are inverted first (one
 * solve for all of them); latent operands are used as given.
 *
 * @example
 *   // a "3" moved the way a thin "8" differs from a thick one
 *   await latentArithmetic(model, { a: three, b: thin8, c: thick8, scale: 1, classLabel: 3 });
 */
export async function latentArithmetic(model: LoadedModel, input: ArithmeticRequest, ctl: LatentControl = {}): Promise<ArithmeticResult> {
  const shape = imageShape(model);
  const req = parseRequest(arithmeticRequestSchema, input);
  const spec = req.solver ?? DEFAULT_SOLVER;
  const cfg = req.cfg ?? 0;
  const scale = req.scale ?? 1;
  const [cls] = classesFor(model, req.classLabel ?? null, 1, 'classLabel');
  const ops = [req.a, req.b, req.c] as const;
  ops.forEach((o, i) => {
    if (isLatentOperand(o)) checkPixels(model, o.latent, `${'abc'[i]} (latent)`);
  });
  return withTensors(async (keep) => {
    // The image operands with their places (a, b, c = 0, 1, 2), inverted in one batch.
    const imageOps = ops.flatMap((o, i) => (isLatentOperand(o) ? [] : [{ i, image: o }]));
    const imageIdx = imageOps.map((o) => o.i);
    const stages = new Stages(ctl, [
      { name: 'encode', weight: imageIdx.length > 0 ? 1 : 0 },
      { name: 'decode', weight: 1 },
    ]);
    const latents: number[][] = ops.map((o) => (isLatentOperand(o) ? o.latent : []));
    let nfe = 0;
    if (imageIdx.length > 0) {
      const imgs = imageOps.map((o) => o.image);
      const x = batchOf(model, imgs, 'operands');
      keep(x);
      const cond = condOf(
        model,
        imgs.map(() => cls!),
      );
      keep(cond);
      const enc = encode(model.field(0), x, { ...odeOptions(model, spec, cond ? { cond } : {}), ...stages.controls() });
      keep(enc.x);
      nfe += enc.nfe;
      rowsOf(enc.x).forEach((z, k) => (latents[imageIdx[k]!] = z));
    }
    await stages.next();
    const [za, zb, zc] = latents as [number[], number[], number[]];
    let z = za.map((v, j) => v + scale * (zb[j]! - zc[j]!));
    if (req.renormalise) {
      const norm = (v: number[]): number => Math.sqrt(v.reduce((acc, u) => acc + u * u, 0));
      const na = norm(za);
      const nz = norm(z);
      if (nz > 0) z = z.map((v) => (v * na) / nz);
    }
    // Decode z with the latent operands (so the strip can show them as images).
    const latentIdx = ops.map((o, i) => (isLatentOperand(o) ? i : -1)).filter((i) => i >= 0);
    const zs = latentBatch(model, [z, ...latentIdx.map((i) => latents[i]!)], 'latents');
    keep(zs);
    const cond = condOf(
      model,
      Array.from({ length: zs.shape[0]! }, () => cls!),
    );
    keep(cond);
    const dec = decode(model.field(cfg), zs, { ...odeOptions(model, spec, cond ? { cond } : {}), ...stages.controls() });
    keep(dec.x);
    nfe += dec.nfe;
    await stages.next();
    const rows = rowsOf(dec.x);
    const result = rows[0]!;
    const shown = ops.map((o, i) => (isLatentOperand(o) ? rows[1 + latentIdx.indexOf(i)]! : o.pixels));
    return {
      model: modelSummary(model),
      latent: z,
      latentStats: latentStats(z),
      result,
      resultPng: pngBase64(result, shape),
      stripPng: stripBase64([...shown, result], shape),
      scale,
      nfe,
    };
  });
}
