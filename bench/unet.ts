/**
 * unet-step: one training step of the MNIST preset's class-conditional U-Net (28x28x1, its model and
 * optimiser config: CFG label dropout, grad clipping, Adam with warm-up and cosine schedule, EMA) on
 * real MNIST through core's trainer, at several batch sizes, side by side with PyTorch:
 *
 *   engine            core createTrainer, 1 thread: the tape-free training path on the wasm kernels
 *                     (core/model/unet-train.ts), what a run does per step
 *   engine 2 threads  the same trainer data-parallel over 2 threads (main/training/parallel.ts)
 *   engine stock      1 thread, the fast path switched off: tf.variableGrads through the
 *                     differentiable layers (the path before the training kernels)
 *   torch 1 thread, torch 2 threads
 *                     bench/peer_unet_step.py with /usr/bin/python3: the same network in PyTorch
 *                     (NCHW, its CPU kernels), the same recipe, torch.set_num_threads(n)
 *
 * Variants run in interleaved rounds of about `roundMs` each (order rotated every round); each
 * reports steps/s (best and median round), ms per step and the ratios ours/torch at the same thread
 * count. Also: where the 1-thread engine step's time goes (ms per step and calls by kernel, and
 * GFLOP/s of the conv kernels from their shapes), to compare with the GEMM's own rate.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../core/tf';
import { countParameters, createModel } from '../core/model';
import { useUNetTrainPath } from '../core/model/unet-train';
import { FLOW_CONV3X3 } from '../core/model/unet-kernels';
import { FLOW_CONV3X3_GRAD } from '../core/model/unet-train-kernels';
import { createTrainer, type Trainer } from '../core/train/trainer';
import { modelConfigFor } from '../core/train/config';
import { loadExperimentData } from '../main/training/sources';
import { createParallelTrainer } from '../main/training/parallel';
import { selectBackend } from '../main/runtime/backend';
import { parseExperiment, type ExperimentConfig } from '../common/config';
import { LinePeer, log, rateStats, round, timedRound, timedRoundAsync, type RateStats } from './lib';
import { readPreset } from './presets';

export interface UnetOptions {
  batches: number[];
  rounds: number;
  /** Length of one round of one variant. */
  roundMs: number;
  /** Python with torch for the peer; null skips it. */
  python: string | null;
  /** Thread counts of the data-parallel engine variant and of the second torch variant. */
  threads: number;
}

type VariantName = 'engine' | 'engine2' | 'stock' | 'torch1' | 'torch2';

interface Variant {
  name: VariantName;
  round(ms: number): Promise<number>;
  dispose(): Promise<void>;
}

interface PeerInfo {
  ok: boolean;
  error?: string;
  torch?: string;
  python?: string;
}

/** The preset with another batch size. */
function presetSpec(batch: number): ExperimentConfig {
  const base = readPreset('mnist');
  const p = parseExperiment({ ...base, train: { ...(base.train as object), batchSize: batch } });
  if (!p.ok) throw new Error(`mnist preset: ${JSON.stringify(p.issues)}`);
  return p.value;
}

/** Starts the PyTorch peer; null (and why) when python or torch is missing. */
export async function startUnetPeer(python: string | null): Promise<{ peer: LinePeer | null; info: PeerInfo }> {
  if (!python) return { peer: null, info: { ok: false, error: 'skipped (--no-torch)' } };
  if (!existsSync(python)) return { peer: null, info: { ok: false, error: `${python} not found` } };
  const peer = new LinePeer(python, [join(import.meta.dirname, 'peer_unet_step.py')]);
  try {
    const info = await peer.read<PeerInfo>();
    if (!info.ok) {
      peer.close();
      return { peer: null, info };
    }
    return { peer, info };
  } catch (e) {
    peer.close();
    return { peer: null, info: { ok: false, error: e instanceof Error ? e.message : String(e) } };
  }
}

