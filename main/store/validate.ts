/**
 * Argument checks of the store's public methods. Each throws a StoreInputError naming the field, and
 * all of them run before a method's first write, so a bad argument never leaves a partial write.
 */
import { StoreInputError } from './errors';
import { RUN_STATUSES, type RunStatus } from './types';

/** Longest run, metric or artifact name accepted (a UI label, not a document). */
export const MAX_NAME = 200;

/** A trimmed non-empty name of at most MAX_NAME characters. */
export function checkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new StoreInputError(field, `must be a non-empty string; got ${JSON.stringify(value)}`);
  }
  const name = value.trim();
  if (name.length > MAX_NAME) throw new StoreInputError(field, `must be at most ${MAX_NAME} characters; got ${name.length}`);
  return name;
}

/** A training step: a non-negative safe integer. */
export function checkStep(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StoreInputError(field, `must be a non-negative integer; got ${String(value)}`);
  }
  return value;
}

/** An integer >= min (default 1), e.g. a count or a limit. */
export function checkPositiveInt(value: unknown, field: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new StoreInputError(field, `must be an integer >= ${min}; got ${String(value)}`);
  }
  return value;
}

/** Bytes to bind as a BLOB. */
export function checkBytes(value: unknown, field: string): Buffer {
  if (!(value instanceof Uint8Array)) {
    throw new StoreInputError(field, `must be a Uint8Array of bytes; got ${value === null ? 'null' : typeof value}`);
  }
  // Bind as a Buffer view of the same memory (no copy): every binding version accepts Buffer.
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** Bytes, or null when absent. */
export function optionalBytes(value: unknown, field: string): Buffer | null {
  return value === undefined || value === null ? null : checkBytes(value, field);
}

/** One of RUN_STATUSES. */
export function checkStatus(value: unknown, field: string): RunStatus {
  if (!RUN_STATUSES.includes(value as RunStatus)) {
    throw new StoreInputError(field, `must be one of ${RUN_STATUSES.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as RunStatus;
}
