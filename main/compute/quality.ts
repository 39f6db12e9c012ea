/**
 * Sample quality against the number of network evaluations (NFE), per sampler: the data of the
 * NFE-versus-quality chart (issue 15 draws it). For each sampler and NFE budget the model is sampled
 * with the most steps that fit the budget (steps = max(1, floor(NFE / evaluations per step))), from
 * the same seeded noise, and scored:
 *
 * - 2D and vector data (toy 2D sets, mixtures, point sets): the energy distance (core/metrics/
 *   distances.ts, unbiased) to n fresh samples of the run's data;
 * - MNIST runs: the Frechet distance (core/metrics/quality.ts) between the grading classifier's
 *   penultimate features (main/eval/mnist-quality.ts, trained once per worker) of the samples and of
 *   n digits of the data set.
 */
import { tf } from '../../core/tf';
import { ConfigError } from '../../core/errors';
import { Rng } from '../../core/util/random';
import { dataSourceFromSpec } from '../../core/data/source';
import { energyDistance } from '../../core/metrics/distances';
import { frechetDistance } from '../../core/metrics/quality';
import { sampleFromField } from '../../core/train/sample';
import type { Classifier } from '../../core/eval/classifier';
import type { SamplerKind } from '../../core/catalog';
import { QUALITY_NFES, type QualityCurve, type QualityPoint } from '../../common/contract';
import { loadMnist } from '../data';
import { trainMnistClassifier } from '../eval/mnist-quality';
import { runModel } from '../models/load';
import type { RunStore } from '../store';
import type { QualityArgs } from './protocol';

/** Network evaluations per step of each fixed-step sampler (pc: one predictor + one corrector by default). */
export const NFE_PER_STEP: Record<Exclude<SamplerKind, 'dopri5'>, number> = {
  euler: 1,
  midpoint: 2,
  heun: 2,
  rk4: 4,
  ddim: 1,
  'dpm++2m': 1,
  sde: 1,
  ancestral: 1,
  pc: 2,
  edm: 2,
};

const DEFAULT_SOLVERS: SamplerKind[] = ['euler', 'heun', 'ddim', 'dpm++2m'];

let grader: Classifier | null = null;

/** The quality curve of a run's latest weights (module comment). */
export function sampleQualityTask(store: RunStore, req: QualityArgs): QualityCurve {
  const model = runModel(store, req.runId);
  try {
    const config = model.config!;
    const images = model.shape.length > 1;
    const n = req.n ?? (images ? 256 : 500);
    const seed = req.seed ?? 0;
    let score: (x: tf.Tensor) => number;
    let metric: string;
    let release = (): void => {};
    if (!images) {
      const data = dataSourceFromSpec(config.data);
      const fresh = data.sample(n, new Rng(seed + 7919)).x;
      release = () => fresh.dispose();
      metric = 'energy distance';
      score = (x) => energyDistance(x, fresh, { dim: model.shape.reduce((a, b) => a * b, 1) });
    } else if (config.data.kind === 'mnist' && model.shape.join() === '28,28,1') {
      grader ??= trainMnistClassifier(1).classifier;
      const clf = grader;
      const ds = loadMnist();
      const pick = new Rng(seed + 7919).permutation(ds.count).subarray(0, n);
      const real = new Float32Array(n * 784);
      pick.forEach((j, i) => real.set(ds.images.subarray(j * 784, (j + 1) * 784), i * 784));
      const realFeatures = tf.tidy(() => clf.features(tf.tensor4d(real, [n, 28, 28, 1])));
      release = () => realFeatures.dispose();
      metric = 'FID';
      score = (x) => {
        const f = clf.features(x);
        try {
          return frechetDistance(f, realFeatures, clf.featureDim);
        } finally {
          f.dispose();
        }
      };
    } else {
      throw new ConfigError('id', `sample quality needs 2D/vector data or MNIST; this run's data is '${config.data.kind}'`);
    }
    try {
      const points: QualityPoint[] = [];
      for (const solver of req.solvers ?? DEFAULT_SOLVERS) {
        if (solver === 'dopri5') throw new ConfigError('solvers', 'dopri5 picks its own steps: give a fixed-step sampler');
        for (const budget of req.nfes ?? QUALITY_NFES) {
          const steps = Math.max(1, Math.floor(budget / NFE_PER_STEP[solver]));
          const t0 = performance.now();
          const cond =
            model.numClasses > 0
              ? tf.tensor1d(
                  Array.from({ length: n }, (_, i) => i % model.numClasses),
                  'int32',
                )
              : undefined;
          try {
            const r = sampleFromField(model.field(config.sampling.cfg), {
              n,
              shape: model.shape,
              seed,
              solver,
              steps,
              scheduler: model.scheduler,
              t0: model.timeRange.lo,
              t1: model.timeRange.hi,
              ...(cond ? { cond } : {}),
            });
            try {
              points.push({ solver, steps, nfe: r.nfe, value: score(r.x), seconds: (performance.now() - t0) / 1000 });
            } finally {
              tf.dispose([r.x, r.x0]);
            }
          } catch (e) {
            if (e instanceof ConfigError) throw e;
            points.push({ solver, steps, nfe: 0, value: null, error: (e as Error).message, seconds: (performance.now() - t0) / 1000 });
          } finally {
            cond?.dispose();
          }
        }
      }
      return { step: model.step ?? 0, metric, n, points };
    } finally {
      release();
    }
  } finally {
    model.dispose();
  }
}
