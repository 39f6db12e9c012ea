/**
 * The page's float64 mixture flow (renderer/src/lib/oracle2d.ts) against core's tensor oracle
 * (core/oracle/gmm.ts), an independent implementation of the same closed forms: velocity and density
 * agree at several times and schedulers; the RK4 flow carries noise onto the mixture (energy
 * distance to fresh mixture samples near its floor); the kernel estimate integrates to about 1.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../core/tf';
import { gmmOracle } from '../../core/oracle/gmm';
import { sampleGaussianMixture, type GaussianMixture } from '../../core/data/mixture';
import { energyDistance } from '../../core/metrics/distances';
import { condOT, cosine, linearVP, type Scheduler } from '../../core/path/scheduler';
import { Rng } from '../../core/util/random';
import { kernelDensity, mixtureDensity, mixtureFlow, mixtureVelocity } from '../../renderer/src/lib/oracle2d';

const MIX: GaussianMixture = {
  weights: [0.2, 0.5, 0.3],
  means: [
    [-2, 0],
    [1.5, 1.5],
    [0.5, -2],
  ],
  stds: [0.4, 0.3, 0.6],
};
const points = (n: number, seed: number): number[][] => {
  const z = new Rng(seed).normals(2 * n);
  return Array.from({ length: n }, (_, i) => [2 * z[2 * i]!, 2 * z[2 * i + 1]!]);
};

describe('oracle2d against core/oracle/gmm', () => {
  const cases: [string, Scheduler][] = [
    ['condot', condOT()],
    ['cosine', cosine()],
    ['linear-vp', linearVP()],
  ];
  for (const [name, s] of cases)
    it(`velocity and density agree (${name})`, () => {
      const oracle = gmmOracle(MIX, s);
      const xs = points(64, 3);
      for (const t of [0.05, 0.3, 0.7, 0.95]) {
        const x = tf.tensor2d(xs);
        const v = oracle.velocity(x, t);
        const lp = oracle.logDensity(x, t);
        const vRef = v.arraySync() as number[][];
        const pRef = (lp.arraySync() as number[]).map(Math.exp);
        tf.dispose([x, v, lp]);
        const mine = mixtureVelocity(MIX, s, t, xs);
        const dens = mixtureDensity(MIX, s, t, xs);
        // core computes in float32: compare with a float32-sized tolerance.
        mine.forEach((u, i) => {
          expect(u[0]).toBeCloseTo(vRef[i]![0]!, 3);
          expect(u[1]).toBeCloseTo(vRef[i]![1]!, 3);
        });
        dens.forEach((p, i) => expect(Math.abs(p - pRef[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, pRef[i]!)));
      }
    });

  it('the RK4 flow carries N(0, I) noise onto the mixture', () => {
    const n = 400;
    const z = new Rng(11).normals(2 * n);
    const starts = Array.from({ length: n }, (_, i) => [z[2 * i]!, z[2 * i + 1]!]);
    const times = Array.from({ length: 41 }, (_, k) => k / 40);
    const paths = mixtureFlow(MIX, condOT(), starts, times);
    expect(paths[0]!.length).toBe(times.length);
    const ends = paths.map((p) => p[p.length - 1]!);
    const target = sampleGaussianMixture(MIX, n, 5).points;
    const rows = Array.from({ length: n }, (_, i) => [target[2 * i]!, target[2 * i + 1]!]);
    const other = sampleGaussianMixture(MIX, n, 6).points;
    const floorRows = Array.from({ length: n }, (_, i) => [other[2 * i]!, other[2 * i + 1]!]);
    const ed = energyDistance(ends, rows);
    const floor = Math.abs(energyDistance(floorRows, rows));
    const noise = energyDistance(starts, rows);
    // Far closer to the mixture than the noise it started from, and within a few floors of it.
    expect(ed).toBeLessThan(noise / 10);
    expect(ed).toBeLessThan(Math.max(5 * floor, 0.02));
  });

  it('the kernel density estimate integrates to about 1', () => {
    const particles = points(300, 9).map(([x, y]) => [x! / 2, y! / 2]);
    const G = 80;
    const grid: number[][] = [];
    const lo = -5;
    const h = 10 / G;
    for (let j = 0; j < G; j++) for (let i = 0; i < G; i++) grid.push([lo + (i + 0.5) * h, lo + (j + 0.5) * h]);
    const total = kernelDensity(particles, grid).reduce((a, v) => a + v, 0) * h * h;
    expect(total).toBeGreaterThan(0.97);
    expect(total).toBeLessThan(1.03);
  });
});
