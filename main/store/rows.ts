/**
 * Row shapes as SQLite returns them (snake_case, JSON as text, 0/1 booleans) and their mapping to the
 * public records in types.ts. Column lists name blob columns separately so listings never select them.
 */
import { parseJsonObject } from './json';
import { leaseLiveness, type Lease, type OwnerProbe } from './owner';
import type { ArtifactInfo, Checkpoint, CheckpointInfo, RunOwner, RunRecord, RunStatus, SampleInfo } from './types';

/** A row of runs (all columns). */
export interface RunRow {
  id: string;
  name: string;
  config: string;
  status: RunStatus;
  backend: string;
  backend_version: string | null;
  seed: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  parent_run_id: string | null;
  step: number;
  error: string | null;
  summary: string | null;
  owner_host: string | null;
  owner_pid: number | null;
  owner_boot: string | null;
  owner_started: number | null;
  /** Non-null while a lease is held ('' for a lease migrated from schema 1, which had no nonce). */
  owner_nonce: string | null;
  heartbeat_at: number | null;
}

/** A row of checkpoints; the blob columns only when selected. */
export interface CheckpointRow {
  id: number;
  run_id: string;
  step: number;
  created_at: number;
  is_ema_included: number;
  model_bytes: number;
  optimizer_bytes: number | null;
  ema_bytes: number | null;
  meta: string;
  model?: Uint8Array;
  optimizer?: Uint8Array | null;
  ema?: Uint8Array | null;
}

/** A row of samples; data only when selected (BLOB, or JSON text). */
export interface SampleRow {
  id: number;
  run_id: string;
  step: number;
  kind: SampleInfo['kind'];
  encoding: SampleInfo['encoding'];
  bytes: number;
  meta: string;
  created_at: number;
  data?: Uint8Array | string;
}

/** A row of artifacts; data only when selected. */
export interface ArtifactRow {
  id: number;
  run_id: string;
  name: string;
  mime: string;
  bytes: number;
  meta: string;
  created_at: number;
  data?: Uint8Array;
}

/** Column lists: every runs column; the metadata (non-blob) columns of the others. */
export const RUN_COLUMNS = `id, name, config, status, backend, backend_version, seed, created_at, started_at, finished_at,
  updated_at, parent_run_id, step, error, summary, owner_host, owner_pid, owner_boot, owner_started, owner_nonce, heartbeat_at`;
export const CHECKPOINT_INFO = `id, run_id, step, created_at, is_ema_included, model_bytes, optimizer_bytes, ema_bytes, meta`;
export const SAMPLE_INFO = `id, run_id, step, kind, encoding, bytes, meta, created_at`;
export const ARTIFACT_INFO = `id, run_id, name, mime, bytes, meta, created_at`;

/** The lease of a run row, or null when none is held. */
export function leaseOf(r: RunRow): Lease | null {
  if (r.owner_nonce === null || r.owner_pid === null || r.owner_host === null) return null;
  return {
    owner: { host: r.owner_host, boot: r.owner_boot, pid: r.owner_pid, started: r.owner_started, nonce: r.owner_nonce },
    heartbeatAt: r.heartbeat_at,
  };
}

/** The public view of a lease: who, when last heard of, and whether that owner still exists. */
export function toRunOwner(lease: Lease | null, probe: OwnerProbe): RunOwner | null {
  if (!lease) return null;
  const live = leaseLiveness(lease, probe);
  return {
    host: lease.owner.host,
    pid: lease.owner.pid,
    heartbeatAt: lease.heartbeatAt,
    alive: live.alive,
    self: live.alive && live.self,
    gone: live.alive ? null : live.why,
  };
}

/**
 * A run is interrupted when it should be training but its owner is gone: 'running' without a live
 * owner, or 'queued' by a process that died before starting it. (A 'queued' run with no lease was
 * created without being started and simply waits.)
 */
export function isInterrupted(status: RunStatus, owner: RunOwner | null): boolean {
  if (status === 'running') return !owner?.alive;
  if (status === 'queued') return owner !== null && !owner.alive;
  return false;
}

export function toRunRecord(r: RunRow, probe: OwnerProbe): RunRecord {
  const owner = toRunOwner(leaseOf(r), probe);
  return {
    id: r.id,
    name: r.name,
    config: parseJsonObject(r.config),
    status: r.status,
    backend: r.backend,
    backendVersion: r.backend_version,
    seed: r.seed,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
    parentRunId: r.parent_run_id,
    step: r.step,
    error: r.error,
    summary: r.summary === null ? null : parseJsonObject(r.summary),
    ownerHost: r.owner_host,
    ownerPid: r.owner_pid,
    owner,
    interrupted: isInterrupted(r.status, owner),
  };
}

export function toCheckpointInfo(r: CheckpointRow): CheckpointInfo {
  return {
    id: r.id,
    runId: r.run_id,
    step: r.step,
    createdAt: r.created_at,
    isEmaIncluded: r.is_ema_included === 1,
    modelBytes: r.model_bytes,
    optimizerBytes: r.optimizer_bytes,
    emaBytes: r.ema_bytes,
    meta: parseJsonObject(r.meta),
  };
}

export function toCheckpoint(r: CheckpointRow): Checkpoint {
  return { ...toCheckpointInfo(r), model: r.model!, optimizer: r.optimizer ?? null, ema: r.ema ?? null };
}

export function toSampleInfo(r: SampleRow): SampleInfo {
  return {
    id: r.id,
    runId: r.run_id,
    step: r.step,
    kind: r.kind,
    encoding: r.encoding,
    bytes: r.bytes,
    meta: parseJsonObject(r.meta),
    createdAt: r.created_at,
  };
}

export function toArtifactInfo(r: ArtifactRow): ArtifactInfo {
  return {
    id: r.id,
    runId: r.run_id,
    name: r.name,
    mime: r.mime,
    bytes: r.bytes,
    meta: parseJsonObject(r.meta),
    createdAt: r.created_at,
  };
}
