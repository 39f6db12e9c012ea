// The trainer learns: loss and sample quality on 8gaussians for each prediction type, and class-
// conditional training with guidance. (State, divergence and other data: trainer-state.test.ts.)
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { energyDistance } from '../../../core/metrics/distances';
import { toy2dSource } from '../../../core/data/source';
import { useSiluKernel } from '../../../core/kernels/silu';
import { combineShards } from '../../../core/train/shard';
import { disposeAll, eightGaussiansSpec, mean, snapshot, trainerFor } from './helpers';

describe('learning', () => {
  it('the MLP learns 8gaussians: loss drops, EMA samples (rk4, 20 steps) approach fresh data', () => {
    const target = toy2dSource('8gaussians');
    const tr = trainerFor(eightGaussiansSpec(), target);
    const fresh = target.sample(1000, new Rng(999)).x;
    // Untrained, the output layer is 0, so the field is 0 and the samples are the noise itself.
    const before = tr.sample({ n: 1000, seed: 5 });
    const ed0 = energyDistance(before.x, fresh);
    const losses: number[] = [];
    for (let i = 0; i < 300; i++) {
      const r = tr.step();
      expect(r.diverged).toBe(false);
      expect(r.step).toBe(i + 1);
      losses.push(r.loss);
    }
    expect(tr.stepCount).toBe(300);
    const after = tr.sample({ n: 1000, seed: 5 });
    expect(after.nfe).toBe(80); // rk4: 4 evaluations x 20 steps
    const ed1 = energyDistance(after.x, fresh);
    console.log(
      `8gaussians: loss ${mean(losses.slice(0, 20)).toFixed(3)} -> ${mean(losses.slice(-20)).toFixed(3)}, energy distance ${ed0.toFixed(3)} -> ${ed1.toFixed(4)}`,
    );
    expect(mean(losses.slice(-20))).toBeLessThan(0.6 * mean(losses.slice(0, 20)));
    expect(ed1).toBeLessThan(ed0 / 10);
    tf.dispose([fresh, before.x, before.x0, after.x, after.x0]);
    disposeAll(tr);
  });

  it('eps and x1 predictions train away from their singular end and sample all of [0, 1]', () => {
    const target = toy2dSource('8gaussians');
    const fresh = target.sample(600, new Rng(998)).x;
    for (const prediction of ['eps', 'x1'] as const) {
      const spec = eightGaussiansSpec({ prediction, model: { kind: 'mlp', width: 128, depth: 3 }, train: { steps: 250, batchSize: 256 } });
      const tr = trainerFor(spec, target);
      expect(prediction === 'eps' ? tr.timeRange.lo : 1 - tr.timeRange.hi).toBeCloseTo(1e-3, 12);
      // Sampling runs over all of [0, 1]: the samplers take the singular end exactly (core/path/model.ts).
      expect(tr.sampleRange).toEqual({ lo: 0, hi: 1 });
      for (let i = 0; i < 250; i++) tr.step();
      const s = tr.sample({ n: 600, seed: 6 });
      const ed = energyDistance(s.x, fresh);
      console.log(`${prediction} prediction: energy distance ${ed.toFixed(4)}`);
      expect(ed).toBeLessThan(0.15); // the velocity model of the first test reaches ~0.03
      tf.dispose([s.x, s.x0]);
      disposeAll(tr);
    }
    fresh.dispose();
  });

  it('class-conditional training with label dropout: guided samples of class k land in component k', () => {
    const target = toy2dSource('8gaussians');
    const spec = eightGaussiansSpec({
      conditional: true,
      labelDropout: 0.2,
      coupling: { kind: 'exact-ot', classAware: true },
      model: { kind: 'mlp', width: 128, depth: 3 },
      train: { steps: 250, batchSize: 128 },
      sampling: { solver: 'rk4', steps: 20, cfg: 1 },
    });
    const tr = trainerFor(spec, target);
    expect(tr.model.config.numClasses).toBe(8);
    for (let i = 0; i < 250; i++) expect(tr.step().diverged).toBe(false);
    const n = 400;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 8);
    const s = tr.sample({ n, seed: 7, labels });
    const v = s.x.dataSync();
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const k = labels[i]!;
      const d = Math.hypot(v[2 * i]! - 5 * Math.cos((k * Math.PI) / 4), v[2 * i + 1]! - 5 * Math.sin((k * Math.PI) / 4));
      if (d < 1.5) hits++;
    }
    console.log(`conditional + cfg 1: ${hits}/${n} samples within 1.5 of their class mean`);
    expect(hits / n).toBeGreaterThan(0.9); // unconditional samples would hit ~1/8
    tf.dispose([s.x, s.x0]);
    disposeAll(tr);
  });
});

describe('tape-free MLP training path', () => {
  it('gives the losses and weights of the tf.variableGrads path (within float32 rounding), also with min-SNR weights', () => {
    for (const patch of [{}, { time: { weighting: 'snr-clipped' }, prediction: 'eps' }]) {
      const run = (fast: boolean): { losses: number[]; weights: Float32Array[] } => {
        // Without the SiLU kernel the model has no fast path and the trainer differentiates apply().
        const prev = useSiluKernel(fast);
        try {
          const tr = trainerFor(
            eightGaussiansSpec({ model: { kind: 'mlp', width: 32, depth: 2 }, train: { steps: 20, batchSize: 64 }, ...patch }),
            toy2dSource('8gaussians'),
          );
          const losses = Array.from({ length: 5 }, () => tr.step().loss);
          const weights = snapshot(tr);
          disposeAll(tr);
          return { losses, weights };
        } finally {
          useSiluKernel(prev);
        }
      };
      const a = run(true);
      const b = run(false);
      a.losses.forEach((l, i) => expect(Math.abs(l - b.losses[i]!), `loss ${i}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(b.losses[i]!))));
      a.weights.forEach((w, i) => {
        for (let j = 0; j < w.length; j++) expect(Math.abs(w[j]! - b.weights[i]![j]!)).toBeLessThan(1e-4);
      });
    }
  });
});

describe('applyShards', () => {
  it('equals combineShards + applyGradients bit for bit (two shards, uneven rows, and one empty shard)', () => {
    for (const [batch, shards] of [
      [63, 2],
      [1, 2],
    ] as const) {
      const spec = eightGaussiansSpec({ model: { kind: 'mlp', width: 16, depth: 2 }, train: { steps: 10, batchSize: batch } });
      const a = trainerFor(spec, toy2dSource('8gaussians'));
      const b = trainerFor(spec, toy2dSource('8gaussians'));
      for (let s = 0; s < 3; s++) {
        const parts = Array.from({ length: shards }, (_, k) => {
          const g = new Float32Array(a.parameterCount);
          const r = a.shardGradients(k, shards, g);
          return { grads: g, rows: r.rows, loss: r.loss };
        });
        const ra = a.applyShards(parts);
        const combined = new Float32Array(b.parameterCount);
        const rb = b.applyGradients(combined, combineShards(parts, combined));
        expect(ra).toEqual(rb);
        const [wa, wb] = [snapshot(a), snapshot(b)];
        wa.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(wb[i]!)));
      }
      disposeAll(a);
      disposeAll(b);
    }
  });
});
