/**
 * sampling: Euler sampling throughput, in points x steps per second, of
 *   - the MLP of the 2-D presets (width 256, depth 3, SiLU, 32-d time embedding) through the app's
 *     sampling path (guidedField + sampleFromField), with random weights (the cost does not depend
 *     on them; the zero-initialised output layer is randomised too, so the points move);
 *   - the exact 8-gaussians oracle (core/oracle/gmm) through the same sampler.
 * Each repeat integrates `points` points over `steps` Euler steps and reads the result back.
 * The MLP runs twice: on one thread (`ours`), and with its forward pass split over 2 threads as the
 * app samples on a machine with 2 or more cores (`ours2`: main/models/threaded.ts, the calling
 * thread and one helper, helper started before timing). Beside them, the same network and sampler in
 * PyTorch (bench/peer_unet_step.py "sample": torch.no_grad(), random weights) with 1 and 2 threads,
 * repeats interleaved with ours; ratios ours / torch at 1 thread, at 2 threads, and best against
 * best (each side at its faster thread count).
 */
import { tf } from '../core/tf';
import { createModel } from '../core/model';
import { modelConfigFor } from '../core/train/config';
import { guidedField, sampleFromField } from '../core/train/sample';
import { condOT } from '../core/path/scheduler';
import { gmmOracle } from '../core/oracle/gmm';
import { mixtureOf2d } from '../core/data/toy2d';
import { Rng } from '../core/util/random';
import type { VelocityField } from '../core/field';
import { parseExperiment } from '../common/config';
import { ThreadedModel, stopInferenceThreads } from '../main/models/threaded';
import { log, round, timeStats, type LinePeer } from './lib';
import { startUnetPeer } from './unet';
import { readPreset } from './presets';

export interface SamplingOptions {
  /** Point counts of the MLP runs (the oracle runs at the first). */
  points: number[];
  steps: number;
  repeats: number;
  /** Python with torch for the peer; null skips it. */
  python: string | null;
}

interface One {
  points: number;
  steps: number;
}

function rates(ms: number[], o: One): Record<string, unknown> {
  const t = timeStats(ms);
  const work = o.points * o.steps;
  return {
    wallMs: t,
    pointStepsPerSec: { best: Math.round((1000 * work) / t.best), median: Math.round((1000 * work) / t.median) },
    msPerEulerStep: { best: round(t.best / o.steps, 2), median: round(t.median / o.steps, 2) },
  };
}

/** One repeat of ours: wall ms and whether every value came back finite. */
function once(field: VelocityField, o: One, seed: number): { ms: number; finite: boolean } {
  const t0 = performance.now();
  const res = sampleFromField(field, { n: o.points, shape: [2], seed, solver: 'euler', steps: o.steps });
  const data = res.x.dataSync();
  const ms = performance.now() - t0;
  tf.dispose([res.x, res.x0]);
  return { ms, finite: data.every((v) => Number.isFinite(v)) };
}

