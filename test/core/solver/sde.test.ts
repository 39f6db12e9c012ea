import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { sampleSde, scoreFromVelocityCoeffs } from '../../../core/solver/sde';
import { integrateField } from '../../../core/solver/sample';
import { condOT, cosine, linearVP, polynomial, vp, ve, type Scheduler } from '../../../core/path/scheduler';
import { CancelledError, ConfigError, SolverError } from '../../../core/errors';
import { Rng } from '../../../core/util/random';
import { gaussianField, columnMoments } from './problems';

const MU = [1.5, -0.5];
const S = 0.4;

/** sigma_0 N(0, I) source samples, [n, 2], from a fixed seed. */
const source = (sched: Scheduler, n: number, seed = 1) =>
  tf.tidy(() => tf.mul(tf.tensor2d(new Rng(seed).normals(n * 2), [n, 2]), sched.coeffs(0).sigma));

describe('score from velocity (affine path)', () => {
  // Independent reference: for the Gaussian target N(mu, s^2 I) (one coordinate suffices),
  // p_t = N(alpha mu, (alpha^2 s^2 + sigma^2)), so score(x) = -(x - alpha mu) / (alpha^2 s^2 + sigma^2),
  // and the exact velocity is u = alpha' mu + c (x - alpha mu).
  const schedulers: [string, Scheduler][] = [
    ['condot', condOT()],
    ['condot sigmaMin', condOT(0.01)],
    ['cosine', cosine()],
    ['polynomial 2', polynomial(2)],
    ['linear-vp', linearVP()],
    ['vp', vp()],
    ['ve', ve(0.01, 5)],
  ];
  it.each(schedulers)('%s: a v + b x equals the closed-form Gaussian score for t in [0, 1)', (_name, sched) => {
    const mu = 0.7;
    const s = 0.3;
    for (const t of [0, 1e-3, 0.1, 0.5, 0.9, 0.999]) {
      const c = sched.coeffs(t);
      const varT = c.alpha ** 2 * s * s + c.sigma ** 2;
      const cu = (c.alpha * c.dAlpha * s * s + c.sigma * c.dSigma) / varT;
      const { a, b } = scoreFromVelocityCoeffs(c, t);
      for (const x of [-1.3, 0, 0.4, 2.2]) {
        const v = c.dAlpha * mu + cu * (x - c.alpha * mu);
        const score = -(x - c.alpha * mu) / varT;
        expect(Math.abs(a * v + b * x - score)).toBeLessThan(1e-8 * Math.max(1, Math.abs(score)));
      }
    }
  });

  it('is singular at t = 1 (sigma = 0) and says so', () => {
    expect(() => scoreFromVelocityCoeffs(condOT().coeffs(1), 1)).toThrow(SolverError);
    expect(() => scoreFromVelocityCoeffs(condOT().coeffs(1), 1)).toThrow(/t=1/);
  });
});

