/**
 * unet-step: one training step of the MNIST preset's class-conditional U-Net (28x28x1, its model and
 * optimiser config: CFG label dropout, grad clipping, EMA) on real MNIST through core's trainer, at
 * several batch sizes; ms per step, best and median over steps taken in interleaved rounds.
 */
import { countParameters, createModel } from '../core/model';
import { createTrainer, type Trainer } from '../core/train/trainer';
import { modelConfigFor } from '../core/train/config';
import { loadExperimentData } from '../main/training/sources';
import { parseExperiment } from '../common/config';
import { log, round, timeStats } from './lib';
import { readPreset } from './presets';

export interface UnetOptions {
  batches: number[];
  rounds: number;
  stepsPerRound: number;
}

export async function benchUnetStep(o: UnetOptions): Promise<Record<string, unknown>> {
  const base = readPreset('mnist');
  const p0 = parseExperiment(base);
  if (!p0.ok) throw new Error('mnist preset does not parse');
  const t0 = performance.now();
  const { target, source } = await loadExperimentData(p0.value);
  const loadSec = (performance.now() - t0) / 1000;
  const runs: { batch: number; trainer: Trainer; dispose: () => void; params: number }[] = [];
  const ms = new Map<number, number[]>();
  try {
    for (const batch of o.batches) {
      const p = parseExperiment({ ...base, train: { ...(base.train as object), batchSize: batch } });
      if (!p.ok) throw new Error('mnist preset does not parse');
      const model = createModel(modelConfigFor(p.value.model, target.source.shape, target.source.numClasses), p.value.seed);
      const trainer = createTrainer({ spec: p.value, model, target: target.source, source });
      // Warm-up: the first steps compile wasm kernels and grow the heap.
      for (let i = 0; i < 2; i++) trainer.step();
      runs.push({ batch, trainer, params: countParameters(model), dispose: () => (trainer.dispose(), model.dispose()) });
      ms.set(batch, []);
    }
    for (let r = 0; r < o.rounds; r++) {
      for (const run of r % 2 ? [...runs].reverse() : runs) {
        for (let i = 0; i < o.stepsPerRound; i++) {
          const s0 = performance.now();
          run.trainer.step();
          ms.get(run.batch)!.push(performance.now() - s0);
        }
        log(`unet-step batch ${run.batch} round ${r + 1}/${o.rounds}: ${round(ms.get(run.batch)!.at(-1)!, 0)} ms`);
      }
    }
    return {
      model: p0.value.model,
      parameters: runs[0]?.params ?? null,
      data: `MNIST from the mnist package (${target.source.shape.join('x')}, ${target.source.numClasses} classes), loaded in ${round(loadSec, 1)} s`,
      results: runs.map((run) => {
        const t = timeStats(ms.get(run.batch)!);
        return { batch: run.batch, msPerStep: t, stepsPerSec: { best: round(1000 / t.best, 2), median: round(1000 / t.median, 2) } };
      }),
    };
  } finally {
    runs.forEach((r) => r.dispose());
  }
}
