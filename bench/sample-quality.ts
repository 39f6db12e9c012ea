/**
 * sample-quality: sample quality against the number of network evaluations (NFE), per sampler:
 *   - the shipped MNIST model (resources/models/mnist): FID and KID (core/metrics/quality.ts) between
 *     the grading classifier's penultimate features (main/eval/mnist-quality.ts) of `images` samples
 *     (classes 0..9 in turn) and of `images` digits of the data set;
 *   - the exact 8-gaussians oracle (core/oracle/gmm): energy distance and coverage (k = 5) of `points`
 *     samples against fresh mixture samples.
 * Every sampler starts from the same seeded noise; each takes the most steps that fit the budget
 * (main/compute/quality.ts NFE_PER_STEP).
 */
import { tf, type Tensor } from '../core/tf';
import { Rng } from '../core/util/random';
import { condOT } from '../core/path/scheduler';
import { gmmOracle } from '../core/oracle/gmm';
import { mixtureOf2d } from '../core/data/toy2d';
import { energyDistance } from '../core/metrics/distances';
import { coverage, frechetDistance, kid } from '../core/metrics/quality';
import { sampleFromField } from '../core/train/sample';
import type { SamplerKind } from '../core/catalog';
import { loadMnist } from '../main/data';
import { trainMnistClassifier } from '../main/eval/mnist-quality';
import { shippedModel } from '../main/models/shipped';
import { NFE_PER_STEP } from '../main/compute/quality';
import { log, round } from './lib';

export interface SampleQualityOptions {
  samplers: Exclude<SamplerKind, 'dopri5'>[];
  /** NFE budgets of the MNIST rows (each NFE costs a U-Net pass over `images` images). */
  nfes: number[];
  /** NFE budgets of the oracle rows. */
  oracleNfes: number[];
  images: number;
  points: number;
}

/** The quality table: one row per (sampler, NFE budget). */
export function benchSampleQuality(o: SampleQualityOptions): Record<string, unknown> {
  const steps = (s: Exclude<SamplerKind, 'dopri5'>, nfe: number): number => Math.max(1, Math.floor(nfe / NFE_PER_STEP[s]));

  // MNIST: FID / KID on classifier features.
  const model = shippedModel('mnist');
  const clf = trainMnistClassifier(1).classifier;
  const ds = loadMnist();
  const pick = new Rng(11).permutation(ds.count).subarray(0, o.images);
  const real = new Float32Array(o.images * 784);
  pick.forEach((j, i) => real.set(ds.images.subarray(j * 784, (j + 1) * 784), i * 784));
  const realF = tf.tidy(() => clf.features(tf.tensor4d(real, [o.images, 28, 28, 1])));
  const mnist: Record<string, unknown>[] = [];
  try {
    for (const s of o.samplers)
      for (const nfe of o.nfes) {
        const cond = tf.tensor1d(
          Array.from({ length: o.images }, (_, i) => i % 10),
          'int32',
        );
        const t0 = performance.now();
        const r = sampleFromField(model.field(0), {
          n: o.images,
          shape: model.shape,
          seed: 5,
          solver: s,
          steps: steps(s, nfe),
          scheduler: model.scheduler,
          cond,
        });
        const f = clf.features(r.x);
        const row = {
          sampler: s,
          steps: steps(s, nfe),
          nfe: r.nfe,
          fid: round(frechetDistance(f, realF, clf.featureDim), 3),
          kid: round(kid(f, realF, { dim: clf.featureDim }).mean, 5),
          sec: round((performance.now() - t0) / 1000, 2),
        };
        tf.dispose([f, r.x, r.x0, cond]);
        log(`sample-quality mnist ${JSON.stringify(row)}`);
        mnist.push(row);
      }
  } finally {
    tf.dispose([realF]);
    clf.dispose();
    model.dispose();
  }

  // 8 gaussians: energy distance and coverage against the exact mixture.
  const oracle = gmmOracle(mixtureOf2d('8gaussians')!, condOT());
  const fresh: Tensor = oracle.sample(o.points, 99);
  const points: Record<string, unknown>[] = [];
  try {
    for (const s of o.samplers)
      for (const nfe of o.oracleNfes) {
        const r = sampleFromField(oracle.velocity, {
          n: o.points,
          shape: [2],
          seed: 5,
          solver: s,
          steps: steps(s, nfe),
          scheduler: condOT(),
        });
        points.push({
          sampler: s,
          steps: steps(s, nfe),
          nfe: r.nfe,
          energyDistance: round(energyDistance(r.x, fresh), 5),
          coverage: round(coverage(fresh, r.x, { k: 5 }).coverage, 3),
        });
        tf.dispose([r.x, r.x0]);
      }
  } finally {
    fresh.dispose();
  }
  return {
    mnist: { model: 'shipped:mnist', metric: 'FID / KID on the grading classifier features', images: o.images, rows: mnist },
    oracle8gaussians: { metric: 'energy distance, coverage (k = 5)', points: o.points, rows: points },
  };
}

/** Standalone: node --experimental-transform-types --import ./scripts/ts-hooks.mjs bench/sample-quality.ts [IMAGES] prints the JSON. */
if (process.argv[1]?.endsWith('sample-quality.ts')) {
  const { selectBackend } = await import('../main/runtime/backend');
  await selectBackend();
  const images = Number(process.argv[2] ?? 100);
  const doc = benchSampleQuality({ samplers: ['euler', 'dpm++2m'], nfes: [10], oracleNfes: [5, 10], images, points: 500 });
  console.log(JSON.stringify(doc, null, 1));
}
