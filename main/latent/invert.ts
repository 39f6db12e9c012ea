/**
 * Inversion of images through the probability-flow ODE and what to say about it: the latent and its
 * statistics against N(0, I), the reconstruction decode(encode(x)) and its error, bits/dim by
 * Hutchinson's estimator with its spread, and the reconstruction error against the NFE per solver.
 */
import { tf, type Tensor } from '../../core/tf';
import { FIXED_STEP_METHODS, type FixedStepMethod } from '../../core/catalog';
import { decode, encode } from '../../core/inversion/encode';
import { latentStats, reconstructionError } from '../../core/inversion/stats';
import { logLikelihood } from '../../core/likelihood/likelihood';
import { bitsPerDim, dequantize } from '../../core/likelihood/bpd';
import { unitToByte } from '../data';
import type { LoadedModel } from '../models/load';
import {
  batchOf,
  classesFor,
  condOf,
  DEFAULT_SOLVER,
  dimOf,
  imageShape,
  latentPngBase64,
  modelSummary,
  odeOptions,
  parseRequest,
  pngBase64,
  rowsOf,
  since,
  solveInfo,
  Stages,
  withTensors,
} from './common';
import {
  invertRequestSchema,
  nfeSweepRequestSchema,
  type BitsPerDimRequest,
  type ClassChoice,
  type LatentImage,
  type BitsPerDimResult,
  type InvertItem,
  type InvertRequest,
  type InvertResult,
  type LatentControl,
  type NfePoint,
  type NfeSweepRequest,
  type NfeSweepResult,
  type SolverSpec,
} from '../../common/latent';

/**
 * Solver of the likelihood ODE when the inversion uses a fixed-step method and the request names
 * none: the divergence integral needs accuracy that few fixed steps do not give (on the shipped
 * MNIST model one image's bits/dim is -2.2 with rk4 at 10 steps, 0.0 at 20, 1.27 with dopri5 at 1e-4;
 * a negative value is impossible for a true density of 8-bit data).
 */
export const BPD_SOLVER: SolverSpec = { method: 'dopri5', rtol: 1e-4, atol: 1e-4 };

/** Width of the data interval of image models ([-1, 1]), the R of PSNR = 10 log10(R^2 / MSE). */
export const DATA_RANGE = 2;

/**
 * Inverts a batch of images (one solve for the batch), decodes the latents back with the same
 * solver and field, and reports per image: latent, statistics, reconstruction, PSNR / max abs error,
 * and with `bitsPerDim` the Hutchinson bits/dim (mean and spread over `repeats` estimates).
 *
 * @example
 *   const img = await pickImage(model, { kind: 'dataset', classId: 3, index: 0 });
 *   const r = await invertImages(model, { images: [img], classLabel: 3 });
 *   r.items[0].error.psnr; // ~50 dB with dopri5 at 1e-5
 */
