/**
 * The run use-cases, written once for the studio service (the app and the web host) and the command
 * line: create a run from a config, start or continue it, pause, resume, cancel, rename, delete it,
 * and the rules of which run may do what (docs/runs.md).
 *
 * The rules, for a run held by no other live process (the store refuses writes to one that is; see
 * main/store/owner.ts, and every action here names that process first):
 *
 * | action   | allowed when                                                                      |
 * |----------|-----------------------------------------------------------------------------------|
 * | start    | not finished (completed, diverged), not already training or queued here          |
 * | pause    | training here                                                                     |
 * | resume   | paused here (its worker waits), or not training here: then it continues (start)   |
 * | cancel   | training or queued here; otherwise queued, paused or interrupted (running, owner gone) |
 * | rename   | always                                                                            |
 * | delete   | not training or queued here                                                       |
 *
 * "Here" is this process's Supervisor; a run queued or training in another process is that
 * process's (its lease). Refusals are RunActionError (the contract's 'conflict', exit 2 in the CLI)
 * or OwnershipError; both name the run and what to do.
 */
import { parseExperiment, type ExperimentConfig } from '../../common/config';
import type { RunRecord, RunStore } from '../store';
import { OwnershipError } from '../store/errors';
import type { RunResult, Supervisor } from '../training/supervisor';
import { InvalidConfigError, RunActionError, type RunAction } from './errors';
import { preflight } from './preflight';

export { InvalidConfigError, RunActionError, type RunAction };

/** This process's part in a run: queued or training in its supervisor. */
export interface HereState {
  /** Waiting in this process's queue. */
  queued: boolean;
  /** Its worker lives in this process and has not finished (running or paused in it). */
  training: boolean;
}

const NOT_HERE: HereState = { queued: false, training: false };

/**
 * The rule of the table above. Throws when `action` is not allowed, and says which way it goes
 * otherwise: 'worker' when this process's worker (or queue) carries it out, 'store' when it is a
 * change of the record alone (a paused run cancelled, an interrupted one cancelled, a rename).
 * @throws OwnershipError (another live process holds the run), RunActionError
 */
export function checkRunAction(run: RunRecord, action: RunAction, here: HereState = NOT_HERE): 'worker' | 'store' {
  if (run.owner?.alive && !run.owner.self) throw new OwnershipError(run.id, run.owner, action);
  const busy = here.queued || here.training;
  switch (action) {
    case 'start':
      if (run.status === 'completed' || run.status === 'diverged') {
        throw new RunActionError(
          run.id,
          action,
          `run ${run.id} is ${run.status} at step ${run.step}; a finished run is not trained further (start a new run)`,
        );
      }
      if (busy) throw new RunActionError(run.id, action, `run ${run.id} is already training or queued`);
      return 'worker';
    case 'pause':
      if (!here.training)
        throw new RunActionError(run.id, action, `cannot pause run ${run.id}: it is not training here (status ${run.status})`);
      return 'worker';
    case 'resume':
      if (here.training) return 'worker';
      return checkRunAction(run, 'start', here);
    case 'cancel':
      if (busy) return 'worker';
      // 'running' here means interrupted: its owner is gone (a live one was refused above).
      if (run.status !== 'paused' && run.status !== 'queued' && run.status !== 'running') {
        throw new RunActionError(
          run.id,
          action,
          `run ${run.id} is ${run.status}; only a training, queued, paused or interrupted run can be cancelled`,
        );
      }
      return 'store';
    case 'rename':
      return 'store';
    case 'delete':
      if (busy) throw new RunActionError(run.id, action, `run ${run.id} is training; cancel it before deleting`);
      return 'store';
  }
}

/** Options of createRun. */
export interface CreateRunOptions {
  /** The run's name (default: the config's name, else the data set's). */
  name?: string;
  /** Where the config came from, for messages ("preset moons", a file name). */
  origin?: string;
  /** The compute backend request recorded with the run ('auto' by default). */
  backend?: string;
  /** Image folders: a bounded check (default, main/data/folder-check.ts) or 'full', every file loaded. */
  folders?: 'bounded' | 'full';
}

