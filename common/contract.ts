/**
 * The single contract between the renderer and a host (Electron main, or the web host).
 *
 * Each method has a channel name and a request schema here; its reply type is in `Replies`. Main's
 * IPC handlers, the preload bridge, the web host and the renderer's web client all derive from this
 * file, so no channel name is spelled twice and every payload is validated by the same schema on the
 * host side (experiment configs by common/config.ts, the schema the CLI uses).
 *
 * Replies cross the boundary wrapped as `Envelope` ({ ok, value } or { ok: false, error }): Electron's
 * IPC keeps only an Error's message, and the renderer needs the field an error is about.
 */
import { z } from 'zod';
import { SAMPLERS, schedulerSchema, SOLVERS, TIME_GRIDS } from './config';
import type { FieldIssue } from './config';
import { latentResultSchema, latentTaskSchema, solverSpecSchema, type LatentOp, type LatentTask, type LatentTaskResults } from './latent';
import type { RunListItem, RunStatus } from './runs';

/** The result of each latent op. */
export type LatentResults = LatentTaskResults;

export type { FieldIssue } from './config';

const runId = z.string().min(1).max(64);
const none = z.object({}).strict().optional();
const byId = z.object({ id: runId }).strict();
const int = (min: number, max: number) => z.int().min(min).max(max);

/** Solver controls of "sample now", the vector field and trajectories. */
export const sampleRequestSchema = z
  .object({
    id: runId,
    /** Any sampler of core/solver/samplers.ts: an ODE method, ddim, dpm++2m, sde, ancestral, pc, edm. */
    solver: z.enum(SAMPLERS).optional(),
    steps: int(1, 1000).optional(),
    // issue 14: the sampler's settings (core/solver/samplers.ts; defaults there) and another scheduler.
    /** Time grid: uniform, karras (EDM's rho = 7), logsnr (default: the sampler's own). */
    grid: z.enum(TIME_GRIDS).optional(),
    /** sde, pc: g_t = noise sigma_t; ancestral: eta (1 = DDPM, 0 = DDIM). */
    noise: z.number().min(0).max(100).optional(),
    /** edm: S_churn (0 = deterministic Heun). */
    churn: z.number().min(0).max(1000).optional(),
    /** pc: the Langevin corrector's signal-to-noise ratio and its steps per step. */
    snr: z.number().min(0).max(10).optional(),
    correctorSteps: int(0, 20).optional(),
    /** Sample the trained model under this scheduler instead of its own (exact; affine paths only). */
    scheduler: schedulerSchema.optional(),
    cfg: z.number().min(0).max(20).optional(),
    /** Class to sample for a conditional model (omitted: classes 0..C-1 in turn). */
    classLabel: int(0, 1000).optional(),
    /** Number of samples (points) or images. */
    n: int(1, 4096).optional(),
    /** How many of the samples to return as trajectories (2D only). */
    trajectories: int(0, 512).optional(),
  })
  .strict();

/** NFE budgets of the quality curve when the request names none. */
export const QUALITY_NFES = [5, 10, 20, 50] as const;

/** Sample quality against the number of network evaluations, per sampler (issue 14). */
export const qualityRequestSchema = z
  .object({
    id: runId,
    /** Samplers to compare (default heun, dpm++2m, ddim, euler). dopri5 picks its own NFE and is refused. */
    solvers: z
      .array(z.enum(SAMPLERS).refine((s) => s !== 'dopri5', 'dopri5 picks its own steps: give a fixed-step sampler'))
      .min(1)
      .max(12)
      .optional(),
    /** NFE budgets (default 5, 10, 20, 50); each sampler takes the most steps that fit. */
    nfes: z.array(int(1, 1000)).min(1).max(12).optional(),
    /** Samples per point of the curve (default 500 points, 256 images). */
    n: int(16, 4096).optional(),
    seed: int(0, 2 ** 31 - 1).optional(),
  })
  .strict();

