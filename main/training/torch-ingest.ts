/**
 * What the PyTorch engine writes, stored as the studio stores a tfjs run's: its JSON lines (metric
 * rows, events) and its files (checkpoints, samples), into one run of the run store. Used by the
 * training worker while the engine runs (torch-job.ts) and by `flow-studio import` for a run trained
 * elsewhere (launch.ts). The studio stays the only writer of its store; the engine writes files.
 *
 * - A checkpoint file (safetensors with the TS trainer's state names) becomes the same three blobs
 *   a tfjs checkpoint is (state.ts stateToBlobs: refused when not finite), with the meta sampling
 *   needs (modelConfig, shape, numClasses, sampleRange) from the file's `flow_studio` metadata.
 * - A sample file becomes a 'points' sample (the rows) or an 'image-grid' PNG (imageGridPng, classes
 *   in turn), as the tfjs trainer's samples.
 * - Metric rows are appended in one transaction per batch; JSON's null (a value that was not finite)
 *   is stored as NaN.
 */
import type { ModelConfig } from '../../core/model';
import { imageGridPng } from '../data';
import { flowStudioMetadata, readSafetensorsFile, SafetensorsError, toFloat32, toInt32 } from '../models/safetensors';
import { stateToBlobs } from '../models/state';
import type { RunStore, SampleInfo } from '../store';
import type { MetricRow } from '../store/types';

/** A line of the engine's stdout (or events file), parsed: an object with a `type`. */
export type EngineEvent = Record<string, unknown> & { type: string };

/** The event of a line, or null for a line that is not one (a stray print, a partial line). */
export function parseEngineLine(line: string): EngineEvent | null {
  const text = line.trim();
  if (!text.startsWith('{')) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string'
      ? (v as EngineEvent)
      : null;
  } catch {
    return null;
  }
}

/** A JSON number, or NaN for null (the engine writes non-finite numbers as null). */
export const numberOrNaN = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/**
 * The rows of a 'metrics' event as store rows.
 * @throws Error naming the row when it is not {step, name, value}
 */
export function metricRows(e: EngineEvent, what = 'metrics event'): MetricRow[] {
  const rows = e.rows;
  if (!Array.isArray(rows)) throw new Error(`${what}: 'rows' must be a list`);
  return rows.map((r: unknown, i) => {
    const o = r as { step?: unknown; name?: unknown; value?: unknown };
    if (typeof o?.step !== 'number' || typeof o.name !== 'string')
      throw new Error(`${what}: row ${i} must be {step, name, value}, got ${JSON.stringify(r)}`);
    return { step: o.step, name: o.name, value: numberOrNaN(o.value) };
  });
}

/** What a checkpoint file says about itself (its `flow_studio` metadata), as the store's meta wants it. */
export interface EngineCheckpointMeta {
  step: number;
  modelConfig: ModelConfig;
  shape: number[];
  numClasses: number;
  sampleRange: { lo: number; hi: number };
}

/**
 * Stores a checkpoint file of the engine as the run's checkpoint (blobs and meta as for a tfjs
 * run, plus `extraMeta`), and returns what it recorded.
 * @throws SafetensorsError (unreadable file), NonFiniteCheckpointError (not finite: never stored),
 *   StoreInputError (a step below the run's latest checkpoint), OwnershipError
 */
export async function storeCheckpointFile(
  store: RunStore,
  runId: string,
  file: string,
  extraMeta: Record<string, unknown> = {},
): Promise<EngineCheckpointMeta> {
  const f = await readSafetensorsFile(file);
  const info = flowStudioMetadata(f, file) ?? {};
  const rng = f.tensors.get('trainer/rng');
  if (!rng) throw new SafetensorsError(`${file}: no 'trainer/rng' tensor: not a training checkpoint of the engine`);
  // trainer/rng = [the stream's key, steps completed]: the step the state is at.
  const step = toInt32(rng, 'trainer/rng')[1]!;
  if (typeof info.step === 'number' && info.step !== step)
    throw new SafetensorsError(`${file}: the metadata says step ${info.step}, trainer/rng says ${step}`);
  const modelConfig = info.modelConfig as ModelConfig | undefined;
  const shape = info.shape as number[] | undefined;
  if (!modelConfig || !Array.isArray(shape)) throw new SafetensorsError(`${file}: the metadata does not record modelConfig and shape`);
  const meta: EngineCheckpointMeta = {
    step,
    modelConfig,
    shape,
    numClasses: typeof info.numClasses === 'number' ? info.numClasses : modelConfig.numClasses,
    sampleRange: (info.sampleRange as { lo: number; hi: number } | undefined) ?? { lo: 0, hi: 1 },
  };
  const blobs = stateToBlobs(f.tensors, `the PyTorch checkpoint at step ${step} (${file})`);
  store.saveCheckpoint(runId, {
    step,
    model: blobs.model,
    ema: blobs.ema,
    optimizer: blobs.optimizer,
    meta: {
      backend: 'pytorch',
      engine: 'pytorch',
      modelConfig: meta.modelConfig,
      shape: meta.shape,
      numClasses: meta.numClasses,
      sampleRange: meta.sampleRange,
      ...(typeof info.torch === 'string' ? { torch: info.torch } : {}),
      ...(typeof info.world === 'number' ? { world: info.world } : {}),
      ...extraMeta,
    },
  });
  return meta;
}

/**
 * Stores a sample file of the engine (`x` [n, ...shape], optional int32 `labels`) as the run's
 * sample at `step`: the points, or a PNG grid of the images (one column per class when the model is
 * conditional, else 8).
 * @throws SafetensorsError for a file without `x`, or whose shape is neither points nor images
 */
export async function storeSampleFile(store: RunStore, runId: string, file: string, step: number, numClasses: number): Promise<SampleInfo> {
  const f = await readSafetensorsFile(file);
  const xt = f.tensors.get('x');
  if (!xt) throw new SafetensorsError(`${file}: no tensor 'x'`);
  const x = toFloat32(xt, 'x');
  const [n, ...shape] = xt.shape as number[];
  const lt = f.tensors.get('labels');
  const labels = lt ? Array.from(toInt32(lt, 'labels')) : undefined;
  if (shape.length === 1) {
    const d = shape[0]!;
    const rows = Array.from({ length: n! }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));
    return store.addSample(runId, { step, kind: 'points', data: rows, meta: { n } });
  }
  if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3))
    throw new SafetensorsError(`${file}: x has shape [${xt.shape.join(', ')}]; expected [n, dim] points or [n, h, w, 1 | 3] images`);
  const [h, w, c] = shape as [number, number, 1 | 3];
  const png = imageGridPng(x, n!, h, w, c, Math.min(n!, numClasses > 0 ? numClasses : 8));
  return store.addSample(runId, { step, kind: 'image-grid', data: png, meta: { n, ...(labels ? { labels } : {}) } });
}
