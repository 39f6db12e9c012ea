import { describe, it, expect } from 'vitest';
import { tf } from '../../../core/tf';
import { gmmOracle } from '../../../core/oracle/gmm';
import { logLikelihood, gaussianLogpdf } from '../../../core/likelihood/likelihood';
import { exactDivergence, hutchinsonDivergence, makeProbes } from '../../../core/likelihood/divergence';
import { condOT, cosine, vp, type Scheduler } from '../../../core/path/scheduler';
import { ConfigError, CancelledError } from '../../../core/errors';
import { EIGHT_GAUSSIANS, mixtureLogDensity, randomMixture, sampleMixture, type Mixture } from '../oracle/reference';

const host = (x: tf.Tensor): Float64Array => Float64Array.from(x.dataSync());
const points = (m: Mixture, n: number, seed: number) => {
  const d = m.means[0]!.length;
  const h = sampleMixture(m, n, seed);
  return { h, x: tf.tensor2d(Float32Array.from(h), [n, d]) };
};

describe('logLikelihood through the PF-ODE (exact divergence) equals the mixture log-density', () => {
  const cases: [string, Mixture, Scheduler][] = [
    ['8 gaussians, condot', EIGHT_GAUSSIANS, condOT()],
    ['8 gaussians, vp', EIGHT_GAUSSIANS, vp()],
    ['random 3-component 2D, cosine', randomMixture(3, 2, 17), cosine()],
    ['random 2-component 3D, condot', randomMixture(2, 3, 23), condOT()],
  ];
  for (const [name, mix, s] of cases) {
    it(name, () => {
      const oracle = gmmOracle(mix, s);
      const { h, x } = points(mix, 32, 5);
      const ref = mixtureLogDensity(mix, Float32Array.from(h)); // at the float32 points the solver sees
      // VP has alpha_0 = exp(-5.025) = 0.0066, so N(0, sigma_0^2 I) is only approximately p_0 (the
      // means sit at 0.0066 mu_k): the solver is judged with the exact p_0 of the oracle as prior,
      // and the default prior's bias is reported separately below.
      const exactPrior = s.coeffs(0).alpha !== 0;
      const opts = { divergence: 'exact', method: 'dopri5', rtol: 1e-6, atol: 1e-6, scheduler: s } as const;
      const r = logLikelihood(oracle.velocity, x, exactPrior ? { ...opts, prior: (z) => oracle.logDensity(z, 0) } : opts);
      let maxErr = 0;
      for (let i = 0; i < 32; i++) maxErr = Math.max(maxErr, Math.abs(r.logp[i]! - ref[i]!));
      console.log(
        `[likelihood] ${name}: max |logp - exact| = ${maxErr.toExponential(3)} nats, nfe = ${r.nfe}, steps = ${r.steps}, rejected = ${r.rejected}`,
      );
      expect(maxErr).toBeLessThan(1e-3);
      if (exactPrior) {
        const approx = logLikelihood(oracle.velocity, x, opts);
        let bias = 0;
        for (let i = 0; i < 32; i++) bias = Math.max(bias, Math.abs(approx.logp[i]! - ref[i]!));
        console.log(`[likelihood] ${name}, default N(0, sigma_0^2 I) prior: max |logp - exact| = ${bias.toExponential(3)} nats`);
        expect(bias).toBeLessThan(1e-2);
        approx.latent.dispose();
      }
      const prior = exactPrior ? host(oracle.logDensity(r.latent, 0)) : gaussianLogpdf(r.latent, s.coeffs(0).sigma);
      expect(r.latent.shape).toEqual(x.shape);
      // logp is the sum of its parts; the prior is evaluated at the latent
      for (let i = 0; i < 32; i++) {
        expect(r.priorLogp[i]).toBeCloseTo(prior[i]!, 5);
        expect(r.logp[i]).toBeCloseTo(r.priorLogp[i]! + r.deltaLogp[i]!, 10);
      }
      tf.dispose([x, r.latent]);
    });
  }

  it('the closed-form oracle divergence gives the same likelihood as autodiff', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, condOT());
    const { h, x } = points(EIGHT_GAUSSIANS, 16, 9);
    const ref = mixtureLogDensity(EIGHT_GAUSSIANS, Float32Array.from(h));
    const r = logLikelihood(oracle.velocity, x, { divergence: oracle.divergence, rtol: 1e-6, atol: 1e-6 });
    for (let i = 0; i < 16; i++) expect(Math.abs(r.logp[i]! - ref[i]!)).toBeLessThan(1e-3);
    tf.dispose([x, r.latent]);
  });

  it('fixed-step rk4 converges to the same value (100 steps), and reports nfe = 4 * steps', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, condOT());
    const { h, x } = points(EIGHT_GAUSSIANS, 8, 3);
    const ref = mixtureLogDensity(EIGHT_GAUSSIANS, Float32Array.from(h));
    const r = logLikelihood(oracle.velocity, x, { divergence: 'exact', method: 'rk4', steps: 100 });
    expect(r.nfe).toBe(400);
    expect(r.steps).toBe(100);
    expect(r.fieldEvals).toBe(800); // d = 2 vector-Jacobian products per evaluation
    for (let i = 0; i < 8; i++) expect(Math.abs(r.logp[i]! - ref[i]!)).toBeLessThan(1e-2);
    tf.dispose([x, r.latent]);
  });

  it('t1 < 1 gives log p_{t1} (the marginal at t1), and a custom prior is applied at t0', () => {
    const s = vp();
    const oracle = gmmOracle(EIGHT_GAUSSIANS, s);
    const t1 = 0.9;
    const { alpha, sigma } = s.coeffs(t1);
    const { h, x } = points(EIGHT_GAUSSIANS, 8, 4);
    const xt = Float32Array.from(h, (v) => alpha * v);
    const xtT = tf.tensor2d(xt, [8, 2]);
    const ref = mixtureLogDensity(EIGHT_GAUSSIANS, xt, alpha, sigma);
    // VP has alpha_0 = exp(-5.025) != 0: the exact prior at t0 = 0 is the oracle's own p_0
    const r = logLikelihood(oracle.velocity, xtT, {
      divergence: 'exact',
      t1,
      rtol: 1e-6,
      atol: 1e-6,
      prior: (z) => oracle.logDensity(z, 0),
    });
    for (let i = 0; i < 8; i++) expect(Math.abs(r.logp[i]! - ref[i]!)).toBeLessThan(1e-3);
    tf.dispose([x, xtT, r.latent]);
  });
});

