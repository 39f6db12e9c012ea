/**
 * mlp-step: the CFM training step of the MLP 3 -> 256 -> 256 -> 256 -> 2 (SiLU; input [x, t] with t
 * itself as the third input, i.e. timeEmbedDim 0) at several batch sizes, three ways, interleaved:
 *
 *   engine  core's createTrainer: what a run does per step (moons batch drawn from the seeded host
 *           Rng, t ~ U(0, 1), loss, gradients, our Adam with schedule, gradient norm and EMA, the
 *           loss read back to the host)
 *   engine 2 threads
 *           the same trainer, data-parallel over two threads (main/training/parallel.ts): each thread
 *           has its own wasm backend and computes half of the batch's gradient; the halves are
 *           combined through a SharedArrayBuffer and every thread applies the same Adam update.
 *           Also reports where the leader's step time went (shard, barrier wait, combine, apply)
 *   bare    the same network (core createMlp) with tf.variableGrads and tf.train.adam on a fixed x1
 *           batch: the model step alone, the like of the PyTorch peer
 *   torch   bench/peer_mlp_step.py with /usr/bin/python3 (PyTorch CPU), when torch imports
 *
 * Reports steps/s (best and median round) and ours/torch ratios, and first the GFLOP/s of one matrix
 * product of the hidden layers' shapes on our kernel, on tfjs's XNNPACK matMul and on torch's BLAS
 * (the step is bounded by these: ~0.8 MFLOP a row in six such products).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf, type Tensor } from '../core/tf';
import { gemm, gemmKernelActive } from '../core/kernels/gemm';
import { countParameters, createMlp, createModel, type MlpConfig } from '../core/model';
import { createTrainer } from '../core/train/trainer';
import { modelConfigFor, type TrainSpec } from '../core/train/config';
import { toy2dSource } from '../core/data/source';
import { parseExperiment } from '../common/config';
import { selectBackend } from '../main/runtime/backend';
import { createParallelTrainer, type ParallelTimings } from '../main/training/parallel';
import { LinePeer, log, rateStats, round, timedRound, timedRoundAsync, type RateStats } from './lib';
import { readPreset } from './presets';

export interface MlpStepOptions {
  batches: number[];
  rounds: number;
  /** Python with torch for the peer; null skips it. */
  python: string | null;
}

interface TorchInfo {
  ok: boolean;
  error?: string;
  torch?: string;
  threads?: number;
  blasInfo?: string | null;
  blasLoaded?: string[];
  /** OpenBLAS at run time: its thread count and the kernel set it chose (OPENBLAS_CORETYPE overrides it). */
  openblas?: { threads: number; core: string } | null;
  openblasCoretype?: string | null;
  openblasNumThreads?: string | null;
  ompNumThreads?: string | null;
  python?: string;
}

const NET: MlpConfig = { kind: 'mlp', dim: 2, width: 256, depth: 3, activation: 'silu', timeEmbedDim: 0, numClasses: 0 };
/** PyTorch's parameter count of the same net: (3*256 + 256) + 2 (256*256 + 256) + (256*2 + 2). */
const TORCH_PARAMS = 3 * 256 + 256 + 2 * (256 * 256 + 256) + 256 * 2 + 2;

/** The moons preset with the benchmark's net and batch; timeEmbedDim 0 is below the schema's minimum, so it is set after parsing. */
function engineSpec(batch: number): TrainSpec {
  const base = readPreset('moons');
  const p = parseExperiment({ ...base, train: { ...(base.train as object), batchSize: batch } });
  if (!p.ok) throw new Error(`moons preset: ${JSON.stringify(p.issues)}`);
  const spec = p.value as TrainSpec;
  return { ...spec, model: { kind: 'mlp', width: NET.width, depth: NET.depth, activation: NET.activation, timeEmbedDim: 0 } };
}

type VariantName = 'engine' | 'engine2' | 'bare';

