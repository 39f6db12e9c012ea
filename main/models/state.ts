/**
 * Trainer state <-> checkpoint blobs. The trainer's state map is split by prefix so the parts can be
 * read on their own: `model` (weights, `model/...`), `ema` (EMA weights, `optim/ema/...`, what
 * sampling uses) and `optimizer` (Adam moments, step, the data stream position). A resume merges
 * all three back.
 *
 * Finiteness: a checkpoint is the state a run resumes from and samples with, so one holding NaN or
 * ±Infinity is worse than none. stateToBlobs refuses to encode such a state, and every decode here
 * refuses such a blob (NonFiniteCheckpointError, naming the tensor). The check reads the values the
 * encoder or decoder reads anyway (one pass, no second copy off the wasm heap). When the newest
 * checkpoint of a run cannot be used (undecodable or not finite), loadNewestUsable falls back to the
 * previous kept one and says so.
 */
import type { Tensor } from '../../core/tf';
import { CheckpointError } from '../../core/model/checkpoint';
import type { Checkpoint, RunStore } from '../store';
import type { SafeTensor } from './safetensors';
import { decodeTensors, encodeTensors, readTensorBlob, TensorFormatError, type InspectTensor, type StorableTensor } from './serialize';

const EMA = 'optim/ema/';

export interface StateBlobs {
  model: Uint8Array;
  ema: Uint8Array;
  optimizer: Uint8Array;
}

/**
 * Index of the first NaN or ±Infinity in `values`, or -1.
 *
 * x * 0 is ±0 for every finite x and NaN for NaN and ±Infinity, and NaN survives any sum: so a block
 * is clean exactly when the sum of its x * 0 is 0. Four independent sums per block keep the adds
 * pipelined (no branch per value); only a block that fails is scanned value by value (x - x is
 * likewise 0 exactly for finite x) for the index.
 */
export function firstNonFinite(values: Float32Array): number {
  const n = values.length;
  const BLOCK = 4096;
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let i = start;
    for (; i + 3 < end; i += 4) {
      a0 += values[i]! * 0;
      a1 += values[i + 1]! * 0;
      a2 += values[i + 2]! * 0;
      a3 += values[i + 3]! * 0;
    }
    for (; i < end; i++) a0 += values[i]! * 0;
    if (a0 + a1 + a2 + a3 === 0) continue;
    for (let j = start; j < end; j++) {
      const v = values[j]!;
      if (v - v !== 0) return j;
    }
  }
  return -1;
}

/**
 * A tensor of a trainer state or of a stored checkpoint holds NaN or ±Infinity: the run diverged
 * before it was written (or the blob was damaged in a way that still decodes). `variable` is the
 * tensor's name as stored, e.g. "optim/ema/mlp/0/W".
 */
export class NonFiniteCheckpointError extends CheckpointError {
  constructor(
    variable: string,
    readonly index: number,
    readonly value: number,
    readonly size: number,
    /** Whose tensor: "the checkpoint of run 01ABC at step 400", "the trainer state at step 400". */
    readonly where: string,
  ) {
    super(variable, `holds ${value} at index ${index} of ${size} in ${where}`);
  }
}

/** An inspector that throws NonFiniteCheckpointError for a float tensor with a NaN or ±Infinity. */
function requireFinite(where: string): InspectTensor {
  return (name, values) => {
    if (!(values instanceof Float32Array)) return; // int32 parts (step counters, the stream key)
    const i = firstNonFinite(values);
    if (i >= 0) throw new NonFiniteCheckpointError(name, i, values[i]!, values.length, where);
  };
}

/**
 * Splits a trainer state (from Trainer.getState, or a checkpoint file of the PyTorch engine, which
 * holds the same names) into blobs. Does not dispose the state.
 * @throws NonFiniteCheckpointError when any float tensor (weights, EMA, Adam moments) is not finite:
 *   such a state must never become a checkpoint. `where` names it in the message.
 */
export function stateToBlobs(state: ReadonlyMap<string, StorableTensor>, where = 'the trainer state'): StateBlobs {
  const model = new Map<string, StorableTensor>();
  const ema = new Map<string, StorableTensor>();
  const optimizer = new Map<string, StorableTensor>();
  for (const [k, v] of state) {
    if (k.startsWith('model/')) model.set(k, v);
    else if (k.startsWith(EMA)) ema.set(k, v);
    else optimizer.set(k, v);
  }
  const check = requireFinite(where);
  return { model: encodeTensors(model, check), ema: encodeTensors(ema, check), optimizer: encodeTensors(optimizer, check) };
}

/**
 * The full state for Trainer.setState (caller disposes the tensors).
 * @throws TensorFormatError (a blob that does not decode), NonFiniteCheckpointError
 */
