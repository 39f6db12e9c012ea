/**
 * The batch stream of training: step k's (x0, x1) pairs drawn from the step's generator, coupled
 * inside the minibatch (exact OT, Sinkhorn; per class when classAware; Sinkhorn's reg relative to
 * the batch's mean pairwise squared distance), then times, x_t, targets and label dropout
 * (core/train/loss.ts prepareFlowBatch). A paired source (reflow) keeps its pairs. Every random draw
 * comes from the Rng passed in, so a step's batch depends on (stream key, step) alone.
 */
import { tf, type Tensor } from '../tf';
import { ConfigError, DataError } from '../errors';
import { couple, type CoupleOptions } from '../coupling/couple';
import { isPairedSource, type DataSource, type PairedSource } from '../data/source';
import type { TimeRange } from '../path/prob-path';
import type { Rng } from '../util/random';
import { prepareFlowBatch, type FlowBatch, type LossConfig } from './loss';
import type { TrainSpec } from './spec';

/** (1/n^2) sum_ij ||x0_i - x1_j||^2 = mean||x0||^2 + mean||x1||^2 - 2 mean(x0) . mean(x1). */
export function meanPairwiseCost(x0: Tensor, x1: Tensor): number {
  const n = x0.shape[0]!;
  return tf.tidy(() => {
    const a = tf.reshape(x0, [n, -1]);
    const b = tf.reshape(x1, [n, -1]);
    const s = tf.sub(
      tf.add(tf.mean(tf.sum(tf.square(a), 1)), tf.mean(tf.sum(tf.square(b), 1))),
      tf.mul(tf.sum(tf.mul(tf.mean(a, 0), tf.mean(b, 0))), 2),
    );
    return s.dataSync()[0]!;
  });
}

/**
 * n rows of `source` whose labels are exactly `labels` (row i has class labels[i]), by drawing
 * batches of n and keeping rows of still-needed classes. Gives up with a DataError naming the class
 * after 100 batches (a class the source almost never yields).
 */
function sampleWithLabels(source: DataSource, labels: Int32Array, rng: Rng): Tensor {
  const n = labels.length;
  const row = source.shape.reduce((a, b) => a * b, 1);
  const slots = new Map<number, number[]>();
  labels.forEach((l, i) => {
    const list = slots.get(l);
    if (list) list.push(i);
    else slots.set(l, [i]);
  });
  const out = new Float32Array(n * row);
  let missing = n;
  for (let round = 0; missing > 0; round++) {
    if (round === 100) {
      const cls = [...slots].find(([, list]) => list.length > 0)![0];
      throw new DataError(`class-aware coupling: the source yielded too few samples of class ${cls} in 100 batches of ${n}`);
    }
    const b = source.sample(n, rng);
    const v = b.x.dataSync();
    b.x.dispose();
    if (!b.labels) throw new ConfigError('coupling.classAware', 'the source returned no labels');
    for (let i = 0; i < n && missing > 0; i++) {
      const slot = slots.get(b.labels[i]!)?.pop();
      if (slot === undefined) continue;
      out.set(v.subarray(i * row, (i + 1) * row), slot * row);
      missing--;
    }
  }
  return tf.tensor(out, [n, ...source.shape], 'float32');
}

/** What the stream needs (checked by createTrainer). */
export interface BatchStreamOptions {
  spec: TrainSpec;
  target: DataSource | PairedSource;
  /** x0's distribution (N(0, I) unless a data source is given). */
  source: DataSource;
  /** The source has labels of its own (class-aware pairing draws it to match the target's). */
  labelledSource: boolean;
  shape: number[];
  numClasses: number;
  /** The times training draws from (core/path/prob-path.ts trainingRange). */
  range: TimeRange;
}

export class BatchStream {
  private readonly lossCfg: LossConfig;

  constructor(private readonly o: BatchStreamOptions) {
    const { spec } = o;
    this.lossCfg = { path: spec.path, prediction: spec.prediction, time: spec.time, labelDropout: spec.labelDropout };
  }

  /** One batch of (x0, x1) pairs, coupled as the spec says, with the target's labels. */
  private drawPairs(rng: Rng): { x0: Tensor; x1: Tensor; labels?: Int32Array; cost?: number } {
    const { spec, target, source, labelledSource } = this.o;
    const batchSize = spec.train.batchSize;
    if (isPairedSource(target)) return target.samplePairs(batchSize, rng);
    const tb = target.sample(batchSize, rng);
    const kind = spec.coupling.kind;
    const classAware = spec.coupling.classAware;
    if (classAware && !tb.labels) throw new ConfigError('coupling.classAware', 'the target returned no labels');
    // Class-aware with a labelled source: draw source rows with exactly the target batch's labels.
    const x0 = classAware && labelledSource ? sampleWithLabels(source, tb.labels!, rng) : source.sample(batchSize, rng).x;
    if (kind === 'independent' && !classAware) return { x0, x1: tb.x, ...(tb.labels ? { labels: tb.labels } : {}) };
    const co: CoupleOptions = { rng };
    if (kind === 'sinkhorn') co.reg = spec.coupling.reg * Math.max(meanPairwiseCost(x0, tb.x), 1e-12);
    if (classAware) {
      // Row i of x0 belongs to the class of row i of x1: its own class for a labelled source (drawn to
      // match), an arbitrary but equal share of the noise otherwise (conditional OT-CFM).
      co.labels0 = tb.labels!;
      co.labels1 = tb.labels!;
    }
    const c = couple(kind, x0, tb.x, co);
    let labels = c.labels;
    if (!labels && tb.labels) {
      const l = tb.labels;
      labels = c.i1.map((j) => l[j]!);
    }
    return { x0: c.x0, x1: c.x1, cost: c.cost, ...(labels ? { labels } : {}) };
  }

  /** The step's batch: drawn, coupled and prepared from rng (caller disposes, inside a tidy). */
  prepare(rng: Rng): { batch: FlowBatch; cost?: number } {
    const { spec, numClasses } = this.o;
    const pairs = this.drawPairs(rng);
    const conditional = spec.conditional;
    if (conditional && !pairs.labels) throw new ConfigError('conditional', 'the target returned no labels');
    const batch = prepareFlowBatch(this.lossCfg, pairs.x0, pairs.x1, rng, {
      range: this.o.range,
      ...(conditional && pairs.labels ? { labels: pairs.labels, numClasses } : {}),
    });
    return { batch, ...(pairs.cost !== undefined ? { cost: pairs.cost } : {}) };
  }
}