export const fieldRequestSchema = z
  .object({
    id: runId,
    t: z.number().min(0).max(1),
    /** Arrows per axis. */
    grid: int(4, 64).optional(),
    /** Plot window [xmin, xmax, ymin, ymax]; default from the data. */
    bounds: z.tuple([z.number(), z.number(), z.number(), z.number()]).optional(),
    cfg: z.number().min(0).max(20).optional(),
  })
  .strict();

/** What a run's export can hold; all of them, in this order, when the request names none. */
export const EXPORT_KINDS = ['config', 'metrics', 'samples', 'trajectories', 'model'] as const;

/** A model the latent studio can use: `shipped:NAME`, `RUN_ID` or `RUN_ID@STEP`. */
export const modelSpecSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^(shipped:[A-Za-z0-9_-]+|[A-Za-z0-9]+(@\d+)?)$/, { error: 'must be shipped:NAME, RUN_ID or RUN_ID@STEP' });
const taskId = z.string().min(1).max(64);

/** Every request method: channel and request schema. */
export const contract = {
  appInfo: { channel: 'app:info', request: none },
  settings: { channel: 'app:settings', request: none },
  listPresets: { channel: 'presets:list', request: none },
  validateConfig: { channel: 'config:validate', request: z.object({ config: z.unknown() }).strict() },
  /** Stores a validated experiment as a run and (by default) queues it for training. */
  createRun: {
    channel: 'runs:create',
    request: z.object({ config: z.unknown(), name: z.string().min(1).max(200).optional(), start: z.boolean().optional() }).strict(),
  },
  listRuns: { channel: 'runs:list', request: none },
  getRun: { channel: 'runs:get', request: byId },
  renameRun: { channel: 'runs:rename', request: z.object({ id: runId, name: z.string().trim().min(1).max(200) }).strict() },
  deleteRun: { channel: 'runs:delete', request: byId },
  /** Queues a run that is not training (a new run, or a paused/cancelled/interrupted one: resume). */
  startRun: { channel: 'runs:start', request: z.object({ id: runId, steps: int(1, 10_000_000).optional() }).strict() },
  pauseRun: { channel: 'runs:pause', request: byId },
  resumeRun: { channel: 'runs:resume', request: byId },
  cancelRun: { channel: 'runs:cancel', request: byId },
  getMetrics: {
    channel: 'runs:metrics',
    request: z
      .object({
        id: runId,
        names: z.array(z.string().min(1).max(100)).max(32).optional(),
        fromStep: int(0, Number.MAX_SAFE_INTEGER).optional(),
        maxPoints: int(2, 100_000).optional(),
      })
      .strict(),
  },
  latestSample: { channel: 'runs:latest-sample', request: byId },
  /** With a taskId, progress streams as 'task' events under it and cancelTask stops the solve. */
  sampleNow: { channel: 'runs:sample-now', request: sampleRequestSchema.extend({ taskId: taskId.optional() }) },
  vectorField: { channel: 'runs:vector-field', request: fieldRequestSchema },
  /** Sample quality at several NFE budgets per sampler: the data of the NFE-versus-quality chart. */
  sampleQuality: { channel: 'runs:sample-quality', request: qualityRequestSchema },
  /** 2D: points of data space inverted to noise through the PF-ODE (t = 1 -> 0), with their paths. */
  invertPoints: {
    channel: 'runs:invert-points',
    request: z
      .object({
        id: runId,
        points: z
          .array(z.tuple([z.number(), z.number()]))
          .min(1)
          .max(256),
        solver: z.enum(SOLVERS).optional(),
        steps: int(1, 1000).optional(),
      })
      .strict(),
  },
  compareRuns: { channel: 'runs:compare', request: z.object({ ids: z.array(runId).min(2).max(8) }).strict() },
  exportRun: { channel: 'runs:export', request: z.object({ id: runId, kinds: z.array(z.enum(EXPORT_KINDS)).min(1).optional() }).strict() },
  /**
   * The run as one zip archive (main/studio/export.ts exportArchive): config, weights, metrics,
   * samples as PNG with axes and CSV, trajectories; the same file `flow-studio runs export ID --archive`.
   */
  exportArchive: { channel: 'runs:export-archive', request: byId },
  /**
   * Times a few training steps of a config on this host's backend (in the compute worker) and
   * extrapolates to train.steps: what the Experiment view shows before an expensive run.
   */
  estimateTraining: { channel: 'config:estimate', request: z.object({ config: z.unknown() }).strict() },
  /**
   * How long a task would take, before it runs (main/compute/estimate-task.ts): the model's cost per
   * evaluation, timed once per model and batch, times the task's number of evaluations.
   */
  estimateTask: {
    channel: 'tasks:estimate',
    request: z.discriminatedUnion('kind', [
      sampleRequestSchema
        .pick({ id: true, solver: true, steps: true, grid: true, n: true, cfg: true, scheduler: true })
        .extend({ kind: z.literal('sample') }),
      z
        .object({
          kind: z.literal('latent'),
          model: modelSpecSchema,
          /** The latent tools an estimate is made for (the others are quick or have their own budget). */
          op: z.enum(['invert', 'interpolate', 'class-swap']),
          /** Images the tool inverts (interpolate: its two ends). */
          images: int(1, 256),
          /** interpolate: frames per path (both paths are decoded). */
          frames: int(2, 256).optional(),
          solver: solverSpecSchema,
          /** Guidance weight of the decoding field (default as the tool's: class-swap 1, the others 0). */
          cfg: z.number().min(0).max(20).optional(),
          /** invert: the bits/dim estimate's Hutchinson probes and repeats. */
          bitsPerDim: z
            .object({ probes: int(1, 100).optional(), repeats: int(1, 100).optional() })
            .strict()
            .optional(),
        })
        .strict(),
    ]),
  },
  /** Cancels any task started with a taskId (sampling, a latent computation). */
  cancelTask: { channel: 'tasks:cancel', request: z.object({ taskId }).strict() },
  /** Models with an image latent space: shipped ones and runs with a checkpoint. */
  latentModels: { channel: 'latent:models', request: none },
  /**
   * Runs one latent computation in the compute worker; progress streams as 'task' events under
   * taskId. The task is checked by its op's request schema (common/latent.ts); its reply follows the
   * op (LatentRunCall).
   */
  latentRun: {
    channel: 'latent:run',
    request: z.object({ model: modelSpecSchema, taskId: taskId.optional(), task: latentTaskSchema }).strict(),
  },
  latentCancel: { channel: 'latent:cancel', request: z.object({ taskId }).strict() },
  /** Stores a result's files as artifacts of the model's run (shipped models: a "Latent studio" run). */
  latentSave: { channel: 'latent:save', request: z.object({ model: modelSpecSchema, result: latentResultSchema }).strict() },
  /** A result as files (PNGs, numbers as JSON, APNG and GIF of an interpolation) for download. */
  latentExport: { channel: 'latent:export', request: z.object({ result: latentResultSchema }).strict() },
  /** The latent-studio results saved for a model (artifacts of its run, or of its results holder). */
  latentSaved: { channel: 'latent:saved', request: z.object({ model: modelSpecSchema }).strict() },
} as const;