export function blobsToState(
  b: { model: Uint8Array; ema: Uint8Array | null; optimizer: Uint8Array | null },
  what: string,
): Map<string, Tensor> {
  const check = requireFinite(what);
  const out = decodeTensors(b.model, `${what} model`, check);
  try {
    for (const part of [b.ema, b.optimizer]) {
      if (!part) continue;
      for (const [k, v] of decodeTensors(part, what, check)) out.set(k, v);
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}

/**
 * The full state as safetensors entries (no tfjs): what a checkpoint file of the PyTorch engine
 * holds, for resuming a run there.
 * @throws TensorFormatError, NonFiniteCheckpointError
 */
export function blobsToSafeTensors(
  b: { model: Uint8Array; ema: Uint8Array | null; optimizer: Uint8Array | null },
  what: string,
): Map<string, SafeTensor> {
  const check = requireFinite(what);
  const out = readTensorBlob(b.model, `${what} model`, check);
  for (const part of [b.ema, b.optimizer]) {
    if (!part) continue;
    for (const [k, v] of readTensorBlob(part, what, check)) out.set(k, v);
  }
  return out;
}

/**
 * samplingWeights without tfjs: the EMA weights (else the raw ones) under the model's names, as
 * safetensors entries, for a model file.
 * @throws TensorFormatError, NonFiniteCheckpointError
 */
export function samplingSafeTensors(
  b: { model: Uint8Array; ema: Uint8Array | null },
  what: string,
): { weights: Map<string, SafeTensor>; ema: boolean } {
  const check = requireFinite(what);
  if (b.ema && b.ema.byteLength > 0) {
    const ema = readTensorBlob(b.ema, `${what} EMA weights`, check);
    if (ema.size > 0) return { weights: strip(ema, EMA), ema: true };
  }
  return { weights: strip(readTensorBlob(b.model, `${what} model`, check), 'model/'), ema: false };
}

/**
 * Weights for sampling, named as the model names them (without prefixes): the EMA weights when the
 * checkpoint has them (what users sample from, as in every diffusion codebase), else the raw ones.
 * @throws TensorFormatError, NonFiniteCheckpointError (for the weights returned)
 */
export function samplingWeights(
  b: { model: Uint8Array; ema: Uint8Array | null },
  what: string,
): { weights: Map<string, Tensor>; ema: boolean } {
  const check = requireFinite(what);
  if (b.ema && b.ema.byteLength > 0) {
    const ema = decodeTensors(b.ema, `${what} EMA weights`, check);
    if (ema.size > 0) return { weights: strip(ema, EMA), ema: true };
  }
  return { weights: strip(decodeTensors(b.model, `${what} model`, check), 'model/'), ema: false };
}

function strip<T>(m: Map<string, T>, prefix: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const [k, v] of m) out.set(k.startsWith(prefix) ? k.slice(prefix.length) : k, v);
  return out;
}

/** True for the errors that make a stored checkpoint unusable as such: undecodable, or not finite. */
export function isUnusableCheckpoint(e: unknown): e is TensorFormatError | NonFiniteCheckpointError {
  return e instanceof TensorFormatError || e instanceof NonFiniteCheckpointError;
}

/** How a checkpoint is named in messages: "checkpoint of run 01ABC at step 400". */
export const checkpointName = (runId: string, step: number): string => `checkpoint of run ${runId} at step ${step}`;

/** What loadNewestUsable found: the loaded value, its checkpoint, and one warning per skipped one. */
export interface UsableCheckpoint<T> {
  value: T;
  checkpoint: Checkpoint;
  warnings: string[];
}

/**
 * The run's newest checkpoint that `load` can use, newest first through the kept ones: a checkpoint
 * whose blobs do not decode or are not finite is skipped with a warning ("...; sampling from the
 * checkpoint at step 300 instead", `doing` = 'sampling from'); any other error of `load` (a model
 * that does not fit, say) is not about the stored bytes and is thrown. Null when the run has no
 * checkpoint.
 * @throws CheckpointError when every kept checkpoint is unusable (each one's reason listed)
 */
export function loadNewestUsable<T>(
  store: RunStore,
  runId: string,
  load: (c: Checkpoint, what: string) => T,
  doing: string,
): UsableCheckpoint<T> | null {
  const steps = store
    .listCheckpoints(runId)
    .map((c) => c.step)
    .sort((a, b) => b - a);
  if (steps.length === 0) return null;
  const skipped: string[] = [];
  for (const step of steps) {
    const checkpoint = store.checkpointAt(runId, step);
    try {
      const value = load(checkpoint, checkpointName(runId, step));
      return { value, checkpoint, warnings: skipped.map((why) => `${why}; ${doing} the checkpoint at step ${step} instead`) };
    } catch (e) {
      if (!isUnusableCheckpoint(e)) throw e;
      skipped.push(e.message);
    }
  }
  throw new CheckpointError(
    'checkpoint',
    `run ${runId} has no usable checkpoint (${steps.length} kept, none decodes to finite weights): ${skipped.join('; ')}`,
  );
}

/**
 * The step of the run's newest checkpoint whose three parts decode to finite values, or null: what
 * a diverged run can still be sampled from.
 */
export function lastFiniteCheckpointStep(store: RunStore, runId: string): number | null {
  try {
    // Decoded and checked on the host (no tensors): only the verdict is needed.
    const found = loadNewestUsable(store, runId, (c, what) => blobsToSafeTensors(c, what), 'using');
    return found ? found.checkpoint.step : null;
  } catch (e) {
    if (e instanceof CheckpointError) return null;
    throw e;
  }
}
