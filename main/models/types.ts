/**
 * What the CLI and the app call "a model", once loaded (main/models/load.ts resolveModel): a trained
 * run's network, a shipped model, or an analytic Gaussian-mixture oracle. Either way a velocity field
 * plus what samplers need to know about it.
 */
import type { VelocityField } from '../../core/field';
import type { GmmOracle } from '../../core/oracle/gmm';
import type { Scheduler } from '../../core/path/scheduler';
import type { TimeRange } from '../../core/train/loss';
import type { ExperimentConfig } from '../../common/config';

/** A loaded model: its field, shape, classes, path, and where it came from. */
export interface LoadedModel {
  kind: 'run' | 'oracle';
  /** Human-readable description, e.g. "run 01ABC… step 2000 (EMA)" or "oracle 8gaussians (condot)". */
  label: string;
  /** Velocity field with classifier-free guidance weight w (0 = plain conditional/unconditional). */
  field(w?: number): VelocityField;
  /** Per-sample data shape, e.g. [2] or [28, 28, 1]. */
  shape: number[];
  /** Classes of a conditional model (0 = unconditional). */
  numClasses: number;
  scheduler: Scheduler;
  /** Time interval to integrate over (eps/x1 models avoid a singular end). */
  timeRange: TimeRange;
  /** The oracle, for closed-form divergence and log-density. */
  oracle?: GmmOracle;
  runId?: string;
  step?: number;
  config?: ExperimentConfig;
  /**
   * What the user should know about how the model was loaded, e.g. that the run's newest checkpoint
   * was unusable and an older one is used (the CLI prints these on stderr). Empty when all is well.
   */
  warnings: string[];
  dispose(): void;
}
