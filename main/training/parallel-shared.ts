/**
 * The shared memory of data-parallel training (main/training/parallel.ts): control words, the two
 * gradient buffers, per-shard metadata, state hashes and a failure message, with the same layout on
 * every thread, and the waits on it (a short spin, then Atomics.wait / waitAsync).
 */
import type { ShardPart } from '../../core/train/shard';

/**
 * Atomics.waitAsync (V8 / Node >= 16; in the ES2024 lib, while tsconfig.node.json targets ES2023):
 * resolves once `index` is notified or no longer holds `value`, without blocking the thread.
 */
export const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      index: number,
      value: number,
    ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
  }
).waitAsync;

// Control words (Int32 indices).
export const GO = 0; // round number the leader asked for
export const CMD = 1; // what to do in that round
export const ARRIVED = 2; // shard arrivals since the start (monotonic)
export const FAILED = 3; // 0, or 1 + the index of the first replica that failed
const MSG_LEN = 4; // bytes of the failure message
const CONTROL_INTS = 8;
export const CMD_STEP = 1;
export const CMD_STOP = 2;
export const CMD_HASH = 3;
const MSG_BYTES = 2048;
// Per (buffer, shard) meta, Float64: step, rows, loss, coupling cost (NaN: none).
const META = 4;
// Per replica state hash: two uint32 words.
export const HASH_INTS = 2;

/**
 * How long a thread polls a shared word before it sleeps on it. The threads of a step arrive within
 * a fraction of a millisecond of each other, while a sleeping thread needs a futex wake-up (and the
 * leader, which waits with Atomics.waitAsync, a turn of its event loop) before it runs again; at
 * batch 256 the step itself is only a few milliseconds. A short poll is cheap CPU; past it the
 * threads sleep as before (a slow or busy replica costs no spinning beyond this).
 */
const SPIN_MS = 0.3;

/** Polls until control[index] satisfies `done` or SPIN_MS pass; true when it did. */
export function spinUntil(control: Int32Array, index: number, done: (v: number) => boolean): boolean {
  const end = performance.now() + SPIN_MS;
  do {
    if (done(Atomics.load(control, index)) || Atomics.load(control, FAILED) !== 0) return true;
  } while (performance.now() < end);
  return false;
}

/** Typed views of the shared buffer (the same layout on every thread). */
export class Shared {
  readonly control: Int32Array;
  readonly message: Uint8Array;
  readonly meta: Float64Array;
  readonly hashes: Uint32Array;
  /** Per replica: CPU ms its thread spent on rounds (diagnostics only). */
  readonly cpu: Float64Array;
  private readonly grads: Float32Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly shards: number,
    readonly size: number,
  ) {
    let offset = 0;
    this.control = new Int32Array(buffer, offset, CONTROL_INTS);
    offset += CONTROL_INTS * 4;
    this.message = new Uint8Array(buffer, offset, MSG_BYTES);
    offset += MSG_BYTES;
    this.meta = new Float64Array(buffer, offset, 2 * shards * META);
    offset += 2 * shards * META * 8;
    this.cpu = new Float64Array(buffer, offset, shards);
    offset += shards * 8;
    this.hashes = new Uint32Array(buffer, offset, shards * HASH_INTS);
    offset += shards * HASH_INTS * 4;
    this.grads = new Float32Array(buffer, offset, 2 * shards * size);
  }

  static bytes(shards: number, size: number): number {
    return CONTROL_INTS * 4 + MSG_BYTES + 2 * shards * META * 8 + shards * 8 + shards * HASH_INTS * 4 + 2 * shards * size * 4;
  }

  /** The gradient slot of shard k in buffer p. */
  slot(p: number, k: number): Float32Array {
    return this.grads.subarray((p * this.shards + k) * this.size, (p * this.shards + k + 1) * this.size);
  }

  writeMeta(p: number, k: number, step: number, rows: number, loss: number, cost: number | undefined): void {
    const o = (p * this.shards + k) * META;
    this.meta[o] = step;
    this.meta[o + 1] = rows;
    this.meta[o + 2] = loss;
    this.meta[o + 3] = cost ?? NaN;
  }

  /** The K shards of buffer p, checked to belong to the same step. */
  parts(p: number, step: number): { parts: ShardPart[]; cost: number | undefined } {
    const parts: ShardPart[] = [];
    for (let k = 0; k < this.shards; k++) {
      const o = (p * this.shards + k) * META;
      if (this.meta[o] !== step)
        throw new Error(`data-parallel replicas out of step: replica ${k} computed step ${this.meta[o]}, replica 0 step ${step}`);
      parts.push({ grads: this.slot(p, k), rows: this.meta[o + 1]!, loss: this.meta[o + 2]! });
    }
    const c = this.meta[p * this.shards * META + 3]!;
    return { parts, cost: Number.isNaN(c) ? undefined : c };
  }

  fail(k: number, message: string): void {
    const bytes = new TextEncoder().encode(message).subarray(0, MSG_BYTES);
    if (Atomics.compareExchange(this.control, FAILED, 0, k + 1) === 0) {
      this.message.set(bytes);
      Atomics.store(this.control, MSG_LEN, bytes.length);
    }
    // Wake everyone, wherever they wait.
    Atomics.notify(this.control, ARRIVED);
    Atomics.notify(this.control, GO);
  }

  failure(): string | null {
    const f = Atomics.load(this.control, FAILED);
    if (f === 0) return null;
    const len = Atomics.load(this.control, MSG_LEN);
    return `data-parallel replica ${f - 1} failed: ${new TextDecoder().decode(this.message.slice(0, len)) || 'no message'}`;
  }
}
