/**
 * The experiment as the engine takes it: plain data, the shape common/config.ts validates (with
 * defaults filled in) for the app and the CLI. core/train/config.ts checks it (validateTrainSpec)
 * and builds what the trainer needs from it; core/train/rules.ts holds the cross-field rules.
 */
import type {
  CouplingKind,
  LossWeighting,
  LrSchedule,
  OptimizerKind,
  SamplerKind,
  TimeDistribution,
  TimeGridKind,
  TrainPrediction,
} from '../catalog';
import type { DataSpec } from '../data/source';
import type { MlpConfig, UNetConfig } from '../model/types';
import type { PathSpec } from '../path/prob-path';

export type { DataSpec, TrainPrediction };

/**
 * The probability path:
 *   affine       x_t = alpha_t x1 + sigma_t x0 with a scheduler (core/path/scheduler);
 *   interpolant  x_t = t x1 + (1 - t) x0 + s sqrt(t (1 - t)) eps (stochastic interpolant / SB-CFM).
 */
export type { PathSpec };

export interface CouplingSpec {
  kind: CouplingKind;
  /** Sinkhorn regularisation relative to the batch's mean pairwise squared distance. */
  reg: number;
  /** Pair only rows of the same class (needs labelled target data). */
  classAware: boolean;
}

export interface TimeSpec {
  /** t ~ U(0, 1), or t = sigmoid(z) with z ~ N(mean, std^2) (SD3's logit-normal). */
  distribution: TimeDistribution;
  mean: number;
  std: number;
  /** Per-sample loss weight: none, or min-SNR-gamma (Hang et al. 2023; see loss.ts). */
  weighting: LossWeighting;
  /** gamma of the min-SNR weighting (default 5, the paper's choice). */
  snrGamma?: number;
}

/** The MLP part of a config; dim and numClasses come from the data. */
export type MlpSpec = Omit<MlpConfig, 'dim' | 'numClasses'>;
/** The U-Net part of a config; size, channels and numClasses come from the data. */
export type UNetSpec = Omit<UNetConfig, 'size' | 'channels' | 'numClasses'>;
export type ModelSpec = MlpSpec | UNetSpec;

export interface OptimSpec {
  /** 'adam' adds weightDecay * w to the gradient (L2, as torch.optim.Adam); 'adamw' decays decoupled. */
  kind: OptimizerKind;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Linear warmup over this many steps: lr (k + 1) / warmupSteps at step k. */
  warmupSteps: number;
  /** After warmup: constant lr, or cosine decay to minLrRatio * lr at the last step. */
  schedule: LrSchedule;
  minLrRatio: number;
  /** Global-norm clipping threshold; 0 disables clipping. */
  gradClip: number;
  /** EMA decay d of the shadow weights; 0 keeps the EMA equal to the weights. */
  emaDecay: number;
  /** Ramp the decay as min(d, (1 + k) / (10 + k)) at step k (default true), so early EMA tracks. */
  emaWarmup?: boolean;
}

export interface TrainLoopSpec {
  /** Total optimiser steps (sets the cosine schedule's length). */
  steps: number;
  batchSize: number;
  checkpointEvery?: number;
  logEvery?: number;
  sampleEvery?: number;
  sampleCount?: number;
}

export interface SamplingSpec {
  /** An ODE method, an exponential integrator or a stochastic sampler (core/solver/samplers.ts). */
  solver: SamplerKind;
  steps: number;
  rtol: number;
  atol: number;
  /** Classifier-free guidance weight w: v = (1 + w) v_cond - w v_uncond. */
  cfg: number;
  /** Time grid (default: the sampler's own, core/solver/samplers.ts defaultGrid). */
  grid?: TimeGridKind;
  /** Stochastic samplers: sde and pc g_t = noise sigma_t, ancestral eta (default 1). */
  noise?: number;
  /** edm: S_churn (default 10). */
  churn?: number;
  /** pc: Langevin signal-to-noise ratio (default 0.16) and corrector steps per step (default 1). */
  snr?: number;
  correctorSteps?: number;
}

export type SourceSpec = { kind: 'gaussian' } | { kind: 'data'; data: DataSpec };

/** Everything the training engine reads from an experiment config. */
export interface TrainSpec {
  name?: string;
  seed: number;
  data: DataSpec;
  source: SourceSpec;
  path: PathSpec;
  prediction: TrainPrediction;
  coupling: CouplingSpec;
  time: TimeSpec;
  model: ModelSpec;
  /** Probability of replacing a label by the "no label" class numClasses in training (CFG). */
  labelDropout: number;
  /** Train a class-conditional model (labels from the target data). */
  conditional: boolean;
  optim: OptimSpec;
  train: TrainLoopSpec;
  sampling: SamplingSpec;
}

/** The scheduler of a path: its own for 'affine'; CondOT (alpha = t, sigma = 1 - t) for the interpolant's mean path. */