interface Variant {
  name: VariantName;
  round(ms: number): number | Promise<number>;
  dispose(): void | Promise<void>;
  params: number;
  /** Mean ms per step of each phase of the leader's step (data-parallel variant only). */
  phases?(): Record<string, number>;
  /** CPU ms per step of each of the variant's threads over its timed rounds (engine variants). */
  cpuPerStep?(): number[];
}

/** CPU time (user + system) of the calling thread, ms. */
function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

/** The engine trainer, data-parallel over `threads` threads (replica workers on the engine's backend). */
async function engineParallelVariant(batch: number, threads: number): Promise<Variant> {
  const spec = engineSpec(batch);
  const model = createModel(modelConfigFor(spec.model, [2], 0), 1);
  const trainer = createTrainer({ spec, model, target: toy2dSource('moons') });
  for (let i = 0; i < 3; i++) trainer.step();
  const backend = await selectBackend();
  const par = await createParallelTrainer(trainer, {
    threads,
    data: { kind: 'experiment', data: spec.data, source: spec.source },
    backend: backend.name,
  });
  for (let i = 0; i < 3; i++) await par.step();
  const start = par.timings();
  return {
    name: 'engine2',
    params: countParameters(model),
    round: async (ms) => (await timedRoundAsync(async () => (await par.step()).loss, ms, 2)).rate,
    phases: () => {
      const t = par.timings();
      const n = Math.max(1, t.steps - start.steps);
      const per = (k: Exclude<keyof ParallelTimings, 'steps' | 'cpuMs'>): number => round((t[k] - start[k]) / n, 2);
      return { shardMs: per('shardMs'), barrierWaitMs: per('waitMs'), combineMs: per('combineMs'), applyMs: per('applyMs') };
    },
    cpuPerStep: () => {
      const t = par.timings();
      const n = Math.max(1, t.steps - start.steps);
      return t.cpuMs.map((c, i) => round((c - start.cpuMs[i]!) / n, 2));
    },
    dispose: async () => {
      await par.close();
      trainer.dispose();
      model.dispose();
    },
  };
}

function engineVariant(batch: number): Variant {
  const spec = engineSpec(batch);
  const model = createModel(modelConfigFor(spec.model, [2], 0), 1);
  const trainer = createTrainer({ spec, model, target: toy2dSource('moons') });
  for (let i = 0; i < 3; i++) trainer.step();
  let cpu = 0;
  let steps = 0;
  return {
    name: 'engine',
    params: countParameters(model),
    round: (ms) => {
      const c0 = threadCpuMs();
      const r = timedRound(() => trainer.step().loss, ms, 2);
      cpu += threadCpuMs() - c0;
      steps += r.steps;
      return r.rate;
    },
    cpuPerStep: () => [round(cpu / Math.max(1, steps), 2)],
    dispose: () => {
      trainer.dispose();
      model.dispose();
    },
  };
}

function bareVariant(batch: number): Variant {
  const model = createMlp(NET, 1);
  const opt = tf.train.adam(1e-3);
  const vars = model.variables as tf.Variable[];
  const x1 = tf.tidy(() =>
    tf.add(
      tf.mul(tf.randomNormal([batch, 2], 0, 1, 'float32', 7), 0.1),
      tf.mul(tf.sign(tf.randomNormal([batch, 2], 0, 1, 'float32', 8)), 2),
    ),
  );
  const step = (): number =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const x0 = tf.randomNormal([batch, 2]);
        const t = tf.randomUniform([batch]);
        const tc = tf.reshape(t, [batch, 1]);
        const xt = tf.add(tf.mul(tc, x1), tf.mul(tf.sub(1, tc), x0));
        return tf.mean(tf.square(tf.sub(model.apply(xt, t), tf.sub(x1, x0)))) as tf.Scalar;
      }, vars);
      opt.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] as Tensor })));
      return value.dataSync()[0]!;
    });
  for (let i = 0; i < 3; i++) step();
  return {
    name: 'bare',
    params: countParameters(model),
    round: (ms) => timedRound(step, ms, 2).rate,
    dispose: () => {
      model.dispose();
      opt.dispose();
      x1.dispose();
    },
  };
}

