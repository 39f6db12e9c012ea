/**
 * The latent commands, all through the probability-flow ODE (a deterministic bijection, so each is
 * exact up to solver error; dopri5 by default because inversion is only as good as its accuracy):
 * - `invert`: data at t = 1 -> latents at t = 0 (core encode);
 * - `decode`: latents -> data (core decode);
 * - `interpolate`: encode two inputs, interpolate their latents (slerp or lerp), decode each frame.
 */
import { tf, type Tensor } from '../../../core/tf';
import { decode, encode, type InversionOptions } from '../../../core/inversion/encode';
import { interpolatePath } from '../../../core/inversion/interpolate';
import { imageGridPng, type Channels } from '../../data';
import type { LoadedModel } from '../../models/load';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { classLabels, dimOf, loadModel, MODEL_OPTIONS, modelInfo, SOLVER_OPTIONS, solverChoice, type SolverChoice } from '../modeling';
import { UsageError } from '../errors';
import { readImages, readModelInput, type ModelInput } from '../inputs';
import { isImageFile, readVectors, writeOutput } from '../io';
import { vectorsText } from '../output';
import { invertImages } from '../../latent/invert';
import { interpolateImages, interpolationAnimation } from '../../latent/interpolate';
import { INTERPOLATION_MODES, type InterpolationMode, type LatentImage } from '../../../common/latent';
import { isImageSpec, keepResults, readStudioImage, solverSpec, STUDIO_OPTIONS } from '../latent-args';

const COMMON = { ...MODEL_OPTIONS, ...SOLVER_OPTIONS, class: { type: 'string' }, out: { type: 'string' } } as const satisfies OptionSpecs;
/**
 * invert: --points FILE|- or --image FILE.png|mnist:D[:I]...; for images also the latent statistics,
 * the reconstruction and its PSNR, optionally bits/dim (--bpd) and the studio's --save / --export.
 */
export const INVERT_OPTIONS = {
  ...COMMON,
  ...STUDIO_OPTIONS,
  points: { type: 'string' },
  image: { type: 'string', multiple: true },
  bpd: { type: 'boolean' },
  probes: { type: 'string' },
  repeats: { type: 'string' },
  seed: { type: 'string' },
  reconstruction: { type: 'string' },
} as const satisfies OptionSpecs;
/** decode: --latents FILE|-, --cols for image grids. */
export const DECODE_OPTIONS = { ...COMMON, latents: { type: 'string' }, cols: { type: 'string' } } as const satisfies OptionSpecs;
/** interpolate: --from/--to (points, latents with --latents, or images), --frames, --mode. */
export const INTERPOLATE_OPTIONS = {
  ...COMMON,
  ...STUDIO_OPTIONS,
  gif: { type: 'string' },
  apng: { type: 'string' },
  delay: { type: 'string' },
  bounce: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  frames: { type: 'string' },
  mode: { type: 'string' },
  latents: { type: 'boolean' },
} as const satisfies OptionSpecs;

function odeOptions(model: LoadedModel, solver: SolverChoice, cond: Tensor | undefined): InversionOptions {
  return {
    method: solver.solver,
    ...(solver.steps !== undefined ? { steps: solver.steps } : {}),
    rtol: solver.rtol,
    atol: solver.atol,
    t0: model.timeRange.lo,
    t1: model.timeRange.hi,
    ...(cond ? { cond } : {}),
  };
}

/** Rows of a [B, ...] tensor as flat vectors. */
function rowsOf(x: Tensor): number[][] {
  const B = x.shape[0]!;
  const d = x.size / B;
  const data = x.dataSync();
  return Array.from({ length: B }, (_, b) => Array.from(data.subarray(b * d, (b + 1) * d)));
}

