// Cross-module checks of the public surface: the pieces used together as the app uses them.
import { describe, expect, it } from 'vitest';
import {
  tf,
  COUPLING_KINDS,
  ConfigError,
  FlowStudioError,
  ODE_METHODS,
  SCHEDULER_KINDS,
  ShapeError,
  checkPredictionType,
  checkShape,
  couple,
  decode,
  eightGaussians,
  encode,
  gmmOracle,
  integrateField,
  logLikelihood,
  makeScheduler,
  mixtureDim,
  mixtureMoments,
  odeSolve,
  sampleSde,
  uniformGrid,
  type SchedulerSpec,
} from '../../core/index';
import { Rng } from '../../core/util/random';

function specOf(kind: (typeof SCHEDULER_KINDS)[number]): SchedulerSpec {
  return kind === 'polynomial' ? { kind, n: 2 } : ({ kind } as SchedulerSpec);
}

describe('public surface', () => {
  it('every scheduler kind builds and reports a valid path (alpha_1 = 1 up to VE/VP ends)', () => {
    for (const kind of SCHEDULER_KINDS) {
      const s = makeScheduler(specOf(kind));
      expect(s.spec.kind).toBe(kind);
      const c = s.coeffs(0.5);
      expect(c.alpha).toBeGreaterThan(0);
      expect(c.sigma).toBeGreaterThan(0);
    }
  });

  it('every ODE method integrates dx/dt = x to e within its order', () => {
    const errors: Record<string, number> = {};
    for (const method of ODE_METHODS) {
      const y0 = tf.tensor1d([1]);
      const r = odeSolve((_t, [y]) => [tf.mul(y!, 1)], [y0], { method, timeGrid: uniformGrid(0, 1, 40), rtol: 1e-6, atol: 1e-6 });
      errors[method] = Math.abs(r.state[0]!.dataSync()[0]! - Math.E);
      tf.dispose([y0, ...r.state]);
    }
    expect(errors.euler).toBeLessThan(0.05);
    expect(errors.euler).toBeGreaterThan(0.01); // first order: visibly inexact at 40 steps
    expect(errors.midpoint).toBeLessThan(5e-4);
    expect(errors.heun).toBeLessThan(5e-4);
    expect(errors.rk4).toBeLessThan(1e-5);
    expect(errors.dopri5).toBeLessThan(1e-5);
  });

  it('every coupling kind returns a pairing of the batch', () => {
    const rng = new Rng(3);
    const x0 = tf.tensor2d(rng.normals(64), [32, 2]);
    const x1 = tf.tensor2d(rng.normals(64), [32, 2]);
    const costs: Record<string, number> = {};
    for (const kind of COUPLING_KINDS) {
      const c = couple(kind, x0, x1, { seed: 1, reg: 0.05 });
      expect(c.x0.shape).toEqual([32, 2]);
      expect(c.i0.length).toBe(32);
      costs[kind] = c.cost;
      tf.dispose([c.x0, c.x1]);
    }
    expect(costs['exact-ot']).toBeLessThanOrEqual(costs.independent! + 1e-9);
    tf.dispose([x0, x1]);
  });

  it('typed errors share one base class and name the field', () => {
    expect(() => checkPredictionType('noise')).toThrow(ConfigError);
    expect(() => checkPredictionType('noise')).toThrow(/prediction/);
    expect(() => checkShape(false, () => 'x must have shape [B, 2]. Got [3]')).toThrow(ShapeError);
    const e = new ConfigError('optim.lr', 'must be > 0');
    expect(e).toBeInstanceOf(FlowStudioError);
    expect(e.message).toBe('optim.lr: must be > 0');
    expect(mixtureDim(eightGaussians())).toBe(2);
  });
});