/** The MLP at `o.points`, ours and the torch peer's (1 and 2 threads), repeats interleaved. */
async function versusTorch(
  field: VelocityField,
  field2: VelocityField,
  o: One,
  repeats: number,
  peer: LinePeer | null,
): Promise<Record<string, unknown>> {
  const ours: number[] = [];
  const ours2: number[] = [];
  const torch: Record<number, number[]> = { 1: [], 2: [] };
  let finite = true;
  once(field, { points: o.points, steps: 2 }, 1); // warm-up: kernels compiled, heap grown
  once(field2, { points: o.points, steps: 2 }, 1);
  if (peer) await peer.request({ sample: o.points, steps: 2, threads: 1, repeats: 1 });
  for (let r = 0; r < repeats; r++) {
    const a = once(field, o, 100 + r);
    ours.push(a.ms);
    finite &&= a.finite;
    const a2 = once(field2, o, 100 + r);
    ours2.push(a2.ms);
    finite &&= a2.finite;
    for (const threads of [1, 2]) {
      if (!peer) continue;
      const q = await peer.request<{ sec: number[]; finite: boolean }>({ sample: o.points, steps: o.steps, threads, repeats: 1 });
      torch[threads]!.push(1000 * q.sec[0]!);
      finite &&= q.finite;
    }
    log(
      `sampling mlp ${o.points} points, repeat ${r + 1}/${repeats}: ours ${round(a.ms / 1000, 2)} s, ours2 ${round(a2.ms / 1000, 2)} s, torch1 ${round((torch[1]!.at(-1) ?? NaN) / 1000, 2)} s`,
    );
  }
  const mine = rates(ours, o);
  const mine2 = rates(ours2, o);
  const t1 = peer ? rates(torch[1]!, o) : null;
  const t2 = peer ? rates(torch[2]!, o) : null;
  const best = (x: Record<string, unknown> | null): number => (x?.pointStepsPerSec as { best: number }).best;
  return {
    points: o.points,
    ours: mine,
    ours2: mine2,
    torch1: t1,
    torch2: t2,
    ratioOursOverTorch1: t1 ? round(best(mine) / best(t1), 3) : null,
    ratioOurs2OverTorch2: t2 ? round(best(mine2) / best(t2), 3) : null,
    ratioBestOverBest: t1 && t2 ? round(Math.max(best(mine), best(mine2)) / Math.max(best(t1), best(t2)), 3) : null,
    finite,
  };
}

function measureOracle(field: VelocityField, o: One, repeats: number): Record<string, unknown> {
  const ms: number[] = [];
  let finite = true;
  for (let r = 0; r < repeats; r++) {
    const a = once(field, o, 100 + r);
    ms.push(a.ms);
    finite &&= a.finite;
    log(`sampling oracle repeat ${r + 1}/${repeats}: ${round(a.ms / 1000, 2)} s`);
  }
  return { ...rates(ms, o), finite };
}

export async function benchSampling(o: SamplingOptions): Promise<Record<string, unknown>> {
  const p = parseExperiment(readPreset('moons'));
  if (!p.ok) throw new Error('moons preset does not parse');
  const model = createModel(modelConfigFor(p.value.model, [2], 0), 1);
  const rng = new Rng(3);
  for (const v of model.variables) {
    const fanIn = v.shape.length === 2 ? v.shape[0]! : 1;
    v.assign(
      tf.tensor(
        rng.normals(v.size).map((z) => z / Math.sqrt(fanIn)),
        v.shape,
      ),
    );
  }
  const mlp = guidedField(model, 'velocity', condOT(), 0);
  const threaded = new ThreadedModel(model, 2);
  await threaded.warm();
  const mlp2 = guidedField(threaded, 'velocity', condOT(), 0);
  const oracle = gmmOracle(mixtureOf2d('8gaussians')!, condOT());
  const { peer, info } = await startUnetPeer(o.python);
  try {
    const runs = [];
    for (const points of o.points) runs.push(await versusTorch(mlp, mlp2, { points, steps: o.steps }, o.repeats, peer));
    return {
      steps: o.steps,
      solver: 'euler',
      mlp: {
        model: 'MLP [x, emb32(t)] -> 256 -> 256 -> 256 -> 2, SiLU (the 2-D presets), random weights',
        ours2: `forward pass split over 2 threads (main/models/threaded.ts), ${threaded.counts.split} calls split`,
        torchPeer: 'bench/peer_unet_step.py: the same MLP and Euler loop under torch.no_grad(), torch.set_num_threads(1 | 2)',
        torch: info,
        runs,
      },
      oracle8gaussians: {
        model: 'exact GMM velocity, 8 components (core/oracle/gmm)',
        points: o.points[0],
        ...measureOracle(oracle.velocity, { points: o.points[0]!, steps: o.steps }, Math.max(o.repeats, 3)),
      },
    };
  } finally {
    peer?.close();
    threaded.dispose(); // frees the model too
    await stopInferenceThreads();
  }
}
