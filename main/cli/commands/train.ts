/**
 * `flow-studio train`: validates an experiment (a preset or a config file), stores it as a run and
 * trains it in a worker thread through the Supervisor, the same path the app uses. `--resume`
 * continues a stopped run from its last checkpoint.
 *
 * Nothing is stored for bad input: the config is validated field by field and its data is loaded
 * once (image folders decode every file, so a corrupt file under onCorrupt 'reject' is reported
 * here, by name, before a run record exists).
 */
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { RunRecord, RunStore } from '../../store';
import { startBackup } from '../../store/backup';
import { parseBackendName } from '../../runtime/backend';
import { checkRunAction, createRun } from '../../app/runs';
import { Supervisor, type RunResult } from '../../training/supervisor';
import type { WorkerEvent } from '../../training/protocol';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { EXIT, UsageError } from '../errors';
import { displayName, parseJsonText, readInput } from '../io';
import { duration, short, type Output } from '../output';
import { presetNames } from '../../app/presets';
import { presetsDir } from '../../runtime/resources';

/** train: --preset | --config with --steps/--seed/--name/--engine, or --resume RUN_ID. */
export const TRAIN_OPTIONS = {
  preset: { type: 'string' },
  config: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  name: { type: 'string' },
  resume: { type: 'string' },
  engine: { type: 'string' },
} as const satisfies OptionSpecs;

/** Creates (or resumes) a run and trains it to the end; returns 0, 1, 2 or 130 (see errors.ts). */
export async function trainCommand(ctx: Context): Promise<number> {
  const { args } = ctx;
  // An unknown backend is a typo: refuse it here rather than as a failed run.
  try {
    parseBackendName(ctx.backendRequest);
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^backend:/, '--backend:'), 'train');
  }
  let run: RunRecord;
  let store: RunStore;
  if (args.has('resume')) {
    args.forbid(
      ['preset', 'config', 'steps', 'seed', 'name', 'engine'],
      'cannot be combined with --resume (a run continues with the config it was created with)',
    );
    store = ctx.requireStore();
    run = resumable(store, args.required('resume'));
  } else {
    args.exclusive('preset', 'config');
    if (!args.has('preset') && !args.has('config'))
      throw new UsageError('give --preset NAME or --config FILE (or --resume RUN_ID)', 'train');
    const { raw, name, origin } = await readExperiment(ctx);
    // The app's use-case, with every image file decoded (a corrupt one is named before a run exists).
    run = await createRun(() => ctx.requireStore(), raw, {
      ...(name ? { name } : {}),
      origin,
      backend: ctx.backendRequest ?? 'auto',
      folders: 'full',
    });
    store = ctx.requireStore();
  }
  // The daily backup runs beside the training (in its own thread); a failed one is reported, never
  // fatal. Training does not wait for it; the command does, before it exits (unless cancelled).
  const backup = startBackup(store.path);
  let code: number = EXIT.failed;
  try {
    code = await trainRun(ctx, store, run);
    return code;
  } finally {
    if (code === EXIT.cancelled) backup.cancel();
    const outcome = await backup.done;
    if (outcome.status === 'failed')
      ctx.streams.stderr.write(`flow-studio train: warning: the daily backup failed (training is not affected): ${outcome.error}\n`);
    else if (outcome.status === 'created') ctx.out.note(`backed up the run store to ${outcome.backup.path}`);
  }
}

/**
 * The raw config of --preset or --config with --steps/--seed applied (createRun validates it), where
 * it came from, and the run's name when the command line or the file says one.
 */
async function readExperiment(ctx: Context): Promise<{ raw: unknown; name: string | undefined; origin: string }> {
  const { args } = ctx;
  let raw: unknown;
  let origin: string;
  let fallbackName: string;
  const preset = args.string('preset');
  if (preset !== undefined) {
    const names = presetNames();
    if (!names.includes(preset)) {
      throw new UsageError(
        `--preset: unknown preset '${preset}'; available: ${names.length ? names.join(', ') : '(none found: ${presetsDir()} is missing)'}`,
        'train',
      );
    }
    const file = join(presetsDir(), `${preset}.json`);
    raw = parseJsonText((await readInput(file)).toString('utf8'), file);
    origin = `preset ${preset}`;
    fallbackName = preset;
  } else {
    const file = args.required('config');
    raw = parseJsonText((await readInput(file, ctx.streams.stdin)).toString('utf8'), file);
    origin = displayName(file);
    if (isObject(raw)) resolveFolders(raw, file === '-' ? process.cwd() : dirname(resolve(file)));
    fallbackName = file === '-' ? 'run' : basename(file).replace(/\.json$/i, '');
  }
  // Overrides go into the stored config, so the run record says what was trained and --resume
  // continues to the same number of steps.
  const steps = args.int('steps', { min: 1, max: 10_000_000 });
  const seed = args.int('seed', { min: 0 });
  if (isObject(raw)) {
    if (steps !== undefined) {
      const shortened = fitToSteps(raw, steps);
      if (shortened.length) ctx.out.note(`--steps ${steps}: ${shortened.join(', ')} (they must fit in the run)`);
    }
    if (seed !== undefined) raw.seed = seed;
    // --engine sets train.engine; its values are checked by the config schema (field train.engine).
    const engine = args.string('engine');
    if (engine !== undefined) raw.train = { ...(isObject(raw.train) ? raw.train : {}), engine };
  }
  const named = isObject(raw) && typeof raw.name === 'string' ? raw.name : undefined;
  return { raw, name: args.string('name') ?? named ?? fallbackName, origin };
}

