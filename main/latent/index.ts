/**
 * The latent studio's engine: invert images to noise through the probability-flow ODE, look at the
 * latents, interpolate and edit there, decode back, and keep the results. No UI and no Electron:
 * the CLI calls it directly, the app from a worker thread.
 *
 * Convention: noise x0 ~ N(0, I) at t = 0, data x1 at t = 1, x_t = alpha_t x1 + sigma_t x0. Inverting
 * integrates dx/dt = v(x, t) from t = 1 down to 0; decoding from 0 up to 1 (core/inversion).
 *
 * Every function takes a `LoadedModel` (main/models/load: resolveModel('shipped:mnist' | RUN_ID
 * | ...)), a plain-JSON request, and optionally `{ onProgress, signal }`; it resolves to a plain-JSON
 * result (pixels and latents as number arrays in [-1, 1] / latent units, pictures as base64 PNGs),
 * so requests and results cross postMessage unchanged. Long calls report progress after each solver
 * step and stop with CancelledError when `signal.aborted` is seen (use `sharedCancel` in a worker).
 *
 *   pickImage(model, source)                -> LatentImage   dataset digit, file, bytes, pixels, sample
 *   invertImages(model, InvertRequest)      -> InvertResult  latent, stats vs N(0, I), reconstruction,
 *                                                            PSNR / max abs error, NFE, bits/dim +- spread
 *   invertImage(model, { image, ... })      -> the same for one image
 *   reconstructionVsNfe(model, NfeSweepRequest) -> NfeSweepResult  error vs NFE per solver (a chart)
 *   interpolateImages(model, InterpolateRequest) -> InterpolateResult  slerp / lerp frames, norms
 *   interpolationAnimation(result, { format: 'apng' | 'gif' }) -> bytes
 *   classSwap / sdedit / inpaint / latentArithmetic (model, request) -> edit results
 *   resultFiles({ kind, result }) -> LatentFile[]; saveArtifacts(store, model, files); exportFiles(dir, files)
 *   runLatentTask(model, task) -> the result of one of the above, for a task runner
 *
 * Numbers, and what they mean:
 * - latent statistics (core/inversion/stats): mean, std, norm / sqrt(d), skewness, excess kurtosis and
 *   the Kolmogorov-Smirnov distance D of the entries to N(0, 1) (the normality score: 0 is perfect;
 *   1.36 / sqrt(d) is the 5% critical value for independent entries, 0.049 at d = 784).
 * - PSNR = 10 log10(R^2 / MSE) with R = 2, the width of the data range [-1, 1] (the same as 8-bit
 *   PSNR with R = 255); max abs error in the same units. Raw decoded values, not clamped.
 * - bits/dim: Hutchinson's estimate of log p of the 8-bit image dequantised with uniform noise,
 *   bpd = -log p / (d ln 2) + 7; its spread is the standard deviation over `repeats` estimates with
 *   different probes and dequantisation noise.
 * - results of shipped models and oracles are saved to a dedicated "Latent studio: MODEL" run (see save.ts).
 *
 * @example
 *   const model = resolveModel('shipped:mnist', {});
 *   const img = await pickImage(model, { kind: 'dataset', classId: 3, index: 0 });
 *   const inv = await invertImages(model, { images: [img], classLabel: 3 }, { onProgress: (p) => post(p) });
 *   const swap = await classSwap(model, { images: [img], fromClass: 3, toClass: 8, cfg: 2 });
 *   saveArtifacts(store, model, resultFiles({ kind: 'class-swap', result: swap }), { modelKey: 'shipped:mnist' });
 */
import type { LoadedModel } from '../models/load';
import { pickImage } from './image';
import { invertImages, reconstructionVsNfe } from './invert';
import { interpolateImages } from './interpolate';
import { classSwap, inpaint, latentArithmetic, sdedit } from './edit';
import type { LatentControl, LatentOp, LatentTask, LatentTaskResults } from '../../common/latent';

export * from '../../common/latent';
export { pickImage, imageFromBytes, imageFromFile } from './image';
export { invertImage, invertImages, reconstructionVsNfe, DATA_RANGE, BPD_SOLVER, type InvertOneResult } from './invert';
export { interpolateImages, interpolationAnimation } from './interpolate';
export { classSwap, sdedit, inpaint, latentArithmetic } from './edit';
export { resultFiles, saveArtifacts, exportFiles, latentRunFor, latentRunName } from './save';
export { encodeApng, encodeGif } from './anim';
export { sharedCancel, DEFAULT_SOLVER } from './common';
export { latentStats, reconstructionError, ksStatistic, ksPValue, normalCdf } from '../../core/inversion/stats';

/** The function of each op, taking that op's task: a table, so dispatch keeps op and result together. */
type Runners = { [O in LatentOp]: (model: LoadedModel, task: LatentTask<O>, ctl: LatentControl) => Promise<LatentTaskResults[O]> };
const RUNNERS: Runners = {
  pick: (model, t, ctl) => pickImage(model, t.source, ctl),
  invert: (model, t, ctl) => invertImages(model, t.request, ctl),
  'nfe-sweep': (model, t, ctl) => reconstructionVsNfe(model, t.request, ctl),
  interpolate: (model, t, ctl) => interpolateImages(model, t.request, ctl),
  'class-swap': (model, t, ctl) => classSwap(model, t.request, ctl),
  sdedit: (model, t, ctl) => sdedit(model, t.request, ctl),
  inpaint: (model, t, ctl) => inpaint(model, t.request, ctl),
  arithmetic: (model, t, ctl) => latentArithmetic(model, t.request, ctl),
};

/**
 * Runs one task (the dispatcher a worker-thread task runner calls with the message it got); the
 * result is that of the task's op. Each op's function parses its request by its schema.
 *
 * @example
 *   parentPort.on('message', async ({ task, cancel }) => {
 *     const result = await runLatentTask(model, task, { signal: sharedCancel(cancel), onProgress: (p) => parentPort.postMessage({ progress: p }) });
 *     parentPort.postMessage({ result });
 *   });
 */
export function runLatentTask<O extends LatentOp>(
  model: LoadedModel,
  task: LatentTask<O>,
  ctl: LatentControl = {},
): Promise<LatentTaskResults[O]> {
  const run = RUNNERS[task.op];
  return run(model, task, ctl);
}
