/**
 * The records the run store reads and writes. Times are milliseconds since the Unix epoch; steps are
 * non-negative integers; blobs are opaque bytes produced by the engine (serialised tensors, PNGs ...).
 */

import type { RunOwner, RunStatus } from '../../common/runs';

export { RUN_STATUSES, type RunListItem, type RunOwner, type RunStatus } from '../../common/runs';

/** A value JSON can carry. The store refuses NaN and Infinity in JSON columns (JSON has neither). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What createRun needs. `config` must be a plain JSON object (the experiment as configured). */
export interface NewRun {
  name: string;
  config: object;
  /** Compute backend that will train it, e.g. 'wasm', 'cpu', 'tensorflow'. */
  backend: string;
  backendVersion?: string | null;
  seed?: number | null;
  /** The run whose samples this run was trained on (reflow); must exist. */
  parentRunId?: string | null;
}

/** One run as stored. */
export interface RunRecord {
  id: string;
  name: string;
  config: JsonObject;
  status: RunStatus;
  backend: string;
  backendVersion: string | null;
  seed: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
  parentRunId: string | null;
  /** The last training step the run reported (through metrics or a checkpoint). */
  step: number;
  /** Why the run failed, or a note on why it was paused (e.g. interrupted by a crash). */
  error: string | null;
  /** Final metrics, set when the run finishes. */
  summary: JsonObject | null;
  /** The process that holds (or last held) the run's lease: host name and pid. */
  ownerHost: string | null;
  ownerPid: number | null;
  /** The lease on the run, with the verdict on its owner (see main/store/owner.ts); null when none is held. */
  owner: RunOwner | null;
  /** True when the run should be training but its owner is gone (resumable from its last checkpoint). */
  interrupted: boolean;
}

/** Options of listRuns. */
export interface ListRunsOptions {
  status?: RunStatus | readonly RunStatus[];
  /** Metric shown as finalLoss (default 'loss'). */
  lossMetric?: string;
  /** Newest first (the default) or oldest first. */
  order?: 'newest' | 'oldest';
  limit?: number;
}

/** Options of setStatus. */
export interface SetStatusOptions {
  /** Failure message or note (stored on failed/diverged/paused; cleared when the run restarts). */
  error?: string | null;
  /** Final metrics (usually given with 'completed'). */
  summary?: object | null;
  /**
   * Owner recorded when going to 'running' without holding the lease already (default: this
   * process). Naming another process records a lease for it (imports, tests of other owners).
   */
  owner?: { host: string; pid: number };
}

/** One metric value at one step. NaN is allowed (a diverged loss) and reads back as NaN. */
export interface MetricRow {
  step: number;
  name: string;
  value: number;
  /** When it was measured; default now. */
  wallTime?: number;
}

/** Options of getMetrics. At most one of everyNth and maxPoints. */
export interface MetricQuery {
  /** Only steps >= fromStep (e.g. to fetch what is new since the last poll). */
  fromStep?: number;
  /** Only steps <= toStep. */
  toStep?: number;
  /** Keep the 1st, (n+1)th, (2n+1)th ... point of each series. */
  everyNth?: number;
  /** Keep at most this many points per series, evenly spaced in step, always the first and the last
   * (all of them when they fit). See RunStore.getMetrics. */
  maxPoints?: number;
}

/** One metric as parallel arrays (what a chart wants), ordered by step. */
export interface MetricSeries {
  name: string;
  steps: number[];
  values: number[];
  wallTimes: number[];
}

/** What saveCheckpoint writes. Blobs are stored as given and returned byte for byte. */
export interface NewCheckpoint {
  step: number;
  model: Uint8Array;
  optimizer?: Uint8Array | null;
  ema?: Uint8Array | null;
  meta?: object;
}

/** A checkpoint without its blobs (cheap to list). */
export interface CheckpointInfo {
  id: number;
  runId: string;
  step: number;
  createdAt: number;
  isEmaIncluded: boolean;
  modelBytes: number;
  optimizerBytes: number | null;
  emaBytes: number | null;
  meta: JsonObject;
}

/** A checkpoint with its blobs. */
export interface Checkpoint extends CheckpointInfo {
  model: Uint8Array;
  optimizer: Uint8Array | null;
  ema: Uint8Array | null;
}

export const SAMPLE_KINDS = ['points', 'image-grid', 'trajectory'] as const;
export type SampleKind = (typeof SAMPLE_KINDS)[number];

/** What addSample writes: bytes (e.g. a Float32Array's buffer, a PNG) or a JSON value. */
export interface NewSample {
  step: number;
  kind: SampleKind;
  data: Uint8Array | JsonValue;
  meta?: object;
}

export interface SampleInfo {
  id: number;
  runId: string;
  step: number;
  kind: SampleKind;
  /** 'bytes' when data is a Uint8Array, 'json' otherwise. */
  encoding: 'bytes' | 'json';
  /** Size of the stored data in bytes (UTF-8 JSON text for 'json'). */
  bytes: number;
  meta: JsonObject;
  createdAt: number;
}

export interface Sample extends SampleInfo {
  data: Uint8Array | JsonValue;
}

/** What addArtifact writes: a file-like blob (PNG, CSV, exported model, latents). */
export interface NewArtifact {
  name: string;
  mime: string;
  data: Uint8Array;
  meta?: object;
}

export interface ArtifactInfo {
  id: number;
  runId: string;
  name: string;
  mime: string;
  bytes: number;
  meta: JsonObject;
  createdAt: number;
}

export interface Artifact extends ArtifactInfo {
  data: Uint8Array;
}

/** What exportRun returns: everything but the blobs, as plain JSON-able data. */
export interface RunExport {
  format: 'flow-studio-run';
  formatVersion: 1;
  exportedAt: number;
  run: RunRecord;
  /** NaN values become null under JSON.stringify. */
  metrics: MetricSeries[];
  checkpoints: CheckpointInfo[];
  samples: SampleInfo[];
  artifacts: ArtifactInfo[];
}

/** Result of markInterruptedRuns. */
export interface InterruptedRuns {
  /**
   * Runs whose owner is gone, changed from 'running' (or 'queued') to 'paused' when a checkpoint
   * exists, else to 'failed' ('running') or 'cancelled' ('queued': it never started).
   */
  paused: string[];
  failed: string[];
  cancelled: string[];
  /** 'running' or 'queued' runs left alone: their owner is alive (this process included). */
  skipped: string[];
}

/** Result of integrityCheck. */
export interface IntegrityReport {
  ok: boolean;
  /** Rows of PRAGMA integrity_check (['ok'] when sound). */
  integrity: string[];
  /** Rows of PRAGMA foreign_key_check (dangling references), as text. */
  foreignKeyProblems: string[];
}
