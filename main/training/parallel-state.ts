/**
 * A trainer's state handed between threads (plain typed arrays, posted once at start) and its hash,
 * which proves the data-parallel replicas identical at every checkpoint.
 */
import { tf, type Tensor } from '../../core/tf';
import type { Trainer } from '../../core/train/trainer';

/** Tensors as plain typed arrays, to hand a state to another thread. */
export interface StateEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  values: Float32Array | Int32Array;
}

export function exportState(trainer: Trainer): StateEntry[] {
  const state = trainer.getState();
  try {
    return [...state].map(([name, t]) => ({
      name,
      shape: t.shape,
      dtype: t.dtype as 'float32' | 'int32',
      values: (t.dataSync() as Float32Array | Int32Array).slice(),
    }));
  } finally {
    tf.dispose([...state.values()]);
  }
}

export function importState(trainer: Trainer, entries: readonly StateEntry[]): void {
  const state = new Map<string, Tensor>(entries.map((e) => [e.name, tf.tensor(e.values, e.shape, e.dtype)]));
  try {
    trainer.setState(state);
  } finally {
    tf.dispose([...state.values()]);
  }
}

/**
 * A 64-bit hash (two FNV-1a-style 32-bit lanes with different primes/offsets) of the trainer's full
 * state: every tensor of getState() in name order, over the raw bits. Equal states hash equal; any
 * differing bit almost surely does not.
 */
export function stateHash(trainer: Trainer): string {
  const state = trainer.getState();
  try {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    const mix = (x: number): void => {
      h1 = Math.imul(h1 ^ x, 0x01000193);
      h2 = Math.imul(h2 ^ x, 0x5bd1e995) ^ (h2 >>> 15);
    };
    for (const name of [...state.keys()].sort()) {
      for (let i = 0; i < name.length; i++) mix(name.charCodeAt(i));
      const t = state.get(name)!;
      const data = t.dataSync() as Float32Array | Int32Array;
      const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
      for (let i = 0; i < words.length; i++) mix(words[i]!);
    }
    return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
  } finally {
    tf.dispose([...state.values()]);
  }
}

export const splitHash = (h: string): [number, number] => [parseInt(h.slice(0, 8), 16), parseInt(h.slice(8), 16)];
export const joinHash = (a: number, b: number): string => a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