/**
 * ms per step and calls of each kernel over `steps` steps of `trainer`, and GFLOP/s of the 3x3
 * conv kernels from their shapes (forward 2 B H W 9 Cin Cout, backward twice that with the input
 * gradient, once without).
 */
function kernelProfile(trainer: Trainer, steps: number): Record<string, unknown> {
  const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: Record<string, tf.TensorInfo>, attrs?: unknown) => unknown };
  const orig = engine.runKernel;
  const acc = new Map<string, { ms: number; calls: number; flop: number }>();
  engine.runKernel = function (name, inputs, attrs) {
    const t0 = performance.now();
    const r = orig.call(this, name, inputs, attrs);
    const ms = performance.now() - t0;
    let flop = 0;
    if (name === FLOW_CONV3X3 || name === FLOW_CONV3X3_GRAD) {
      const [b, hp, wp, cin] = inputs.xp!.shape as number[];
      const cout = inputs.w!.shape[3]!;
      const f = 2 * b! * (hp! - 2) * (wp! - 2) * 9 * cin! * cout;
      flop = name === FLOW_CONV3X3 ? f : (attrs as { inputGrad: boolean }).inputGrad ? 2 * f : f;
    }
    const e = acc.get(name) ?? { ms: 0, calls: 0, flop: 0 };
    e.ms += ms;
    e.calls++;
    e.flop += flop;
    acc.set(name, e);
    return r;
  };
  const t0 = performance.now();
  try {
    for (let i = 0; i < steps; i++) trainer.step();
  } finally {
    engine.runKernel = orig;
  }
  const stepMs = (performance.now() - t0) / steps;
  const kernels = [...acc.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([name, e]) => ({
      kernel: name,
      msPerStep: round(e.ms / steps, 1),
      callsPerStep: round(e.calls / steps, 1),
      ...(e.flop ? { gflops: round(e.flop / 1e6 / e.ms, 1) } : {}),
    }));
  const inKernels = kernels.reduce((a, k) => a + k.msPerStep, 0);
  return { steps, stepMs: round(stepMs, 1), inKernelsMs: round(inKernels, 1), kernels: kernels.filter((k) => k.msPerStep >= 0.5) };
}

