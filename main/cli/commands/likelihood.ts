/**
 * `flow-studio likelihood`: log p(x) per input through the probability-flow ODE (core logLikelihood:
 * [x, L] integrated from data at t = 1 to noise at t = 0, log p = log N(x0) + L). Oracles also report
 * their closed-form log-density, which makes this command a check of the solver settings. Images are
 * dequantised 8-bit data and reported in bits/dim as well.
 */
import { tf, type Tensor } from '../../../core/tf';
import { logLikelihood } from '../../../core/likelihood/likelihood';
import { bitsPerDim, dequantize } from '../../../core/likelihood/bpd';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { classLabels, dimOf, loadModel, MODEL_OPTIONS, modelInfo, requireGaussianSource, SOLVER_OPTIONS, solverChoice } from '../modeling';
import { readModelInput } from '../inputs';
import { short, table } from '../output';

/** likelihood: inputs (--points or --images), divergence mode, probes, solver. */
export const LIKELIHOOD_OPTIONS = {
  ...MODEL_OPTIONS,
  ...SOLVER_OPTIONS,
  points: { type: 'string' },
  images: { type: 'string', multiple: true },
  exact: { type: 'boolean' },
  hutchinson: { type: 'boolean' },
  probes: { type: 'string' },
  seed: { type: 'string' },
  class: { type: 'string' },
} as const satisfies OptionSpecs;

/** Prints log p per input (and the oracle's closed form, and bits/dim for images). */
export async function likelihoodCommand(ctx: Context): Promise<number> {
  const { args, out } = ctx;
  args.exclusive('exact', 'hutchinson');
  const model = await loadModel(ctx);
  requireGaussianSource(model, 'likelihood');
  const images = model.shape.length > 1;
  const divergence = args.flag('exact') ? 'exact' : args.flag('hutchinson') ? 'hutchinson' : images ? 'hutchinson' : 'exact';
  if (divergence === 'exact') args.forbid(['probes'], 'applies only to --hutchinson');
  const probes = args.int('probes', { min: 1, max: 1000 }) ?? 1;
  const seed = args.int('seed', { min: 0 }) ?? 0;
  const solver = solverChoice(args, model, { solver: 'dopri5', useRunSampling: false });
  const input = await readModelInput(ctx, model, { vectors: 'points', images: 'images', what: 'points' });
  const tensors: Tensor[] = [input.x];
  try {
    let x = input.x;
    if (input.pixels) {
      // Uniform dequantisation of the 8-bit pixels into [-1, 1): the density of a continuous model
      // is only a bound on the probability of discrete data after this (see core/likelihood/bpd).
      const ints = tf.tensor(Int32Array.from(input.pixels.flatMap((p) => Array.from(p))), x.shape, 'int32');
      tensors.push(ints);
      x = dequantize(ints, { seed, low: -1, high: 1 });
      tensors.push(x);
    }
    const B = x.shape[0]!;
    const cond = classLabels(args, model, B);
    if (cond) tensors.push(cond);
    const t0 = performance.now();
    const r = logLikelihood(model.field(0), x, {
      divergence,
      ...(divergence === 'hutchinson' ? { probes, seed } : {}),
      method: solver.solver,
      ...(solver.steps !== undefined ? { steps: solver.steps } : {}),
      rtol: solver.rtol,
      atol: solver.atol,
      t0: model.timeRange.lo,
      t1: model.timeRange.hi,
      scheduler: model.scheduler,
      ...(cond ? { cond } : {}),
    });
    tensors.push(r.latent);
    const seconds = (performance.now() - t0) / 1000;
    const logp = Array.from(r.logp);
    let exact: number[] | undefined;
    if (model.oracle) {
      const lp = model.oracle.logDensity(x, model.timeRange.hi);
      tensors.push(lp);
      exact = Array.from(lp.dataSync());
    }
    const d = dimOf(model);
    const bpd = images ? Array.from(bitsPerDim(logp, d)) : undefined;
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const maxAbsError = exact ? Math.max(...logp.map((v, i) => Math.abs(v - exact![i]!))) : undefined;
    const doc = {
      model: modelInfo(model),
      divergence,
      ...(divergence === 'hutchinson' ? { probes, seed } : {}),
      solver: solver.solver,
      ...(solver.solver === 'dopri5' ? { rtol: solver.rtol, atol: solver.atol } : {}),
      steps: r.steps,
      nfe: r.nfe,
      fieldEvals: r.fieldEvals,
      seconds,
      n: B,
      dim: d,
      ...(model.timeRange.hi < 1 ? { dataTime: model.timeRange.hi } : {}),
      inputs: input.names,
      logp,
      ...(exact ? { exactLogp: exact, maxAbsError } : {}),
      ...(bpd ? { bitsPerDim: bpd } : {}),
      mean: { logp: mean(logp), ...(exact ? { exactLogp: mean(exact) } : {}), ...(bpd ? { bitsPerDim: mean(bpd) } : {}) },
    };
    out.note(
      `${B} input${B === 1 ? '' : 's'} under ${model.label}: ${divergence} divergence, ${solver.solver} (${r.steps} steps, ${r.nfe} NFE) in ${seconds.toFixed(2)} s; ` +
        `mean log p = ${short(doc.mean.logp)} nats` +
        (exact ? `, closed form ${short(mean(exact))} (max |diff| ${short(maxAbsError)})` : '') +
        (bpd ? `, ${short(mean(bpd))} bits/dim` : ''),
    );
    out.result(doc, () => {
      const header = ['input', 'log p (nats)', ...(exact ? ['exact log p', 'diff'] : []), ...(bpd ? ['bits/dim'] : [])];
      const rows = logp.map((v, i) => [
        input.names[i]!,
        v.toFixed(6),
        ...(exact ? [exact[i]!.toFixed(6), (v - exact[i]!).toExponential(2)] : []),
        ...(bpd ? [bpd[i]!.toFixed(4)] : []),
      ]);
      return table(header, rows);
    });
    return 0;
  } finally {
    tf.dispose(tensors);
  }
}
