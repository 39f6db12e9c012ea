/**
 * `flow-studio sample`: draws samples from the source (t = 0) to the data (t = 1) with any sampler of
 * core/solver/samplers.ts (ODE methods, DDIM / DPM-Solver++(2M), Euler-Maruyama on the reverse SDE,
 * ancestral, predictor-corrector, EDM), optionally under another scheduler (--scheduler). Points come
 * out as a JSON array of vectors (or a scatter PNG / CSV by --out's extension), images as a PNG grid;
 * --trajectories writes every grid time's points as CSV.
 */
import { tf } from '../../../core/tf';
import { sampleFromField, samplerSettings } from '../../../core/train/sample';
import { STOCHASTIC_SAMPLERS, type SamplerKind } from '../../../core/catalog';
import { imageGridPng, type Channels } from '../../data';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import {
  classLabels,
  guidanceWeight,
  loadModel,
  MODEL_OPTIONS,
  modelInfo,
  SAMPLER_OPTIONS,
  samplerChoice,
  SOLVER_OPTIONS,
  sourceStart,
} from '../modeling';
import { scatterPng, trajectoriesCsv } from '../plots';
import { UsageError } from '../errors';
import { vectorsText } from '../output';
import { writeOutput } from '../io';

/** sample: model, solver and sampler flags, --n, --seed, --noise-seed, --cfg, --class, --out, --cols, --trajectories. */
export const SAMPLE_OPTIONS = {
  ...MODEL_OPTIONS,
  ...SOLVER_OPTIONS,
  ...SAMPLER_OPTIONS,
  'noise-seed': { type: 'string' },
  trajectories: { type: 'string' },
  n: { type: 'string' },
  seed: { type: 'string' },
  cfg: { type: 'string' },
  class: { type: 'string' },
  out: { type: 'string' },
  cols: { type: 'string' },
} as const satisfies OptionSpecs;

const STOCHASTIC: readonly SamplerKind[] = STOCHASTIC_SAMPLERS;

/** Draws --n samples and prints them (points) or writes a PNG grid (images), reporting the NFE. */
export async function sampleCommand(ctx: Context): Promise<number> {
  const { args, out } = ctx;
  const model = await loadModel(ctx);
  const images = model.shape.length > 1;
  const outFile = args.string('out');
  if (images && !outFile)
    throw new UsageError(`--out FILE.png is required: ${model.label} makes images (shape [${model.shape.join(', ')}])`, 'sample');
  const n = args.int('n', { min: 1, max: 100_000 }) ?? (images ? 64 : 1000);
  const seed = args.int('seed', { min: 0 }) ?? 0;
  const cols = args.int('cols', { min: 1, max: 1024 }) ?? 8;
  const sampler = samplerChoice(args, model);
  const noiseSeed = args.int('noise-seed', { min: 0 });
  const trajFile = args.string('trajectories');
  if (trajFile && images) throw new UsageError('--trajectories: a CSV of points, for 2D and vector models (not images)', 'sample');
  const w = guidanceWeight(args, model, out);
  const cond = classLabels(args, model, n);
  const from = await sourceStart(model, n, seed);
  const t0 = performance.now();
  let result;
  try {
    result = sampleFromField(model.field(w), {
      n,
      shape: model.shape,
      seed,
      solver: sampler.sampler,
      ...(sampler.steps !== undefined ? { steps: sampler.steps } : {}),
      rtol: sampler.rtol,
      atol: sampler.atol,
      ...samplerSettings(sampler),
      ...(noiseSeed !== undefined ? { noiseSeed } : {}),
      scheduler: model.scheduler,
      t0: model.timeRange.lo,
      t1: model.timeRange.hi,
      ...(trajFile ? { returnTrajectory: true } : {}),
      ...(cond ? { cond } : {}),
      ...(from ? { from } : {}),
    });
  } finally {
    tf.dispose([...(cond ? [cond] : []), ...(from ? [from] : [])]);
  }
  const seconds = (performance.now() - t0) / 1000;
  const report = {
    model: modelInfo(model),
    n,
    seed,
    solver: sampler.sampler,
    ...samplerSettings(sampler),
    ...(STOCHASTIC.includes(sampler.sampler) ? { noiseSeed: noiseSeed ?? seed + 1 } : {}),
    scheduler: model.scheduler.spec,
    steps: result.steps,
    nfe: result.nfe,
    seconds,
    ...(w !== undefined ? { cfg: w } : {}),
    ...(args.has('class') ? { class: args.int('class') } : {}),
  };
  const note = `${n} samples from ${model.label} with ${sampler.sampler} (${result.steps} steps, ${result.nfe} NFE) in ${seconds.toFixed(2)} s`;
  try {
    if (images) {
      const [h, wd, c] = model.shape as [number, number, Channels];
      const png = imageGridPng(result.x.dataSync() as Float32Array, n, h, wd, c, Math.min(cols, n));
      const file = writeOutput(outFile!, png);
      out.note(`${note}; wrote ${file}`);
      out.result({ ...report, out: file, format: 'png' });
      return 0;
    }
    const points = result.x.arraySync() as number[][];
    const written: Record<string, string> = {};
    if (trajFile) {
      const states = (result.trajectory ?? []).map((t) => t.arraySync() as number[][]);
      written.trajectories = writeOutput(trajFile, trajectoriesCsv(result.times, states));
    }
    if (outFile) {
      // The format follows the extension: a scatter plot for .png, CSV for .csv, else JSON.
      const format = /\.png$/i.test(outFile) ? 'png' : /\.csv$/i.test(outFile) ? 'csv' : 'json';
      if (format === 'png' && model.shape.join() !== '2')
        throw new UsageError(`--out ${outFile}: a scatter plot needs 2D points; this model makes [${model.shape.join(', ')}]`, 'sample');
      const data =
        format === 'png'
          ? scatterPng(points)
          : format === 'csv'
            ? trajectoriesCsv([result.times.at(-1)!], [points])
            : `${vectorsText(points)}\n`;
      const file = writeOutput(outFile, data);
      out.note(`${note}; wrote ${[file, ...Object.values(written)].join(', ')}`);
      out.result({ ...report, out: file, format, ...written });
    } else {
      out.note(trajFile ? `${note}; wrote ${written.trajectories}` : note);
      out.result({ ...report, ...written, samples: points }, () => vectorsText(points));
    }
    return 0;
  } finally {
    tf.dispose([result.x, result.x0, ...(result.trajectory ?? [])]);
  }
}