export async function benchUnetStep(o: UnetOptions): Promise<Record<string, unknown>> {
  const p0 = presetSpec(32);
  const t0 = performance.now();
  const { target, source } = await loadExperimentData(p0);
  const loadSec = (performance.now() - t0) / 1000;
  const backend = await selectBackend();
  const { peer, info } = await startUnetPeer(o.python);
  const results: Record<string, unknown>[] = [];
  let params = 0;
  let torchParams: number | null = null;
  let profile: Record<string, unknown> | null = null;
  try {
    if (peer) torchParams = (await peer.request<{ unetParams: number }>({ params: true })).unetParams;
    for (const batch of o.batches) {
      const spec = presetSpec(batch);
      const made: Array<{ trainer: Trainer; dispose: () => void }> = [];
      const newTrainer = (): Trainer => {
        const model = createModel(modelConfigFor(spec.model, target.source.shape, target.source.numClasses), spec.seed);
        params = countParameters(model);
        const trainer = createTrainer({ spec, model, target: target.source, source });
        made.push({ trainer, dispose: () => (trainer.dispose(), model.dispose()) });
        return trainer;
      };
      const sync = (name: VariantName, trainer: Trainer, fast: boolean): Variant => {
        // Warm-up: the first steps compile wasm kernels and grow the heap.
        const prev = useUNetTrainPath(fast);
        for (let i = 0; i < 2; i++) trainer.step();
        useUNetTrainPath(prev);
        return {
          name,
          round: async (ms) => {
            const before = useUNetTrainPath(fast);
            try {
              return timedRound(() => trainer.step().loss, ms, 2).rate;
            } finally {
              useUNetTrainPath(before);
            }
          },
          dispose: async () => undefined,
        };
      };
      const variants: Variant[] = [sync('engine', newTrainer(), true), sync('stock', newTrainer(), false)];
      if (o.threads > 1) {
        const leader = newTrainer();
        for (let i = 0; i < 2; i++) leader.step();
        const par = await createParallelTrainer(leader, {
          threads: o.threads,
          data: { kind: 'experiment', data: spec.data, source: spec.source },
          backend: backend.name,
        });
        for (let i = 0; i < 2; i++) await par.step();
        variants.push({
          name: 'engine2',
          round: async (ms) => (await timedRoundAsync(async () => (await par.step()).loss, ms, 2)).rate,
          dispose: () => par.close(),
        });
      }
      if (peer) {
        for (const [name, threads] of [
          ['torch1', 1],
          ['torch2', o.threads],
        ] as const) {
          await peer.request({ unet: batch, threads, ms: 100 }); // builds and warms up the torch model
          variants.push({
            name,
            round: async (ms) => {
              const r = await peer.request<{ steps: number; sec: number }>({ unet: batch, threads, ms });
              return r.steps / r.sec;
            },
            dispose: async () => undefined,
          });
        }
      }
      const rates = new Map<VariantName, number[]>(variants.map((v) => [v.name, []]));
      try {
        for (let r = 0; r < o.rounds; r++) {
          const order = [...variants];
          for (let k = 0; k < r % order.length; k++) order.push(order.shift()!);
          for (const v of order) rates.get(v.name)!.push(await v.round(o.roundMs));
          log(
            `unet-step batch ${batch} round ${r + 1}/${o.rounds}: ${[...rates.entries()].map(([k, v]) => `${k} ${round(1000 / v.at(-1)!, 0)} ms`).join(', ')}`,
          );
        }
        if (batch === o.batches[0]) profile = kernelProfile(made[0]!.trainer, 3); // the 1-thread engine's trainer
      } finally {
        for (const v of variants) await v.dispose();
        made.forEach((m) => m.dispose());
      }
      const stats = new Map([...rates.entries()].map(([k, v]) => [k, rateStats(v)]));
      const ms = (s: RateStats | undefined) => (s ? { best: round(1000 / s.best, 1), median: round(1000 / s.median, 1) } : null);
      const ratio = (a: VariantName, b: VariantName) => {
        const x = stats.get(a);
        const y = stats.get(b);
        return x && y ? { best: round(x.best / y.best, 3), median: round(x.median / y.median, 3) } : null;
      };
      results.push({
        batch,
        roundMs: o.roundMs,
        msPerStep: Object.fromEntries(variants.map((v) => [v.name, ms(stats.get(v.name))])),
        stepsPerSec: Object.fromEntries(variants.map((v) => [v.name, stats.get(v.name)])),
        ratioOursOverTorch: {
          '1 thread (engine / torch1)': ratio('engine', 'torch1'),
          [`${o.threads} threads (engine2 / torch2)`]: ratio('engine2', 'torch2'),
        },
        speedupOverStock: ratio('engine', 'stock'),
        speedupTwoThreads: ratio('engine2', 'engine'),
      });
    }
  } finally {
    peer?.close();
  }
  return {
    model: p0.model,
    parameters: { ours: params, torch: torchParams },
    data: `MNIST from the mnist package (${target.source.shape.join('x')}, ${target.source.numClasses} classes), loaded in ${round(loadSec, 1)} s`,
    variants: {
      engine: 'core createTrainer, 1 thread, tape-free training path (core/model/unet-train.ts)',
      engine2: `the same, data-parallel over ${o.threads} threads (main/training/parallel.ts)`,
      stock: 'core createTrainer, 1 thread, tf.variableGrads through the differentiable layers (useUNetTrainPath(false))',
      torch1: 'bench/peer_unet_step.py, the same network and recipe in PyTorch, torch.set_num_threads(1)',
      torch2: `the same, torch.set_num_threads(${o.threads})`,
    },
    torch: info,
    results,
    engineProfile: profile,
  };
}
