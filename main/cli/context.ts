/**
 * What every command gets: its parsed arguments, the output, the environment, and lazily the run
 * store, the compute backend and the model named by --model. Resources opened here are closed by
 * `close()` when the command ends, whatever happened.
 *
 * TensorFlow.js is imported only when a command asks for the backend or a model, so commands that
 * do not compute (runs, --help, train's main thread) start quickly.
 */
import { dirname, join, resolve } from 'node:path';
import { RunStore } from '../store/store';
import { StoreFileError } from '../store/errors';
import type { StoreAccess } from '../store/open';
import { DB_FILE_NAME, defaultDataDir } from '../store/paths';
import type { BackendInfo } from '../runtime/backend';
import type { LoadedModel } from '../models/load';
import type { Args } from './args';
import { UsageError, withContext } from './errors';
import type { Output, Streams } from './output';

/** Environment variables as the CLI reads them (injectable for tests). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Per-command state: arguments, output, environment, and the resources opened for the command. */
export class Context {
  private store: RunStore | null = null;
  private models: LoadedModel[] = [];

  constructor(
    readonly args: Args,
    readonly out: Output,
    readonly streams: Streams,
    readonly env: Env,
  ) {}

  /** The data folder: the --db file's folder, else $FLOW_STUDIO_HOME, else the per-user default. */
  get dataDir(): string {
    const db = this.args.string('db');
    return db ? dirname(resolve(db)) : resolve(defaultDataDir(this.env));
  }

  /** Where the SQLite run store is (--db FILE, else DATA_DIR/flow-studio.db). */
  get dbPath(): string {
    const db = this.args.string('db');
    return db ? resolve(db) : join(this.dataDir, DB_FILE_NAME);
  }

  /** Where the --db path came from, for doctor. */
  get dbSource(): string {
    if (this.args.has('db')) return '--db';
    return this.env.FLOW_STUDIO_HOME?.trim() ? 'FLOW_STUDIO_HOME' : 'default';
  }

  /**
   * What this command does with the run store: 'write' for `train`, `runs delete` and `--save`
   * (anything that saves into the store), 'read' for everything else. A reader never creates or
   * changes the file, and works on a read-only store (see main/store/open.ts).
   */
  get storeAccess(): StoreAccess {
    const { command, positionals } = this.args;
    if (command === 'train' || (command === 'runs' && (positionals[0] === 'delete' || positionals[0] === 'rename'))) return 'write';
    return this.args.has('save') && this.args.flag('save') ? 'write' : 'read';
  }

  /**
   * The run store, opened once per command with `storeAccess`. With `create: false` (and always for
   * readers) a missing file is not created (listing runs must not leave an empty database behind) and
   * null comes back. A store that cannot be used (a folder, not a database, damaged, unreadable, or
   * read-only for a writer) throws StoreFileError naming the file: exit 2.
   */
  openStore(opts: { create?: boolean } = {}): RunStore | null {
    if (this.store) return this.store;
    const access = this.storeAccess;
    try {
      this.store = RunStore.open(this.dbPath, { access, create: opts.create !== false });
    } catch (e) {
      if (e instanceof StoreFileError && e.reason === 'missing' && (access === 'read' || opts.create === false)) return null;
      throw e;
    }
    return this.store;
  }

  /** The store, created if needed (writers only; readers get StoreFileError 'missing'). */
  requireStore(): RunStore {
    const store = this.openStore();
    if (!store)
      throw new StoreFileError(
        'missing',
        this.dbPath,
        `there is no run store at ${this.dbPath} (train a run first, or point --db / FLOW_STUDIO_HOME at one)`,
      );
    return store;
  }

  /** The --backend request ('auto' when absent; FLOW_STUDIO_BACKEND otherwise). */
  get backendRequest(): string | undefined {
    return this.args.string('backend') ?? this.env.FLOW_STUDIO_BACKEND;
  }

  /** Initialises tfjs in this thread (commands that compute: sample, likelihood, invert ...). */
  async backend(): Promise<BackendInfo> {
    const { selectBackend } = await import('../runtime/backend');
    try {
      return await selectBackend(this.backendRequest);
    } catch (e) {
      // parseBackendName throws a plain Error for unknown names: that is a usage error.
      if (e instanceof Error && /unknown backend/.test(e.message))
        throw new UsageError(e.message.replace(/^backend:/, '--backend:'), this.args.command);
      throw e;
    }
  }

  /**
   * The model of --model: RUN_ID[@STEP] (EMA weights of its latest or given checkpoint),
   * `shipped:NAME` (resources/models), `oracle` with --gmm FILE, or `oracle:NAME`. Disposed by close().
   */
  async model(): Promise<LoadedModel> {
    const spec = this.args.required('model', 'is required: RUN_ID[@STEP], shipped:NAME, oracle:8gaussians, or oracle with --gmm FILE');
    const isOracle = spec === 'oracle' || spec.startsWith('oracle:');
    const isShipped = spec.startsWith('shipped:');
    // `sample` samples a trained model under another scheduler (exact: core/path/model.ts transformPathModel);
    // the other commands keep the path the model was trained on.
    const resample = !isOracle && this.args.command === 'sample' && this.args.has('scheduler');
    if (!isOracle && !resample)
      this.args.forbid(
        ['gmm', 'scheduler'],
        'apply only to --model oracle, and to `sample` (a trained model keeps the path it was trained on)',
      );
    if (spec !== 'oracle') this.args.forbid(['gmm'], 'applies only to --model oracle');
    await this.backend();
    let store: RunStore | undefined;
    if (!isOracle && !isShipped) {
      const s = this.openStore({ create: false });
      if (!s)
        throw new UsageError(
          `--model ${spec}: there is no run store at ${this.dbPath} (train a run first, or point --db / FLOW_STUDIO_HOME at one)`,
          this.args.command,
        );
      store = s;
    }
    const { parseSchedulerArg } = await import('./scheduler');
    const { resolveModel } = await import('../models/load');
    const scheduler = this.args.has('scheduler') ? parseSchedulerArg(this.args.string('scheduler')!) : undefined;
    const gmmFile = this.args.string('gmm');
    let model: LoadedModel;
    try {
      model = resolveModel(spec, {
        ...(store ? { store } : {}),
        ...(gmmFile ? { gmmFile } : {}),
        ...(scheduler && !resample ? { scheduler } : {}),
      });
    } catch (e) {
      throw withContext(`--model ${spec}`, e);
    }
    this.models.push(model);
    if (resample && scheduler) {
      const { underScheduler } = await import('../models/under-scheduler');
      try {
        return underScheduler(model, scheduler);
      } catch (e) {
        throw withContext('--scheduler', e);
      }
    }
    return model;
  }

  /** Closes the store and frees loaded models. Safe to call twice. */
  close(): void {
    for (const m of this.models.splice(0)) {
      try {
        m.dispose();
      } catch {
        // freeing tensors cannot fail in a way the user can act on
      }
    }
    this.store?.close();
    this.store = null;
  }
}
