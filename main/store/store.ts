/**
 * The run store: one SQLite file holding runs, their metrics, checkpoints, samples and artifacts.
 *
 * Plain Node + better-sqlite3 (no Electron), so Electron's main process, the CLI and training worker
 * threads can each open it. One RunStore is one connection and belongs to the thread that opened it;
 * several connections (threads or processes) may share the file: WAL lets readers proceed while one
 * writer writes, and every write here is a short BEGIN IMMEDIATE transaction that waits up to
 * `busyTimeoutMs` for another writer.
 *
 * Every public method either completes or throws having written nothing: validation happens before
 * the first write, and each method's writes share one transaction.
 *
 * @example
 * const store = RunStore.open(defaultDbPath());
 * const run = store.createRun({ name: 'moons', config, backend: 'wasm' });
 * store.setStatus(run.id, 'running');
 * store.appendMetrics(run.id, [{ step: 1, name: 'loss', value: 0.93 }]);
 * store.saveCheckpoint(run.id, { step: 1, model: bytes });
 * store.close();
 */
import Database from 'better-sqlite3';
import { NotFoundError, OwnershipError, StoreError, StoreInputError, TransitionError } from './errors';
import { newRunId } from './ids';
import { objectToJsonText, parseJson, toJsonText } from './json';
import {
  ARTIFACT_INFO,
  CHECKPOINT_INFO,
  RUN_COLUMNS,
  SAMPLE_INFO,
  toArtifactInfo,
  toCheckpoint,
  toCheckpointInfo,
  isInterrupted,
  leaseOf,
  toRunOwner,
  toRunRecord,
  toSampleInfo,
  type ArtifactRow,
  type CheckpointRow,
  type RunRow,
  type SampleRow,
} from './rows';
import { nameTrees, openStoreFile, type StoreAccess, type StoreConnection } from './open';
import { migrate } from './schema';
import { translateSqliteError, translateStoreErrors } from './sqlite-errors';
import { canTransition, FINISHED_STATUSES, TRANSITIONS } from '../../common/runs';
import { summariseConfig } from './summary';
import {
  SAMPLE_KINDS,
  type Artifact,
  type ArtifactInfo,
  type Checkpoint,
  type CheckpointInfo,
  type IntegrityReport,
  type InterruptedRuns,
  type ListRunsOptions,
  type MetricQuery,
  type MetricRow,
  type MetricSeries,
  type NewArtifact,
  type NewCheckpoint,
  type NewRun,
  type NewSample,
  type RunExport,
  type RunListItem,
  type RunRecord,
  type RunStatus,
  type Sample,
  type SampleInfo,
  type SetStatusOptions,
} from './types';
import { checkBytes, checkName, checkPositiveInt, checkStatus, checkStep, optionalBytes } from './validate';
import { leaseLiveness, systemProbe, type OwnerIdentity, type OwnerProbe } from './owner';

export { processAlive } from './owner';

/** Options of RunStore.open. */
export interface RunStoreOptions {
  /** Checkpoints saveCheckpoint keeps per run, newest first (default 3; at least 1). */
  keepCheckpoints?: number;
  /** How long a write waits for another connection's write lock, in ms (default 5000). */
  busyTimeoutMs?: number;
  /** The clock (ms since the epoch); tests pass a fake one. */
  now?: () => number;
  /** How owners are judged alive (main/store/owner.ts); tests pass their own process table. */
  ownerProbe?: Partial<OwnerProbe>;
  /**
   * 'write' (default): may change the file; creates it (and its folder) when absent unless `create` is
   * false. 'read': creates nothing and writes nothing (but for upgrading, once, an older store it may
   * write), works on read-only files and folders; the store's writing methods throw. See open.ts.
   */
  access?: StoreAccess;
  /**
   * Check the file with PRAGMA quick_check before use (default true): every page for 'write', the runs
   * table for 'read'. Worker threads opening a store their host already verified pass false.
   */
  verify?: boolean;
  /** For access 'write': create the file when absent (default true); false throws StoreFileError 'missing'. */
  create?: boolean;
}

/** Cap on the WAL file left on disk after a checkpoint: without it one large checkpoint write leaves a
 * WAL as big as the blob for the life of the connection. */
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;

/** The run store. Create with RunStore.open; close when done. See the file comment. */
export class RunStore {
  /** Path of the database file. */
  readonly path: string;
  /** Journal mode actually in effect: 'wal' unless the filesystem cannot share memory (some network drives). */
  readonly journalMode: string;
  /** What the store was opened for; a 'read' store refuses to write. */
  readonly access: StoreAccess;
  /** How it reaches the file: a normal connection, a readonly one, or a private snapshot copy (open.ts). */
  readonly connection: StoreConnection;
  /** How long a write waits for another connection's lock, in ms. */
  readonly busyTimeoutMs: number;
  private readonly db: Database.Database;
  private readonly keepCheckpoints: number;
  private readonly now: () => number;
  /** Judges run owners; `self` is this process. */
  readonly probe: OwnerProbe;
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();

  private constructor(
    db: Database.Database,
    /** Closes the connection and removes what it needed (a snapshot's copy). */
    private readonly release: () => void,
    options: RunStoreOptions,
    path: string,
    connection: StoreConnection,
    busyTimeoutMs: number,
  ) {
    this.db = db;
    this.path = path;
    this.access = options.access ?? 'write';
    this.connection = connection;
    this.busyTimeoutMs = busyTimeoutMs;
    this.keepCheckpoints = checkPositiveInt(options.keepCheckpoints ?? 3, 'keepCheckpoints');
    this.now = options.now ?? Date.now;
    this.probe = systemProbe({ now: this.now, ...options.ownerProbe });
    this.journalMode = String(db.pragma('journal_mode', { simple: true }));
  }

