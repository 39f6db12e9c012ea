// The flow-matching loss against independent float64 references: path draws, targets per prediction
// type, time distributions, min-SNR weights and label dropout.
import { describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { makeScheduler, type SchedulerSpec } from '../../../core/path/scheduler';
import type { PathSpec, TimeSpec, TrainPrediction } from '../../../core/train/config';
import {
  dropLabels,
  disposeFlowBatch,
  flowBatchLoss,
  flowMatchingLoss,
  prepareFlowBatch,
  sampleTimes,
  snrClippedWeight,
  trainingTimeRange,
  type LossConfig,
} from '../../../core/train/loss';

/** Hand-written float64 schedulers: [alpha, sigma, dAlpha, dSigma] at t. */
const REF: Record<string, { spec: SchedulerSpec; at: (t: number) => [number, number, number, number] }> = {
  condot: { spec: { kind: 'condot' }, at: (t) => [t, 1 - t, 1, -1] },
  cosine: {
    spec: { kind: 'cosine' },
    at: (t) => [
      Math.sin((Math.PI * t) / 2),
      Math.cos((Math.PI * t) / 2),
      (Math.PI / 2) * Math.cos((Math.PI * t) / 2),
      -(Math.PI / 2) * Math.sin((Math.PI * t) / 2),
    ],
  },
  poly2: { spec: { kind: 'polynomial', n: 2 }, at: (t) => [t * t, 1 - t * t, 2 * t, -2 * t] },
  linearVP: { spec: { kind: 'linear-vp' }, at: (t) => [t, Math.sqrt(1 - t * t), 1, -t / Math.sqrt(1 - t * t)] },
};

const UNIFORM: TimeSpec = { distribution: 'uniform', mean: 0, std: 1, weighting: 'none' };
const PREDICTIONS: TrainPrediction[] = ['velocity', 'eps', 'x1'];

function values(x: Tensor): Float32Array {
  return x.dataSync() as Float32Array;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)));
  expect(worst, what).toBeLessThan(tol);
}

/** Fixed endpoints: x0 ~ N(0, I), x1 ~ N(2, 0.25 I), shape [n, d]. */
function endpoints(n: number, d: number, seed: number): { x0: Tensor; x1: Tensor; h0: Float32Array; h1: Float32Array } {
  const r = new Rng(seed);
  const h0 = r.normals(n * d);
  const h1 = Float32Array.from(r.normals(n * d), (z) => 2 + 0.5 * z);
  return { x0: tf.tensor2d(h0, [n, d]), x1: tf.tensor2d(h1, [n, d]), h0, h1 };
}

describe('time range', () => {
  it('moves in only the singular end of each prediction type', () => {
    const affine = (spec: SchedulerSpec): PathSpec => ({ kind: 'affine', scheduler: spec });
    expect(trainingTimeRange(affine({ kind: 'condot' }), 'velocity')).toEqual({ lo: 0, hi: 1 });
    expect(trainingTimeRange(affine({ kind: 'condot' }), 'eps')).toEqual({ lo: 1e-3, hi: 1 }); // alpha_0 = 0
    expect(trainingTimeRange(affine({ kind: 'condot' }), 'x1')).toEqual({ lo: 0, hi: 1 - 1e-3 }); // sigma_1 = 0
    expect(trainingTimeRange(affine({ kind: 'vp' }), 'velocity')).toEqual({ lo: 0, hi: 1 - 1e-3 }); // dSigma_1 infinite
    expect(trainingTimeRange(affine({ kind: 'polynomial', n: 0.5 }), 'velocity')).toEqual({ lo: 1e-3, hi: 1 }); // dAlpha_0 infinite
    expect(trainingTimeRange(affine({ kind: 've' }), 'eps')).toEqual({ lo: 0, hi: 1 }); // alpha = 1, sigma > 0
    expect(trainingTimeRange({ kind: 'interpolant', s: 0.5 }, 'velocity')).toEqual({ lo: 1e-3, hi: 1 - 1e-3 });
    expect(trainingTimeRange({ kind: 'interpolant', s: 0 }, 'velocity')).toEqual({ lo: 0, hi: 1 });
  });
});

