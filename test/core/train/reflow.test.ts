// Reflow on the exact 8-gaussians flow: pairs from the oracle, a reflow model trained on them keeps
// the pairs (no re-coupling) and is far straighter than the oracle's own flow.
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { ConfigError } from '../../../core/errors';
import { createModel } from '../../../core/model';
import { gmmOracle } from '../../../core/oracle/gmm';
import { eightGaussians } from '../../../core/data/toy2d';
import { condOT } from '../../../core/path/scheduler';
import { energyDistance } from '../../../core/metrics/distances';
import { toy2dSource } from '../../../core/data/source';
import { modelConfigFor } from '../../../core/train/config';
import { createTrainer } from '../../../core/train/trainer';
import { sampleFromField } from '../../../core/train/sample';
import { generateReflowPairs, measureStraightness, pairedSource } from '../../../core/train/reflow';
import { specFrom } from './helpers';

describe('reflow', () => {
  const oracle = gmmOracle(eightGaussians(), condOT());

  it('pairs are (noise, flow(noise)): reproducible, chunked consistently, endpoints on the data', () => {
    const a = generateReflowPairs(oracle.velocity, { n: 300, shape: [2], seed: 1, solver: 'rk4', steps: 20, chunk: 128 });
    const b = generateReflowPairs(oracle.velocity, { n: 300, shape: [2], seed: 1, solver: 'rk4', steps: 20, chunk: 128 });
    expect(b.x1).toEqual(a.x1);
    expect(a.nfe).toBe(3 * 80);
    // x0 of the first chunk is the seeded noise of sampleFromField.
    expect(a.x0.subarray(0, 10)).toEqual(new Rng(1).normals(10));
    // The oracle's flow ends on the mixture: every x1 within ~4 std of a component mean.
    for (let i = 0; i < 300; i++) {
      const r = Math.hypot(a.x1[2 * i]!, a.x1[2 * i + 1]!);
      expect(Math.abs(r - 5)).toBeLessThan(1.3);
    }
  });

  it('a model trained on oracle pairs is far straighter than the oracle flow, and samples well in one Euler step', () => {
    const pairs = generateReflowPairs(oracle.velocity, { n: 4096, shape: [2], seed: 1, solver: 'rk4', steps: 20 });
    const spec = specFrom({
      data: { kind: 'toy2d', name: '8gaussians' },
      model: { kind: 'mlp', width: 128, depth: 3 },
      optim: { lr: 2e-3, warmupSteps: 20, schedule: 'cosine', minLrRatio: 0.05, emaDecay: 0.99 },
      train: { steps: 300, batchSize: 256 },
    });
    const model = createModel(modelConfigFor(spec.model, [2], 0), 1);
    // A paired source keeps its pairs; re-coupling them is refused.
    expect(() =>
      createTrainer({ spec: { ...spec, coupling: { ...spec.coupling, kind: 'exact-ot' } }, model, target: pairedSource(pairs) }),
    ).toThrow(ConfigError);
    const tr = createTrainer({ spec, model, target: pairedSource(pairs) });
    for (let i = 0; i < 300; i++) expect(tr.step().diverged).toBe(false);

    const before = measureStraightness(oracle.velocity, { n: 500, shape: [2], seed: 3 });
    const after = measureStraightness(tr.emaField(), { n: 500, shape: [2], seed: 3 });
    const fresh = toy2dSource('8gaussians').sample(1000, new Rng(9)).x;
    const one = (field: typeof oracle.velocity): number => {
      const s = sampleFromField(field, { n: 1000, shape: [2], seed: 4, solver: 'euler', steps: 1 });
      const d = energyDistance(s.x, fresh);
      tf.dispose([s.x, s.x0]);
      return d;
    };
    const edOracle = one(oracle.velocity);
    const edReflow = one(tr.emaField());
    console.log(
      `straightness: oracle ${before.toFixed(3)} -> reflow ${after.toFixed(3)}; one Euler step energy distance: oracle ${edOracle.toFixed(3)}, reflow ${edReflow.toFixed(3)}`,
    );
    expect(after).toBeLessThan(before / 5);
    expect(edReflow).toBeLessThan(edOracle / 5);
    fresh.dispose();
    tr.dispose();
    model.dispose();
  });
});
