/**
 * The exact flow of a 2D Gaussian-mixture target under an affine path with a Gaussian source, in
 * float64 on the page (docs/formulas.md "Gaussian-mixture oracle", the closed forms core/oracle/gmm.ts
 * evaluates with tensors): the marginal density p_t as a heat map, the velocity u_t to move the
 * oracle's own particles beside the learned model's.
 *
 *   p_t(x) = sum_k pi_k N(x; alpha mu_k, v_k^2 I),   v_k^2 = alpha^2 s_k^2 + sigma^2
 *   u_t(x) = sum_k w_k(x) (alpha' mu_k + c_k (x - alpha mu_k)),   c_k = (alpha alpha' s_k^2 + sigma sigma') / v_k^2
 *
 * with w_k the posterior component weights (a softmax of the log terms, so far tails do not underflow).
 */
import type { GaussianMixture } from '../../../core/data/mixture';
import type { Scheduler } from '../../../core/path/scheduler';

/** Per-component log weight, mean at t and variance at t; shared by density and velocity. */
function terms(g: GaussianMixture, s: Scheduler, t: number) {
  const { alpha, sigma, dAlpha, dSigma } = s.coeffs(t);
  const total = g.weights.reduce((a, b) => a + b, 0);
  return g.means.map((mu, k) => {
    const sk = g.stds[k]!;
    const v2 = alpha * alpha * sk * sk + sigma * sigma;
    return {
      logPi: Math.log(g.weights[k]! / total),
      mx: alpha * mu[0]!,
      my: alpha * mu[1]!,
      v2,
      c: (alpha * dAlpha * sk * sk + sigma * dSigma) / v2,
      ax: dAlpha * mu[0]!,
      ay: dAlpha * mu[1]!,
    };
  });
}

/** log of each component's weighted density at (x, y) (2D: the normaliser is 1 / (2 pi v^2)). */
function logTerms(ts: ReturnType<typeof terms>, x: number, y: number): number[] {
  return ts.map((c) => c.logPi - Math.log(2 * Math.PI * c.v2) - ((x - c.mx) ** 2 + (y - c.my) ** 2) / (2 * c.v2));
}

/** p_t at each point. */
export function mixtureDensity(g: GaussianMixture, s: Scheduler, t: number, points: readonly (readonly number[])[]): number[] {
  const ts = terms(g, s, t);
  return points.map((p) => {
    const l = logTerms(ts, p[0]!, p[1]!);
    const m = Math.max(...l);
    return Math.exp(m) * l.reduce((a, v) => a + Math.exp(v - m), 0);
  });
}

/** u_t at each point. */
export function mixtureVelocity(g: GaussianMixture, s: Scheduler, t: number, points: readonly (readonly number[])[]): number[][] {
  const ts = terms(g, s, t);
  return points.map((p) => {
    const x = p[0]!;
    const y = p[1]!;
    const l = logTerms(ts, x, y);
    const m = Math.max(...l);
    let z = 0;
    let ux = 0;
    let uy = 0;
    ts.forEach((c, k) => {
      const w = Math.exp(l[k]! - m);
      z += w;
      ux += w * (c.ax + c.c * (x - c.mx));
      uy += w * (c.ay + c.c * (y - c.my));
    });
    return [ux / z, uy / z];
  });
}

/**
 * Paths of the exact flow from the given start points over the time grid `times` (increasing),
 * by classical RK4 on each interval: paths[i][k] is particle i at times[k].
 */
export function mixtureFlow(
  g: GaussianMixture,
  s: Scheduler,
  starts: readonly (readonly number[])[],
  times: readonly number[],
): number[][][] {
  const paths = starts.map((p) => [[p[0]!, p[1]!]]);
  let cur = starts.map((p) => [p[0]!, p[1]!]);
  for (let k = 0; k + 1 < times.length; k++) {
    const t = times[k]!;
    const h = times[k + 1]! - t;
    const k1 = mixtureVelocity(g, s, t, cur);
    const k2 = mixtureVelocity(
      g,
      s,
      t + h / 2,
      cur.map((p, i) => [p[0]! + (h / 2) * k1[i]![0]!, p[1]! + (h / 2) * k1[i]![1]!]),
    );
    const k3 = mixtureVelocity(
      g,
      s,
      t + h / 2,
      cur.map((p, i) => [p[0]! + (h / 2) * k2[i]![0]!, p[1]! + (h / 2) * k2[i]![1]!]),
    );
    const k4 = mixtureVelocity(
      g,
      s,
      t + h,
      cur.map((p, i) => [p[0]! + h * k3[i]![0]!, p[1]! + h * k3[i]![1]!]),
    );
    cur = cur.map((p, i) => [
      p[0]! + (h / 6) * (k1[i]![0]! + 2 * k2[i]![0]! + 2 * k3[i]![0]! + k4[i]![0]!),
      p[1]! + (h / 6) * (k1[i]![1]! + 2 * k2[i]![1]! + 2 * k3[i]![1]! + k4[i]![1]!),
    ]);
    cur.forEach((p, i) => paths[i]!.push(p));
  }
  return paths;
}

/**
 * A density estimate from particles (Gaussian kernels, Scott's bandwidth h = s n^(-1/6) per axis,
 * s the particles' standard deviation) at each grid point: what the learned model's heat map shows,
 * since its density is known only through its samples here.
 */
export function kernelDensity(particles: readonly (readonly number[])[], points: readonly (readonly number[])[]): number[] {
  const n = particles.length;
  if (n === 0) return points.map(() => 0);
  const mean = [0, 0];
  for (const p of particles) {
    mean[0]! += p[0]! / n;
    mean[1]! += p[1]! / n;
  }
  const sd = [0, 0].map((_, a) => Math.sqrt(particles.reduce((s, p) => s + (p[a]! - mean[a]!) ** 2, 0) / Math.max(1, n - 1)));
  const f = n ** (-1 / 6);
  const hx = Math.max(sd[0]! * f, 1e-3);
  const hy = Math.max(sd[1]! * f, 1e-3);
  const norm = 1 / (n * 2 * Math.PI * hx * hy);
  return points.map((q) => {
    let s = 0;
    for (const p of particles) s += Math.exp(-0.5 * (((q[0]! - p[0]!) / hx) ** 2 + ((q[1]! - p[1]!) / hy) ** 2));
    return s * norm;
  });
}