/**
 * CPU time per step of the one-thread engine and of each thread of the two-thread engine. On a busy
 * machine wall-clock rates measure the scheduler's share as much as the code (with autogroup
 * scheduling, all threads of this process share one slot against other sessions' jobs, so a second
 * thread gets no extra CPU while the cores are saturated). The CPU times say what the code costs:
 * with a free core per thread, a two-thread step takes at least the larger per-thread time, so
 * single / max(per thread) bounds the speed-up an idle machine can show (barrier wake-ups and
 * uneven shard times come on top).
 */
function cpuReport(variants: readonly Variant[]): Record<string, unknown> {
  const one = variants.find((v) => v.name === 'engine')!.cpuPerStep!()[0]!;
  const two = variants.find((v) => v.name === 'engine2')!.cpuPerStep!();
  return { 'engine trainer.step': one, 'engine 2 threads (per thread)': two, idleSpeedupBound: round(one / Math.max(...two), 2) };
}

/**
 * Debian's torch links whatever libblas.so.3 the alternatives system points at; with only the netlib
 * reference BLAS installed (libblas3) it runs ~30x slower than with OpenBLAS, and a ratio against it
 * flatters us. Such a peer is flagged in the result (install libopenblas0-pthread for a fair one).
 */
function peerWarning(info: TorchInfo): string | null {
  if (!info.ok || !info.blasLoaded) return null;
  if (info.blasLoaded.some((p) => /openblas|mkl|blis/i.test(p))) return null;
  return `the peer's BLAS is not an optimised one (${info.blasLoaded.join(', ') || 'none mapped'}): its rates and the ratios are not a fair comparison`;
}