/** Encodes the inputs into latents (t = 1 -> 0) and prints them as flat vectors with the NFE. */
export async function invertCommand(ctx: Context): Promise<number> {
  const { args } = ctx;
  const model = await loadModel(ctx);
  const solver = solverChoice(args, model, { solver: 'dopri5', useRunSampling: false });
  if (model.shape.length === 3 && args.has('image')) return invertImagesCommand(ctx, model, solver);
  args.forbid(
    ['bpd', 'probes', 'repeats', 'seed', 'reconstruction', 'exact-size', 'background', 'save', 'export'],
    'apply only to --image with an image model',
  );
  const input = await readModelInput(ctx, model, { vectors: 'points', images: 'image', what: 'points' });
  const cond = classLabels(args, model, input.x.shape[0]!);
  const tensors: Tensor[] = [input.x, ...(cond ? [cond] : [])];
  try {
    const t0 = performance.now();
    const r = encode(model.field(0), input.x, odeOptions(model, solver, cond));
    tensors.push(r.x);
    const seconds = (performance.now() - t0) / 1000;
    const latents = rowsOf(r.x);
    const report = {
      model: modelInfo(model),
      solver: solver.solver,
      steps: r.steps,
      nfe: r.nfe,
      seconds,
      n: latents.length,
      dim: dimOf(model),
      inputs: input.names,
    };
    const note = `${latents.length} latent${latents.length === 1 ? '' : 's'} from ${model.label} with ${solver.solver} (${r.steps} steps, ${r.nfe} NFE)`;
    emitVectors(ctx, latents, report, note, 'latents');
    return 0;
  } finally {
    tf.dispose(tensors);
  }
}

/**
 * invert --image for image models (main/latent): latents plus, per image, the latent statistics
 * against N(0, I), the reconstruction decode(encode(x)) with the same solver, its PSNR (data range 2)
 * and max abs error, and with --bpd the Hutchinson bits/dim and its spread over --repeats estimates.
 */
