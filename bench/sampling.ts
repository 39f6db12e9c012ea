/**
 * sampling: Euler sampling throughput, in points x steps per second, of
 *   - the MLP of the 2-D presets (width 256, depth 3, SiLU, 32-d time embedding) through the app's
 *     sampling path (guidedField + sampleFromField), with random weights (the cost does not depend
 *     on them; the zero-initialised output layer is randomised too, so the points move);
 *   - the exact 8-gaussians oracle (core/oracle/gmm) through the same sampler.
 * Each repeat integrates `points` points over `steps` Euler steps and reads the result back.
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
import { log, round, timeStats } from './lib';
import { readPreset } from './presets';

export interface SamplingOptions {
  points: number;
  steps: number;
  repeats: number;
}

function measure(name: string, field: VelocityField, o: SamplingOptions, repeats: number): Record<string, unknown> {
  const ms: number[] = [];
  let finite = true;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const res = sampleFromField(field, { n: o.points, shape: [2], seed: 100 + r, solver: 'euler', steps: o.steps });
    const data = res.x.dataSync();
    ms.push(performance.now() - t0);
    finite &&= data.every((v) => Number.isFinite(v));
    tf.dispose([res.x, res.x0]);
    log(`sampling ${name} repeat ${r + 1}/${repeats}: ${round(ms.at(-1)! / 1000, 2)} s`);
  }
  const t = timeStats(ms);
  const work = o.points * o.steps;
  return {
    wallMs: t,
    pointStepsPerSec: { best: Math.round((1000 * work) / t.best), median: Math.round((1000 * work) / t.median) },
    msPerEulerStep: { best: round(t.best / o.steps, 2), median: round(t.median / o.steps, 2) },
    finite,
  };
}

export function benchSampling(o: SamplingOptions): Record<string, unknown> {
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
  const oracle = gmmOracle(mixtureOf2d('8gaussians')!, condOT());
  try {
    return {
      points: o.points,
      steps: o.steps,
      solver: 'euler',
      mlp: {
        model: 'MLP [x, emb32(t)] -> 256 -> 256 -> 256 -> 2, SiLU (the 2-D presets), random weights',
        ...measure('mlp', mlp, o, o.repeats),
      },
      oracle8gaussians: {
        model: 'exact GMM velocity, 8 components (core/oracle/gmm)',
        ...measure('oracle', oracle.velocity, o, Math.max(o.repeats, 3)),
      },
    };
  } finally {
    model.dispose();
  }
}