export type Method = keyof typeof contract;
export type Request<M extends Method> = z.input<(typeof contract)[M]['request']>;
export type ParsedRequest<M extends Method> = z.output<(typeof contract)[M]['request']>;

/** latentRun's request for a task of op O (O is inferred from the task's op). */
export type LatentRunRequest<O extends LatentOp = LatentOp> = Omit<Request<'latentRun'>, 'task'> & { task: LatentTask<O> };
/** latentRun as the renderer calls it: the reply is the result of the task's op. */
export type LatentRunCall = <O extends LatentOp>(req: LatentRunRequest<O>) => Promise<LatentTaskResults[O]>;

/** Event streams from host to renderer (over the web host's socket: { channel: 'run' | 'task', event }). */
export const eventChannels = { run: 'events:run', task: 'events:task' } as const;

// ---- Reply types ---------------------------------------------------------------------------------

export interface AppInfo {
  name: string;
  version: string;
  /** 'electron' when the Electron shell serves the renderer, 'web' for the web host. */
  host: 'electron' | 'web';
  platform: string;
}

export interface Settings {
  dataDir: string;
  dbPath: string;
  /** The backend training uses, as the last selection found it. */
  backend: { name: string; version: string | null; reason: string; tried: { name: string; why: string }[]; threads: number };
  /** FLOW_STUDIO_BACKEND, or 'auto'. */
  requested: string;
  nodeVersion: string;
  /**
   * The engines a run can train on (train.engine) and what this machine gives them
   * (main/runtime/engines.ts). Absent while the first probe runs (importing torch takes seconds):
   * ask again.
   */
  engines?: EngineDiagnostics;
}

