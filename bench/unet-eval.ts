/**
 * unet-eval: the forward pass alone of the MNIST preset's class-conditional U-Net (28x28x1), as
 * sampling and inversion call it (no gradient tape), at several batch sizes, side by side with
 * PyTorch:
 *
 *   engine   model.apply with no tape recording on the wasm backend: the inference kernels of
 *            core/model/unet-kernels.ts (GroupNorm + time/class term + SiLU in one kernel, each
 *            3x3 conv with its skip conv or residual in one, on the FMA GEMM), 1 thread
 *   engine2  the same with the batch split over 2 threads (main/models/threaded.ts: this thread and
 *            one helper thread, as the app samples on a machine with 2+ cores); batch 1 runs whole
 *   stock    the same call with those kernels switched off (useUNetKernels(false)): the
 *            differentiable layers on tfjs's kernels
 *   torch1, torch2
 *            bench/peer_unet_step.py: the same network's forward under torch.no_grad(), 1 and 2
 *            threads
 *
 * Weights are seeded N(0, 0.05²) values everywhere (the cost of a pass does not depend on them; the
 * initialisation's zero layers are replaced so every output is a real function of the input). Variants run in interleaved rounds of about
 * `roundMs` each (order rotated every round); each reports ms per evaluation (best and median
 * round), ms per image and the ratio torch1 / engine (> 1: ours is faster).
 */
import { tf } from '../core/tf';
import { createModel, type VelocityModel } from '../core/model';
import { useUNetKernels } from '../core/model/unet-kernels';
import { modelConfigFor } from '../core/train/config';
import { parseExperiment } from '../common/config';
import { Rng } from '../core/util/random';
import { log, rateStats, round, timedRound, type RateStats } from './lib';
import { readPreset } from './presets';
import { ThreadedModel, stopInferenceThreads } from '../main/models/threaded';
import { startUnetPeer } from './unet';

export interface UnetEvalOptions {
  batches: number[];
  rounds: number;
  roundMs: number;
  /** Python with torch for the peer; null skips it. */
  python: string | null;
  /** Threads of the second torch variant. */
  threads: number;
}

type VariantName = 'engine' | 'engine2' | 'stock' | 'torch1' | 'torch2';

/** The mnist preset's U-Net with every parameter drawn N(0, 0.05²) (seeded), nothing left at zero. */
function mnistUNet(): VelocityModel {
  const p = parseExperiment(readPreset('mnist'));
  if (!p.ok) throw new Error(`mnist preset: ${JSON.stringify(p.issues)}`);
  const model = createModel(modelConfigFor(p.value.model, [28, 28, 1], 10), p.value.seed);
  const rng = new Rng(7);
  for (const v of model.variables) v.assign(tf.tidy(() => tf.mul(tf.tensor(rng.normals(v.size), v.shape), 0.05)));
  return model;
}

export async function benchUnetEval(o: UnetEvalOptions): Promise<Record<string, unknown>> {
  const model = mnistUNet();
  const threaded = new ThreadedModel(model, 2);
  await threaded.warm();
  const { peer, info } = await startUnetPeer(o.python);
  const results: Record<string, unknown>[] = [];
  try {
    for (const batch of o.batches) {
      const rng = new Rng(100 + batch);
      const x = tf.tensor(rng.normals(batch * 784), [batch, 28, 28, 1]);
      const t = tf.tensor1d(
        Array.from({ length: batch }, () => rng.uniform()),
        'float32',
      );
      const labels = tf.tensor1d(
        Array.from({ length: batch }, (_, i) => i % 10),
        'int32',
      );
      const evalOnce = (kernels: boolean, m: VelocityModel = model): void => {
        const prev = useUNetKernels(kernels);
        try {
          const y = m.apply(x, t, labels);
          y.dataSync(); // the wasm backend computes synchronously; this only makes the end explicit
          y.dispose();
        } finally {
          useUNetKernels(prev);
        }
      };
      const variants: { name: VariantName; round: (ms: number) => Promise<number> }[] = [];
      for (const [name, kernels] of [
        ['engine', true],
        ['stock', false],
      ] as const) {
        evalOnce(kernels); // warm-up: kernels compile, the heap grows
        variants.push({ name, round: async (ms) => timedRound(() => evalOnce(kernels), ms, 2).rate });
      }
      if (batch >= 2) {
        evalOnce(true, threaded); // the helper builds its copy of the model
        variants.push({ name: 'engine2', round: async (ms) => timedRound(() => evalOnce(true, threaded), ms, 2).rate });
      }
      if (peer) {
        for (const [name, threads] of [
          ['torch1', 1],
          ['torch2', o.threads],
        ] as const) {
          await peer.request({ forward: batch, threads, ms: 100 }); // builds and warms up the torch model
          variants.push({
            name,
            round: async (ms) => {
              const r = await peer.request<{ evals: number; sec: number }>({ forward: batch, threads, ms });
              return r.evals / r.sec;
            },
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
            `unet-eval batch ${batch} round ${r + 1}/${o.rounds}: ${[...rates.entries()].map(([k, v]) => `${k} ${round(1000 / v.at(-1)!, 1)} ms`).join(', ')}`,
          );
        }
      } finally {
        tf.dispose([x, t, labels]);
      }
      const stats = new Map([...rates.entries()].map(([k, v]) => [k, rateStats(v)]));
      const ms = (s: RateStats | undefined) => (s ? { best: round(1000 / s.best, 2), median: round(1000 / s.median, 2) } : null);
      const ratio = (a: VariantName, b: VariantName) => {
        const p = stats.get(a);
        const q = stats.get(b);
        return p && q ? { best: round(p.best / q.best, 3), median: round(p.median / q.median, 3) } : null;
      };
      results.push({
        batch,
        msPerEval: Object.fromEntries(variants.map((v) => [v.name, ms(stats.get(v.name))])),
        msPerImageBest: Object.fromEntries(variants.map((v) => [v.name, round(1000 / stats.get(v.name)!.best / batch, 3)])),
        ratioOurs2OverTorch2: ratio('engine2', 'torch2'),
        evalsPerSec: Object.fromEntries(variants.map((v) => [v.name, stats.get(v.name)])),
        ratioOursOverTorch1: ratio('engine', 'torch1'),
        ratioOursOverTorch2: ratio('engine', 'torch2'),
        speedupOverStock: ratio('engine', 'stock'),
      });
    }
  } finally {
    peer?.close();
    threaded.dispose(); // and the model
    await stopInferenceThreads();
  }
  return {
    model: 'mnist preset U-Net (28x28x1, base 16, mults [1, 2, 4], attention at 7x7, 10 classes), random weights',
    variants: {
      engine: 'model.apply with the tape off: the inference kernels (core/model/unet-kernels.ts), 1 thread',
      engine2: 'the same, the batch split over 2 threads (main/models/threaded.ts)',
      stock: 'model.apply with useUNetKernels(false): the differentiable layers on tfjs kernels, 1 thread',
      torch1: 'bench/peer_unet_step.py forward under torch.no_grad(), torch.set_num_threads(1)',
      torch2: `the same, torch.set_num_threads(${o.threads})`,
    },
    torch: info,
    results,
  };
}
