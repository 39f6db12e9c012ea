/**
 * What the schema cannot check, before a run record exists, on the host thread: combinations
 * (validateTrainSpec), the data, and the run a reflow starts from. Cheap data (2D sets, mixtures,
 * point lists) is built here; an image folder gets the bounded check of main/data/folder-check.ts in
 * a short-lived worker (never the compute worker, which samples for every page); MNIST is bundled
 * and skipped. Errors are ConfigErrors naming the field, so the form marks it.
 */
import { ConfigError } from '../../core/errors';
import { validateTrainSpec, type TrainSpec } from '../../core/train/config';
import type { DataInput, ExperimentConfig } from '../../common/config';
import { checkImageFolderInWorker, FOLDER_CHECK_LIMITS, type FolderCheckLimits } from '../data/folder-check';
import { loadDataSource } from '../training/sources';
import type { RunStore } from '../store';
import { torchEngineStatus } from '../runtime/python';

/**
 * What python/flow_studio_torch implements of the experiment (its config.py PREDICTIONS, SCHEDULERS,
 * SOLVERS; test/main/app/torch-support.test.ts asks the package itself). Score matching, sub-VP and the
 * samplers beyond the ODE methods are the tfjs engine's for now.
 */
export const TORCH_ENGINE_SUPPORT = {
  predictions: ['velocity', 'eps', 'x1'],
  schedulers: ['condot', 'polynomial', 'cosine', 'linear-vp', 'vp', 've'],
  solvers: ['euler', 'midpoint', 'heun', 'rk4', 'dopri5'],
} as const;

/** The first setting of `config` the PyTorch engine does not implement, as [field, message], or null. */
export function torchUnsupported(config: ExperimentConfig): [string, string] | null {
  const S = TORCH_ENGINE_SUPPORT;
  const only = (what: string, list: readonly string[]) => `${what} on the PyTorch engine is one of ${list.join(', ')}`;
  if (!(S.predictions as readonly string[]).includes(config.prediction))
    return ['prediction', `${only('prediction', S.predictions)}, got '${config.prediction}': train it with engine 'tfjs'`];
  if (config.path.kind === 'affine' && !(S.schedulers as readonly string[]).includes(config.path.scheduler.kind))
    return [
      'path.scheduler.kind',
      `${only('the scheduler', S.schedulers)}, got '${config.path.scheduler.kind}': train it with engine 'tfjs'`,
    ];
  if (!(S.solvers as readonly string[]).includes(config.sampling.solver))
    return [
      'sampling.solver',
      `${only('the sampler of its preview samples', S.solvers)}, got '${config.sampling.solver}' (any sampler works on the trained run afterwards)`,
    ];
  for (const k of ['grid', 'noise', 'churn', 'snr', 'correctorSteps'] as const)
    if (config.sampling[k] !== undefined) return [`sampling.${k}`, `the PyTorch engine's preview sampler has no ${k}: leave it empty`];
  return null;
}

async function checkData(spec: DataInput, field: string, limits: FolderCheckLimits | 'full'): Promise<void> {
  if (spec.kind === 'mnist') return;
  try {
    if (spec.kind === 'images' && limits !== 'full') await checkImageFolderInWorker(spec, limits);
    else await loadDataSource(spec, field);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // An unreadable folder or file, or a bound of the check: the form marks the folder field.
    throw new ConfigError(spec.kind === 'images' ? `${field}.folder` : field, e instanceof Error ? e.message : String(e));
  }
}

/** Python packages a config needs on the PyTorch engine besides torch and numpy: [library, why, package]. */
function torchLibraries(config: ExperimentConfig): [string, string, string][] {
  const need: [string, string, string][] = [];
  if (config.coupling.kind === 'exact-ot') need.push(['scipy', "coupling.kind 'exact-ot' (its assignment solver)", 'scipy']);
  if (config.coupling.kind === 'sinkhorn') need.push(['pot', "coupling.kind 'sinkhorn'", 'pot']);
  return need;
}

/**
 * train.engine 'pytorch': a Python with torch and numpy that runs the engine package, and the
 * libraries the config needs (docs/pytorch-engine.md, Requirements). Named in the error: what is
 * missing, and how to install it.
 */
async function checkTorchEngine(config: ExperimentConfig): Promise<void> {
  const unsupported = torchUnsupported(config);
  if (unsupported) throw new ConfigError(...unsupported);
  const s = await torchEngineStatus();
  if (!s.ok) throw new ConfigError('train.engine', `the PyTorch engine is not available: ${s.reason}`);
  for (const [lib, why, pkg] of torchLibraries(config)) {
    if (s.info.libraries[lib]) continue;
    const field = 'coupling.kind';
    throw new ConfigError(
      field,
      `${why} on the PyTorch engine needs the Python package ${pkg}, which ${s.info.python} cannot import (Debian: apt-get install python3-${pkg}; elsewhere: pip install ${pkg === 'pot' ? 'POT' : pkg})`,
    );
  }
}

/**
 * Checks a parsed config before createRun stores it. `limits` bounds the image folder check; 'full'
 * loads every file instead (the command line, which trains right after and reports a corrupt file by
 * name before any run exists, whatever its place in the folder).
 *
 * @throws ConfigError naming the field: a combination validateTrainSpec refuses, a PyTorch engine
 *   (train.engine 'pytorch') this machine cannot run or that lacks a library the config needs, data that cannot be
 *   built, an image folder that is missing, empty, has a bad file among the first decoded (with
 *   onCorrupt 'reject') or exceeds a bound of FOLDER_CHECK_LIMITS; a reflow parent that is not in
 *   this data folder or has no checkpoint
 */
export async function preflight(
  store: RunStore | (() => RunStore),
  config: ExperimentConfig,
  limits: FolderCheckLimits | 'full' = FOLDER_CHECK_LIMITS,
): Promise<void> {
  validateTrainSpec(config as unknown as TrainSpec);
  if (config.train.engine === 'pytorch') await checkTorchEngine(config);
  await checkData(config.data, 'data', limits);
  if (config.source.kind === 'data') await checkData(config.source.data, 'source.data', limits);
  if (config.reflow) {
    // The run to reflow must exist here and have weights to generate pairs with.
    const from = config.reflow.from;
    if (typeof store === 'function') store = store();
    const parent = store.listRuns().find((r) => r.id === from);
    if (!parent) throw new ConfigError('reflow.from', `no run '${from}' in this data folder`);
    if (!store.latestCheckpoint(from))
      throw new ConfigError('reflow.from', `run '${from}' (${parent.name}) has no checkpoint yet: train it first`);
  }
}