describe('path draws and targets match a float64 host computation', () => {
  for (const [name, ref] of Object.entries(REF)) {
    for (const prediction of PREDICTIONS) {
      it(`${name}, ${prediction}`, () => {
        const n = 64;
        const d = 3;
        const { x0, x1, h0, h1 } = endpoints(n, d, 1);
        const cfg: LossConfig = { path: { kind: 'affine', scheduler: ref.spec }, prediction, time: UNIFORM, labelDropout: 0 };
        const range = trainingTimeRange(cfg.path, prediction);
        const batch = prepareFlowBatch(cfg, x0, x1, new Rng(7), { range });
        // The reference draws the times from the same stream, in the documented order.
        const r = new Rng(7);
        const xt = new Float64Array(n * d);
        const target = new Float64Array(n * d);
        for (let i = 0; i < n; i++) {
          const t = range.lo + (range.hi - range.lo) * r.uniform();
          expect(batch.times[i]).toBe(t);
          const [a, s, da, ds] = ref.at(t);
          for (let j = 0; j < d; j++) {
            const k = i * d + j;
            xt[k] = a * h1[k]! + s * h0[k]!;
            target[k] = prediction === 'velocity' ? da * h1[k]! + ds * h0[k]! : prediction === 'eps' ? h0[k]! : h1[k]!;
          }
        }
        expectClose(values(batch.xt), xt, 2e-6, 'x_t');
        expectClose(values(batch.target), target, 2e-6, 'target');
        expectClose(values(batch.t), batch.times, 1e-7, 't');
        expect(batch.weights).toBeUndefined();
        disposeFlowBatch(batch);
        tf.dispose([x0, x1]);
      });
    }
  }

  it('interpolant: x_t = t x1 + (1 - t) x0 + s sqrt(t(1-t)) eps, u = x1 - x0 + s (1 - 2t) / (2 sqrt(t(1-t))) eps', () => {
    const n = 50;
    const d = 2;
    const s = 0.7;
    const { x0, x1, h0, h1 } = endpoints(n, d, 2);
    const cfg: LossConfig = { path: { kind: 'interpolant', s }, prediction: 'velocity', time: UNIFORM, labelDropout: 0 };
    const batch = prepareFlowBatch(cfg, x0, x1, new Rng(3));
    const r = new Rng(3);
    const times = Array.from({ length: n }, () => 1e-3 + (1 - 2e-3) * r.uniform());
    const eps = r.normals(n * d);
    const xt: number[] = [];
    const u: number[] = [];
    times.forEach((t, i) => {
      const root = Math.sqrt(t * (1 - t));
      for (let j = 0; j < d; j++) {
        const k = i * d + j;
        xt.push(t * h1[k]! + (1 - t) * h0[k]! + s * root * eps[k]!);
        u.push(h1[k]! - h0[k]! + ((s * (1 - 2 * t)) / (2 * root)) * eps[k]!);
      }
    });
    expectClose(values(batch.xt), xt, 2e-6, 'x_t');
    expectClose(values(batch.target), u, 2e-5, 'u_t');
    disposeFlowBatch(batch);
    tf.dispose([x0, x1]);
  });
});

