/**
 * The run store's public surface: open a RunStore on a file and use its repository methods.
 * No Electron imports: Electron main, the CLI and worker threads all use it.
 */
export { RunStore, type RunStoreOptions } from './store';
export { summariseConfig } from './summary';
export { defaultDataDir, defaultDbPath, DB_FILE_NAME } from './paths';
export { MIGRATIONS, SCHEMA_VERSION, APPLICATION_ID, migrate, assertCompatible, type Migration, type MigrationResult } from './schema';
export { TRANSITIONS, FINISHED_STATUSES, canTransition } from '../../common/runs';
export { newRunId, runIdTime } from './ids';
export {
  thisProcess,
  processAlive,
  describeOwner,
  HEARTBEAT_INTERVAL_MS,
  LEASE_STALE_AFTER_MS,
  type OwnerIdentity,
  type OwnerProbe,
  type Lease,
} from './owner';
export {
  StoreError,
  NotFoundError,
  TransitionError,
  StoreInputError,
  SchemaError,
  StoreFileError,
  StoreRuntimeError,
  OwnershipError,
  LeaseLostError,
  type RecordKind,
  type StoreFileReason,
  type StoreFailure,
} from './errors';
export type { StoreAccess, StoreConnection } from './open';
export {
  backupStore,
  startBackup,
  listBackups,
  readBackupStatus,
  backupDir,
  type BackupOptions,
  type BackupResult,
  type BackupOutcome,
  type BackupFile,
  type BackgroundBackup,
} from './backup';
export { recoverStore, type RecoverReport, type RecoveredRun } from './recover';
export {
  RUN_STATUSES,
  SAMPLE_KINDS,
  type JsonValue,
  type JsonObject,
  type RunStatus,
  type NewRun,
  type RunRecord,
  type RunListItem,
  type RunOwner,
  type ListRunsOptions,
  type SetStatusOptions,
  type MetricRow,
  type MetricQuery,
  type MetricSeries,
  type NewCheckpoint,
  type CheckpointInfo,
  type Checkpoint,
  type SampleKind,
  type NewSample,
  type SampleInfo,
  type Sample,
  type NewArtifact,
  type ArtifactInfo,
  type Artifact,
  type RunExport,
  type InterruptedRuns,
  type IntegrityReport,
} from './types';