  /**
   * Opens (creating if needed, with its folder) the run store at `path` and migrates it to the current
   * schema.
   *
   * PRAGMAs, and why:
   * - journal_mode = WAL: readers (the UI polling metrics) never block the training writer and vice
   *   versa, and a commit is one sequential append to the WAL.
   * - synchronous = NORMAL: in WAL mode this stays crash-safe (a killed process loses nothing committed;
   *   a power cut may lose the last few commits but never corrupts the file or splits a transaction).
   *   FULL would fsync on every metrics flush for no gain in consistency. saveCheckpoint alone commits
   *   with FULL, see there.
   * - foreign_keys = ON: SQLite's default is off; cascades (delete a run, its rows go) rely on it.
   * - busy_timeout: a writer waits for another connection's short transaction instead of failing.
   * - journal_size_limit: truncates the WAL after checkpoints (blobs otherwise leave it huge).
   *
   * Every check (what the file is, permissions, the version, PRAGMA quick_check) runs BEFORE any
   * PRAGMA that writes (journal_mode = WAL rewrites the header), so a folder, a foreign or damaged file,
   * or one from a newer release is refused byte-for-byte untouched; see open.ts. With access 'read'
   * none of the writing PRAGMAs run, and only an older store this process may write is migrated.
   *
   * @throws StoreFileError (folder, not-a-database, damaged, permission, read-only, missing) naming the
   *   file; SchemaError for a newer or foreign file.
   */
  static open(path: string, options: RunStoreOptions = {}): RunStore {
    const busyTimeoutMs = checkPositiveInt(options.busyTimeoutMs ?? 5000, 'busyTimeoutMs', 0);
    const access = options.access ?? 'write';
    if (access !== 'write' && access !== 'read')
      throw new StoreInputError('access', `must be 'write' or 'read'; got ${JSON.stringify(access)}`);
    const memory = path === ':memory:' ? new Database(path) : null;
    const {
      db,
      release,
      connection,
      migrate: upgrade,
    } = memory
      ? { db: memory, release: () => memory.close(), connection: 'read-write' as const, migrate: true }
      : openStoreFile(path, { access, verify: options.verify ?? true, create: options.create ?? true, busyTimeoutMs });
    try {
      db.pragma('foreign_keys = ON');
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      if (access === 'write') {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
      }
      // Writers; readers of a snapshot copy; a reader upgrading an older store it may write (open.ts).
      if (upgrade) migrate(db);
      return new RunStore(db, release, options, path, connection, busyTimeoutMs);
    } catch (err) {
      release();
      throw translateSqliteError(err, path, busyTimeoutMs);
    }
  }

  /** Schema version of the open file (always SCHEMA_VERSION after open). */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Closes the connection (after letting SQLite refresh its query statistics, when writing). Safe to call twice. */
  close(): void {
    if (!this.db.open) return;
    try {
      if (this.access === 'write') this.db.pragma('optimize'); // may write sqlite_stat1
    } finally {
      this.release();
    }
  }

  /** Throws unless the store was opened for writing (a reader calling a writer is a bug). */
  private assertWritable(): void {
    if (this.access !== 'write') throw new StoreError(`${this.path} was opened for reading; open it with access 'write' to change it`);
  }

