/**
 * Data-parallel arithmetic: how a step's batch is split into shards and how the shards' gradients
 * are combined. Pure functions on host arrays; the threads that run the shards live in main/.
 *
 * The loss of a batch of B rows is a mean over rows, L = (1 / B) sum_i l_i. With the batch split into
 * K contiguous shards of n_k rows (sum_k n_k = B) and L_k the mean over shard k,
 *
 *   L = sum_k (n_k / B) L_k,      grad L = sum_k (n_k / B) grad L_k,
 *
 * so the full-batch gradient is the shard-size-weighted mean of the shards' mean-loss gradients
 * (equal weights 1 / K only when K divides B). The sum is formed in float64 over k = 0, 1, ..., K-1
 * in that order and rounded once to float32: every replica that combines the same shard gradients
 * gets the same bits, which keeps data-parallel replicas identical. Against a single-thread step the
 * result differs by float32 rounding only (the wasm kernels sum a shard's rows in another order).
 */
import { ConfigError } from '../errors';

/** Rows [lo, hi) of shard k of K of a batch of B rows: lo = floor(k B / K), hi = floor((k + 1) B / K). */
export function shardRows(batch: number, shard: number, shards: number): { lo: number; hi: number } {
  if (!(Number.isInteger(shards) && shards >= 1)) throw new ConfigError('shards', `must be an integer >= 1, got ${shards}`);
  if (!(Number.isInteger(shard) && shard >= 0 && shard < shards))
    throw new ConfigError('shard', `must be an integer in [0, ${shards}), got ${shard}`);
  if (!(Number.isInteger(batch) && batch >= 0)) throw new ConfigError('batch', `must be an integer >= 0, got ${batch}`);
  return { lo: Math.floor((shard * batch) / shards), hi: Math.floor(((shard + 1) * batch) / shards) };
}

/** One shard's contribution: its mean-loss gradient (flat), mean loss and row count. */
export interface ShardPart {
  readonly grads: Float32Array;
  readonly loss: number;
  readonly rows: number;
}

/**
 * Writes sum_k (n_k / B) g_k into `out` (B = sum_k n_k) and returns the full-batch loss
 * sum_k (n_k / B) L_k. Shards with no rows contribute nothing (their loss and gradient are not read,
 * so a NaN there does not matter). Deterministic: same parts in the same order give the same bits.
 */
export function combineShards(parts: readonly ShardPart[], out: Float32Array): number {
  const total = parts.reduce((a, p) => a + p.rows, 0);
  if (!(total > 0)) throw new ConfigError('shards', 'the shards hold no rows');
  const used = parts.filter((p) => p.rows > 0);
  for (const p of used) {
    if (p.grads.length !== out.length)
      throw new ConfigError('grads', `every shard gradient needs ${out.length} values, got ${p.grads.length}`);
  }
  const w = used.map((p) => p.rows / total);
  const g = used.map((p) => p.grads);
  const n = out.length;
  if (used.length === 1) {
    // w = 1: a copy (x * 1 is exact), so one shard reproduces the single-thread gradient bit for bit.
    out.set(g[0]!);
  } else if (used.length === 2) {
    const [g0, g1] = g as [Float32Array, Float32Array];
    const [w0, w1] = w as [number, number];
    for (let i = 0; i < n; i++) out[i] = w0 * g0[i]! + w1 * g1[i]!;
  } else {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < g.length; k++) s += w[k]! * g[k]![i]!;
      out[i] = s;
    }
  }
  let loss = 0;
  used.forEach((p, k) => (loss += w[k]! * p.loss));
  return loss;
}
