/**
 * Resolves what the CLI and the app call "a model": a trained run's network (its EMA weights at the
 * latest or a given checkpoint) or an analytic Gaussian-mixture oracle. Either way the result is a
 * velocity field plus what samplers need to know about it (data shape, classes, scheduler, the time
 * interval it was trained on).
 */
import { readFileSync } from 'node:fs';
import { tf } from '../../core/tf';
import { ConfigError, DataError } from '../../core/errors';
import { modelFromWeights, type ModelConfig } from '../../core/model';
import { threadedForInference } from './threaded';
import { CheckpointError } from '../../core/model/checkpoint';
import { guidedField } from '../../core/train/sample';
import { pathScheduler } from '../../core/train/config';
import { samplingTimeRange, type TimeRange } from '../../core/train/loss';
import { gmmOracle } from '../../core/oracle/gmm';
import { mixtureOf2d } from '../../core/data/toy2d';
import { makeScheduler, type Scheduler, type SchedulerSpec } from '../../core/path/scheduler';
import type { VelocityField } from '../../core/field';
import type { GaussianMixture } from '../../core/data/mixture';
import { parseExperiment, parseGmm, formatIssues, TOY_DATASETS } from '../../common/config';
import type { Checkpoint, RunStore } from '../store';
import { checkpointName, loadNewestUsable, samplingWeights, type UsableCheckpoint } from './state';
import { shippedModel } from './shipped';

import type { LoadedModel } from './types';

export type { LoadedModel };

/**
 * `RUN_ID`, `RUN_ID@STEP`, `shipped:NAME` (resources/models), `oracle` (with a mixture file) or
 * `oracle:NAME` for a built-in mixture.
 */
export function resolveModel(spec: string, opts: { store?: RunStore; gmmFile?: string; scheduler?: SchedulerSpec }): LoadedModel {
  if (spec.startsWith('shipped:')) return shippedModel(spec.slice('shipped:'.length));
  if (spec === 'oracle' || spec.startsWith('oracle:')) {
    const scheduler = makeScheduler(opts.scheduler ?? { kind: 'condot' });
    if (spec === 'oracle') {
      if (!opts.gmmFile)
        throw new ConfigError('gmm', '--model oracle needs --gmm FILE (a JSON {weights, means, stds}), or use --model oracle:8gaussians');
      return oracleModel(readGmmFile(opts.gmmFile), scheduler, `oracle ${opts.gmmFile}`);
    }
    const name = spec.slice('oracle:'.length);
    const gmm = (TOY_DATASETS as readonly string[]).includes(name) ? mixtureOf2d(name as (typeof TOY_DATASETS)[number]) : null;
    if (!gmm) {
      throw new ConfigError(
        'model',
        `'${name}' is not a built-in Gaussian mixture; mixtures with an exact oracle: 8gaussians (or give --model oracle --gmm FILE)`,
      );
    }
    return oracleModel(gmm, scheduler, `oracle ${name}`);
  }
  if (!opts.store) throw new ConfigError('model', 'a run id needs the run store (--db or FLOW_STUDIO_HOME)');
  const [runId, stepText] = spec.split('@') as [string, string | undefined];
  const step = stepText === undefined ? undefined : Number(stepText);
  if (step !== undefined && !(Number.isInteger(step) && step >= 0))
    throw new ConfigError('model', `checkpoint step must be a non-negative integer, got '${stepText}'`);
  return runModel(opts.store, runId, step);
}

/** Reads and validates a mixture file: {"weights": [...], "means": [[...]], "stds": [...]}. */
export function readGmmFile(file: string): GaussianMixture {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(`${file}: cannot read a JSON mixture (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
  const p = parseGmm(raw);
  if (!p.ok) throw new ConfigError('gmm', `${file}:\n${formatIssues(p.issues)}`);
  return p.value;
}

export function oracleModel(gmm: GaussianMixture, scheduler: Scheduler, label: string): LoadedModel {
  const oracle = gmmOracle(gmm, scheduler);
  return {
    kind: 'oracle',
    label: `${label} (${scheduler.spec.kind})`,
    field: () => oracle.velocity,
    shape: [oracle.dim],
    numClasses: 0,
    scheduler,
    timeRange: { lo: 0, hi: 1 },
    oracle,
    warnings: [],
    dispose: () => {},
  };
}

interface CheckpointMeta {
  modelConfig?: ModelConfig;
  shape?: number[];
  numClasses?: number;
  sampleRange?: TimeRange;
}

/**
 * A trained run's model at its latest checkpoint (or `step`), EMA weights when saved.
 *
 * Without `step`, a newest checkpoint that does not decode or holds non-finite weights is skipped
 * for the previous kept one, with a warning in `warnings` (state.ts loadNewestUsable). An explicit
 * `step` is exactly that checkpoint: an unusable one is refused (TensorFormatError, or a
 * NonFiniteCheckpointError naming the run, the step and the tensor), never replaced.
 */
export function runModel(store: RunStore, runId: string, step?: number): LoadedModel {
  const run = store.getRun(runId);
  const parsed = parseExperiment(run.config);
  if (!parsed.ok) throw new ConfigError('config', `run ${runId} has an invalid config:\n${formatIssues(parsed.issues)}`);
  const config = parsed.value;
  const load = (c: Checkpoint, what: string): { meta: CheckpointMeta; loaded: ReturnType<typeof samplingWeights> } => {
    const meta = (c.meta ?? {}) as CheckpointMeta;
    if (!meta.modelConfig || !meta.shape)
      throw new CheckpointError('checkpoint', `run ${runId} at step ${c.step} does not record its model configuration`);
    return { meta, loaded: samplingWeights(c, what) };
  };
  let found: UsableCheckpoint<ReturnType<typeof load>> | null;
  if (step === undefined) {
    found = loadNewestUsable(store, runId, load, 'sampling from');
  } else {
    const c = store.checkpointAt(runId, step);
    found = { value: load(c, checkpointName(runId, step)), checkpoint: c, warnings: [] };
  }
  if (!found) throw new CheckpointError('checkpoint', `run ${runId} has no checkpoint yet (status ${run.status}, step ${run.step})`);
  const ckpt = found.checkpoint;
  const {
    meta,
    loaded: { weights, ema },
  } = found.value;
  let model;
  try {
    model = threadedForInference(modelFromWeights(meta.modelConfig!, weights));
  } finally {
    tf.dispose([...weights.values()]);
  }
  const scheduler = pathScheduler(config.path);
  // Sample over the interval the trainer samples on (eps/x1 models stay away from their singular end).
  const timeRange = meta.sampleRange ?? samplingTimeRange(config.path, config.prediction);
  const fields = new Map<number, VelocityField>();
  return {
    kind: 'run',
    label: `run ${runId} step ${ckpt.step}${ema ? ' (EMA)' : ''}`,
    field: (w = config.sampling.cfg) => {
      let f = fields.get(w);
      if (!f) fields.set(w, (f = guidedField(model, config.prediction, scheduler, w)));
      return f;
    },
    shape: meta.shape!,
    numClasses: meta.numClasses ?? 0,
    scheduler,
    timeRange,
    runId,
    step: ckpt.step,
    config,
    warnings: found.warnings,
    dispose: () => model.dispose(),
  };
}
