// The command line against core called directly, on the exact Gaussian-mixture oracle: the CLI's
// numbers must be core's numbers (same backend, same solver settings), and both must match the
// oracle's closed-form log-density and invert exactly up to solver error.
import { describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { condOT } from '../../../core/path/scheduler';
import { gmmOracle } from '../../../core/oracle/gmm';
import { mixtureOf2d } from '../../../core/data/toy2d';
import { logLikelihood } from '../../../core/likelihood/likelihood';
import { decode, encode } from '../../../core/inversion/encode';
import { cli, freshHome, jsonOf, show, writeJson } from './helpers';

const home = freshHome();
const oracle = gmmOracle(mixtureOf2d('8gaussians')!, condOT());
const TOL = { rtol: 1e-5, atol: 1e-5 };

/**
 * 16 points drawn from the 8-gaussians mixture. Typical points on purpose: between the modes the
 * density is ~e^-100 and the flow map that reaches them is so contracting that float32 cannot
 * invert it (a point there decodes back to the nearest mode), which is a property of the target,
 * not of the CLI.
 */
function points(): number[][] {
  const x = oracle.sample(16, 2024);
  const pts = x.arraySync() as number[][];
  x.dispose();
  return pts;
}

describe('oracle through the CLI equals core', () => {
  const pts = points();
  const file = writeJson(home, 'points.json', pts);

  it('likelihood --exact: CLI = core logLikelihood (1e-5) = closed-form log-density (1e-3 nats)', async () => {
    const r = await cli(
      [
        'likelihood',
        '--model',
        'oracle:8gaussians',
        '--points',
        file,
        '--exact',
        '--solver',
        'dopri5',
        '--rtol',
        '1e-5',
        '--atol',
        '1e-5',
        '--json',
      ],
      { home },
    );
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{ logp: number[]; exactLogp: number[]; nfe: number; divergence: string }>(r);
    expect(doc.divergence).toBe('exact');

    const x = tf.tensor2d(pts);
    const core = logLikelihood(oracle.velocity, x, { divergence: 'exact', method: 'dopri5', ...TOL });
    const closed = oracle.logDensity(x, 1);
    const exact = Array.from(closed.dataSync());
    tf.dispose([x, core.latent, closed]);

    expect(doc.nfe).toBe(core.nfe);
    pts.forEach((_, i) => {
      expect(Math.abs(doc.logp[i]! - core.logp[i]!), `point ${i}`).toBeLessThan(1e-5);
      expect(Math.abs(doc.exactLogp[i]! - exact[i]!), `point ${i}`).toBeLessThan(1e-5);
      expect(Math.abs(doc.logp[i]! - exact[i]!), `point ${i}: ${doc.logp[i]} vs ${exact[i]}`).toBeLessThan(1e-3);
    });
  });

  it('invert then decode round-trips within 1e-3 (dopri5); latents and points equal core encode/decode', async () => {
    const inv = await cli(['invert', '--model', 'oracle:8gaussians', '--points', file, '--json'], { home });
    expect(inv.code, show(inv)).toBe(0);
    const { latents, nfe } = jsonOf<{ latents: number[][]; nfe: number }>(inv);
    expect(latents).toHaveLength(pts.length);
    expect(nfe).toBeGreaterThan(0);

    // decode reads the latents from stdin, as in `invert | decode --latents -`.
    const dec = await cli(['decode', '--model', 'oracle:8gaussians', '--latents', '-', '--json'], { home, input: JSON.stringify(latents) });
    expect(dec.code, show(dec)).toBe(0);
    const back = jsonOf<{ points: number[][] }>(dec).points;

    const x = tf.tensor2d(pts);
    const z = encode(oracle.velocity, x, { method: 'dopri5', ...TOL });
    const zCli = tf.tensor2d(latents);
    const y = decode(oracle.velocity, zCli, { method: 'dopri5', ...TOL });
    const coreZ = z.x.arraySync() as number[][];
    const coreY = y.x.arraySync() as number[][];
    tf.dispose([x, z.x, zCli, y.x]);

    pts.forEach((p, i) => {
      for (let j = 0; j < 2; j++) {
        expect(Math.abs(latents[i]![j]! - coreZ[i]![j]!), `latent ${i}`).toBeLessThan(1e-5);
        expect(Math.abs(back[i]![j]! - coreY[i]![j]!), `decoded ${i}`).toBeLessThan(1e-5);
        expect(Math.abs(back[i]![j]! - p[j]!), `round trip of point ${i}`).toBeLessThan(1e-3);
      }
    });
  });

  it('text mode pipes: invert prints a JSON array that decode reads back', async () => {
    const inv = await cli(['invert', '--model', 'oracle:8gaussians', '--points', file], { home });
    expect(inv.code, show(inv)).toBe(0);
    expect(inv.stderr).toMatch(/NFE/);
    const dec = await cli(['decode', '--model', 'oracle:8gaussians', '--latents', '-'], { home, input: inv.stdout });
    const back = JSON.parse(dec.stdout) as number[][];
    expect(back).toHaveLength(pts.length);
    expect(Math.abs(back[0]![0]! - pts[0]![0]!)).toBeLessThan(1e-3);
  });
});