describe('the loss', () => {
  /**
   * For data concentrated on one point c (x1 = c), the conditional target is a function of (x_t, t)
   * alone, so a model can output it exactly:
   *   velocity (dAlpha - dSigma alpha / sigma) c + (dSigma / sigma) x,  eps (x - alpha c) / sigma,  x1 c.
   */
  function diracModel(name: string, prediction: TrainPrediction, c: number[]) {
    const at = REF[name]!.at;
    return (x: Tensor, t: Tensor): Tensor => {
      const n = x.shape[0]!;
      const d = x.shape[1]!;
      const tv = t.dataSync();
      const xv = x.dataSync();
      const out = new Float32Array(n * d);
      for (let i = 0; i < n; i++) {
        const [a, s, da, ds] = at(tv[i]!);
        for (let j = 0; j < d; j++) {
          const xi = xv[i * d + j]!;
          out[i * d + j] =
            prediction === 'velocity' ? (da - (ds * a) / s) * c[j]! + (ds / s) * xi : prediction === 'eps' ? (xi - a * c[j]!) / s : c[j]!;
        }
      }
      return tf.tensor2d(out, [n, d]);
    };
  }

  for (const name of ['condot', 'cosine']) {
    for (const prediction of PREDICTIONS) {
      for (const distribution of ['uniform', 'logit-normal'] as const) {
        it(`is ~0 for a model that outputs the conditional target (${name}, ${prediction}, ${distribution})`, () => {
          const n = 256;
          const c = [1.5, -0.5];
          const x0 = tf.tensor2d(new Rng(4).normals(2 * n), [n, 2]);
          const x1 = tf.tile(tf.tensor2d([c], [1, 2]), [n, 1]);
          const cfg: LossConfig = {
            path: { kind: 'affine', scheduler: REF[name]!.spec },
            prediction,
            time: { distribution, mean: 0, std: 1, weighting: 'none' },
            labelDropout: 0,
          };
          const loss = flowMatchingLoss(diracModel(name, prediction, c), cfg, x0, x1, new Rng(5));
          const l = loss.dataSync()[0]!;
          // float32 rounding only; a wrong x_t, target or time would give O(1).
          expect(l).toBeLessThan(1e-8);
          // A model off by 0.1 everywhere: loss = 0.01 (mean over samples and coordinates).
          const off = flowMatchingLoss(
            (x, t) => tf.tidy(() => tf.add(diracModel(name, prediction, c)(x, t), 0.1)),
            cfg,
            x0,
            x1,
            new Rng(5),
          );
          expect(off.dataSync()[0]!).toBeCloseTo(0.01, 5);
          tf.dispose([loss, off, x0, x1]);
        });
      }
    }
  }

  it('min-SNR weights have the published forms and weight the squared error per sample', () => {
    const s = makeScheduler({ kind: 'cosine' });
    for (const t of [0.1, 0.5, 0.8, 0.99]) {
      const snr = Math.tan((Math.PI * t) / 2) ** 2;
      expect(snrClippedWeight(s, 'eps', t)).toBeCloseTo(Math.min(snr, 5) / snr, 10);
      expect(snrClippedWeight(s, 'x1', t)).toBeCloseTo(Math.min(snr, 5), 10);
      // Diffusion v = alpha eps - sigma x (VP-normalised) would give min(snr, 5) / (snr + 1); our
      // flow velocity on the cosine path is (pi/2) times that v, so the weight gains (2/pi)^2.
      expect(snrClippedWeight(s, 'velocity', t)).toBeCloseTo((Math.min(snr, 5) / (snr + 1)) * (2 / Math.PI) ** 2, 10);
    }
    const condot = makeScheduler({ kind: 'condot' });
    // CondOT velocity: x1 error = (1 - t) * velocity error.
    expect(snrClippedWeight(condot, 'velocity', 0.3)).toBeCloseTo(Math.min((0.3 / 0.7) ** 2, 5) * 0.7 ** 2, 12);
    expect(snrClippedWeight(condot, 'velocity', 0)).toBe(0);

    // In the loss: a constant error e gives mean_i w(t_i) e^2.
    const n = 128;
    const { x0, x1 } = endpoints(n, 2, 8);
    const cfg: LossConfig = {
      path: { kind: 'affine', scheduler: { kind: 'cosine' } },
      prediction: 'eps',
      time: { distribution: 'uniform', mean: 0, std: 1, weighting: 'snr-clipped' },
      labelDropout: 0,
    };
    const batch = prepareFlowBatch(cfg, x0, x1, new Rng(6));
    const loss = flowBatchLoss((_x, _t) => tf.add(batch.target, 0.5), batch);
    let expected = 0;
    for (const t of batch.times) expected += snrClippedWeight(s, 'eps', t) * 0.25;
    expect(loss.dataSync()[0]!).toBeCloseTo(expected / n, 5);
    disposeFlowBatch(batch);
    tf.dispose([loss, x0, x1]);
  });
});

