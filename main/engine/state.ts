/**
 * Trainer state <-> checkpoint blobs. The trainer's state map is split by prefix so the parts can be
 * read on their own: `model` (weights, `model/...`), `ema` (EMA weights, `optim/ema/...`, what
 * sampling uses) and `optimizer` (Adam moments, step, the data stream position). A resume merges
 * all three back.
 */
import type { Tensor } from '../../core/tf';
import { decodeTensors, encodeTensors } from './serialize';

const EMA = 'optim/ema/';

export interface StateBlobs {
  model: Uint8Array;
  ema: Uint8Array;
  optimizer: Uint8Array;
}

/** Splits a trainer state (from Trainer.getState) into blobs. Does not dispose the state. */
export function stateToBlobs(state: ReadonlyMap<string, Tensor>): StateBlobs {
  const model = new Map<string, Tensor>();
  const ema = new Map<string, Tensor>();
  const optimizer = new Map<string, Tensor>();
  for (const [k, v] of state) {
    if (k.startsWith('model/')) model.set(k, v);
    else if (k.startsWith(EMA)) ema.set(k, v);
    else optimizer.set(k, v);
  }
  return { model: encodeTensors(model), ema: encodeTensors(ema), optimizer: encodeTensors(optimizer) };
}

/** The full state for Trainer.setState (caller disposes the tensors). */
export function blobsToState(b: { model: Uint8Array; ema: Uint8Array | null; optimizer: Uint8Array | null }, what: string): Map<string, Tensor> {
  const out = decodeTensors(b.model, `${what} model`);
  for (const part of [b.ema, b.optimizer]) {
    if (!part) continue;
    for (const [k, v] of decodeTensors(part, what)) out.set(k, v);
  }
  return out;
}

/**
 * Weights for sampling, named as the model names them (without prefixes): the EMA weights when the
 * checkpoint has them (what users sample from, as in every diffusion codebase), else the raw ones.
 */
export function samplingWeights(b: { model: Uint8Array; ema: Uint8Array | null }, what: string): { weights: Map<string, Tensor>; ema: boolean } {
  if (b.ema && b.ema.byteLength > 0) {
    const ema = decodeTensors(b.ema, `${what} EMA weights`);
    if (ema.size > 0) return { weights: strip(ema, EMA), ema: true };
  }
  return { weights: strip(decodeTensors(b.model, `${what} model`), 'model/'), ema: false };
}

function strip(m: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, v] of m) out.set(k.startsWith(prefix) ? k.slice(prefix.length) : k, v);
  return out;
}
