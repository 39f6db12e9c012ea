/**
 * How long a config would train here: its data, model and trainer built as a training worker builds
 * them (main/training/train-job.ts prepare), one untimed warm-up step (kernels compile, buffers are
 * allocated), then timed steps until MIN_STEPS are done and MIN_SECONDS have passed (or MAX_STEPS).
 * seconds = train.steps * (elapsed / timed steps). Runs in the compute worker (task 'estimate'), on
 * the backend training uses, so the Experiment view can warn before an expensive run.
 *
 * Not counted: data-parallel threads (the estimate is for one thread), checkpoints, live samples and
 * reflow's pair generation; the number is a lower bound on the wall time of a run.
 */
import { tf } from '../../core/tf';
import { createModel } from '../../core/model';
import { createTrainer } from '../../core/train/trainer';
import { modelConfigFor } from '../../core/train/config';
import { parseExperiment, type ExperimentConfig } from '../../common/config';
import type { TrainingEstimate } from '../../common/contract';
import { loadExperimentData } from '../training/sources';
import { InvalidConfigError } from '../app/errors';

const MIN_STEPS = 2;
const MAX_STEPS = 50;
const MIN_SECONDS = 1;

/** Times training steps of `raw` (an experiment config); throws InvalidConfigError for a bad config. */
export async function estimateTraining(raw: unknown): Promise<TrainingEstimate> {
  const parsed = parseExperiment(raw);
  if (!parsed.ok) throw new InvalidConfigError(parsed.issues);
  const config: ExperimentConfig = parsed.value;
  const { target, source } = await loadExperimentData(config);
  const numClasses = config.conditional ? target.source.numClasses : 0;
  const model = createModel(modelConfigFor(config.model, target.source.shape, numClasses), config.seed);
  const trainer = createTrainer({ spec: config, model, target: target.source, source });
  try {
    trainer.step();
    let timed = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (timed < MIN_STEPS || (elapsed < MIN_SECONDS && timed < MAX_STEPS)) {
      trainer.step();
      timed++;
      elapsed = (performance.now() - t0) / 1000;
    }
    const secondsPerStep = elapsed / timed;
    return {
      secondsPerStep,
      measuredSteps: timed,
      steps: config.train.steps,
      seconds: secondsPerStep * config.train.steps,
      backend: tf.getBackend() || 'unknown',
    };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
