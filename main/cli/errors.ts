/**
 * How the command line classifies failures: every error maps to an exit code and one clear message.
 *
 * Exit codes (documented in `flow-studio --help`):
 *   0  success
 *   1  a run failed or diverged; the machine failed us (disk full, an I/O error, the store locked
 *      by another process for too long: worth retrying); or an unexpected error (a bug)
 *   2  bad input: usage, config, data, shapes, checkpoints that do not fit, unknown ids, a run store
 *      file that cannot be used (a folder, not a database, damaged, no permission, read-only)
 *   130 training cancelled with Ctrl+C (the shell's convention for SIGINT)
 *
 * Why the split between 1 and 2: scripts that drive the CLI can retry or report a failed run, but
 * must fix their arguments on a 2; nothing in a 2 is worth retrying unchanged.
 */
import { ConfigError, DataError, FlowStudioError, ShapeError } from '../../core/errors';
import { InvalidConfigError, RunActionError } from '../app/errors';
import {
  NotFoundError,
  OwnershipError,
  SchemaError,
  StoreFileError,
  StoreInputError,
  StoreRuntimeError,
  TransitionError,
} from '../store/errors';

/** Exit codes of the command line. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, cancelled: 130 } as const;

/** Wrong command line: unknown command or flag, missing or malformed value. Exit 2. */
export class UsageError extends FlowStudioError {
  constructor(
    message: string,
    /** The command whose usage to point at, if known. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/**
 * Bad input that is not a single config field: a config file with several problems, a run that
 * cannot be resumed, a file that is not what it should be. Exit 2. `cause` keeps the original error
 * (for FLOW_STUDIO_DEBUG=1 stacks).
 */
export class InputError extends FlowStudioError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** A training run ended failed or diverged (the message is the run's error). Exit 1. */
export class RunFailedError extends FlowStudioError {}

const BAD_INPUT = [
  UsageError,
  InputError,
  ConfigError,
  DataError, // includes main/data's ImageFileError
  ShapeError,
  NotFoundError,
  StoreInputError,
  TransitionError, // e.g. resuming a completed run
  SchemaError, // --db names a newer or foreign database
  OwnershipError, // the run is being trained by another live process
  RunActionError, // e.g. resuming a completed run (main/app/runs.ts)
  InvalidConfigError, // a config the schema refuses, every field named
  StoreFileError, // the store is a folder, not a database, damaged, unreadable or read-only
] as const;

/**
 * Bad-input classes recognised by name: their modules import TensorFlow.js, which commands that do
 * not compute should not load just to classify an error. (FlowStudioError and TensorFormatError
 * set `name` to the class name.)
 */
const BAD_INPUT_NAMES = new Set([
  'CheckpointError', // core/model/checkpoint: a variable missing or of the wrong shape
  'NonFiniteCheckpointError', // main/models/state: a checkpoint holding NaN or Infinity
  'TensorFormatError', // main/models/serialize: a checkpoint blob that is not ours or is cut short
]);

/** True for errors caused by what the user gave us (exit 2). */
export function isBadInput(e: unknown): boolean {
  return BAD_INPUT.some((cls) => e instanceof cls) || (e instanceof Error && BAD_INPUT_NAMES.has(e.name));
}

/**
 * True for failures of the machine rather than of our code (exit 1 without "unexpected"): the disk is
 * full, an I/O error, the store stayed locked by another process. Looks through `cause` chains, since
 * withContext wraps errors.
 */
export function isEnvironmentFailure(e: unknown): boolean {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    if (c instanceof StoreRuntimeError) return c.failure !== 'sqlite';
  }
  return false;
}

/** The exit code of an error that reached the top level. */
export function exitCodeFor(e: unknown): number {
  return isBadInput(e) ? EXIT.badInput : EXIT.failed;
}

/** The error's message, or for non-Errors their text. Never a stack: see FLOW_STUDIO_DEBUG. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** The error's class name for machine-readable output ('Error' for plain errors). */
export function kindOf(e: unknown): string {
  if (e instanceof Error) return e.constructor.name === 'Error' ? e.name : e.constructor.name;
  return typeof e;
}

/**
 * Adds what the user typed to an error's message ("--model 01ABC: mlp/0/W: expected shape ...")
 * while keeping its exit code: bad input stays bad input.
 */
export function withContext(prefix: string, e: unknown): Error {
  const message = `${prefix}: ${messageOf(e)}`;
  return isBadInput(e) ? new InputError(message, { cause: e }) : Object.assign(new Error(message), { cause: e });
}
