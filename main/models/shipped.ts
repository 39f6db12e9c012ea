/**
 * Models shipped with the app (resources/models/NAME/): a trained run's EMA weights with the config
 * they were trained under, so sampling and the latent studio work on a fresh install with no
 * training. Referenced as `--model shipped:NAME`.
 *
 * Files: model.json ({ name, config, modelConfig, shape, numClasses, sampleRange, trainedSteps,
 * metrics }) and the EMA weights, named as the model names them: weights.safetensors (a model file,
 * main/models/model-file.ts, which the PyTorch engine reads too), or weights.fst for models shipped
 * before safetensors (FST1, read by decodeTensors like old checkpoint blobs).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../core/tf';
import { modelFromWeights, type ModelConfig } from '../../core/model';
import { threadedForInference } from './threaded';
import { CheckpointError } from '../../core/model/checkpoint';
import { ConfigError } from '../../core/errors';
import { guidedField } from '../../core/train/sample';
import { pathScheduler } from '../../core/train/config';
import type { TimeRange } from '../../core/train/loss';
import type { VelocityField } from '../../core/field';
import { parseExperiment, formatIssues } from '../../common/config';
import type { RunStore } from '../store';
import type { LoadedModel } from './types';
import { decodeTensors } from './serialize';
import { samplingSafeTensors } from './state';
import { modelFileBytes } from './model-file';
import { shippedModelsDir } from '../runtime/resources';

export interface ShippedManifest {
  name: string;
  description: string;
  config: unknown;
  modelConfig: ModelConfig;
  shape: number[];
  numClasses: number;
  sampleRange: TimeRange;
  trainedSteps: number;
  sourceRun: string;
  metrics: Record<string, unknown>;
}

/** A shipped model's weight files, in the order they are looked for. */
const WEIGHT_FILES = ['weights.safetensors', 'weights.fst'] as const;

export function listShippedModels(dir = shippedModelsDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => existsSync(join(dir, n, 'model.json')));
}

export function readManifest(name: string, dir = shippedModelsDir()): ShippedManifest {
  const file = join(dir, name, 'model.json');
  if (!existsSync(file)) {
    const have = listShippedModels(dir);
    throw new ConfigError('model', `no shipped model '${name}'; shipped: ${have.length ? have.join(', ') : 'none'}`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as ShippedManifest;
}

/** Loads a shipped model as a LoadedModel (EMA weights, guided field, sampling interval). */
export function shippedModel(name: string, dir = shippedModelsDir()): LoadedModel {
  const m = readManifest(name, dir);
  const parsed = parseExperiment(m.config);
  if (!parsed.ok) throw new ConfigError('config', `shipped model ${name} has an invalid config:\n${formatIssues(parsed.issues)}`);
  const config = parsed.value;
  const file = WEIGHT_FILES.map((f) => join(dir, name, f)).find((f) => existsSync(f)) ?? join(dir, name, WEIGHT_FILES[0]);
  const weights = decodeTensors(new Uint8Array(readFileSync(file)), `shipped model ${name}`);
  let model;
  try {
    model = threadedForInference(modelFromWeights(m.modelConfig, weights));
  } finally {
    tf.dispose([...weights.values()]);
  }
  const scheduler = pathScheduler(config.path);
  const fields = new Map<number, VelocityField>();
  return {
    kind: 'run',
    label: `shipped ${name} (${m.trainedSteps} steps, EMA)`,
    field: (w = config.sampling.cfg) => {
      let f = fields.get(w);
      if (!f) fields.set(w, (f = guidedField(model, config.prediction, scheduler, w)));
      return f;
    },
    shape: m.shape,
    numClasses: m.numClasses,
    scheduler,
    timeRange: m.sampleRange,
    config,
    warnings: [],
    dispose: () => model.dispose(),
  };
}

/** Writes a run's latest EMA checkpoint as a shipped model. */
export function exportShippedModel(
  store: RunStore,
  runId: string,
  name: string,
  description: string,
  metrics: Record<string, unknown>,
  dir = shippedModelsDir(),
): string {
  const run = store.getRun(runId);
  const ckpt = store.latestCheckpoint(runId);
  if (!ckpt) throw new CheckpointError('checkpoint', `run ${runId} has no checkpoint`);
  const meta = (ckpt.meta ?? {}) as {
    modelConfig?: ModelConfig;
    shape?: number[];
    numClasses?: number;
    sampleRange?: TimeRange;
    timeRange?: TimeRange;
  };
  if (!meta.modelConfig || !meta.shape)
    throw new CheckpointError('checkpoint', `run ${runId} at step ${ckpt.step} does not record its model configuration`);
  const { weights, ema } = samplingSafeTensors(ckpt, `run ${runId}`);
  const out = join(dir, name);
  mkdirSync(out, { recursive: true });
  const bytes = modelFileBytes(weights, {
    step: ckpt.step,
    modelConfig: meta.modelConfig,
    shape: meta.shape,
    numClasses: meta.numClasses ?? 0,
    sampleRange: meta.sampleRange ?? meta.timeRange,
    ema,
    config: run.config,
    runId,
  });
  writeFileSync(join(out, 'weights.safetensors'), bytes);
  rmSync(join(out, 'weights.fst'), { force: true }); // an older copy would be read if this one went missing
  const manifest: ShippedManifest = {
    name,
    description,
    config: run.config,
    modelConfig: meta.modelConfig,
    shape: meta.shape,
    numClasses: meta.numClasses ?? 0,
    sampleRange: meta.sampleRange ?? meta.timeRange ?? { lo: 0, hi: 1 },
    trainedSteps: ckpt.step,
    sourceRun: runId,
    metrics: { ...metrics, emaWeights: ema, backend: run.backend, backendVersion: run.backendVersion },
  };
  writeFileSync(join(out, 'model.json'), JSON.stringify(manifest, null, 2) + '\n');
  return out;
}