export async function invertImages(model: LoadedModel, input: InvertRequest, ctl: LatentControl = {}): Promise<InvertResult> {
  const shape = imageShape(model);
  const req = parseRequest(invertRequestSchema, input);
  const spec = req.solver ?? DEFAULT_SOLVER;
  const cfg = req.cfg ?? 0;
  const bpd = req.bitsPerDim === true ? {} : req.bitsPerDim || undefined;
  const repeats = bpd ? (bpd.repeats ?? 3) : 0;
  return withTensors(async (keep) => {
    const x = batchOf(model, req.images);
    keep(x);
    const classes = classesFor(model, req.classLabel, req.images.length, 'classLabel');
    const cond = condOf(model, classes);
    keep(cond);
    const stages = new Stages(ctl, [
      { name: 'encode', weight: 1 },
      { name: 'decode', weight: 1 },
      ...Array.from({ length: repeats }, (_, r) => ({ name: `bits/dim ${r + 1}/${repeats}`, weight: 3 })),
    ]);
    const field = model.field(cfg);
    let t = performance.now();
    const enc = encode(field, x, { ...odeOptions(model, spec, cond ? { cond } : {}), ...stages.controls() });
    keep(enc.x);
    const encInfo = solveInfo(spec.method, enc, since(t));
    await stages.next();
    t = performance.now();
    const dec = decode(field, enc.x, { ...odeOptions(model, spec, cond ? { cond } : {}), ...stages.controls() });
    keep(dec.x);
    const decInfo = solveInfo(spec.method, dec, since(t));
    await stages.next();
    const latents = rowsOf(enc.x);
    const recons = rowsOf(dec.x);
    const items: InvertItem[] = req.images.map((img, i) => ({
      source: img.source,
      classLabel: classes[i]!,
      latent: latents[i]!,
      latentPng: latentPngBase64(latents[i]!, shape),
      stats: latentStats(latents[i]!),
      reconstruction: recons[i]!,
      reconstructionPng: pngBase64(recons[i]!, shape),
      error: reconstructionError(img.pixels, recons[i]!, DATA_RANGE),
    }));
    if (bpd) {
      const r = await bitsPerDimOf(model, x, cond, cfg, bpd, spec, repeats, stages);
      items.forEach((it, i) => (it.bitsPerDim = r[i]!));
    }
    return { model: modelSummary(model), items, encode: encInfo, decode: decInfo, dataRange: DATA_RANGE, sqrtD: Math.sqrt(dimOf(model)) };
  });
}

/**
 * Bits/dim of each image, `repeats` times: estimate r dequantises the 8-bit pixels with uniform noise
 * of seed + r and draws Hutchinson probes of seed + r (held fixed for its solve), so the spread
 * covers both sources of randomness of the estimate. bpd = -log p / (d ln 2) + 8 - log2(2).
 */
async function bitsPerDimOf(
  model: LoadedModel,
  x: Tensor,
  cond: Tensor | undefined,
  cfg: number,
  req: BitsPerDimRequest,
  fallback: SolverSpec,
  repeats: number,
  stages: Stages,
): Promise<BitsPerDimResult[]> {
  const spec = req.solver ?? (fallback.method === 'dopri5' ? fallback : BPD_SOLVER);
  const probes = req.probes ?? 1;
  const seed = req.seed ?? 0;
  const B = x.shape[0]!;
  const d = dimOf(model);
  const bytes = Int32Array.from(x.dataSync(), unitToByte);
  const values: number[][] = Array.from({ length: B }, () => []);
  let nfe = 0;
  for (let r = 0; r < repeats; r++) {
    await withTensors(async (keep) => {
      const ints = tf.tensor(bytes, x.shape, 'int32');
      keep(ints);
      const y = dequantize(ints, { seed: seed + r, low: -1, high: 1 });
      keep(y);
      const opts = odeOptions(model, spec);
      const res = logLikelihood(model.field(cfg), y, {
        divergence: 'hutchinson',
        probes,
        seed: seed + r,
        method: spec.method,
        ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
        rtol: opts.rtol,
        atol: opts.atol,
        t0: opts.t0,
        t1: opts.t1,
        scheduler: model.scheduler,
        ...(cond ? { cond } : {}),
        ...stages.controls(),
      });
      keep(res.latent);
      nfe += res.nfe;
      bitsPerDim(res.logp, d).forEach((v, i) => values[i]!.push(v));
    });
    await stages.next();
  }
  return values.map((v) => {
    const mean = v.reduce((s, a) => s + a, 0) / v.length;
    const std = v.length > 1 ? Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / (v.length - 1)) : 0;
    return { mean, std, values: v, probes, nfe };
  });
}

/** Field evaluations per step of each fixed-step method (progress weights). */
const STAGES_PER_STEP: Record<FixedStepMethod, number> = { euler: 1, midpoint: 2, heun: 2, rk4: 4 };

/**
 * Reconstruction error of decode(encode(x)) against the NFE of the round trip, for each fixed-step
 * method over a list of step counts and for dopri5 over a list of tolerances: the data of the
 * "error vs NFE" chart. Errors are means over the images.
 */