/** The PyTorch engine as found here: the interpreter, torch and its devices, or why it cannot run. */
export type PytorchEngineDiagnosis =
  | {
      ok: true;
      /** The interpreter (FLOW_STUDIO_PYTHON or discovery) and its version. */
      python: string;
      pythonVersion: string;
      torch: string;
      /** The CUDA version torch was built with, or null. */
      cuda: string | null;
      devices: {
        cuda: { index: number; name: string; memory: number; capability: string }[];
        mps: boolean;
        cpu: { threads: number; cores: number | null };
      };
      /** Optional Python packages: version, or null when not importable (scipy, pot, safetensors, ray). */
      libraries: Record<string, string | null>;
    }
  | { ok: false; reason: string };

/** tfjs-node-gpu's needs on this machine (main/runtime/gpu.ts). */
export interface TfjsGpuDiagnosis {
  /** The installed @tensorflow/tfjs-node-gpu version, or null. */
  installed: string | null;
  ok: boolean;
  driver: { found: boolean; version: string | null; source: string };
  libraries: { name: string; path: string | null }[];
  cuda12: string | null;
  /** What is missing and what to do, in one paragraph. */
  message: string;
}

export interface EngineDiagnostics {
  pytorch: PytorchEngineDiagnosis;
  tfjsGpu: TfjsGpuDiagnosis;
}

export interface Preset {
  name: string;
  config: Record<string, unknown>;
}

export type Validation = { ok: true; config: Record<string, unknown> } | { ok: false; issues: FieldIssue[] };

export type { RunStatus };

/** A row of the runs table: the store's list item plus the configured step count. */
export interface RunRow extends RunListItem {
  totalSteps: number | null;
  /** Data shape per sample the config trains on ([2], [28, 28, 1] ...); null when the config does not parse. */
  shape: number[] | null;
}

export interface RunDetail extends RunRow {
  config: Record<string, unknown>;
  seed: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  summary: Record<string, unknown> | null;
  /** Data shape per sample: [2] for points, [H, W, C] for images. */
  shape: number[];
  numClasses: number;
  /** A Gaussian-mixture target: the analytic oracle field exists. */
  hasOracle: boolean;
  /** The trainer of this run is alive in this host (pause/cancel apply). */
  live: boolean;
}

export interface Series {
  name: string;
  steps: number[];
  /** NaN (a diverged loss) crosses as null. */
  values: (number | null)[];
}

export type SampleView =
  { kind: 'points'; step: number; points: number[][] } | { kind: 'image-grid'; step: number; png: string; labels?: number[] };

/** One point of the quality curve: a sampler at a step count, the NFE it used and the quality reached. */
export interface QualityPoint {
  solver: string;
  steps: number;
  nfe: number;
  /** The metric's value (lower is better); null where sampling failed (error says why). */
  value: number | null;
  error?: string;
  seconds: number;
}

/** What `sampleQuality` returns: the metric and a point per (sampler, NFE budget). */
export interface QualityCurve {
  step: number;
  /** 'energy distance' (2D and vector data, against fresh data samples) or 'FID' (images, classifier features). */
  metric: string;
  n: number;
  points: QualityPoint[];
}