describe('Hutchinson divergence', () => {
  it('is unbiased at a fixed (x, t): the mean over 2000 probes is within 3.5 standard errors of the exact value', () => {
    const mix = randomMixture(3, 3, 31);
    const oracle = gmmOracle(mix, cosine());
    const B = 4;
    const x = tf.tensor2d(
      Float32Array.from(sampleMixture(mix, B, 2), (v) => 0.7 * v),
      [B, 3],
    );
    const t = 0.5;
    const ex = exactDivergence(oracle.velocity, x, t);
    const exact = host(ex.div);
    tf.dispose([ex.v, ex.div]);
    for (const kind of ['rademacher', 'gaussian'] as const) {
      const P = 2000;
      // one probe batch of P copies of each row: a single VJP covers all probes
      const xRep = tf.tile(x, [P, 1]);
      const [z] = makeProbes(xRep.shape, kind, 1, 99);
      const r = hutchinsonDivergence(oracle.velocity, xRep, t, [z!]);
      const est = host(r.div);
      for (let b = 0; b < B; b++) {
        let m = 0;
        let m2 = 0;
        for (let p = 0; p < P; p++) {
          const e = est[p * B + b]!;
          m += e;
          m2 += e * e;
        }
        m /= P;
        const se = Math.sqrt((m2 / P - m * m) / P);
        expect(se).toBeGreaterThan(0);
        expect(Math.abs(m - exact[b]!), `${kind} row ${b}: mean ${m} exact ${exact[b]} se ${se}`).toBeLessThan(3.5 * se + 1e-5);
      }
      tf.dispose([xRep, z!, r.v, r.div]);
    }
  });

  it('averaging several probes in one call equals the mean of single-probe calls', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, condOT());
    const x = tf.tensor2d([
      [1, 2],
      [-3, 0.5],
    ]);
    const probes = makeProbes([2, 2], 'gaussian', 3, 4);
    const all = host(hutchinsonDivergence(oracle.velocity, x, 0.4, probes).div);
    const each = probes.map((z) => host(hutchinsonDivergence(oracle.velocity, x, 0.4, [z]).div));
    for (let b = 0; b < 2; b++) expect(all[b]).toBeCloseTo((each[0]![b]! + each[1]![b]! + each[2]![b]!) / 3, 5);
    tf.dispose([x, ...probes]);
  });

  it('Hutchinson likelihood is close to exact on average (seeded, probes held for the solve)', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, condOT());
    const { h, x } = points(EIGHT_GAUSSIANS, 64, 8);
    const ref = mixtureLogDensity(EIGHT_GAUSSIANS, Float32Array.from(h));
    for (const probe of ['rademacher', 'gaussian'] as const) {
      const r = logLikelihood(oracle.velocity, x, { divergence: 'hutchinson', probe, probes: 4, seed: 1, rtol: 1e-5, atol: 1e-5 });
      const diffs = Array.from(r.logp, (v, i) => v - ref[i]!);
      const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
      const sd = Math.sqrt(diffs.reduce((a, b) => a + (b - mean) ** 2, 0) / (diffs.length - 1));
      console.log(`[likelihood] hutchinson ${probe} x4: mean error ${mean.toFixed(4)} nats, sd ${sd.toFixed(4)}, nfe ${r.nfe}`);
      expect(Math.abs(mean)).toBeLessThan(4 * (sd / Math.sqrt(diffs.length)) + 1e-3);
      // reproducible from the seed
      const again = logLikelihood(oracle.velocity, x, { divergence: 'hutchinson', probe, probes: 4, seed: 1, rtol: 1e-5, atol: 1e-5 });
      expect(Array.from(again.logp)).toEqual(Array.from(r.logp));
      tf.dispose([r.latent, again.latent]);
    }
    x.dispose();
  });
});

