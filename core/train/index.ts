/**
 * Training: configuration types, the flow-matching loss, Adam/AdamW with schedule, clipping and EMA,
 * the step-by-step trainer, sampling helpers and reflow. Pure math on tfjs-core; no I/O.
 */
export type {
  CouplingSpec,
  DataSpec,
  MlpSpec,
  ModelSpec,
  OptimSpec,
  PathSpec,
  SamplingSpec,
  SourceSpec,
  TimeSpec,
  TrainLoopSpec,
  TrainPrediction,
  TrainSpec,
  UNetSpec,
} from './config';
export { modelConfigFor, pathScheduler, validateTrainSpec } from './config';
export {
  SNR_GAMMA,
  T_EPS,
  disposeFlowBatch,
  dropLabels,
  flowBatchLoss,
  flowMatchingLoss,
  lossWeight,
  prepareFlowBatch,
  sampleTimes,
  samplingTimeRange,
  sliceFlowBatch,
  snrClippedWeight,
  trainingTimeRange,
} from './loss';
export type { FlowBatch, LossConfig, Predictor, PrepareOptions, TimeRange } from './loss';
export { Optimizer, clipFactor, emaDecayAt, learningRate } from './optim';
export type { OptimizerStepInfo } from './optim';
export { createTrainer, stepSeed } from './trainer';
export type { ShardGradients, Trainer, TrainerOptions, TrainerSampleOptions, TrainStepResult } from './trainer';
export { combineShards, shardRows } from './shard';
export type { ShardPart } from './shard';
export { guidedField, modelPredictor, sampleFromField } from './sample';
export type { SampleFromFieldOptions, SampleFromFieldResult } from './sample';
export { generateReflowPairs, measureStraightness, pairedSource } from './reflow';
export type { ReflowPairs, ReflowPairsOptions, StraightnessMeasureOptions } from './reflow';
export {
  arraySource,
  dataSourceFromSpec,
  gaussianSource,
  gmmSource,
  isPairedSource,
  pairedArraySource,
  pointsSource,
  toy2dSource,
} from '../data/source';
export type { DataSource, PairBatch, PairedSource, SourceBatch, Toy2DName } from '../data/source';