/**
 * Sets train.steps to `steps` in a raw config and shortens what must fit in the run (the schema's
 * rules, core/train/rules.ts): train.checkpointEvery, logEvery and sampleEvery to at most `steps`,
 * optim.warmupSteps to below it, the nearest values the rules allow. So `--preset mnist --steps 100`
 * is a short run of the preset instead of an error about fields the command line cannot set.
 * Returns what changed, as "field old -> new".
 */
function fitToSteps(raw: Record<string, unknown>, steps: number): string[] {
  const train: Record<string, unknown> = { ...(isObject(raw.train) ? raw.train : {}), steps };
  raw.train = train;
  const changed: string[] = [];
  const cap = (obj: Record<string, unknown>, name: string, key: string, max: number) => {
    const v = obj[key];
    if (typeof v === 'number' && v > max) {
      obj[key] = max;
      changed.push(`${name}.${key} ${v} -> ${max}`);
    }
  };
  for (const key of ['checkpointEvery', 'logEvery', 'sampleEvery']) cap(train, 'train', key, steps);
  if (isObject(raw.optim)) {
    raw.optim = { ...raw.optim };
    cap(raw.optim as Record<string, unknown>, 'optim', 'warmupSteps', steps - 1);
  }
  return changed;
}

/**
 * Image folders named relative to a config file are relative to that file, like paths in most
 * config files; they are stored absolute, so --resume works from any working directory.
 */