async function invertImagesCommand(ctx: Context, model: LoadedModel, solver: SolverChoice): Promise<number> {
  const { args } = ctx;
  args.exclusive('points', 'image');
  if (!args.flag('bpd')) args.forbid(['probes', 'repeats', 'seed'], 'apply only with --bpd');
  const probes = args.int('probes', { min: 1, max: 100 });
  const repeats = args.int('repeats', { min: 1, max: 100 });
  const seed = args.int('seed', { min: 0 });
  const cls = args.int('class', { min: 0 });
  if (cls !== undefined) classLabels(args, model, 1)?.dispose(); // checks the class against the model
  const specs = [...args.strings('image'), ...args.positionals];
  const images: LatentImage[] = [];
  for (const spec of specs) images.push(await readStudioImage(ctx, model, spec, '--image'));
  const t0 = performance.now();
  const r = await invertImages(model, {
    images,
    classLabel: cls ?? null,
    solver: solverSpec(solver),
    ...(args.flag('bpd')
      ? { bitsPerDim: { ...(probes ? { probes } : {}), ...(repeats ? { repeats } : {}), ...(seed !== undefined ? { seed } : {}) } }
      : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const reconFile = args.string('reconstruction');
  let reconstruction: string | undefined;
  if (reconFile) {
    // One row per image: input | reconstruction | latent (z / 3).
    const [h, w, c] = model.shape as [number, number, Channels];
    const d = h * w * c;
    const all = new Float32Array(images.length * 3 * d);
    r.items.forEach((it, i) => {
      all.set(images[i]!.pixels, 3 * i * d);
      all.set(it.reconstruction, (3 * i + 1) * d);
      all.set(
        it.latent.map((v) => Math.max(-1, Math.min(1, v / 3))),
        (3 * i + 2) * d,
      );
    });
    reconstruction = writeOutput(reconFile, imageGridPng(all, images.length * 3, h, w, c, 3));
  }
  const kept = keepResults(ctx, model, { kind: 'invert', result: r }, 'invert');
  const latents = r.items.map((it) => it.latent);
  const report = {
    model: modelInfo(model),
    solver: solver.solver,
    steps: r.encode.steps,
    nfe: r.encode.nfe,
    seconds,
    n: latents.length,
    dim: dimOf(model),
    inputs: r.items.map((it) => it.source),
    dataRange: r.dataRange,
    sqrtD: r.sqrtD,
    decodeNfe: r.decode.nfe,
    images: r.items.map((it) => ({
      input: it.source,
      classLabel: it.classLabel,
      stats: it.stats,
      psnr: it.error.psnr,
      mse: it.error.mse,
      maxAbsError: it.error.maxAbsError,
      ...(it.bitsPerDim ? { bitsPerDim: it.bitsPerDim } : {}),
    })),
    ...(reconstruction ? { reconstruction } : {}),
    ...kept,
  };
  const psnrs = r.items.map((it) => it.error.psnr.toFixed(1)).join(', ');
  const note =
    `${latents.length} latent${latents.length === 1 ? '' : 's'} from ${model.label} with ${solver.solver} (${r.encode.steps} steps, ${r.encode.nfe} NFE); ` +
    `reconstruction PSNR ${psnrs} dB; latent std ${r.items.map((it) => it.stats.std.toFixed(3)).join(', ')}, KS ${r.items.map((it) => it.stats.ks.toFixed(3)).join(', ')}` +
    (args.flag('bpd')
      ? `; bits/dim ${r.items.map((it) => `${it.bitsPerDim!.mean.toFixed(3)} +- ${it.bitsPerDim!.std.toFixed(3)}`).join(', ')}`
      : '');
  emitVectors(ctx, latents, report, note, 'latents');
  return 0;
}

/** Decodes latents (t = 0 -> 1) into points (JSON) or an image grid (PNG). */
export async function decodeCommand(ctx: Context): Promise<number> {
  const { args } = ctx;
  const model = await loadModel(ctx);
  const images = model.shape.length > 1;
  if (images && !args.has('out')) throw new UsageError(`--out FILE.png is required: ${model.label} makes images`, 'decode');
  const solver = solverChoice(args, model, { solver: 'dopri5', useRunSampling: false });
  const file = args.required('latents', 'is required (a JSON array of latents as invert writes them, or - for stdin)');
  const rows = await readVectors(file, { dim: dimOf(model), what: 'latents' }, ctx.streams.stdin);
  const z = tf.tensor(rows.flat(), [rows.length, ...model.shape], 'float32');
  const cond = classLabels(args, model, rows.length);
  const tensors: Tensor[] = [z, ...(cond ? [cond] : [])];
  try {
    const t0 = performance.now();
    const r = decode(model.field(0), z, odeOptions(model, solver, cond));
    tensors.push(r.x);
    const seconds = (performance.now() - t0) / 1000;
    const report = { model: modelInfo(model), solver: solver.solver, steps: r.steps, nfe: r.nfe, seconds, n: rows.length };
    const note = `${rows.length} decoded from ${model.label} with ${solver.solver} (${r.steps} steps, ${r.nfe} NFE)`;
    if (images) {
      const [h, w, c] = model.shape as [number, number, Channels];
      const cols = args.int('cols', { min: 1 }) ?? 8;
      const png = imageGridPng(r.x.dataSync() as Float32Array, rows.length, h, w, c, Math.min(cols, rows.length));
      const path = writeOutput(args.string('out')!, png);
      ctx.out.note(`${note}; wrote ${path}`);
      ctx.out.result({ ...report, out: path, format: 'png' });
    } else {
      emitVectors(ctx, rowsOf(r.x), report, note, 'points');
    }
    return 0;
  } finally {
    tf.dispose(tensors);
  }
}

/** Frames between two inputs: encode both, interpolate the latents, decode every frame in one batch. */
export async function interpolateCommand(ctx: Context): Promise<number> {
  const { args, out } = ctx;
  const model = await loadModel(ctx);
  const images = model.shape.length > 1;
  if (images && !args.has('out')) throw new UsageError(`--out FILE.png is required: ${model.label} makes images`, 'interpolate');
  const fromFile = args.required('from', 'is required (a JSON file of points or latents, or an image)');
  const toFile = args.required('to', 'is required (a JSON file of points or latents, or an image)');
  const frames = args.int('frames', { min: 2, max: 1000 }) ?? 8;
  const solver = solverChoice(args, model, { solver: 'dopri5', useRunSampling: false });
  const asLatents = args.flag('latents');
  if (images && !asLatents && isImageSpec(fromFile) && isImageSpec(toFile))
    return interpolateImagesCommand(ctx, model, solver, fromFile, toFile, frames);
  args.forbid(
    ['gif', 'apng', 'delay', 'bounce', 'exact-size', 'background', 'save', 'export'],
    'apply only to two images (files or mnist:D:I) with an image model',
  );
  const mode = args.choice('mode', INTERPOLATION_MODES) ?? 'slerp';
  const read = async (file: string): Promise<ModelInput> => {
    if (isImageFile(file)) {
      if (asLatents) throw new UsageError(`--latents: ${file} is an image, not a JSON file of latents`, 'interpolate');
      return readImages(model, [file], file === fromFile ? '--from' : '--to');
    }
    const rows = await readVectors(file, { dim: dimOf(model), what: asLatents ? 'latents' : 'points' }, ctx.streams.stdin);
    return { x: tf.tensor(rows.flat(), [rows.length, ...model.shape], 'float32'), names: rows.map((_, i) => `${file}[${i}]`) };
  };
  const a = await read(fromFile);
  const tensors: Tensor[] = [a.x];
  try {
    const b = await read(toFile);
    tensors.push(b.x);
    const B = a.x.shape[0]!;
    if (b.x.shape[0] !== B)
      throw new UsageError(`--from has ${B} item(s) but --to has ${b.x.shape[0]}; they are paired item by item`, 'interpolate');
    const encCond = classLabels(args, model, 2 * B);
    if (encCond) tensors.push(encCond);
    const ode = (c: Tensor | undefined) => odeOptions(model, solver, c);
    let z0 = a.x;
    let z1 = b.x;
    let nfe = 0;
    if (!asLatents) {
      const both = tf.concat([a.x, b.x]);
      tensors.push(both);
      const enc = encode(model.field(0), both, ode(encCond));
      tensors.push(enc.x);
      nfe += enc.nfe;
      [z0, z1] = tf.split(enc.x, 2) as [Tensor, Tensor];
      tensors.push(z0, z1);
    }
    const path = interpolatePath(z0, z1, frames, mode); // [F, B, ...shape]
    tensors.push(path);
    const flat = tf.reshape(path, [frames * B, ...model.shape]);
    tensors.push(flat);
    const decCond = classLabels(args, model, frames * B);
    if (decCond) tensors.push(decCond);
    const dec = decode(model.field(0), flat, ode(decCond));
    tensors.push(dec.x);
    nfe += dec.nfe;
    const report = { model: modelInfo(model), mode, frames, items: B, solver: solver.solver, nfe, encoded: !asLatents };
    const note = `${frames} frames x ${B} item(s) by ${mode} from ${model.label} with ${solver.solver} (${nfe} NFE)`;
    if (images) {
      // One row per item, one column per frame: reorder [F, B, ...] to [B, F, ...].
      const [h, w, c] = model.shape as [number, number, Channels];
      const byItem = tf.transpose(tf.reshape(dec.x, [frames, B, h * w * c]), [1, 0, 2]);
      tensors.push(byItem);
      const png = imageGridPng(byItem.dataSync() as Float32Array, frames * B, h, w, c, frames);
      const file = writeOutput(args.string('out')!, png);
      out.note(`${note}; wrote ${file}`);
      out.result({ ...report, out: file, format: 'png' });
      return 0;
    }
    const data = rowsOf(dec.x);
    const framesOut = Array.from({ length: frames }, (_, f) => data.slice(f * B, (f + 1) * B));
    const text = () => `[\n${framesOut.map((fr) => vectorsText(fr).replace(/^/gm, '  ')).join(',\n')}\n]`;
    const outFile = args.string('out');
    if (outFile) {
      const file = writeOutput(outFile, `${text()}\n`);
      out.note(`${note}; wrote ${file}`);
      out.result({ ...report, out: file, format: 'json' });
    } else {
      out.note(note);
      out.result({ ...report, path: framesOut }, text);
    }
    return 0;
  } finally {
    tf.dispose(tensors);
  }
}

/**
 * interpolate between two images (main/latent): a PNG strip (--out; one row per mode with
 * --mode both), animations (--gif, --apng), latent norms per frame against sqrt(d).
 */
async function interpolateImagesCommand(
  ctx: Context,
  model: LoadedModel,
  solver: SolverChoice,
  fromSpec: string,
  toSpec: string,
  frames: number,
): Promise<number> {
  const { args, out } = ctx;
  const modeArg = args.choice('mode', [...INTERPOLATION_MODES, 'both'] as const) ?? 'slerp';
  const modes: InterpolationMode[] = modeArg === 'both' ? [...INTERPOLATION_MODES] : [modeArg];
  const delay = args.int('delay', { min: 0, max: 65535 }) ?? 150;
  const cls = args.int('class', { min: 0 });
  if (cls !== undefined) classLabels(args, model, 1)?.dispose();
  if (frames > 256) throw new UsageError(`--frames: at most 256 for images, got ${frames}`, 'interpolate');
  const a = await readStudioImage(ctx, model, fromSpec, '--from');
  const b = await readStudioImage(ctx, model, toSpec, '--to');
  const r = await interpolateImages(model, { a, b, frames, modes, classLabel: cls ?? null, solver: solverSpec(solver) });
  const [h, w, c] = model.shape as [number, number, Channels];
  const d = h * w * c;
  const grid = new Float32Array(modes.length * frames * d);
  r.paths.forEach((p, k) => p.frames.forEach((f, j) => grid.set(f, (k * frames + j) * d)));
  const files: Record<string, string> = {};
  files.out = writeOutput(args.string('out')!, imageGridPng(grid, modes.length * frames, h, w, c, frames));
  for (const format of ['gif', 'apng'] as const) {
    const file = args.string(format);
    if (file)
      files[format] = writeOutput(
        file,
        interpolationAnimation(r, { mode: modes[0]!, format, delayMs: delay, bounce: args.flag('bounce') }),
      );
  }
  const kept = keepResults(ctx, model, { kind: 'interpolate', result: r, delayMs: delay }, 'interpolate');
  const nfe = r.encode.nfe + r.decode.nfe;
  const report = {
    model: modelInfo(model),
    mode: modeArg,
    frames,
    items: 1,
    solver: solver.solver,
    nfe,
    encoded: true,
    sqrtD: r.sqrtD,
    norms: Object.fromEntries(r.paths.map((p) => [p.mode, p.norms])),
    endpoints: r.endpoints,
    ...files,
    format: 'png',
    ...kept,
  };
  const normText = r.paths.map((p) => `${p.mode} norms ${Math.min(...p.norms).toFixed(1)}..${Math.max(...p.norms).toFixed(1)}`).join(', ');
  out.note(
    `${frames} frames by ${modeArg} from ${model.label} with ${solver.solver} (${nfe} NFE); ${normText} (sqrt(d) = ${r.sqrtD.toFixed(1)}); endpoint PSNR ${r.endpoints.a.psnr.toFixed(1)} / ${r.endpoints.b.psnr.toFixed(1)} dB; wrote ${Object.values(files).join(', ')}`,
  );
  out.result(report);
  return 0;
}

/** Vectors to --out (JSON file) or stdout, with the report as the --json document. */
function emitVectors(ctx: Context, rows: number[][], report: Record<string, unknown>, note: string, key: string): void {
  const outFile = ctx.args.string('out');
  if (outFile) {
    const file = writeOutput(outFile, `${vectorsText(rows)}\n`);
    ctx.out.note(`${note}; wrote ${file}`);
    ctx.out.result({ ...report, out: file, format: 'json' });
  } else {
    ctx.out.note(note);
    ctx.out.result({ ...report, [key]: rows }, () => vectorsText(rows));
  }
}