describe('oracle flows used as models', () => {
  const gmm = eightGaussians();
  const moments = mixtureMoments(gmm);

  it('the SDE sampler on the 8-gaussians oracle reproduces the mixture mean and covariance', () => {
    for (const spec of [{ kind: 'condot' }, { kind: 'cosine' }] as SchedulerSpec[]) {
      const scheduler = makeScheduler(spec);
      const oracle = gmmOracle(gmm, scheduler);
      const n = 3000;
      const z = tf.tensor2d(new Rng(11).normals(n * 2), [n, 2]);
      const r = sampleSde(oracle.velocity, z, { scheduler, steps: 200, noise: 1, seed: 5 });
      const x = r.x.arraySync() as number[][];
      tf.dispose([z, r.x]);
      const mean = [0, 1].map((j) => x.reduce((a, p) => a + p[j]!, 0) / n);
      const cov = [0, 1].map((i) => [0, 1].map((j) => x.reduce((a, p) => a + (p[i]! - mean[i]!) * (p[j]! - mean[j]!), 0) / (n - 1)));
      // Mixture: mean 0, covariance (12.5 + 0.09) I. Standard error of each mean ~ sqrt(12.6/3000) = 0.065;
      // of each variance ~ 12.6 * sqrt(2/3000) * (kurtosis factor ~1) = 0.33, i.e. ~3% relative.
      for (let i = 0; i < 2; i++) {
        expect(Math.abs(mean[i]! - moments.mean[i]!)).toBeLessThan(0.25);
        const ratio = cov[i]![i]! / moments.cov[i]![i]!;
        expect(ratio).toBeGreaterThan(0.9);
        expect(ratio).toBeLessThan(1.1);
      }
      expect(Math.abs(cov[0]![1]! - moments.cov[0]![1]!)).toBeLessThan(1.0);
    }
  });

  it('repeated sampling, inversion and likelihood leave no tensors behind', () => {
    const scheduler = makeScheduler({ kind: 'condot' });
    const oracle = gmmOracle(gmm, scheduler);
    const x = oracle.sample(16, 2);
    const once = (): void => {
      const s = integrateField(oracle.velocity, x, { method: 'rk4', t0: 0, t1: 1, steps: 8, returnTrajectory: true });
      tf.dispose([s.x, ...(s.trajectory ?? [])]);
      const e = encode(oracle.velocity, x, { method: 'heun', steps: 8 });
      const d = decode(oracle.velocity, e.x, { method: 'heun', steps: 8 });
      tf.dispose([e.x, d.x]);
      const l1 = logLikelihood(oracle.velocity, x, { divergence: 'exact', method: 'rk4', steps: 8 });
      const l2 = logLikelihood(oracle.velocity, x, { divergence: 'hutchinson', probes: 2, seed: 1, method: 'dopri5' });
      tf.dispose([l1.latent, l2.latent]);
      const sde = sampleSde(oracle.velocity, x, { scheduler, steps: 8, seed: 3 });
      sde.x.dispose();
    };
    once(); // warm-up: backends may cache a few tensors on first use
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) once();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('models and time ranges through the public surface', () => {
  it('createMlp and createUNet build the same networks as createModel for the same seed', async () => {
    const { createMlp, createUNet, createModel, defaultUNetConfig, getWeights, countParameters } = await import('../../core/index');
    const mlpCfg = { kind: 'mlp' as const, dim: 2, width: 16, depth: 2, activation: 'silu' as const, timeEmbedDim: 8, numClasses: 0 };
    const unetCfg = defaultUNetConfig(28, 1, 10);
    for (const [a, b] of [
      [createMlp(mlpCfg, 5), createModel(mlpCfg, 5)],
      [createUNet(unetCfg, 5), createModel(unetCfg, 5)],
    ] as const) {
      expect(countParameters(a)).toBe(countParameters(b));
      const wa = getWeights(a);
      const wb = getWeights(b);
      for (const [k, v] of wa) expect(Array.from(v.dataSync())).toEqual(Array.from(wb.get(k)!.dataSync()));
      tf.dispose([...wa.values(), ...wb.values()]);
      a.dispose();
      b.dispose();
    }
  });

  it('samplingTimeRange is [0, 1] for every prediction type; training keeps away from the singular ends', async () => {
    // Behaviour changed on purpose (issue 14): samplers take the singular ends exactly (core/path/model.ts).
    const { samplingTimeRange, trainingTimeRange } = await import('../../core/index');
    const path = { kind: 'affine' as const, scheduler: { kind: 'condot' as const } };
    for (const p of ['velocity', 'eps', 'x1', 'score'] as const) expect(samplingTimeRange(path, p)).toEqual({ lo: 0, hi: 1 });
    expect(trainingTimeRange(path, 'eps').lo).toBeGreaterThan(0); // eps -> velocity divides by alpha = t
    expect(trainingTimeRange(path, 'x1').hi).toBeLessThan(1); // x1 -> velocity divides by sigma = 1 - t
  });
});

describe('classifier on vectors', () => {
  it('trainClassifier separates the 8 gaussians components (MLP branch) and is deterministic', async () => {
    const { trainClassifier, accuracyByClass, sampleGaussianMixture, eightGaussians } = await import('../../core/index');
    const train = sampleGaussianMixture(eightGaussians(), 2000, 1);
    const test = sampleGaussianMixture(eightGaussians(), 800, 2);
    const fit = () => trainClassifier(train.points, train.components, 8, { shape: [2], epochs: 5, batchSize: 100, lr: 3e-3, seed: 3 });
    const a = fit();
    const b = fit();
    const x = tf.tensor2d(test.points, [800, 2]);
    const pa = a.predict(x);
    expect(Array.from(b.predict(x))).toEqual(Array.from(pa));
    // Components are 3.8 apart with std 0.3: the Bayes error is ~0, so nearly every point is right.
    const acc = accuracyByClass(pa, test.components, 8);
    expect(acc.overall).toBeGreaterThan(0.98);
    tf.dispose(x);
    a.dispose();
    b.dispose();
  });
});