function resolveFolders(raw: Record<string, unknown>, base: string): void {
  const fix = (data: unknown) => {
    if (isObject(data) && data.kind === 'images' && typeof data.folder === 'string' && data.folder !== '' && !isAbsolute(data.folder)) {
      data.folder = resolve(base, data.folder);
    }
  };
  fix(raw.data);
  if (isObject(raw.source)) fix(raw.source.data);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A run that --resume may continue (main/app/runs.ts: refused for a finished run, or one another
 * live process holds, naming it). Runs whose owner died (kill -9, a crash) are settled first (paused,
 * or failed when they have no checkpoint), as the app does at start.
 */
function resumable(store: RunStore, runId: string): RunRecord {
  checkRunAction(store.getRun(runId), 'start'); // NotFoundError names the id
  store.markInterruptedRuns();
  return store.getRun(runId);
}

async function trainRun(ctx: Context, store: RunStore, run: RunRecord): Promise<number> {
  const { out } = ctx;
  const totalSteps = (run.config as { train?: { steps?: number } }).train?.steps ?? 0;
  const dbPath = store.path;
  // The worker opens its own connection; ours must not hold a write lock meanwhile (it holds none).
  const supervisor = new Supervisor({ dbPath, ...(ctx.backendRequest ? { backend: ctx.backendRequest } : {}) });
  const progress = new Progress(out);
  supervisor.on((e) => progress.event(e));
  let interrupted = false;
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    // A Ctrl+C can arrive twice within moments (the terminal signals the whole process group, and
    // the bin shim forwards it too): that is one request to stop, not a request to force quit.
    if (interrupted && now - firstSignalAt < 1000) return;
    if (!interrupted) {
      interrupted = true;
      firstSignalAt = now;
      progress.message(`${signal}: stopping after a checkpoint (press Ctrl+C again to quit at once)`);
      try {
        supervisor.cancel(run.id);
      } catch {
        // already finished
      }
      return;
    }
    progress.message(`quitting without a checkpoint; continue later with: flow-studio train --resume ${run.id}`);
    ctx.close();
    process.exit(EXIT.cancelled);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  let result: RunResult;
  try {
    progress.message(
      `run ${run.id} (${run.name}): ${run.step > 0 ? `resuming at step ${run.step} of ${totalSteps}` : `training ${totalSteps} steps`}; store ${dbPath}`,
    );
    result = await supervisor.start(run.id, { progressIntervalMs: out.streams.stderr.isTTY ? 150 : 500 });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    progress.end();
    await supervisor.shutdown();
  }
  let record = store.getRun(run.id);
  if (result.status === 'failed' && (record.status === 'queued' || record.status === 'running')) {
    // The worker died without recording why (it could not start, or crashed hard): record it here,
    // so the store does not show a run as queued or running that nothing is training.
    record = recordWorkerDeath(store, record, result.error ?? 'the training worker stopped unexpectedly');
  }
  const doc = {
    runId: run.id,
    name: record.name,
    status: result.status,
    step: result.step,
    totalSteps,
    resumedFrom: progress.resumedFrom,
    backend: progress.backend,
    summary: result.summary,
    ...(result.error ? { error: result.error } : {}),
    dbPath,
  };
  out.result(doc, () => summaryText(doc, result));
  if (result.status === 'completed') return EXIT.ok;
  if (result.status === 'cancelled') return interrupted ? EXIT.cancelled : EXIT.failed;
  return EXIT.failed;
}

function recordWorkerDeath(store: RunStore, run: RunRecord, error: string): RunRecord {
  try {
    if (run.status === 'running') {
      // The worker is gone and the supervisor gave up the lease: markInterruptedRuns makes the run
      // resumable (paused) when it has a checkpoint, failed otherwise.
      store.markInterruptedRuns();
      return store.getRun(run.id);
    }
    return store.setStatus(run.id, 'failed', { error });
  } catch {
    return run;
  }
}

function summaryText(doc: { runId: string; status: string; step: number; totalSteps: number }, r: RunResult): string {
  const s = r.summary;
  const parts = [`run ${doc.runId} ${doc.status} at step ${doc.step}/${doc.totalSteps}`];
  if (typeof s.finalLoss === 'number') parts.push(`final loss ${short(s.finalLoss)}`);
  if (typeof s.energyDistance === 'number') parts.push(`energy distance ${short(s.energyDistance)}`);
  if (typeof s.stepsPerSec === 'number') parts.push(`${short(s.stepsPerSec)} steps/s`);
  let text = parts.join(', ');
  if (r.error) text += `\nerror: ${r.error}`;
  if (doc.status === 'completed') text += `\nsample it: flow-studio sample --model ${doc.runId}`;
  else if (doc.status === 'cancelled' || doc.status === 'failed') text += `\ncontinue it: flow-studio train --resume ${doc.runId}`;
  return text;
}

/**
 * Training progress on stderr: a bar redrawn in place on a terminal; otherwise one line per 10% (or
 * per 30 s), which reads well in CI logs. Silent in --json mode unless stderr is a terminal.
 */
class Progress {
  resumedFrom: number | null = null;
  backend: string | null = null;
  private barShown = false;
  private lastLineAt = 0;
  private lastDecile = -1;
  private readonly tty: boolean;
  private readonly stream: NodeJS.WritableStream & { columns?: number };

  constructor(private readonly out: Output) {
    this.tty = out.streams.stderr.isTTY === true;
    this.stream = out.streams.stderr;
  }

  message(line: string): void {
    if (!this.out.chatty) return;
    this.clearBar();
    this.stream.write(`${line}\n`);
  }

  event(e: WorkerEvent): void {
    switch (e.type) {
      case 'started':
        this.resumedFrom = e.resumedFrom;
        this.backend = e.backend.name;
        this.lastDecile = Math.floor((10 * e.startStep) / Math.max(1, e.totalSteps));
        this.message(
          `backend ${e.backend.name} (${e.backend.reason}${e.backend.skipped.length ? `; skipped ${e.backend.skipped.map((s) => s.name).join(', ')}` : ''})` +
            (e.resumedFrom !== null ? `; resumed from the checkpoint at step ${e.resumedFrom}` : ''),
        );
        for (const w of e.warnings ?? []) {
          this.clearBar();
          this.out.warn(w);
        }
        break;
      case 'progress':
        this.progress(e);
        break;
      case 'finished':
        this.clearBar();
        break;
      default:
        break;
    }
  }

  private progress(e: Extract<WorkerEvent, { type: 'progress' }>): void {
    if (!this.out.chatty) return;
    const pct = e.totalSteps > 0 ? e.step / e.totalSteps : 1;
    const stats = `loss ${short(e.lossSmoothed)}  ${short(e.stepsPerSec)} steps/s  ETA ${duration(e.etaSec)}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(pct * width);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${e.step}/${e.totalSteps}  ${stats}`;
      const cols = this.stream.columns || 100; // 0 when the terminal does not say
      this.stream.write(`\r\x1b[K${line.slice(0, Math.max(40, cols - 1))}`);
      this.barShown = true;
      return;
    }
    const decile = Math.floor(pct * 10);
    const now = Date.now();
    if (decile > this.lastDecile || now - this.lastLineAt > 30_000 || e.step === e.totalSteps) {
      this.lastDecile = decile;
      this.lastLineAt = now;
      this.stream.write(`step ${e.step}/${e.totalSteps} (${Math.round(pct * 100)}%)  ${stats}\n`);
    }
  }

  private clearBar(): void {
    if (this.barShown) {
      this.stream.write('\r\x1b[K');
      this.barShown = false;
    }
  }

  end(): void {
    this.clearBar();
  }
}