describe('logLikelihood: shapes, options, errors, memory', () => {
  it('works on image-shaped x [B, H, W, C] (Hutchinson) and matches the flat computation', () => {
    const mix = randomMixture(2, 12, 3);
    const oracle = gmmOracle(mix, condOT());
    const flat = tf.tensor2d(Float32Array.from(sampleMixture(mix, 4, 1)), [4, 12]);
    const img = tf.reshape(flat, [4, 2, 3, 2]);
    const a = logLikelihood(oracle.velocity, img, { divergence: 'hutchinson', seed: 3, method: 'heun', steps: 20 });
    const b = logLikelihood(oracle.velocity, flat, { divergence: 'hutchinson', seed: 3, method: 'heun', steps: 20 });
    expect(a.latent.shape).toEqual([4, 2, 3, 2]);
    for (let i = 0; i < 4; i++) expect(a.logp[i]).toBeCloseTo(b.logp[i]!, 4);
    tf.dispose([flat, img, a.latent, b.latent]);
  });

  it('a field that ignores x has zero divergence', () => {
    const constant = (x: tf.Tensor) => tf.onesLike(x);
    const x = tf.tensor2d([[0.5, -0.5]]);
    const r = logLikelihood(constant, x, { divergence: 'exact', method: 'euler', steps: 4 });
    expect(r.deltaLogp[0]).toBe(0);
    expect(Array.from(r.latent.dataSync())).toEqual([-0.5, -1.5]);
    tf.dispose([x, r.latent]);
  });

  it('rejects bad options with errors naming the field', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, condOT());
    const x = tf.tensor2d([[0, 0]]);
    expect(() => logLikelihood(oracle.velocity, x, { divergence: 'nope' as never })).toThrow(/divergence/);
    expect(() => logLikelihood(oracle.velocity, x, { divergence: 'exact', method: 'rk4' })).toThrow(/steps/);
    expect(() => logLikelihood(oracle.velocity, x, { divergence: 'exact', timeGrid: [0, 1] })).toThrow(/timeGrid/);
    expect(() => logLikelihood(oracle.velocity, x, { divergence: 'exact', t0: 0.5, t1: 0.4 })).toThrow(ConfigError);
    expect(() => logLikelihood(oracle.velocity, x, { divergence: 'hutchinson', probes: 0 })).toThrow(/probes/);
    x.dispose();
  });

  it('cancels through the signal and frees its tensors', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, condOT());
    const x = tf.tensor2d([[0, 0]]);
    const before = tf.memory().numTensors;
    const signal = { aborted: false };
    expect(() =>
      logLikelihood(oracle.velocity, x, {
        divergence: 'hutchinson',
        method: 'euler',
        steps: 10,
        signal,
        onStep: (s) => {
          if (s.step === 3) signal.aborted = true;
        },
      }),
    ).toThrow(CancelledError);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('leaks no tensors over repeated calls (exact, Hutchinson, closed form)', () => {
    const oracle = gmmOracle(EIGHT_GAUSSIANS, vp());
    const x = tf.tensor2d(Float32Array.from(sampleMixture(EIGHT_GAUSSIANS, 8, 1)), [8, 2]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      for (const divergence of ['exact', 'hutchinson', oracle.divergence] as const) {
        const r = logLikelihood(oracle.velocity, x, { divergence, probes: 2, rtol: 1e-4, atol: 1e-4 });
        r.latent.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
