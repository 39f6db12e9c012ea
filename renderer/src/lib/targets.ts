/**
 * The data a config describes, as points the page can draw: the target (and a translation's source)
 * beside and under the samples, the preview of a dataset as soon as it is chosen, and the reference
 * for a sample's energy distance. Generated in the page by core's own generators (core/data), so the
 * picture is the distribution the run trains on. The toy generators' module also carries tfjs (for
 * its tensor helper), so it is loaded on first use, in a chunk of its own.
 */
import { sampleGaussianMixture, type GaussianMixture } from '../../../core/data/mixture';
import { DATASETS_2D, type Dataset2DName } from '../../../core/data/toy2d-info';
import type { Scheduler } from '../../../core/path/scheduler';
import { makeScheduler, type SchedulerSpec } from '../../../core/path/scheduler';

type Data = Record<string, unknown>;

const toy = () => import('../../../core/data/toy2d');

/** Rows of a flat [x0, y0, x1, y1, ...] array. */
function rows(flat: ArrayLike<number>): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/**
 * n points of a 2D data spec (toy2d, gmm, points), or null for image data and for a spec that is not
 * valid yet (a mixture being edited); deterministic in the seed.
 */
export async function dataPoints(spec: unknown, n: number, seed = 12345): Promise<number[][] | null> {
  const d = spec as Data | null;
  if (!d || typeof d !== 'object') return null;
  try {
    if (d.kind === 'toy2d' && typeof d.name === 'string') {
      const { sample2d } = await toy();
      const noise = typeof d.noise === 'number' ? { noise: d.noise } : {};
      return rows(sample2d(d.name as Dataset2DName, n, seed, noise));
    }
    if (d.kind === 'gmm') {
      const g = d.gmm as GaussianMixture;
      if (g?.means?.[0]?.length !== 2) return null;
      return rows(sampleGaussianMixture(g, n, seed).points);
    }
    if (d.kind === 'points' && Array.isArray(d.points)) {
      return (d.points as unknown[]).filter(
        (p): p is number[] => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v)),
      );
    }
  } catch {
    // an invalid spec has nothing to draw; the form shows its issues
  }
  return null;
}

/** The definition of a data spec in words, as the UI states it under the choice. */
export function dataDefinition(spec: unknown): string | null {
  const d = spec as Data | null;
  if (!d || typeof d !== 'object') return null;
  if (d.kind === 'toy2d') {
    const info = DATASETS_2D.find((x) => x.name === d.name);
    if (!info) return null;
    const noise = typeof d.noise === 'number' ? ` This config sets noise = ${d.noise}.` : '';
    return `${info.label}: ${info.description}${noise}`;
  }
  if (d.kind === 'gmm') return DATASETS_2D.find((x) => x.name === 'gmm')!.description;
  if (d.kind === 'points') return DATASETS_2D.find((x) => x.name === 'points')!.description;
  if (d.kind === 'mnist') return 'MNIST: 28 × 28 greyscale digits scaled to [-1, 1], labels 0-9 (the digits chosen, or all ten).';
  if (d.kind === 'images') return 'Images of a folder, resized to size × size and scaled to [-1, 1]; labels from subfolders when asked.';
  return null;
}

/**
 * The exact mixture and scheduler of a config when the analytic oracle applies (the same rule as
 * the host's main/compute/tasks.ts oracleMixture: affine path, Gaussian source, no reflow, and a
 * mixture target: a custom one, or 8gaussians without added noise).
 */
export async function oracleOf(config: Record<string, unknown>): Promise<{ mixture: GaussianMixture; scheduler: Scheduler } | null> {
  const path = (config.path ?? { kind: 'affine', scheduler: { kind: 'condot' } }) as Data;
  const source = (config.source ?? { kind: 'gaussian' }) as Data;
  if (path.kind !== 'affine' || source.kind !== 'gaussian' || config.reflow) return null;
  const data = config.data as Data | undefined;
  let mixture: GaussianMixture | null = null;
  if (data?.kind === 'gmm') mixture = data.gmm as GaussianMixture;
  else if (data?.kind === 'toy2d' && data.noise === undefined) mixture = (await toy()).mixtureOf2d(data.name as Dataset2DName);
  if (!mixture) return null;
  try {
    return { mixture, scheduler: makeScheduler((path.scheduler ?? { kind: 'condot' }) as SchedulerSpec) };
  } catch {
    return null;
  }
}
