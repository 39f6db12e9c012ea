/**
 * Model files: a trained network's sampling weights (EMA when saved) as one safetensors file with
 * the model's names and tfjs layouts, and a `flow_studio` metadata object that says how to rebuild
 * and sample it: the format docs/pytorch-engine.md calls "Model" (`OUT/model.safetensors` of the
 * PyTorch engine), so either engine, and any safetensors reader, loads what the other wrote.
 *
 * Metadata: format 'flow-studio-model', version, step, modelConfig (core/model/types.ts), shape (per
 * sample), numClasses, sampleRange, prediction, path, ema, config (the experiment), and runId when
 * the weights come from a run.
 */
import { CheckpointError } from '../../core/model/checkpoint';
import type { Checkpoint } from '../store';
import { encodeSafetensors, FLOW_STUDIO_METADATA_KEY, type SafeTensor } from './safetensors';
import { samplingSafeTensors } from './state';

/** The model file format's version (the metadata's `version`). */
export const MODEL_FILE_VERSION = 1;

/** What a model file's metadata records besides its weights. */
export interface ModelFileInfo {
  step: number;
  modelConfig: unknown;
  shape: readonly number[];
  numClasses: number;
  sampleRange?: { lo: number; hi: number } | undefined;
  ema: boolean;
  /** The experiment config the weights were trained under. */
  config?: Record<string, unknown> | undefined;
  runId?: string | undefined;
}

/** The bytes of a model file holding `weights` (model names, no prefix). */
export function modelFileBytes(weights: ReadonlyMap<string, SafeTensor>, info: ModelFileInfo): Uint8Array {
  const config = info.config ?? {};
  const meta = {
    format: 'flow-studio-model',
    version: MODEL_FILE_VERSION,
    step: info.step,
    modelConfig: info.modelConfig,
    shape: [...info.shape],
    numClasses: info.numClasses,
    sampleRange: info.sampleRange ?? { lo: 0, hi: 1 },
    prediction: config.prediction ?? 'velocity',
    path: config.path ?? null,
    ema: info.ema,
    config,
    ...(info.runId ? { runId: info.runId } : {}),
  };
  return encodeSafetensors(weights, { [FLOW_STUDIO_METADATA_KEY]: JSON.stringify(meta) });
}

/**
 * A run's checkpoint as a model file: its EMA weights (else the raw ones), finite (checked), with
 * the metadata of its meta and the run's config.
 * @throws TensorFormatError, NonFiniteCheckpointError; CheckpointError when the checkpoint does not
 *   record its model configuration
 */
export function checkpointModelFile(
  ckpt: Checkpoint,
  run: { id: string; config: Record<string, unknown> },
  what = `checkpoint of run ${run.id} at step ${ckpt.step}`,
): { bytes: Uint8Array; ema: boolean } {
  const meta = ckpt.meta as { modelConfig?: unknown; shape?: number[]; numClasses?: number; sampleRange?: { lo: number; hi: number } };
  if (!meta.modelConfig || !meta.shape) throw new CheckpointError('checkpoint', `${what} does not record its model configuration`);
  const { weights, ema } = samplingSafeTensors(ckpt, what);
  const bytes = modelFileBytes(weights, {
    step: ckpt.step,
    modelConfig: meta.modelConfig,
    shape: meta.shape,
    numClasses: meta.numClasses ?? 0,
    sampleRange: meta.sampleRange,
    ema,
    config: run.config,
    runId: run.id,
  });
  return { bytes, ema };
}