export async function reconstructionVsNfe(model: LoadedModel, input: NfeSweepRequest, ctl: LatentControl = {}): Promise<NfeSweepResult> {
  imageShape(model);
  const req = parseRequest(nfeSweepRequestSchema, input);
  const methods = req.methods ?? FIXED_STEP_METHODS;
  const stepsList = req.steps ?? [2, 4, 8, 16];
  const tols = req.tolerances ?? [1e-2, 1e-3, 1e-4];
  const jobs: { spec: SolverSpec; weight: number; name: string }[] = [
    ...methods.flatMap((m) =>
      [...stepsList]
        .sort((a, b) => a - b)
        .map((s) => ({ spec: { method: m, steps: s }, weight: s * STAGES_PER_STEP[m], name: `${m} ${s} steps` })),
    ),
    ...[...tols]
      .sort((a, b) => b - a)
      .map((tol) => ({ spec: { method: 'dopri5' as const, rtol: tol, atol: tol }, weight: 100, name: `dopri5 tol ${tol}` })),
  ];
  return withTensors(async (keep) => {
    const x = batchOf(model, req.images);
    keep(x);
    const cond = condOf(model, classesFor(model, req.classLabel, req.images.length, 'classLabel'));
    keep(cond);
    const field = model.field(0);
    const stages = new Stages(
      ctl,
      jobs.map((j) => ({ name: j.name, weight: j.weight })),
    );
    const series = new Map<NfePoint['method'], NfePoint[]>();
    for (const job of jobs) {
      const t = performance.now();
      const point = await withTensors(async (k2) => {
        const o = { ...odeOptions(model, job.spec, cond ? { cond } : {}), ...stages.controls() };
        const enc = encode(field, x, o);
        k2(enc.x);
        const dec = decode(field, enc.x, o);
        k2(dec.x);
        const recons = rowsOf(dec.x);
        const errs = req.images.map((img, i) => reconstructionError(img.pixels, recons[i]!, DATA_RANGE));
        const mean = (f: (e: (typeof errs)[number]) => number): number => errs.reduce((s, e) => s + f(e), 0) / errs.length;
        const p: NfePoint = {
          method: job.spec.method,
          ...(job.spec.method === 'dopri5' ? { tol: job.spec.rtol! } : { steps: job.spec.steps! }),
          nfe: enc.nfe + dec.nfe,
          encodeNfe: enc.nfe,
          decodeNfe: dec.nfe,
          psnr: mean((e) => e.psnr),
          mse: mean((e) => e.mse),
          maxAbsError: mean((e) => e.maxAbsError),
          seconds: since(t),
        };
        return p;
      });
      const list = series.get(point.method) ?? [];
      list.push(point);
      series.set(point.method, list);
      await stages.next();
    }
    return {
      model: modelSummary(model),
      series: [...series.entries()].map(([method, points]) => ({ method, points: points.sort((a, b) => a.nfe - b.nfe) })),
      images: req.images.length,
    };
  });
}

/** One image's inversion: its item with the solves' cost (see `invertImages`). */
export interface InvertOneResult extends InvertItem {
  model: InvertResult['model'];
  encode: InvertResult['encode'];
  decode: InvertResult['decode'];
  dataRange: number;
  sqrtD: number;
}

/**
 * `invertImages` for a single image.
 *
 * @example
 *   const r = await invertImage(model, { image: img, classLabel: 7, solver: { method: 'rk4', steps: 20 } });
 *   r.error.psnr; r.stats.ks; r.encode.nfe;
 */
export async function invertImage(
  model: LoadedModel,
  req: Omit<InvertRequest, 'images' | 'classLabel'> & { image: LatentImage; classLabel?: ClassChoice },
  ctl: LatentControl = {},
): Promise<InvertOneResult> {
  const { image, classLabel, ...rest } = req;
  const r = await invertImages(model, { ...rest, images: [image], classLabel: classLabel ?? null }, ctl);
  return { ...r.items[0]!, model: r.model, encode: r.encode, decode: r.decode, dataRange: r.dataRange, sqrtD: r.sqrtD };
}
