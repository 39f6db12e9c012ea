// Every name of the samplers' catalogs works end to end, through core's public surface
// (core/index.ts): each sampler of SAMPLERS, on its default grid, draws a Gaussian mixture from its
// exact model (test/core/solver/gmm-models.ts) to within a stated energy distance; each grid of
// TIME_GRIDS runs from t0 to t1, and the Karras grid's noise levels (noiseLevel = sigma/alpha,
// against the scheduler's closed form) follow EDM's rho schedule; a plain velocity field becomes a
// PathModel (velocityModel) and a model's field leads back to its model (pathModelOf).
import { describe, expect, it } from 'vitest';
import {
  condOT,
  defaultGrid,
  energyDistance,
  noiseLevel,
  pathModelOf,
  pathVelocity,
  sampleModel,
  SAMPLERS,
  TIME_GRIDS,
  timeGrid,
  velocityModel,
  vp,
  tf,
} from '../../../core';
import type { Tensor } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { gmmModel } from './gmm-models';
import { sampleMixture, type Mixture } from '../oracle/reference';

const MIX: Mixture = {
  weights: [0.5, 0.5],
  means: [
    [-2, 0],
    [2, 0.5],
  ],
  stds: [0.3, 0.3],
};

describe('SAMPLERS', () => {
  // 20 steps (dopri5: rtol 1e-4), 1000 points; the bound is 20x below the distance of the samplers'
  // own input (plain N(0, I) noise) to the mixture, checked below.
  const BOUND = 0.025;
  const flat = sampleMixture(MIX, 1000, 7);
  const data = Array.from({ length: 1000 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]);
  it.each([...SAMPLERS])('%s on its default grid lands on the mixture', (sampler) => {
    const model = gmmModel(MIX, vp(), 'eps');
    const x = tf.tensor(Float32Array.from(new Rng(3).normals(2000)), [1000, 2], 'float32');
    const r = sampleModel(model, x, { sampler, steps: 20, rtol: 1e-4, atol: 1e-4 });
    const pts = r.x.arraySync() as number[][];
    tf.dispose([x, r.x]);
    expect(pts.flat().every(Number.isFinite)).toBe(true);
    expect(r.nfe).toBeGreaterThan(0);
    expect(energyDistance(pts, data)).toBeLessThan(BOUND);
  });

  it('the bound is far below what noise scores', () => {
    const z = new Rng(3).normals(2000);
    const x = Array.from({ length: 1000 }, (_, i) => [z[2 * i]!, z[2 * i + 1]!]);
    expect(energyDistance(x, data)).toBeGreaterThan(20 * BOUND);
  });

  it('the default grid is uniform but for EDM', () => {
    expect(SAMPLERS.filter((s) => defaultGrid(s) !== 'uniform')).toEqual(['edm']);
    expect(TIME_GRIDS).toContain(defaultGrid('edm'));
  });
});

describe('TIME_GRIDS', () => {
  it.each([...TIME_GRIDS])('%s: steps + 1 increasing times from t0 to t1', (kind) => {
    for (const s of [condOT(), vp()]) {
      const g = timeGrid(kind, s, 12, { t0: 0, t1: 1 });
      expect(g).toHaveLength(13);
      expect(g[0]).toBe(0);
      expect(g.at(-1)).toBe(1);
      for (let i = 1; i < g.length; i++) expect(g[i]!).toBeGreaterThan(g[i - 1]!);
    }
  });

  it('noiseLevel is sigma/alpha; the Karras grid follows the rho = 7 schedule on it', () => {
    const s = condOT();
    // condot: alpha = t, sigma = 1 - t (sigma_min = 0).
    for (const t of [0.1, 0.5, 0.9]) expect(noiseLevel(s, t)).toBeCloseTo((1 - t) / t, 12);
    expect(noiseLevel(s, 0)).toBe(Infinity);
    // Both ends lie outside [0.002, 80] (rho = Infinity at t = 0, 0 at t = 1): they are added, and the
    // 11 times between follow rho_i = (80^(1/7) + i/10 (0.002^(1/7) - 80^(1/7)))^7.
    const g = timeGrid('karras', s, 12);
    const inner = g.slice(1, -1).map((t) => noiseLevel(s, t));
    inner.forEach((rho, i) => {
      const want = (80 ** (1 / 7) + (i / 10) * (0.002 ** (1 / 7) - 80 ** (1 / 7))) ** 7;
      expect(Math.abs(rho - want) / want).toBeLessThan(1e-9);
    });
  });
});

describe('velocityModel and pathModelOf', () => {
  it('a plain field is a velocity PathModel; a model’s field leads back to its model', () => {
    const s = vp();
    const eps = gmmModel(MIX, s, 'eps');
    const field = pathVelocity(eps);
    expect(pathModelOf(field)).toBe(eps);
    expect(velocityModel(field, s)).toBe(eps);
    const plain = (x: Tensor) => tf.zerosLike(x);
    const m = velocityModel(plain, s);
    expect(m).toMatchObject({ prediction: 'velocity', scheduler: s, predict: plain });
    expect(pathModelOf(plain)).toBeUndefined();
  });
});