  private stmt<Row>(sql: string): Database.Statement<unknown[], Row> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s as Database.Statement<unknown[], Row>;
  }

  /** Runs `fn` in one BEGIN IMMEDIATE transaction: the write lock is taken first, so a read-then-write
   * sequence cannot fail halfway with SQLITE_BUSY when another connection commits in between. */
  private write<T>(fn: () => T): T {
    this.assertWritable();
    return this.db.transaction(fn).immediate();
  }

  private runRow(id: string): RunRow {
    if (typeof id !== 'string') throw new StoreInputError('runId', `must be a string; got ${typeof id}`);
    const row = this.stmt<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id);
    if (!row) throw new NotFoundError('run', id);
    return row;
  }

  /**
   * The run's row, for a write that only its owner may make: throws OwnershipError when another live
   * process holds the run's lease (main/store/owner.ts). Call inside the write transaction.
   */
  private writableRow(id: string, action: string): RunRow {
    const row = this.runRow(id);
    const lease = leaseOf(row);
    if (lease) {
      const live = leaseLiveness(lease, this.probe);
      if (live.alive && !live.self) throw new OwnershipError(id, lease.owner, action);
    }
    return row;
  }

  /** Lease columns for an owner, in the order of LEASE_SET. */
  private leaseValues(
    owner: OwnerIdentity | null,
  ): [string | null, number | null, string | null, number | null, string | null, number | null] {
    if (!owner) return [null, null, null, null, null, null];
    return [owner.host, owner.pid, owner.boot, owner.started, owner.nonce, this.now()];
  }

  /** Throws NotFoundError unless the run exists (a cheap primary-key probe; the row is not read). */
  private requireRun(id: string): void {
    if (typeof id !== 'string') throw new StoreInputError('runId', `must be a string; got ${typeof id}`);
    if (!this.stmt('SELECT 1 FROM runs WHERE id = ?').get(id)) throw new NotFoundError('run', id);
  }

  // ---------------------------------------------------------------- runs

  /** Creates a run in status 'queued' with a new time-sortable id. */
  createRun(input: NewRun): RunRecord {
    const name = checkName(input.name, 'name');
    const config = objectToJsonText(input.config, 'config');
    const backend = checkName(input.backend, 'backend');
    const backendVersion = input.backendVersion ?? null;
    if (backendVersion !== null && typeof backendVersion !== 'string') {
      throw new StoreInputError('backendVersion', `must be a string or null; got ${typeof backendVersion}`);
    }
    const seed = input.seed ?? null;
    if (seed !== null && !Number.isSafeInteger(seed)) {
      throw new StoreInputError('seed', `must be an integer or null; got ${seed}`);
    }
    const parent = input.parentRunId ?? null;
    return this.write(() => {
      if (parent !== null && !this.stmt('SELECT 1 FROM runs WHERE id = ?').get(parent)) {
        throw new NotFoundError('run', parent, 'parentRunId');
      }
      const now = this.now();
      const id = newRunId(now);
      this.stmt(
        `INSERT INTO runs (id, name, config, status, backend, backend_version, seed, created_at, updated_at, parent_run_id)
         VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`,
      ).run(id, name, config, backend, backendVersion, seed, now, now, parent);
      return this.getRun(id);
    });
  }

  /** The run with this id. @throws NotFoundError */
  getRun(id: string): RunRecord {
    return toRunRecord(this.runRow(id), this.probe);
  }

  /**
   * Runs for the runs table, newest first by default, with the columns it shows. finalLoss is the
   * latest value of `lossMetric` (default 'loss'), found through the metrics primary key in O(log n).
   */
  listRuns(options: ListRunsOptions = {}): RunListItem[] {
    const lossMetric = options.lossMetric ?? 'loss';
    const statuses = options.status === undefined ? null : Array.isArray(options.status) ? options.status : [options.status];
    statuses?.forEach((s, i) => checkStatus(s, `status[${i}]`));
    const limit = options.limit === undefined ? -1 : checkPositiveInt(options.limit, 'limit');
    const order = options.order === 'oldest' ? 'ASC' : 'DESC';
    interface Row {
      id: string;
      name: string;
      config: string;
      status: RunStatus;
      step: number;
      backend: string;
      created_at: number;
      updated_at: number;
      parent_run_id: string | null;
      owner_host: string | null;
      owner_pid: number | null;
      owner_boot: string | null;
      owner_started: number | null;
      owner_nonce: string | null;
      heartbeat_at: number | null;
      final_loss: number | string | null;
    }
    // A NULL metric value means NaN (see schema); 'NaN' tells it apart from "no loss logged" (no row).
    const rows = this.stmt<Row>(
      `SELECT r.id, r.name, r.config, r.status, r.step, r.backend, r.created_at, r.updated_at, r.parent_run_id,
              r.owner_host, r.owner_pid, r.owner_boot, r.owner_started, r.owner_nonce, r.heartbeat_at,
              (SELECT ifnull(m.value, 'NaN') FROM metrics m
                WHERE m.run_id = r.id AND m.name = ? ORDER BY m.step DESC LIMIT 1) AS final_loss
         FROM runs r
        WHERE ? IS NULL OR r.status IN (SELECT value FROM json_each(?))
        ORDER BY r.created_at ${order}, r.id ${order}
        LIMIT CAST(? AS INTEGER)`,
    ).all(lossMetric, statuses && JSON.stringify(statuses), statuses && JSON.stringify(statuses), limit);
    return rows.map((r) => {
      const { dataset, path } = summariseConfig(JSON.parse(r.config));
      const owner = toRunOwner(leaseOf(r as unknown as RunRow), this.probe);
      return {
        id: r.id,
        name: r.name,
        dataset,
        path,
        status: r.status,
        step: r.step,
        finalLoss: typeof r.final_loss === 'string' ? NaN : r.final_loss,
        backend: r.backend,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
        parentRunId: r.parent_run_id,
        owner,
        interrupted: isInterrupted(r.status, owner),
      };
    });
  }

  /** Renames a run. @throws NotFoundError, StoreInputError */
  renameRun(id: string, name: string): RunRecord {
    const clean = checkName(name, 'name');
    return this.write(() => {
      this.writableRow(id, 'rename');
      this.stmt('UPDATE runs SET name = ?, updated_at = ? WHERE id = ?').run(clean, this.now(), id);
      return this.getRun(id);
    });
  }

  /**
   * Deletes a run with its metrics, checkpoints, samples and artifacts (foreign-key cascades, one
   * transaction). Reflow children keep their data; their parentRunId becomes null. The file does not
   * shrink (freed pages are reused); see compact. Refused while another live process trains it.
   * @throws NotFoundError, OwnershipError
   */
  deleteRun(id: string): void {
    this.write(() => {
      this.writableRow(id, 'delete');
      this.stmt('DELETE FROM runs WHERE id = ?').run(id);
    });
  }

  /**
   * Changes a run's status, enforcing the lifecycle in status.ts. Side effects: entering 'running'
   * takes the run's lease for this process unless it holds it already (or records `options.owner`),
   * and sets startedAt the first time; entering a finished status sets finishedAt and releases the
   * lease; leaving one clears finishedAt. `error` is kept on failed/diverged, cleared otherwise unless
   * given. Refused while another live process holds the run.
   * @throws NotFoundError, TransitionError (naming both statuses), OwnershipError
   */
  setStatus(id: string, to: RunStatus, options: SetStatusOptions = {}): RunRecord {
    checkStatus(to, 'status');
    const error = options.error;
    if (error !== undefined && error !== null && typeof error !== 'string') {
      throw new StoreInputError('error', `must be a string or null; got ${typeof error}`);
    }
    const summary =
      options.summary === undefined || options.summary === null ? options.summary : objectToJsonText(options.summary, 'summary');
    return this.write(() => {
      const row = this.writableRow(id, `set its status to '${to}'`);
      if (!canTransition(row.status, to)) throw new TransitionError(id, row.status, to, TRANSITIONS[row.status]);
      const now = this.now();
      const running = to === 'running';
      const finished = FINISHED_STATUSES.includes(to);
      this.stmt(`UPDATE runs SET status = ?, updated_at = ?, started_at = ?, finished_at = ?, error = ?, summary = ? WHERE id = ?`).run(
        to,
        now,
        running && row.started_at === null ? now : row.started_at,
        finished ? now : null,
        error !== undefined ? error : to === 'failed' || to === 'diverged' ? row.error : null,
        summary !== undefined ? summary : row.summary,
        id,
      );
      if (running) {
        const other = options.owner;
        const mine = other === undefined || (other.host === this.probe.self.host && other.pid === this.probe.self.pid);
        const held = leaseOf(row);
        if (!mine) {
          // A lease for another process: no nonce is known for it ('' never equals a real one).
          const started = other.host === this.probe.self.host ? this.probe.startedOf(other.pid) : null;
          this.setLease(id, {
            host: other.host,
            pid: other.pid,
            boot: other.host === this.probe.self.host ? this.probe.self.boot : null,
            started,
            nonce: '',
          });
        } else if (!held || !leaseLiveness(held, this.probe).alive) {
          this.setLease(id, this.probe.self);
        }
      } else if (finished) {
        this.setLease(id, null);
      }
      return this.getRun(id);
    });
  }

  private setLease(id: string, owner: OwnerIdentity | null): void {
    this.stmt(
      `UPDATE runs SET owner_host = ?, owner_pid = ?, owner_boot = ?, owner_started = ?, owner_nonce = ?, heartbeat_at = ? WHERE id = ?`,
    ).run(...this.leaseValues(owner), id);
  }

  // ---------------------------------------------------------------- ownership (main/store/owner.ts)

  /**
   * Takes the run's lease for this process, so that it alone writes the run's progress: before it is
   * queued or trained. A lease of a process that is gone is taken over (the run resumes from its
   * last checkpoint); the status is not changed here. Claiming a run this process holds refreshes it.
   * @throws NotFoundError, OwnershipError (another live process holds it)
   */
  claimRun(id: string): RunRecord {
    return this.write(() => {
      this.writableRow(id, 'train');
      this.setLease(id, this.probe.self);
      return this.getRun(id);
    });
  }

  /**
   * Refreshes the heartbeat of runs this process holds (one statement for all). Returns the ids it no
   * longer holds (deleted, finished, or taken over after this process was judged gone): their
   * trainer must stop writing.
   */
  heartbeat(ids: readonly string[]): string[] {
    if (ids.length === 0) return [];
    const me = this.probe.self;
    return this.write(() => {
      const update = this.stmt('UPDATE runs SET heartbeat_at = ? WHERE id = ? AND owner_pid = ? AND owner_nonce = ? AND owner_host = ?');
      const now = this.now();
      return ids.filter((id) => update.run(now, id, me.pid, me.nonce, me.host).changes === 0);
    });
  }

  /** Gives up this process's lease on a run (no-op when it does not hold it or the run is gone). */
  releaseRun(id: string): void {
    const me = this.probe.self;
    this.write(() => {
      this.stmt(
        `UPDATE runs SET owner_host = NULL, owner_pid = NULL, owner_boot = NULL, owner_started = NULL, owner_nonce = NULL, heartbeat_at = NULL
          WHERE id = ? AND owner_pid = ? AND owner_nonce = ? AND owner_host = ?`,
      ).run(id, me.pid, me.nonce, me.host);
    });
  }

  /** Replaces a run's summary (final metrics); any status. @throws NotFoundError, StoreInputError */
  setSummary(id: string, summary: object | null): RunRecord {
    const text = summary === null ? null : objectToJsonText(summary, 'summary');
    return this.write(() => {
      this.writableRow(id, 'set the summary of');
      this.stmt('UPDATE runs SET summary = ?, updated_at = ? WHERE id = ?').run(text, this.now(), id);
      return this.getRun(id);
    });
  }

  /**
   * Records the compute backend a run (re)started on: a run resumed on another machine or backend
   * reports the one that trains it now. @throws NotFoundError
   */
  setBackend(id: string, backend: string, version: string | null): RunRecord {
    return this.write(() => {
      this.writableRow(id, 'record the backend of');
      this.stmt('UPDATE runs SET backend = ?, backend_version = ?, updated_at = ? WHERE id = ?').run(backend, version, this.now(), id);
      return this.getRun(id);
    });
  }

  /**
   * Rolls a run back to `step`: deletes its metrics, samples and checkpoints after that step and sets
   * its step to it, in one transaction. Call before resuming from a checkpoint older than the run's
   * last reported step (after a crash), so charts do not mix the lost timeline with the new one.
   * @throws NotFoundError
   */
  rewindRun(id: string, step: number): { metrics: number; samples: number; checkpoints: number } {
    checkStep(step, 'step');
    return this.write(() => {
      this.writableRow(id, 'rewind');
      const metrics = this.stmt('DELETE FROM metrics WHERE run_id = ? AND step > ?').run(id, step).changes;
      const samples = this.stmt('DELETE FROM samples WHERE run_id = ? AND step > ?').run(id, step).changes;
      const checkpoints = this.stmt('DELETE FROM checkpoints WHERE run_id = ? AND step > ?').run(id, step).changes;
      this.stmt('UPDATE runs SET step = ?, updated_at = ? WHERE id = ?').run(step, this.now(), id);
      return { metrics, samples, checkpoints };
    });
  }

  /**
   * Settles runs whose owner is gone (main/store/owner.ts): a 'running' run becomes 'paused'
   * (resumable, when it has a checkpoint) or 'failed' (no checkpoint to resume from); a 'queued' one
   * becomes 'paused' (it has a checkpoint: it was re-queued after a pause) or 'cancelled' (it never
   * started); either way with a note in `error` naming the lost owner, and the dead lease is dropped.
   * A paused run's dead lease is dropped too. Runs of live owners, this process included, are left
   * alone (skipped). Safe to call at any time from any process: lists show such runs as interrupted
   * already; this makes the state explicit, as the app does when it starts.
   *
   * `to` forces every settled run to one status ('failed' for a clean slate).
   */
  markInterruptedRuns(options: { to?: 'auto' | 'paused' | 'failed' } = {}): InterruptedRuns {
    const mode = options.to ?? 'auto';
    return this.write(() => {
      const result: InterruptedRuns = { paused: [], failed: [], cancelled: [], skipped: [] };
      const rows = this.stmt<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE status IN ('running', 'queued', 'paused') ORDER BY id`).all();
      for (const run of rows) {
        const lease = leaseOf(run);
        const live = lease ? leaseLiveness(lease, this.probe) : null;
        if (live?.alive) {
          if (run.status !== 'paused') result.skipped.push(run.id);
          continue;
        }
        if (run.status === 'paused' || (run.status === 'queued' && !lease)) {
          if (lease) this.setLease(run.id, null);
          continue; // paused: resumable as it is; queued without a lease: created, waiting to be started
        }
        const latest = this.stmt<number>('SELECT max(step) FROM checkpoints WHERE run_id = ?').pluck().get(run.id) ?? null;
        const who = live ? live.why : 'its process stopped';
        const queued = run.status === 'queued';
        const natural: RunStatus = latest !== null ? 'paused' : queued ? 'cancelled' : 'failed';
        const to = mode === 'auto' ? natural : mode;
        const note = queued
          ? `interrupted: ${who} before this queued run started${latest !== null ? `; resumable from the checkpoint at step ${latest}` : '; start it again'}`
          : latest === null
            ? `interrupted: ${who} while the run was running, before its first checkpoint`
            : `interrupted: ${who} while the run was running; resumable from the checkpoint at step ${latest}`;
        const now = this.now();
        this.stmt(`UPDATE runs SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?`).run(
          to,
          note,
          now,
          FINISHED_STATUSES.includes(to) ? now : null,
          run.id,
        );
        this.setLease(run.id, null);
        (to === 'failed' ? result.failed : to === 'cancelled' ? result.cancelled : result.paused).push(run.id);
      }
      return result;
    });
  }

  // ---------------------------------------------------------------- metrics

  /**
   * Writes a batch of metric values in ONE transaction and advances the run's step to the batch's
   * largest step. The engine buffers rows and flushes every so often: one commit per flush instead of
   * one per value is what makes logging cheap (see the throughput test). A value at an existing
   * (name, step) is replaced. NaN and ±Infinity are stored. Returns the number of rows written.
   * @throws NotFoundError, StoreInputError (naming the row, e.g. "metrics[3].step")
   */
  appendMetrics(runId: string, rows: readonly MetricRow[]): number {
    if (!Array.isArray(rows)) throw new StoreInputError('metrics', 'must be an array');
    // Validate every row before the first write, keeping the checked values to insert.
    const clean = rows.map((r, i) => {
      const step = checkStep(r?.step, `metrics[${i}].step`);
      const name = checkName(r.name, `metrics[${i}].name`);
      if (typeof r.value !== 'number') {
        throw new StoreInputError(`metrics[${i}].value`, `must be a number; got ${typeof r.value}`);
      }
      if (r.wallTime !== undefined && !Number.isFinite(r.wallTime)) {
        throw new StoreInputError(`metrics[${i}].wallTime`, `must be a finite number of ms; got ${String(r.wallTime)}`);
      }
      // SQLite stores NaN as NULL anyway; saying so here keeps the mapping explicit (see schema).
      return { step, name, value: Number.isNaN(r.value) ? null : r.value, wallTime: r.wallTime };
    });
    return this.write(() => {
      this.writableRow(runId, 'write metrics of');
      if (clean.length === 0) return 0;
      const now = this.now();
      const insert = this.stmt(
        `INSERT INTO metrics (run_id, step, name, value, wall_time) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run_id, name, step) DO UPDATE SET value = excluded.value, wall_time = excluded.wall_time`,
      );
      let maxStep = 0;
      for (const r of clean) {
        insert.run(runId, r.step, r.name, r.value, r.wallTime ?? now);
        if (r.step > maxStep) maxStep = r.step;
      }
      this.stmt('UPDATE runs SET step = max(step, ?), updated_at = ? WHERE id = ?').run(maxStep, now, runId);
      return clean.length;
    });
  }

  /**
   * A run's metrics as one series per name, in step order.
   *
   * `names` selects series (returned in that order, empty when never logged); omitted, every series
   * is returned sorted by name. Every read is a range scan or a seek on the metrics primary key
   * (run_id, name, step), so a live chart polling `{ fromStep }` costs only the new points.
   *
   * Decimation, per series, within the selected step range:
   * - everyNth: points 0, n, 2n, ... of the range (reads the whole range once);
   * - maxPoints: all points if the range holds at most maxPoints; otherwise, for maxPoints targets
   *   evenly spaced in step from the range's first to its last step, the first point at or after each
   *   target (duplicates dropped). So the first and last points are always kept (a chart shows the
   *   latest value), at most maxPoints come back, and the cost is maxPoints index seeks however long
   *   the run: 4 series of 250k points decimate to 1000 points each in a few ms. It picks real points
   *   (no averaging), so a spike between picks can be missed; read the full range when that matters.
   * @throws NotFoundError, StoreInputError
   */
  getMetrics(runId: string, names?: readonly string[] | null, query: MetricQuery = {}): MetricSeries[] {
    const from = query.fromStep === undefined ? 0 : checkStep(query.fromStep, 'fromStep');
    const to = query.toStep === undefined ? Number.MAX_SAFE_INTEGER : checkStep(query.toStep, 'toStep');
    if (query.everyNth !== undefined && query.maxPoints !== undefined) {
      throw new StoreInputError('everyNth', 'give everyNth or maxPoints, not both');
    }
    const nth = query.everyNth === undefined ? null : checkPositiveInt(query.everyNth, 'everyNth');
    const max = query.maxPoints === undefined ? null : checkPositiveInt(query.maxPoints, 'maxPoints', 2);
    const wanted = names ? names.map((n, i) => checkName(n, `names[${i}]`)) : null;

    interface Row {
      step: number;
      value: number | null;
      wall_time: number;
    }
    const range = 'run_id = ? AND name = ? AND step >= ? AND step <= ?';
    const all = this.stmt<Row>(`SELECT step, value, wall_time FROM metrics WHERE ${range} ORDER BY step`);
    const firstRows = this.stmt<Row>(`SELECT step, value, wall_time FROM metrics WHERE ${range} ORDER BY step LIMIT CAST(? AS INTEGER)`);
    const lastRow = this.stmt<Row>(`SELECT step, value, wall_time FROM metrics WHERE ${range} ORDER BY step DESC LIMIT 1`);
    const everyNth = this.stmt<Row>(
      `SELECT step, value, wall_time FROM
         (SELECT step, value, wall_time, row_number() OVER (ORDER BY step) - 1 AS i FROM metrics WHERE ${range})
        WHERE i % CAST(? AS INTEGER) = 0 ORDER BY step`,
    );

    const readSeries = (name: string): MetricSeries => {
      const series: MetricSeries = { name, steps: [], values: [], wallTimes: [] };
      const push = (r: Row) => {
        series.steps.push(r.step);
        series.values.push(r.value === null ? NaN : r.value); // NULL is how SQLite stored NaN
        series.wallTimes.push(r.wall_time);
      };
      if (nth !== null) {
        for (const r of everyNth.iterate(runId, name, from, to, nth)) push(r);
      } else if (max === null) {
        for (const r of all.iterate(runId, name, from, to)) push(r);
      } else {
        const head = firstRows.all(runId, name, from, to, max + 1);
        if (head.length <= max) {
          head.forEach(push);
        } else {
          const first = head[0]!.step;
          const last = lastRow.get(runId, name, from, to)!.step;
          for (let k = 0; k < max; k++) {
            // Target k of max, evenly spaced over [first, last]; k = max - 1 lands exactly on `last`.
            const target = first + ((last - first) * k) / (max - 1);
            const r = firstRows.get(runId, name, Math.ceil(target), to, 1);
            if (r && r.step !== series.steps.at(-1)) push(r);
          }
        }
      }
      return series;
    };

    return this.db.transaction(() => {
      this.requireRun(runId);
      return (wanted ?? this.namesOf(runId)).map(readSeries);
    })();
  }

  /** Names of the metrics a run has logged, sorted. @throws NotFoundError */
  metricNames(runId: string): string[] {
    return this.db.transaction(() => {
      this.requireRun(runId);
      return this.namesOf(runId);
    })();
  }

  /**
   * Distinct metric names of a run by skip-scan: one index seek per name (a recursive CTE asking for
   * the next name after the previous one), instead of reading every row as SELECT DISTINCT would.
   */
  private namesOf(runId: string): string[] {
    return this.stmt<string>(
      `WITH RECURSIVE names (name) AS (
         SELECT min(name) FROM metrics WHERE run_id = ?
         UNION ALL
         SELECT (SELECT min(m.name) FROM metrics m WHERE m.run_id = ? AND m.name > names.name)
           FROM names WHERE names.name IS NOT NULL
       )
       SELECT name FROM names WHERE name IS NOT NULL`,
    )
      .pluck()
      .all(runId, runId);
  }

  // ---------------------------------------------------------------- checkpoints

  /**
   * Saves a checkpoint atomically: the insert, the run's step update and the retention cleanup (keep
   * the newest `keepLast` checkpoints, default the store's keepCheckpoints) are one transaction, so a
   * crash leaves either the previous set of checkpoints and step, or the new ones, never a torn blob.
   * The newest checkpoint is never deleted: steps must not go backwards (saving at a step below the
   * latest checkpoint is refused; rewindRun first), and saving at the latest step replaces it.
   *
   * This one transaction commits with synchronous = FULL: a checkpoint is the unit a run resumes from,
   * so once this returns it survives a power cut too, not just a process crash. Checkpoints are rare
   * and the extra fsync is small next to writing the blob (measured on ext4: +0.3-0.8 ms per commit;
   * a commit that grows the WAL past ~4 MB runs an automatic WAL checkpoint that fsyncs anyway).
   * @throws NotFoundError, StoreInputError
   */
  saveCheckpoint(runId: string, checkpoint: NewCheckpoint, options: { keepLast?: number } = {}): CheckpointInfo {
    const step = checkStep(checkpoint?.step, 'checkpoint.step');
    const model = checkBytes(checkpoint.model, 'checkpoint.model');
    const optimizer = optionalBytes(checkpoint.optimizer, 'checkpoint.optimizer');
    const ema = optionalBytes(checkpoint.ema, 'checkpoint.ema');
    const meta = objectToJsonText(checkpoint.meta ?? {}, 'checkpoint.meta');
    const keep = checkPositiveInt(options.keepLast ?? this.keepCheckpoints, 'keepLast');
    const save = (): CheckpointInfo =>
      this.write(() => {
        this.writableRow(runId, 'save a checkpoint of');
        const latest = this.stmt<number>('SELECT max(step) FROM checkpoints WHERE run_id = ?').pluck().get(runId) ?? null;
        if (latest !== null && step < latest) {
          throw new StoreInputError(
            'checkpoint.step',
            `${step} is below run ${runId}'s latest checkpoint (step ${latest}); ` +
              `call rewindRun(${JSON.stringify(runId)}, ${step}) first`,
          );
        }
        const now = this.now();
        this.stmt('DELETE FROM checkpoints WHERE run_id = ? AND step = ?').run(runId, step);
        const id = Number(
          this.stmt(
            `INSERT INTO checkpoints (run_id, step, created_at, is_ema_included, model_bytes, optimizer_bytes, ema_bytes, meta,
                                      model, optimizer, ema)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(
            runId,
            step,
            now,
            ema ? 1 : 0,
            model.byteLength,
            optimizer?.byteLength ?? null,
            ema?.byteLength ?? null,
            meta,
            model,
            optimizer,
            ema,
          ).lastInsertRowid,
        );
        this.stmt('UPDATE runs SET step = max(step, ?), updated_at = ? WHERE id = ?').run(step, now, runId);
        this.stmt(
          `DELETE FROM checkpoints WHERE run_id = ? AND id NOT IN
             (SELECT id FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT CAST(? AS INTEGER))`,
        ).run(runId, runId, keep);
        return toCheckpointInfo(this.stmt<CheckpointRow>(`SELECT ${CHECKPOINT_INFO} FROM checkpoints WHERE id = ?`).get(id)!);
      });
    // The safety level cannot change inside a transaction; callers never hold one open here.
    if (this.db.inTransaction) return save();
    this.db.pragma('synchronous = FULL');
    try {
      return save();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** The run's checkpoint with the highest step, blobs included, or null if it has none. @throws NotFoundError */
  latestCheckpoint(runId: string): Checkpoint | null {
    return this.db.transaction(() => {
      this.requireRun(runId);
      const row = this.stmt<CheckpointRow>(
        `SELECT ${CHECKPOINT_INFO}, model, optimizer, ema FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1`,
      ).get(runId);
      return row ? toCheckpoint(row) : null;
    })();
  }

  /** The run's checkpoint at exactly `step`, blobs included. @throws NotFoundError (run or checkpoint) */
  checkpointAt(runId: string, step: number): Checkpoint {
    checkStep(step, 'step');
    return this.db.transaction(() => {
      this.requireRun(runId);
      const row = this.stmt<CheckpointRow>(
        `SELECT ${CHECKPOINT_INFO}, model, optimizer, ema FROM checkpoints WHERE run_id = ? AND step = ?`,
      ).get(runId, step);
      if (!row) throw new NotFoundError('checkpoint', `${runId}@${step}`, `run ${runId} has no checkpoint at step ${step}`);
      return toCheckpoint(row);
    })();
  }

  /** The run's checkpoints without blobs, oldest step first. @throws NotFoundError */
  listCheckpoints(runId: string): CheckpointInfo[] {
    return this.db.transaction(() => {
      this.requireRun(runId);
      return this.stmt<CheckpointRow>(`SELECT ${CHECKPOINT_INFO} FROM checkpoints WHERE run_id = ? ORDER BY step`)
        .all(runId)
        .map(toCheckpointInfo);
    })();
  }

  // ---------------------------------------------------------------- samples

  /** Stores a sample (bytes or a JSON value) taken at a step. @throws NotFoundError, StoreInputError */
  addSample(runId: string, sample: NewSample): SampleInfo {
    const step = checkStep(sample?.step, 'sample.step');
    if (!SAMPLE_KINDS.includes(sample.kind)) {
      throw new StoreInputError('sample.kind', `must be one of ${SAMPLE_KINDS.join(', ')}; got ${JSON.stringify(sample.kind)}`);
    }
    const bytes = sample.data instanceof Uint8Array;
    const data = bytes ? checkBytes(sample.data, 'sample.data') : toJsonText(sample.data, 'sample.data');
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    const meta = objectToJsonText(sample.meta ?? {}, 'sample.meta');
    return this.write(() => {
      this.writableRow(runId, 'add a sample to');
      const id = Number(
        this.stmt(`INSERT INTO samples (run_id, step, kind, encoding, bytes, meta, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
          runId,
          step,
          sample.kind,
          bytes ? 'bytes' : 'json',
          size,
          meta,
          this.now(),
          data,
        ).lastInsertRowid,
      );
      return toSampleInfo(this.stmt<SampleRow>(`SELECT ${SAMPLE_INFO} FROM samples WHERE id = ?`).get(id)!);
    });
  }

  /** A run's samples without data, by step then id; optionally one kind. @throws NotFoundError */
  listSamples(runId: string, options: { kind?: NewSample['kind'] } = {}): SampleInfo[] {
    return this.db.transaction(() => {
      this.requireRun(runId);
      return this.stmt<SampleRow>(`SELECT ${SAMPLE_INFO} FROM samples WHERE run_id = ? AND (? IS NULL OR kind = ?) ORDER BY step, id`)
        .all(runId, options.kind ?? null, options.kind ?? null)
        .map(toSampleInfo);
    })();
  }

  /** One sample with its data (a Uint8Array, or the parsed JSON value). @throws NotFoundError */
  getSample(id: number): Sample {
    const row = this.stmt<SampleRow>(`SELECT ${SAMPLE_INFO}, data FROM samples WHERE id = ?`).get(id);
    if (!row) throw new NotFoundError('sample', id);
    const info = toSampleInfo(row);
    return { ...info, data: typeof row.data === 'string' ? parseJson(row.data) : row.data! };
  }

  // ---------------------------------------------------------------- artifacts

  /** Stores a file-like artifact (PNG, CSV, exported model, latents). @throws NotFoundError, StoreInputError */
  addArtifact(runId: string, artifact: NewArtifact): ArtifactInfo {
    const name = checkName(artifact?.name, 'artifact.name');
    const mime = checkName(artifact.mime, 'artifact.mime');
    const data = checkBytes(artifact.data, 'artifact.data');
    const meta = objectToJsonText(artifact.meta ?? {}, 'artifact.meta');
    return this.write(() => {
      this.requireRun(runId);
      const id = Number(
        this.stmt(`INSERT INTO artifacts (run_id, name, mime, bytes, meta, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
          runId,
          name,
          mime,
          data.byteLength,
          meta,
          this.now(),
          data,
        ).lastInsertRowid,
      );
      return toArtifactInfo(this.stmt<ArtifactRow>(`SELECT ${ARTIFACT_INFO} FROM artifacts WHERE id = ?`).get(id)!);
    });
  }

  /** One artifact with its bytes. @throws NotFoundError */
  getArtifact(id: number): Artifact {
    const row = this.stmt<ArtifactRow>(`SELECT ${ARTIFACT_INFO}, data FROM artifacts WHERE id = ?`).get(id);
    if (!row) throw new NotFoundError('artifact', id);
    return { ...toArtifactInfo(row), data: row.data! };
  }

  /** A run's artifacts without data, oldest first. @throws NotFoundError */
  listArtifacts(runId: string): ArtifactInfo[] {
    return this.db.transaction(() => {
      this.requireRun(runId);
      return this.stmt<ArtifactRow>(`SELECT ${ARTIFACT_INFO} FROM artifacts WHERE run_id = ? ORDER BY created_at, id`)
        .all(runId)
        .map(toArtifactInfo);
    })();
  }

  // ---------------------------------------------------------------- whole-file operations

  /**
   * Everything about a run except blobs, as plain data for a JSON export. Read in one transaction, so
   * a concurrent writer cannot make the parts disagree. @throws NotFoundError
   */
  exportRun(runId: string): RunExport {
    return this.db.transaction((): RunExport => ({
      format: 'flow-studio-run',
      formatVersion: 1,
      exportedAt: this.now(),
      run: this.getRun(runId),
      metrics: this.getMetrics(runId),
      checkpoints: this.listCheckpoints(runId),
      samples: this.listSamples(runId),
      artifacts: this.listArtifacts(runId),
    }))();
  }

  /**
   * PRAGMA integrity_check (reporting up to `maxProblems` problems, one per line) and
   * foreign_key_check; ok when the first says 'ok' and the second is empty. On a badly damaged file
   * SQLite may abort a check with SQLITE_CORRUPT instead of listing problems; that is reported as a
   * problem (after retrying with a smaller limit, which stops the check before it gets there), not thrown.
   */
  integrityCheck(maxProblems = 100): IntegrityReport {
    const checkedRows = (sql: string): string[] | string => {
      try {
        return this.db.prepare<unknown[], string>(sql).pluck().all();
      } catch (e) {
        if (!(e instanceof Database.SqliteError) || !e.code.startsWith('SQLITE_CORRUPT')) throw e;
        return `SQLite stopped the check: ${e.message} (${e.code})`;
      }
    };
    const split = (rows: string[]) => rows.flatMap((r) => r.split('\n')).filter((l) => l !== '' && !l.startsWith('*** in database'));
    let integrity = checkedRows(`PRAGMA integrity_check(${checkPositiveInt(maxProblems, 'maxProblems')})`);
    if (typeof integrity === 'string' && maxProblems > 10) integrity = checkedRows('PRAGMA integrity_check(10)');
    let lines: string[];
    if (typeof integrity !== 'string') {
      lines = nameTrees(this.db, split(integrity));
    } else {
      // The whole-file check stopped: check table by table, to say at least which tables are damaged.
      lines = [integrity];
      const tables = checkedRows(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`);
      for (const t of typeof tables === 'string' ? [] : tables) {
        const rows = checkedRows(`PRAGMA integrity_check("${t.replace(/"/g, '""')}")`);
        if (typeof rows === 'string') lines.push(`${t}: ${rows}`);
        else
          lines.push(
            ...split(rows)
              .filter((l) => l !== 'ok')
              .map((l) => `${t}: ${l}`),
          );
      }
    }
    interface FkRow {
      table: string;
      rowid: number | null;
      parent: string;
    }
    let foreignKeyProblems: string[];
    try {
      foreignKeyProblems = this.db
        .prepare<unknown[], FkRow>('PRAGMA foreign_key_check')
        .all()
        .map((r) => `${r.table} row ${r.rowid ?? '?'} refers to a missing ${r.parent} row`);
    } catch (e) {
      if (!(e instanceof Database.SqliteError) || !e.code.startsWith('SQLITE_CORRUPT')) throw e;
      foreignKeyProblems = [`SQLite stopped the foreign key check: ${e.message} (${e.code})`];
    }
    const ok = lines.length === 1 && lines[0] === 'ok' && foreignKeyProblems.length === 0;
    return { ok, integrity: lines, foreignKeyProblems };
  }

  /**
   * Rewrites the file without free pages (VACUUM) and truncates the WAL. Deleting runs frees pages for
   * reuse but never shrinks the file; call this when the user asks to reclaim space. Needs free disk
   * space about the size of the database and blocks other writers while it runs.
   */
  compact(): void {
    this.assertWritable();
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }
}

// Every SQLite error a method throws leaves as a store error naming the file (sqlite-errors.ts).
translateStoreErrors(RunStore);
