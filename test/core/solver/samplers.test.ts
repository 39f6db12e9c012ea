// core/solver/samplers.ts with exact Gaussian-mixture models (test/core/solver/gmm-models.ts, host
// float64): orders on a known-solution ODE, endpoint-exact sampling for every prediction type, and the
// stochastic samplers' marginals against the path's own marginals alpha_t x1 + sigma_t x0.
import { describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { ConfigError } from '../../../core/errors';
import { PREDICTION_TYPES } from '../../../core/catalog';
import { condOT, cosine, sourceScale, subVP, ve, vp, type Scheduler } from '../../../core/path/scheduler';
import { sampleModel, type SamplerKind } from '../../../core/solver/samplers';
import { timeGrid } from '../../../core/solver/grids';
import { energyDistance } from '../../../core/metrics/distances';
import { Rng } from '../../../core/util/random';
import { gmmModel, marginalPoints } from './gmm-models';
import { randomMixture, sampleMixture, type Mixture } from '../oracle/reference';

const noise = (s: Scheduler, n: number, seed: number): Tensor =>
  tf.tensor(
    Float32Array.from(new Rng(seed).normals(2 * n), (v) => v * sourceScale(s)),
    [n, 2],
    'float32',
  );

function take(t: Tensor): Float32Array {
  const v = Float32Array.from(t.dataSync());
  t.dispose();
  return v;
}

describe('orders on an ODE with a known solution (one Gaussian N(mu, s^2 I))', () => {
  // The probability-flow ODE of N(mu, s^2 I) data keeps z = (x_t - alpha_t mu) / sqrt(alpha_t^2 s^2 + sigma_t^2)
  // constant, so x_{t1} = alpha_1 mu + sqrt(alpha_1^2 s^2 + sigma_1^2) z(x_{t0}).
  const m: Mixture = { weights: [1], means: [[1.5, -0.5]], stds: [0.4] };
  const s = condOT();
  const t0 = 0.1;
  const t1 = 0.95;
  const x0 = tf.tensor(Float32Array.from(new Rng(5).normals(64)), [32, 2], 'float32');
  const exact = (() => {
    const a = s.coeffs(t0);
    const b = s.coeffs(t1);
    const va = Math.hypot(a.alpha * 0.4, a.sigma);
    const vb = Math.hypot(b.alpha * 0.4, b.sigma);
    return Float64Array.from(x0.dataSync(), (v, i) => b.alpha * m.means[0]![i % 2]! + (vb * (v - a.alpha * m.means[0]![i % 2]!)) / va);
  })();
  const err = (sampler: SamplerKind, steps: number): number => {
    const r = sampleModel(gmmModel(m, s, 'x1'), x0, { sampler, steps, t0, t1, grid: 'uniform' });
    const v = take(r.x);
    let e = 0;
    v.forEach((x, i) => (e = Math.max(e, Math.abs(x - exact[i]!))));
    return e;
  };
  for (const [sampler, order] of [
    ['ddim', 1],
    ['dpm++2m', 2],
    ['heun', 2],
  ] as const) {
    it(`${sampler}: error ratio ~ 2^${order} per halving of the step`, () => {
      const e = [16, 32, 64].map((n) => err(sampler, n));
      const p1 = Math.log2(e[0]! / e[1]!);
      const p2 = Math.log2(e[1]! / e[2]!);
      expect(p2).toBeGreaterThan(order - 0.3);
      expect(p2).toBeLessThan(order + 0.6);
      expect(p1).toBeGreaterThan(order - 0.5);
    });
  }
});

describe('endpoint-exact sampling: every prediction type reaches the data', () => {
  const m = randomMixture(3, 2, 11);
  const n = 400;
  const data = sampleMixture(m, n, 1);
  // What two independent draws of the data differ by: the floor of the energy distance at n points.
  const floor = Math.abs(energyDistance(data, sampleMixture(m, n, 2)));
  const start = (s: Scheduler): Tensor =>
    tf.tensor(marginalPoints(s, 0, sampleMixture(m, n, 5), Float64Array.from(new Rng(6).normals(2 * n))), [n, 2], 'float32');
  const schedulers: [string, Scheduler][] = [
    ['condot', condOT()],
    ['cosine', cosine()],
    ['vp', vp()],
    ['vp betaMax=5', vp(0.1, 5)],
    ['sub-vp', subVP()],
    ['ve', ve(0.01, 20)],
  ];
  for (const [name, s] of schedulers) {
    it(`${name}: heun (40 steps) and dpm++2m (20 steps) from t = 0 to t = 1, each prediction type`, () => {
      for (const kind of PREDICTION_TYPES) {
        for (const [sampler, steps] of [
          ['heun', 40],
          ['dpm++2m', 20],
        ] as const) {
          // Start from the path's own marginal at t = 0 (for VP with betaMax = 5 and VE it is not pure
          // noise: alpha_0 > 0), so what is measured is the sampler, not the prior's mismatch.
          const x = start(s);
          const r = sampleModel(gmmModel(m, s, kind), x, { sampler, steps });
          x.dispose();
          expect(r.times[0]).toBe(0);
          expect(r.times[r.times.length - 1]).toBe(1);
          const ed = energyDistance(take(r.x), data);
          expect(ed, `${kind} ${sampler}`).toBeLessThan(3 * floor + 0.01);
        }
      }
    });
  }

  it('x1 and eps samples are not shrunk nor widened: they match the velocity model (the old 0.05 margin cost 5%)', () => {
    const s = condOT();
    const x = noise(s, n, 4);
    const ref = take(sampleModel(gmmModel(m, s, 'velocity'), x, { sampler: 'euler', steps: 50 }).x);
    const v = take(sampleModel(gmmModel(m, s, 'x1'), x, { sampler: 'euler', steps: 50 }).x);
    const e = take(sampleModel(gmmModel(m, s, 'eps'), x, { sampler: 'euler', steps: 50 }).x);
    x.dispose();
    const spread = (a: ArrayLike<number>): number => {
      let mean = 0;
      for (let i = 0; i < a.length; i += 2) mean += a[i]!;
      mean /= a.length / 2;
      let q = 0;
      for (let i = 0; i < a.length; i += 2) q += (a[i]! - mean) ** 2;
      return Math.sqrt(q / (a.length / 2));
    };
    for (const got of [v, e]) {
      expect(spread(got) / spread(ref)).toBeGreaterThan(0.995);
      expect(spread(got) / spread(ref)).toBeLessThan(1.005);
    }
  });
});

describe('stochastic samplers: marginals and end samples', () => {
  const m = randomMixture(3, 2, 13);
  const n = 400;
  const x1 = sampleMixture(m, n, 21);
  const e0 = Float64Array.from(new Rng(22).normals(2 * n));
  const marginalFloor = (s: Scheduler, t: number): number =>
    Math.abs(
      energyDistance(
        marginalPoints(s, t, x1, e0),
        marginalPoints(s, t, sampleMixture(m, n, 23), Float64Array.from(new Rng(24).normals(2 * n))),
      ),
    );

  for (const [name, s] of [
    ['vp', vp()],
    ['condot', condOT()],
    ['ve', ve(0.01, 20)],
  ] as const) {
    it(`sde (Euler-Maruyama, noise 1) on ${name}: x_t matches alpha_t x1 + sigma_t x0 at t = 0.25, 0.5, 0.75, 1`, () => {
      const x = noise(s, n, 30);
      const r = sampleModel(gmmModel(m, s, 'score'), x, { sampler: 'sde', steps: 200, grid: 'uniform', seed: 31, returnTrajectory: true });
      x.dispose();
      for (const t of [0.25, 0.5, 0.75, 1]) {
        const i = r.times.findIndex((u) => Math.abs(u - t) < 1e-9);
        expect(i).toBeGreaterThan(0);
        const ed = energyDistance(r.trajectory![i]!, marginalPoints(s, t, x1, e0));
        expect(ed, `t=${t}`).toBeLessThan(3 * marginalFloor(s, t) + 0.02);
      }
      tf.dispose(r.trajectory!);
      r.x.dispose();
    });
  }

  const floor = Math.abs(energyDistance(x1, sampleMixture(m, n, 25)));
  for (const [sampler, opts] of [
    ['ancestral', { steps: 100 }],
    ['pc', { steps: 100, correctorSteps: 1, snr: 0.1 }],
    ['edm', { steps: 40, churn: 20 }],
    ['sde', { steps: 200, noise: 0.5 }],
  ] as const) {
    for (const kind of ['eps', 'velocity'] as const) {
      it(`${sampler} (${kind} model, vp) samples the data`, () => {
        const s = vp();
        const x = noise(s, n, 40);
        const r = sampleModel(gmmModel(m, s, kind), x, { sampler, seed: 41, ...opts });
        x.dispose();
        expect(energyDistance(take(r.x), x1)).toBeLessThan(3 * floor + 0.02);
      });
    }
  }

  it('the same seed gives the same samples; another seed others', () => {
    const s = cosine();
    const run = (seed: number): Float32Array => {
      const x = noise(s, 8, 1);
      const out = take(sampleModel(gmmModel(m, s, 'eps'), x, { sampler: 'ancestral', steps: 10, seed }).x);
      x.dispose();
      return out;
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });
});

describe('grids and options', () => {
  it('karras and logsnr grids run from 0 to 1 and follow their schedule in the noise level', () => {
    const s = vp();
    for (const kind of ['karras', 'logsnr'] as const) {
      const g = timeGrid(kind, s, 10);
      expect(g.length).toBe(11);
      expect(g[0]).toBe(0);
      expect(g[10]).toBe(1);
      // VP reaches neither rho = 80 nor 0 exactly: both ends are added, the 9 inner points follow the schedule.
      const rho = g.slice(1, 10).map((t) => {
        const c = s.coeffs(t);
        return c.sigma / c.alpha;
      });
      if (kind === 'logsnr') {
        const d = rho.slice(1).map((r, i) => Math.log(r) - Math.log(rho[i]!));
        d.forEach((v) => expect(v).toBeCloseTo(d[0]!, 6));
      } else {
        const q = rho.map((r) => r ** (1 / 7));
        const d = q.slice(1).map((r, i) => r - q[i]!);
        d.forEach((v) => expect(v).toBeCloseTo(d[0]!, 6));
      }
    }
  });

  it('bad options name their field', () => {
    const m = randomMixture(2, 2, 1);
    const pm = gmmModel(m, condOT(), 'x1');
    const x = noise(condOT(), 4, 1);
    expect(() => sampleModel(pm, x, { sampler: 'nope' as SamplerKind, steps: 4 })).toThrow(/sampler/);
    expect(() => sampleModel(pm, x, { sampler: 'sde', steps: 4, noise: -1 })).toThrow(ConfigError);
    expect(() => sampleModel(pm, x, { sampler: 'dpm++2m' })).toThrow(/steps/);
    expect(() => sampleModel(pm, x, { sampler: 'euler', timeGrid: [0, 0.5, 0.4] })).toThrow(/timeGrid/);
    x.dispose();
  });
});
