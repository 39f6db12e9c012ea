/**
 * How many data-parallel threads a run trains with (train.threads: a count, or 'auto'), and the
 * machine's idle cores that 'auto' looks at. The measurements behind the 'auto' rule are in
 * docs/training.md ("Data-parallel threads").
 */
import { availableParallelism, cpus } from 'node:os';

/** What 'auto' looks at (see `resolveThreads`). */
export interface MachineLoad {
  /** os.availableParallelism(). */
  cores: number;
  /** Cores left idle by everything else on the machine, measured just before the run (`measureIdleCores`). */
  idleCores: number;
}

/** Smallest batch for which 'auto' uses replicas for an MLP (see `resolveThreads`). */
export const AUTO_MIN_BATCH = 512;

/** Smallest batch for which 'auto' uses replicas for a U-Net (see `resolveThreads`). */
export const AUTO_MIN_BATCH_UNET = 8;

/**
 * The number of replicas for a run. An explicit count is capped by the batch (a shard needs a row).
 * 'auto' gives 2 when all of these hold, else 1:
 *   - an MLP or U-Net model on a single-threaded backend (wasm or cpu; tfjs-node already uses every
 *     core);
 *   - batch >= AUTO_MIN_BATCH (MLP) or AUTO_MIN_BATCH_UNET (U-Net). Every replica repeats a fixed
 *     part of the step (batch preparation, op dispatches, the fused Adam over all parameters); only
 *     the per-row part is split. An MLP row is cheap, so small MLP batches gain too little for the
 *     risk below; a U-Net row costs a whole image's convolutions (forward and backward), which
 *     outweigh the fixed part already at a few rows a shard;
 *   - at least 2 cores, and at least one of them idle. Why the idle check: with autogroup
 *     scheduling (Linux's default) all threads of one session share one fair-share slot, so while
 *     another job saturates the cores a second replica gets no extra CPU; it only adds its fixed
 *     costs and the barrier waits (2 threads then run slower than 1).
 * The engine stores the choice in each checkpoint and a resumed 'auto' run keeps it, because the
 * count changes the float32 rounding of the gradient (a resumed run must equal a straight one).
 */
export function resolveThreads(
  setting: number | 'auto' | undefined,
  run: { modelKind: string; batchSize: number; backend: string },
  machine?: MachineLoad,
): number {
  if (setting !== 'auto') return Math.max(1, Math.min(setting ?? 1, run.batchSize));
  const m = machine ?? { cores: availableParallelism(), idleCores: 0 };
  const minBatch = run.modelKind === 'mlp' ? AUTO_MIN_BATCH : run.modelKind === 'unet' ? AUTO_MIN_BATCH_UNET : Infinity;
  const ok = (run.backend === 'wasm' || run.backend === 'cpu') && run.batchSize >= minBatch && m.cores >= 2 && m.idleCores >= 1;
  return ok ? 2 : 1;
}

/**
 * Cores idle over the next `ms` milliseconds, from the kernel's per-core idle counters
 * (os.cpus() times): sum over cores of idle time / elapsed time.
 */
export async function measureIdleCores(ms = 250): Promise<number> {
  const idle = (): { idle: number; total: number }[] =>
    cpus().map((c) => ({ idle: c.times.idle, total: c.times.idle + c.times.user + c.times.nice + c.times.sys + c.times.irq }));
  const a = idle();
  await new Promise((r) => setTimeout(r, ms));
  const b = idle();
  let sum = 0;
  b.forEach((x, i) => {
    const y = a[i];
    const dt = y ? x.total - y.total : 0;
    if (y && dt > 0) sum += (x.idle - y.idle) / dt;
  });
  return sum;
}