export interface SampleResult {
  step: number;
  solver: string;
  steps: number;
  nfe: number;
  seconds: number;
  sample: SampleView;
  /** 2D: particle paths from noise (t = 0) to data (t = 1), paths[i][k] at times[k]. */
  trajectories?: { times: number[]; paths: number[][][] };
  /** Mean over particles of the straightness defect, 0 for straight paths (core/metrics/straightness). */
  straightness?: number;
}

export interface FieldView {
  t: number;
  step: number;
  bounds: [number, number, number, number];
  grid: number;
  /** Grid points row-major (y outer), each [x, y]. */
  points: number[][];
  learned: number[][];
  /** Mixture targets: the analytic velocity at the same points, and |learned - oracle| per point. */
  oracle?: number[][];
  error?: number[];
  /** Mean |learned - oracle| / mean |oracle| over the grid. */
  relError?: number;
}

export interface InvertedPoints {
  step: number;
  /** The noise point of each input (t = 0). */
  latents: number[][];
  /** paths[i][k] at times[k], from the data point (t = 1) down to its noise point (t = 0). */
  times: number[];
  paths: number[][][];
  nfe: number;
  /** log N(z; 0, I) of each latent: how typical a noise point it is. */
  logPrior: number[];
}

export interface Comparison {
  runs: RunDetail[];
  /** Loss per run (decimated), same order as runs. */
  loss: Series[];
  /** Union of summary keys, values per run. */
  metrics: { name: string; values: (number | string | null)[] }[];
  samples: (SampleView | null)[];
}

/** What estimateTraining measured. */
export interface TrainingEstimate {
  /** Seconds per training step, measured after a warm-up step. */
  secondsPerStep: number;
  /** Steps timed. */
  measuredSteps: number;
  /** train.steps of the config. */
  steps: number;
  /** secondsPerStep * steps. */
  seconds: number;
  /** The backend the steps ran on (the one training uses). */
  backend: string;
}

/** What estimateTask predicts. */
export interface TaskEstimate {
  /** Seconds per evaluation of the model's field at the task's batch size. */
  secondsPerEvaluation: number;
  /** The batch size that was timed. */
  batch: number;
  /** Evaluations the task makes: [n, n] when counted or measured, a range when typical. */
  nfe: [number, number];
  /** nfe x secondsPerEvaluation. */
  seconds: [number, number];
  /**
   * Where nfe comes from: 'counted' (exact for the solver), 'measured' (this model's last adaptive
   * run), 'typical' (a stated range: the first adaptive or stochastic run).
   */
  basis: 'counted' | 'measured' | 'typical';
  /** True when this call timed the model (false: a cached timing). */
  timedNow: boolean;
}

/** Latent-studio results kept for a model: the run that holds them and their files. */
export interface SavedLatentResults {
  runId: string | null;
  artifacts: { id: number; name: string; mime: string; bytes: number; createdAt: number }[];
}

export interface ExportFile {
  name: string;
  mime: string;
  /** File bytes, base64. */
  base64: string;
}

export interface LatentModelInfo {
  spec: string;
  label: string;
  kind: 'shipped' | 'run';
  shape: number[];
  numClasses: number;
}

