// Minibatch couplings in training: exact OT straightens the learned flow (OT-CFM), and pairs stay
// with their labels.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../../core/model';
import { toy2dSource } from '../../../core/data/source';
import { modelConfigFor } from '../../../core/train/config';
import { createTrainer } from '../../../core/train/trainer';
import { measureStraightness } from '../../../core/train/reflow';
import { specFrom } from './helpers';

describe('coupling', () => {
  it('exact-OT coupling learns a much straighter flow than independent pairing (8gaussians)', () => {
    const target = toy2dSource('8gaussians');
    const result: Record<string, number> = {};
    for (const kind of ['independent', 'exact-ot'] as const) {
      const spec = specFrom({
        data: { kind: 'toy2d', name: '8gaussians' },
        coupling: { kind },
        model: { kind: 'mlp', width: 128, depth: 3 },
        optim: { lr: 2e-3, warmupSteps: 20, schedule: 'cosine', minLrRatio: 0.05, emaDecay: 0.99 },
        train: { steps: 300, batchSize: 128 },
      });
      const model = createModel(modelConfigFor(spec.model, [2], 0), 1);
      const tr = createTrainer({ spec, model, target });
      let cost = 0;
      for (let i = 0; i < 300; i++) {
        const r = tr.step();
        // Only a real coupling reports its cost (the independent fast path computes nothing extra).
        expect(r.couplingCost === undefined).toBe(kind === 'independent');
        if (i >= 280) cost += r.couplingCost ?? 0;
      }
      // Straightness S = E int ||(x1 - x0) - v(x_t, t)||^2 dt along the EMA model's own Euler paths.
      result[kind] = measureStraightness(tr.emaField(), { n: 500, shape: [2], seed: 3 });
      result[`${kind} cost`] = cost / 20;
      tr.dispose();
      model.dispose();
    }
    const ot = result['exact-ot cost']!;
    console.log(
      `straightness: independent ${result.independent!.toFixed(3)}, exact OT ${result['exact-ot']!.toFixed(3)}; ` +
        `mean OT pair cost ${ot.toFixed(2)}`,
    );
    expect(result['exact-ot']!).toBeLessThan(result.independent! / 5);
    // Independent pairs cost E||x1 - x0||^2 = E||x1||^2 + E||x0||^2 = (25 + 2 * 0.09) + 2 = 27.18; the
    // OT plan of each batch (its W2^2) is much cheaper.
    expect(ot).toBeLessThan(0.7 * 27.18);
  });
});