describe('sampleSde', () => {
  it('noise = 0 reproduces Euler on the probability-flow ODE exactly', () => {
    const sched = condOT();
    const { field } = gaussianField(sched, MU, S);
    const x0 = source(sched, 50);
    for (const grid of [{ steps: 37 }, { timeGrid: [0, 0.05, 0.2, 0.6, 0.9, 1] }]) {
      const sde = sampleSde(field, x0, { scheduler: sched, noise: 0, ...grid });
      const ode = integrateField(field, x0, { method: 'euler', ...grid });
      expect(Array.from(sde.x.dataSync())).toEqual(Array.from(ode.x.dataSync()));
      expect(sde.nfe).toBe(ode.nfe);
      tf.dispose([sde.x, ode.x]);
    }
    x0.dispose();
  });

  it.each([
    ['condot', condOT()],
    ['cosine', cosine()],
  ] as const)('noise > 0 reaches the Gaussian target N(mu, s^2 I) and its marginal at t = 0.5 (%s)', (_name, sched) => {
    const n = 4000;
    const steps = 200;
    const { field, calls } = gaussianField(sched, MU, S);
    const x0 = source(sched, n);
    const r = sampleSde(field, x0, { scheduler: sched, steps, noise: 1, seed: 11, returnTrajectory: true });
    expect(r.nfe).toBe(steps);
    expect(calls.length).toBe(steps);
    expect(Math.max(...calls)).toBeLessThan(1); // never at t = 1
    expect(r.trajectory!.length).toBe(steps + 1);

    // Sampling error at n = 4000: mean sd = s / sqrt(n) ~ 0.0063, variance ratio sd = sqrt(2 / n) ~ 0.022.
    // Bands are ~4 sd plus room for the O(h) Euler-Maruyama bias.
    const check = (x: tf.Tensor, mean: number[], sd: number) => {
      const m = columnMoments(x);
      m.mean.forEach((v, j) => expect(Math.abs(v - mean[j]!)).toBeLessThan(4 * (sd / Math.sqrt(n)) + 0.005));
      m.variance.forEach((v) => expect(Math.abs(v / (sd * sd) - 1)).toBeLessThan(0.1));
      const d = x.dataSync();
      let cov = 0;
      for (let i = 0; i < n; i++) cov += (d[2 * i]! - m.mean[0]!) * (d[2 * i + 1]! - m.mean[1]!);
      expect(Math.abs(cov / (n - 1) / (sd * sd))).toBeLessThan(0.08); // isotropic: no correlation
    };
    check(r.x, MU, S);
    const mid = sched.coeffs(0.5);
    check(
      r.trajectory![steps / 2]!,
      MU.map((m) => mid.alpha * m),
      Math.sqrt(mid.alpha ** 2 * S * S + mid.sigma ** 2),
    );
    tf.dispose([x0, r.x, ...r.trajectory!]);
  });

  it('a custom diffusion g(t) = sqrt(sigma_t) keeps the marginals too', () => {
    const sched = condOT();
    const n = 4000;
    const { field } = gaussianField(sched, MU, S);
    const x0 = source(sched, n, 5);
    const r = sampleSde(field, x0, { scheduler: sched, steps: 200, diffusion: (t) => Math.sqrt(sched.coeffs(t).sigma), seed: 2 });
    const m = columnMoments(r.x);
    m.mean.forEach((v, j) => expect(Math.abs(v - MU[j]!)).toBeLessThan(0.03));
    m.variance.forEach((v) => expect(Math.abs(v / (S * S) - 1)).toBeLessThan(0.1));
    tf.dispose([x0, r.x]);
  });

  it('is reproducible from the seed, and the seed matters', () => {
    const sched = cosine();
    const { field } = gaussianField(sched, MU, S);
    const x0 = source(sched, 20);
    const run = (seed: number) => {
      const r = sampleSde(field, x0, { scheduler: sched, steps: 30, noise: 0.7, seed });
      const v = Array.from(r.x.dataSync());
      r.x.dispose();
      return v;
    };
    const a = run(4);
    expect(run(4)).toEqual(a);
    expect(run(5)).not.toEqual(a);
    x0.dispose();
  });

  it('gives the same samples on another backend (noise comes from the seeded host Rng)', async () => {
    const sched = condOT();
    const { field } = gaussianField(sched, MU, S);
    const initial = tf.getBackend();
    const other = initial === 'cpu' ? 'wasm' : 'cpu';
    const runOn = async (backend: string) => {
      await tf.setBackend(backend);
      const x0 = source(sched, 30);
      const r = sampleSde(field, x0, { scheduler: sched, steps: 40, seed: 9 });
      const v = Array.from(r.x.dataSync());
      tf.dispose([x0, r.x]);
      return v;
    };
    const quiet = tf.env().getBool('IS_TEST');
    tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner
    try {
      const a = await runOn(initial);
      const b = await runOn(other);
      // Same noise, same arithmetic; kernels may round differently, so not bit for bit.
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-5));
    } finally {
      tf.env().set('IS_TEST', quiet);
      await tf.setBackend(initial);
    }
  });

  it('reports every step, checks options by name and leaks nothing', () => {
    const sched = condOT();
    const { field } = gaussianField(sched, MU, S);
    const x0 = source(sched, 10);
    const before = tf.memory().numTensors;
    const steps: number[] = [];
    const r = sampleSde(field, x0, { scheduler: sched, steps: 8, returnTrajectory: true, onStep: (i) => steps.push(i.step) });
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(r.times).toEqual([0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1]);
    tf.dispose([r.x, ...r.trajectory!]);

    const fieldOf = (opts: Parameters<typeof sampleSde>[2]) => {
      try {
        const out = sampleSde(field, x0, opts);
        out.x.dispose();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).field;
      }
      return 'no error';
    };
    expect(fieldOf({ scheduler: sched, timeGrid: [1, 0.5, 0] })).toBe('timeGrid');
    expect(fieldOf({ scheduler: sched, timeGrid: [0, 0.5, 1.2] })).toBe('timeGrid');
    expect(fieldOf({ scheduler: sched, timeGrid: [0, 0.7, 0.5, 1] })).toBe('timeGrid');
    expect(fieldOf({ scheduler: sched })).toBe('steps');
    expect(fieldOf({ scheduler: sched, steps: 4, noise: -1 })).toBe('noise');
    expect(fieldOf({ scheduler: sched, steps: 4, seed: 0.5 })).toBe('seed');
    expect(fieldOf({ scheduler: sched, steps: 4, diffusion: (t) => (t > 0.5 ? NaN : 1) })).toBe('diffusion');
    expect(fieldOf({ scheduler: undefined as unknown as Scheduler, steps: 4 })).toBe('scheduler');
    expect(tf.memory().numTensors).toBe(before);
    x0.dispose();
  });

  it('cancels through the signal and frees everything', () => {
    const sched = condOT();
    const { field } = gaussianField(sched, MU, S);
    const x0 = source(sched, 10);
    const before = tf.memory().numTensors;
    const signal = { aborted: false };
    const run = () =>
      sampleSde(field, x0, {
        scheduler: sched,
        steps: 10,
        returnTrajectory: true,
        signal,
        onStep: (i) => void (i.step === 4 && (signal.aborted = true)),
      });
    expect(run).toThrow(CancelledError);
    expect(run).toThrow(CancelledError); // already aborted
    expect(tf.memory().numTensors).toBe(before);
    expect(x0.isDisposed).toBe(false);
    x0.dispose();
  });
});
