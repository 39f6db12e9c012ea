/**
 * `flow-studio sample`: draws samples by integrating dx/dt = v(x, t) from the source (t = 0) to the
 * data (t = 1). Points come out as a JSON array of vectors, images as a PNG grid.
 */
import { tf } from '../../../core/tf';
import { sampleFromField } from '../../../core/train/sample';
import { imageGridPng, type Channels } from '../../data';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { classLabels, guidanceWeight, loadModel, MODEL_OPTIONS, modelInfo, SOLVER_OPTIONS, solverChoice, sourceStart } from '../modeling';
import { UsageError } from '../errors';
import { vectorsText } from '../output';
import { writeOutput } from '../io';

/** sample: model and solver flags, --n, --seed, --cfg, --class, --out, --cols. */
export const SAMPLE_OPTIONS = {
  ...MODEL_OPTIONS,
  ...SOLVER_OPTIONS,
  n: { type: 'string' },
  seed: { type: 'string' },
  cfg: { type: 'string' },
  class: { type: 'string' },
  out: { type: 'string' },
  cols: { type: 'string' },
} as const satisfies OptionSpecs;

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
  const solver = solverChoice(args, model, { solver: 'dopri5', useRunSampling: true });
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
      solver: solver.solver,
      ...(solver.steps !== undefined ? { steps: solver.steps } : {}),
      rtol: solver.rtol,
      atol: solver.atol,
      scheduler: model.scheduler,
      t0: model.timeRange.lo,
      t1: model.timeRange.hi,
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
    solver: solver.solver,
    steps: result.steps,
    nfe: result.nfe,
    seconds,
    ...(w !== undefined ? { cfg: w } : {}),
    ...(args.has('class') ? { class: args.int('class') } : {}),
  };
  const note = `${n} samples from ${model.label} with ${solver.solver} (${result.steps} steps, ${result.nfe} NFE) in ${seconds.toFixed(2)} s`;
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
    if (outFile) {
      const file = writeOutput(outFile, `${vectorsText(points)}\n`);
      out.note(`${note}; wrote ${file}`);
      out.result({ ...report, out: file, format: 'json' });
    } else {
      out.note(note);
      out.result({ ...report, samples: points }, () => vectorsText(points));
    }
    return 0;
  } finally {
    tf.dispose([result.x, result.x0, ...(result.trajectory ?? [])]);
  }
}
