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
import type { LoadedModel } from '../../engine/models';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { classLabels, dimOf, MODEL_OPTIONS, modelInfo, SOLVER_OPTIONS, solverChoice, type SolverChoice } from '../modeling';
import { UsageError } from '../errors';
import { readImages, readModelInput, type ModelInput } from '../inputs';
import { isImageFile, readVectors, writeOutput } from '../io';
import { vectorsText } from '../output';

const COMMON = { ...MODEL_OPTIONS, ...SOLVER_OPTIONS, class: { type: 'string' }, out: { type: 'string' } } as const satisfies OptionSpecs;
/** invert: --points FILE|- or --image FILE.png... */
export const INVERT_OPTIONS = { ...COMMON, points: { type: 'string' }, image: { type: 'string', multiple: true } } as const satisfies OptionSpecs;
/** decode: --latents FILE|-, --cols for image grids. */
export const DECODE_OPTIONS = { ...COMMON, latents: { type: 'string' }, cols: { type: 'string' } } as const satisfies OptionSpecs;
/** interpolate: --from/--to (points, latents with --latents, or images), --frames, --mode. */
export const INTERPOLATE_OPTIONS = {
  ...COMMON,
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
  const model = await ctx.model();
  const solver = solverChoice(args, model, { solver: 'dopri5', useRunSampling: false });
  const input = await readModelInput(ctx, model, { vectors: 'points', images: 'image', what: 'points' });
  const cond = classLabels(args, model, input.x.shape[0]!);
  const tensors: Tensor[] = [input.x, ...(cond ? [cond] : [])];
  try {
    const t0 = performance.now();
    const r = encode(model.field(0), input.x, odeOptions(model, solver, cond));
    tensors.push(r.x);
    const seconds = (performance.now() - t0) / 1000;
    const latents = rowsOf(r.x);
    const report = { model: modelInfo(model), solver: solver.solver, steps: r.steps, nfe: r.nfe, seconds, n: latents.length, dim: dimOf(model), inputs: input.names };
    const note = `${latents.length} latent${latents.length === 1 ? '' : 's'} from ${model.label} with ${solver.solver} (${r.steps} steps, ${r.nfe} NFE)`;
    emitVectors(ctx, latents, report, note, 'latents');
    return 0;
  } finally {
    tf.dispose(tensors);
  }
}

/** Decodes latents (t = 0 -> 1) into points (JSON) or an image grid (PNG). */
export async function decodeCommand(ctx: Context): Promise<number> {
  const { args } = ctx;
  const model = await ctx.model();
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
  const model = await ctx.model();
  const images = model.shape.length > 1;
  if (images && !args.has('out')) throw new UsageError(`--out FILE.png is required: ${model.label} makes images`, 'interpolate');
  const fromFile = args.required('from', 'is required (a JSON file of points or latents, or an image)');
  const toFile = args.required('to', 'is required (a JSON file of points or latents, or an image)');
  const frames = args.int('frames', { min: 2, max: 1000 }) ?? 8;
  const mode = args.choice('mode', ['slerp', 'lerp'] as const) ?? 'slerp';
  const solver = solverChoice(args, model, { solver: 'dopri5', useRunSampling: false });
  const asLatents = args.flag('latents');
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
    if (b.x.shape[0] !== B) throw new UsageError(`--from has ${B} item(s) but --to has ${b.x.shape[0]}; they are paired item by item`, 'interpolate');
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
