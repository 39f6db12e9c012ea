/**
 * Typed errors of the run store. They extend core's FlowStudioError so the IPC layer can send any of
 * them to the renderer the same way, and each message names the id, field or state at fault.
 */
import { FlowStudioError } from '../../core/errors';
import type { RunStatus } from './types';

/** Base class of every error the run store throws on purpose (SQLite's own errors pass through). */
export class StoreError extends FlowStudioError {}

/** What kind of record a NotFoundError is about. */
export type RecordKind = 'run' | 'checkpoint' | 'sample' | 'artifact';

/** No record with this id, e.g. "run 01JD3X... not found". */
export class NotFoundError extends StoreError {
  readonly kind: RecordKind;
  readonly id: string | number;
  constructor(kind: RecordKind, id: string | number, detail?: string) {
    super(`${kind} ${JSON.stringify(id)} not found${detail ? ` (${detail})` : ''}`);
    this.kind = kind;
    this.id = id;
  }
}

/** A status change the lifecycle does not allow, e.g. "completed -> running". */
export class TransitionError extends StoreError {
  readonly runId: string;
  readonly from: RunStatus;
  readonly to: RunStatus;
  constructor(runId: string, from: RunStatus, to: RunStatus, allowed: readonly RunStatus[]) {
    const options = allowed.length > 0 ? `allowed from '${from}': ${allowed.join(', ')}` : `'${from}' is final`;
    super(`run ${runId}: cannot change status from '${from}' to '${to}' (${options})`);
    this.runId = runId;
    this.from = from;
    this.to = to;
  }
}

/** An argument is unusable. `field` is its path, e.g. "metrics[3].step" or "config.lr". */
export class StoreInputError extends StoreError {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/**
 * The file cannot be opened as this version's run store: it was written by a newer Flow Studio
 * ('too-new'), or it is some other application's SQLite database ('foreign'). The file is left as it was.
 */
export class SchemaError extends StoreError {
  readonly reason: 'too-new' | 'foreign';
  readonly path: string;
  constructor(reason: 'too-new' | 'foreign', path: string, message: string) {
    super(message);
    this.reason = reason;
    this.path = path;
  }
}

/** Why a store file cannot be used; see StoreFileError. */
export type StoreFileReason = 'folder' | 'not-a-database' | 'damaged' | 'permission' | 'read-only' | 'missing';

/**
 * The file at `path` cannot be used as a run store, for a reason the user can act on: it is a folder,
 * not a SQLite database, damaged, unreadable or unwritable for this user, or absent. The message
 * names the file and says what to do; nothing was written to the file. `problems` lists the first
 * problems PRAGMA quick_check reported for a damaged file.
 */
export class StoreFileError extends StoreError {
  readonly reason: StoreFileReason;
  readonly path: string;
  readonly problems: readonly string[];
  constructor(reason: StoreFileReason, path: string, message: string, options: { problems?: readonly string[]; cause?: unknown } = {}) {
    super(message);
    this.reason = reason;
    this.path = path;
    this.problems = options.problems ?? [];
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * What went wrong when SQLite failed during an operation on a store that opened fine:
 * - 'disk-full': the drive has no room for the file or its WAL (SQLITE_FULL);
 * - 'busy': another connection held the lock longer than the busy timeout (SQLITE_BUSY/LOCKED);
 * - 'io': the operating system failed a read or write (SQLITE_IOERR, SQLITE_CANTOPEN);
 * - 'sqlite': any other SQLite error (a misuse or a constraint the store should have checked: a bug).
 */
export type StoreFailure = 'disk-full' | 'busy' | 'io' | 'sqlite';

/**
 * A SQLite error during a store operation, with a message that starts with the file's path and says
 * what happened in plain words. The operation's transaction was rolled back. `code` is SQLite's
 * extended code (e.g. 'SQLITE_IOERR_WRITE'); the original error is the `cause`.
 */
export class StoreRuntimeError extends StoreError {
  readonly failure: StoreFailure;
  readonly path: string;
  readonly code: string;
  constructor(failure: StoreFailure, path: string, code: string, message: string, cause?: unknown) {
    super(message);
    this.failure = failure;
    this.path = path;
    this.code = code;
    if (cause !== undefined) this.cause = cause;
  }
}

/**
 * The run is held by another live process (main/store/owner.ts): it alone may write the run's
 * progress, rename, delete or resume it. The message says who and what to do.
 */
export class OwnershipError extends StoreError {
  readonly runId: string;
  readonly ownerHost: string;
  readonly ownerPid: number;
  constructor(runId: string, owner: { host: string; pid: number }, action: string) {
    super(
      `run ${runId} is being trained by process ${owner.pid} on ${owner.host}: cannot ${action} it here; ` +
        'pause or cancel it in that process (or wait until it ends)',
    );
    this.runId = runId;
    this.ownerHost = owner.host;
    this.ownerPid = owner.pid;
  }
}

/**
 * This process held a run's lease and no longer does: the run was deleted, finished by another
 * process, or taken over after this process was judged gone. Its trainer must stop writing.
 */
export class LeaseLostError extends StoreError {
  readonly runId: string;
  constructor(runId: string) {
    super(`run ${runId}: this process no longer holds the run (deleted, or taken over by another process); stopping without writing`);
    this.runId = runId;
  }
}