/**
 * Validates a config (schema, cross-field rules), runs the checks only the host can make (the data,
 * a reflow parent: main/app/preflight.ts), then stores it as a queued run. Nothing is stored for bad
 * input. `store` may be a function that opens it, called only when needed.
 * @throws InvalidConfigError, ConfigError naming the field
 */
export async function createRun(store: RunStore | (() => RunStore), raw: unknown, options: CreateRunOptions = {}): Promise<RunRecord> {
  const parsed = parseExperiment(raw);
  if (!parsed.ok) throw new InvalidConfigError(parsed.issues, options.origin ? `${options.origin}: invalid experiment config` : undefined);
  const config = parsed.value;
  // The store is opened only once the config is known to be good (the CLI creates no file for a typo).
  let opened: RunStore | null = typeof store === 'function' ? null : store;
  const open = (): RunStore => (opened ??= (store as () => RunStore)());
  await preflight(open, config, options.folders === 'full' ? 'full' : undefined);
  return open().createRun({
    name: options.name ?? config.name ?? defaultRunName(config),
    config,
    backend: options.backend ?? 'auto',
    seed: config.seed,
  });
}

/** A name for a run whose config has none: the data set. */
export function defaultRunName(config: ExperimentConfig): string {
  const d = config.data;
  return d.kind === 'toy2d' ? d.name : d.kind;
}

/**
 * The use-cases of one process: the store connection it reads and changes runs with, and its
 * supervisor (the CLI's `runs rename`/`delete` have none: nothing trains there).
 */
export class Runs {
  constructor(
    readonly store: RunStore,
    readonly supervisor: Supervisor | null = null,
  ) {}

  /** This process's part in a run. */
  here(id: string): HereState {
    const s = this.supervisor;
    return s ? { queued: s.status().queued.includes(id), training: s.isTraining(id) } : NOT_HERE;
  }

  /** The record, after checking that `action` is allowed; see checkRunAction. */
  check(id: string, action: RunAction): { run: RunRecord; via: 'worker' | 'store' } {
    const run = this.store.getRun(id);
    return { run, via: checkRunAction(run, action, this.here(id)) };
  }

  /**
   * Queues a run for training in this process (new, or continuing from its last checkpoint); the
   * promise settles when it finishes. `steps` makes that the run's length.
   */
  start(id: string, options: { steps?: number; progressIntervalMs?: number } = {}): Promise<RunResult> {
    this.check(id, 'start');
    return this.requireSupervisor().start(id, {
      ...(options.steps !== undefined ? { stepsOverride: options.steps } : {}),
      ...(options.progressIntervalMs !== undefined ? { progressIntervalMs: options.progressIntervalMs } : {}),
    });
  }

  pause(id: string): void {
    this.check(id, 'pause');
    this.requireSupervisor().pause(id);
  }

  /** Resumes a run paused in this process's worker, or continues a stopped one from its checkpoint. */
  resume(id: string): Promise<RunResult> | null {
    const { via } = this.check(id, 'resume');
    if (via === 'worker' && this.here(id).training) {
      this.requireSupervisor().resume(id);
      return null;
    }
    return this.start(id);
  }

  cancel(id: string): void {
    const { via } = this.check(id, 'cancel');
    if (via === 'worker') this.requireSupervisor().cancel(id);
    else this.store.setStatus(id, 'cancelled');
  }

  rename(id: string, name: string): RunRecord {
    this.check(id, 'rename');
    return this.store.renameRun(id, name);
  }

  delete(id: string): void {
    this.check(id, 'delete');
    this.store.deleteRun(id);
  }

  private requireSupervisor(): Supervisor {
    if (!this.supervisor) throw new Error('this process trains nothing: it has no supervisor');
    return this.supervisor;
  }
}