async function startTorch(python: string | null): Promise<{ peer: LinePeer | null; info: TorchInfo }> {
  if (!python) return { peer: null, info: { ok: false, error: 'skipped (--no-torch)' } };
  if (!existsSync(python)) return { peer: null, info: { ok: false, error: `${python} not found` } };
  const peer = new LinePeer(python, [join(import.meta.dirname, 'peer_mlp_step.py')]);
  try {
    const info = await peer.read<TorchInfo>();
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

/** The matrix products of the step's hidden layers, [m, k] x [k, n]: what bounds it. */
const GEMM_SHAPES: Array<[number, number, number]> = [
  [256, 256, 256],
  [2048, 256, 256],
];

/**
 * GFLOP/s of one float32 matrix product on each engine: our FMA kernel (core/kernels/gemm.ts, what the
 * engine runs), tfjs-backend-wasm's own matMul (XNNPACK), and torch's BLAS (the peer).
 */
async function gemmRates(peer: LinePeer | null): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const rate = (f: () => void, flop: number): number => {
    for (let i = 0; i < 3; i++) f();
    return round(flop / (1e6 * (1000 / timedRound(f, 400, 3).rate)), 1);
  };
  for (const [m, k, n] of GEMM_SHAPES) {
    const flop = 2 * m * k * n;
    const a = tf.randomNormal([m, k]);
    const b = tf.randomNormal([k, n]);
    const ours = gemmKernelActive() ? rate(() => gemm(a, b).dispose(), flop) : null;
    const tfjs = rate(() => tf.matMul(a, b).dispose(), flop);
    tf.dispose([a, b]);
    const torch = peer ? round((await peer.request<{ gflops: number }>({ mm: [m, k, n], ms: 400 })).gflops, 1) : null;
    out.push({
      shape: `[${m}, ${k}] x [${k}, ${n}]`,
      gflops: { 'ours (FlowMatMul, FMA)': ours, 'tfjs wasm matMul (XNNPACK)': tfjs, torch },
    });
  }
  return out;
}

export async function benchMlpStep(opts: MlpStepOptions): Promise<Record<string, unknown>> {
  const { peer, info } = await startTorch(opts.python);
  const warning = peerWarning(info);
  if (warning) log(`mlp-step: ${warning}`);
  const results: Record<string, unknown>[] = [];
  let gemmGflops: Record<string, unknown>[];
  try {
    gemmGflops = await gemmRates(peer);
    for (const batch of opts.batches) {
      const ms = batch >= 1024 ? 1500 : 600;
      const variants = [engineVariant(batch), await engineParallelVariant(batch, 2), bareVariant(batch)];
      const rates: Record<string, number[]> = { engine: [], engine2: [], bare: [], torch: [] };
      if (peer) await peer.request({ batch, ms: 200 }); // builds and warms up the torch model
      for (let r = 0; r < opts.rounds; r++) {
        // Rotate the order each round, so no variant always follows the same neighbour.
        const order: (VariantName | 'torch')[] = ['engine', 'engine2', 'bare', 'torch'];
        for (let k = 0; k < r % order.length; k++) order.push(order.shift()!);
        for (const name of order) {
          if (name === 'torch') {
            if (!peer) continue;
            const reply = await peer.request<{ steps: number; sec: number }>({ batch, ms });
            rates.torch!.push(reply.steps / reply.sec);
          } else {
            rates[name]!.push(await variants.find((v) => v.name === name)!.round(ms));
          }
        }
        log(
          `mlp-step batch ${batch} round ${r + 1}/${opts.rounds}: ${Object.entries(rates)
            .map(([k, v]) => `${k} ${round(v.at(-1) ?? NaN, 1)}`)
            .join(', ')} steps/s`,
        );
      }
      const engine = rateStats(rates.engine!);
      const engine2 = rateStats(rates.engine2!);
      const bare = rateStats(rates.bare!);
      const torch: RateStats | null = rates.torch!.length ? rateStats(rates.torch!) : null;
      const ratio = (a: RateStats) => (torch ? { best: round(a.best / torch.best, 3), median: round(a.median / torch.median, 3) } : null);
      results.push({
        batch,
        roundMs: ms,
        stepsPerSec: { 'engine trainer.step': engine, 'engine 2 threads': engine2, 'bare model step': bare, torch },
        ratioOursOverTorch: { 'engine trainer.step': ratio(engine), 'engine 2 threads': ratio(engine2), 'bare model step': ratio(bare) },
        speedupTwoThreads: { best: round(engine2.best / engine.best, 3), median: round(engine2.median / engine.median, 3) },
        twoThreadPhasesMs: variants.find((v) => v.name === 'engine2')!.phases!(),
        cpuMsPerStep: cpuReport(variants),
        parameters: { ours: variants[0]!.params, torch: TORCH_PARAMS },
      });
      for (const v of variants) await v.dispose();
    }
  } finally {
    peer?.close();
  }
  return {
    model: '3 -> 256 -> 256 -> 256 -> 2, SiLU, input [x, t] (timeEmbedDim 0)',
    variants: {
      'engine trainer.step':
        'core createTrainer on the moons preset with this net: data, coupling, loss, grads, Adam + schedule + grad norm + EMA, loss to host',
      'engine 2 threads':
        'the engine trainer data-parallel over 2 threads (main/training/parallel.ts): half the batch per thread, gradients combined through a SharedArrayBuffer, the same Adam update on both',
      'bare model step': 'createMlp + tf.variableGrads + tf.train.adam on a fixed batch, loss to host (the same work as the torch peer)',
      torch: 'bench/peer_mlp_step.py: nn.Sequential + torch.optim.Adam on a fixed batch',
    },
    torch: info,
    ...(warning ? { peerWarning: warning } : {}),
    gemmGflops,
    results,
  };
}