export interface Replies {
  appInfo: AppInfo;
  settings: Settings;
  listPresets: Preset[];
  validateConfig: Validation;
  createRun: RunDetail;
  listRuns: RunRow[];
  getRun: RunDetail;
  renameRun: RunDetail;
  deleteRun: { deleted: string };
  startRun: RunDetail;
  pauseRun: RunDetail;
  resumeRun: RunDetail;
  cancelRun: RunDetail;
  getMetrics: Series[];
  latestSample: SampleView | null;
  sampleNow: SampleResult;
  vectorField: FieldView;
  sampleQuality: QualityCurve;
  invertPoints: InvertedPoints;
  compareRuns: Comparison;
  exportRun: ExportFile[];
  exportArchive: ExportFile;
  estimateTraining: TrainingEstimate;
  estimateTask: TaskEstimate;
  cancelTask: { cancelled: boolean };
  latentModels: LatentModelInfo[];
  /**
   * The result of the task's op: any op's here (what a host's generic `call` returns); the
   * renderer's `studio.latentRun` and the service's handler narrow it to the op's (LatentRunCall).
   */
  latentRun: LatentTaskResults[LatentOp];
  latentCancel: { cancelled: boolean };
  latentSave: { runId: string; artifacts: { id: number; name: string }[] };
  latentExport: ExportFile[];
  latentSaved: SavedLatentResults;
}

/** Progress of a latent task (or any long compute task started with a taskId). */
export interface TaskEvent {
  taskId: string;
  stage: string;
  fraction: number;
  nfe: number;
}

/** Training events as the renderer receives them (main/training/protocol.ts WorkerEvent, JSON-safe). */
export type RunEvent =
  | { type: 'started'; runId: string; totalSteps: number; startStep: number; backend: string; threads?: number }
  | {
      type: 'progress';
      runId: string;
      step: number;
      totalSteps: number;
      loss: number | null;
      lossSmoothed: number | null;
      lr: number;
      stepsPerSec: number;
      etaSec: number | null;
    }
  | { type: 'sample'; runId: string; step: number; sampleId: number; kind: 'points' | 'image-grid' }
  | { type: 'checkpoint'; runId: string; step: number }
  | { type: 'paused'; runId: string; step: number }
  | { type: 'resumed'; runId: string; step: number }
  | { type: 'finished'; runId: string; status: RunStatus; step: number; error?: string };

// ---- Errors and envelopes ------------------------------------------------------------------------

export type ErrorCode = 'invalid' | 'not-found' | 'conflict' | 'failed' | 'unauthorized' | 'cancelled';

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** The request field (dotted path) the error is about, if any. */
  field?: string;
  /** Every schema issue of an invalid config. */
  issues?: FieldIssue[];
}

export type Envelope<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

/** What the renderer sees thrown for a failed call: the host's error with its code and field. */
export class StudioError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly issues?: FieldIssue[];
  constructor(info: ErrorInfo) {
    super(info.message);
    this.name = 'StudioError';
    this.code = info.code;
    if (info.field !== undefined) this.field = info.field;
    if (info.issues !== undefined) this.issues = info.issues;
  }
}

/** The value of a reply, or the StudioError it carries. */
export function unwrap<T>(env: Envelope<T>): T {
  if (env.ok) return env.value;
  throw new StudioError(env.error);
}

/** Methods whose reply type does not depend on the request. */
type PlainMethod = Exclude<Method, 'latentRun'>;

/** The API the renderer sees as window.studio (Electron) or through the web client. */
export type StudioApi = {
  [M in PlainMethod]: (req?: Request<M>) => Promise<Replies[M]>;
} & {
  /** One latent computation; the reply is the result of the task's op. */
  latentRun: LatentRunCall;
  /** Subscribes to training events of every run; returns the unsubscribe function. */
  onRunEvent(listener: (e: RunEvent) => void): () => void;
  /** Subscribes to progress of compute tasks started with a taskId. */
  onTaskEvent(listener: (e: TaskEvent) => void): () => void;
};

/**
 * What the preload exposes as window.studio: the same methods returning envelopes (the renderer's
 * bridge unwraps them; an Error thrown across contextBridge would lose its code and field).
 */
export type StudioBridge = {
  [M in PlainMethod]: (req?: Request<M>) => Promise<Envelope<Replies[M]>>;
} & {
  latentRun<O extends LatentOp>(req: LatentRunRequest<O>): Promise<Envelope<LatentTaskResults[O]>>;
} & Pick<StudioApi, 'onRunEvent' | 'onTaskEvent'>;

export const METHODS = Object.keys(contract) as Method[];