describe('time distributions', () => {
  /** E[f(sigmoid(mean + std u))], u ~ N(0, 1), by the trapezoid rule on [-12, 12]. */
  function logitNormalMoment(mean: number, std: number, f: (t: number) => number): number {
    const m = 24000;
    const h = 24 / m;
    let s = 0;
    for (let k = 0; k <= m; k++) {
      const u = -12 + k * h;
      const w = (k === 0 || k === m ? 0.5 : 1) * Math.exp(-0.5 * u * u);
      s += w * f(1 / (1 + Math.exp(-(mean + std * u))));
    }
    return (s * h) / Math.sqrt(2 * Math.PI);
  }

  for (const [mean, std] of [
    [0, 1],
    [-0.5, 1.5],
  ] as const) {
    it(`logit-normal(${mean}, ${std}): sample mean, variance and median match sigmoid(N) by quadrature`, () => {
      const n = 100_000;
      const t = sampleTimes(n, { distribution: 'logit-normal', mean, std }, new Rng(12));
      const mu = logitNormalMoment(mean, std, (x) => x);
      const v = logitNormalMoment(mean, std, (x) => (x - mu) ** 2);
      const m4 = logitNormalMoment(mean, std, (x) => (x - mu) ** 4);
      let s = 0;
      let below = 0;
      for (const x of t) {
        s += x;
        if (x < 1 / (1 + Math.exp(-mean))) below++; // median of sigmoid(N(mean, std^2)) is sigmoid(mean)
      }
      const sm = s / n;
      let sv = 0;
      for (const x of t) sv += (x - sm) ** 2;
      sv /= n - 1;
      expect(Math.abs(sm - mu)).toBeLessThan(5 * Math.sqrt(v / n));
      expect(Math.abs(sv - v)).toBeLessThan(5 * Math.sqrt((m4 - v * v) / n));
      expect(Math.abs(below / n - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / n));
      expect(Math.min(...t)).toBeGreaterThan(0);
      expect(Math.max(...t)).toBeLessThan(1);
    });
  }

  it('uniform times are rescaled into the range, keeping the distribution shape', () => {
    const t = sampleTimes(20_000, UNIFORM, new Rng(13), { lo: 0.2, hi: 0.4 });
    let s = 0;
    for (const x of t) {
      expect(x).toBeGreaterThanOrEqual(0.2);
      expect(x).toBeLessThan(0.4);
      s += x;
    }
    expect(Math.abs(s / t.length - 0.3)).toBeLessThan((5 * (0.2 / Math.sqrt(12))) / Math.sqrt(t.length));
  });
});

describe('label dropout', () => {
  it('replaces labels by numClasses at rate p (within sampling error) and keeps the rest', () => {
    const n = 100_000;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
    for (const p of [0.1, 0.5]) {
      const out = dropLabels(labels, 10, p, new Rng(14));
      let dropped = 0;
      for (let i = 0; i < n; i++) {
        if (out[i] === 10) dropped++;
        else expect(out[i]).toBe(labels[i]);
      }
      expect(Math.abs(dropped / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
    expect(dropLabels(labels, 10, 0, new Rng(1))).toEqual(labels);
    expect(dropLabels(labels, 10, 1, new Rng(1)).every((l) => l === 10)).toBe(true);
  });

  it('prepareFlowBatch applies dropout to the labels it uploads', () => {
    const n = 4000;
    const { x0, x1 } = endpoints(n, 2, 9);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const cfg: LossConfig = {
      path: { kind: 'affine', scheduler: { kind: 'condot' } },
      prediction: 'velocity',
      time: UNIFORM,
      labelDropout: 0.2,
    };
    const batch = prepareFlowBatch(cfg, x0, x1, new Rng(10), { labels, numClasses: 3 });
    const l = batch.labels!.dataSync();
    let dropped = 0;
    for (let i = 0; i < n; i++) if (l[i] === 3) dropped++;
    expect(Math.abs(dropped / n - 0.2)).toBeLessThan(5 * Math.sqrt(0.16 / n));
    expect(batch.labels!.dtype).toBe('int32');
    disposeFlowBatch(batch);
    tf.dispose([x0, x1]);
  });
});
