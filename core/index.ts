/**
 * Flow Studio core: the public surface of the math engine, as explicit named re-exports.
 *
 * Convention throughout: noise x0 ~ N(0, I) at t = 0, data x1 at t = 1,
 * x_t = alpha_t x1 + sigma_t x0; a velocity field is (x, t, cond?) -> dx/dt.
 * core/ imports only @tensorflow/tfjs-core: no Electron, no Node APIs, no DOM.
 */
export { tf } from './tf';
export type { Tensor } from './tf';

// Errors
export { FlowStudioError, ConfigError, ShapeError, DataError, SolverError, CancelledError, check, checkShape } from './errors';

// Fields and randomness
export type { VelocityField, AbortLike, StepInfo } from './field';
export { Rng } from './util/random';

// Probability paths
export { condOT, polynomial, cosine, linearVP, vp, subVP, ve, makeScheduler, sourceScale, SCHEDULER_KINDS } from './path/scheduler';
export type { Scheduler, SchedulerCoeffs, SchedulerSpec, SchedulerKind } from './path/scheduler';
export { samplePath, disposePathSample, target, conditionalVelocity } from './path/affine';
export type { PathSample } from './path/affine';
export {
  PREDICTION_TYPES,
  checkPredictionType,
  conversionCoeffs,
  convertPrediction,
  convertPredictionAt,
  scoreFromVelocity,
  velocityFromScore,
  predictionField,
  asVelocityField,
} from './path/convert';
export type { PredictionType, PredictionModel, LinearConversion } from './path/convert';
export { bridgeNoise, interpolantAt, sampleInterpolant, interpolantVelocityFromXt, disposeInterpolantSample } from './path/interpolant';
export type { InterpolantSample } from './path/interpolant';
export { scheduleTransformCoeffs, scheduleTransformedField } from './path/transform';
export type { ScheduleTransformCoeffs } from './path/transform';
export { denoise, pathVelocity, pathModelOf, velocityModel, transformPathModel, LIMIT_DT } from './path/model';
export type { PathModel, ModelField } from './path/model';

// Couplings
export { couple, coupleIndices, COUPLING_KINDS } from './coupling/couple';
export type { CouplingKind, CoupleOptions, Coupling, CoupledBatch } from './coupling/couple';
export { solveAssignment } from './coupling/assignment';
export type { Assignment } from './coupling/assignment';
export { sinkhorn, samplePlan, argmaxPlan } from './coupling/sinkhorn';
export type { SinkhornOptions, SinkhornResult, Pairs } from './coupling/sinkhorn';
export { squaredDistanceMatrix } from './coupling/cost';
export type { CostMatrix } from './coupling/cost';

// Solvers
export { odeSolve, uniformGrid, checkTimeGrid } from './solver/ode';
export { ODE_METHODS } from './solver/types';
export type { OdeState, OdeFunction, OdeMethod, FixedStepMethod, OdeOptions, OdeResult } from './solver/types';
export { integrateField } from './solver/sample';
export type { IntegrateOptions, IntegrateResult } from './solver/sample';
export { sampleSde } from './solver/sde';
export type { SdeOptions, SdeResult } from './solver/sde';
export { sampleModel, defaultGrid, SAMPLERS } from './solver/samplers';
export type { SamplerKind, ModelSampleOptions, ModelSampleResult } from './solver/samplers';
export { timeGrid, noiseLevel, TIME_GRIDS } from './solver/grids';
export type { TimeGridKind, GridOptions } from './solver/grids';

// Likelihood
export { logLikelihood, gaussianLogpdf } from './likelihood/likelihood';
export type { LikelihoodOptions, LikelihoodResult, DivergenceMode, DivergenceFunction } from './likelihood/likelihood';
export { exactDivergence, hutchinsonDivergence, makeProbes } from './likelihood/divergence';
export type { VelocityAndDivergence, ProbeKind } from './likelihood/divergence';
export { bitsPerDim, dequantize } from './likelihood/bpd';
export type { BitsPerDimOptions, DequantizeOptions } from './likelihood/bpd';

// Inversion and latent interpolation
export { encode, decode } from './inversion/encode';
export type { InversionOptions, InversionResult } from './inversion/encode';
export { slerp, lerp, interpolatePath } from './inversion/interpolate';

// Analytic oracles
export { gmmOracle } from './oracle/gmm';
export type { GmmOracle, GmmOracleSpec } from './oracle/gmm';

// Data
export { validateGaussianMixture, sampleGaussianMixture, mixtureDim, mixtureMoments } from './data/mixture';
export type { GaussianMixture, MixtureSamples } from './data/mixture';
export { DATASETS_2D, sample2d, sample2dTensor, sample2dLabeled, eightGaussians, mixtureOf2d } from './data/toy2d';
export type { Dataset2DName, Dataset2DInfo, Sample2DOptions, Labeled2D } from './data/toy2d';

// Metrics
export { energyDistance, mmdRbf, medianHeuristic, slicedWasserstein2, wasserstein2Squared1d } from './metrics/distances';
export type { PointSet } from './metrics/points';
export { straightness } from './metrics/straightness';
export type { TrajectorySet } from './metrics/straightness';

// Models
export {
  createModel,
  modelFromWeights,
  createMlp,
  createUNet,
  defaultUNetConfig,
  countParameters,
  getWeights,
  setWeights,
  CheckpointError,
} from './model';
export type { VelocityModel, ModelConfig, MlpConfig, UNetConfig, Activation } from './model';

// Training
export {
  modelConfigFor,
  pathScheduler,
  validateTrainSpec,
  trainingTimeRange,
  samplingTimeRange,
  flowMatchingLoss,
  Optimizer,
  learningRate,
  createTrainer,
  guidedField,
  sampleFromField,
  generateReflowPairs,
  measureStraightness,
  pairedSource,
  arraySource,
  dataSourceFromSpec,
  gaussianSource,
  gmmSource,
  pointsSource,
  toy2dSource,
} from './train';
export type { TrainSpec, Trainer, TrainStepResult, TimeRange, DataSource, PairedSource, ReflowPairs } from './train';

// Evaluation
export { trainClassifier, accuracyByClass } from './eval/classifier';
export type { Classifier, ClassifierOptions } from './eval/classifier';
