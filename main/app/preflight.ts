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

/**
 * Checks a parsed config before createRun stores it. `limits` bounds the image folder check; 'full'
 * loads every file instead (the command line, which trains right after and reports a corrupt file by
 * name before any run exists, whatever its place in the folder).
 *
 * @throws ConfigError naming the field: a combination validateTrainSpec refuses, data that cannot be
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
