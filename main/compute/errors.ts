/**
 * Maps errors thrown by the engine, the store or a schema check to the contract's ErrorInfo: the
 * code tells the renderer how to show it, `field` which input to mark.
 */
import { CancelledError, ConfigError, DataError, FlowStudioError, ShapeError } from '../../core/errors';
import { CheckpointError } from '../../core/model/checkpoint';
import type { ErrorInfo } from '../../common/contract';
import { ImageFileError } from '../data';
import { NotFoundError, OwnershipError, StoreInputError, TransitionError } from '../store/errors';
import { InvalidConfigError, RunActionError } from '../app/errors';

/** An error that already carries its contract form (invalid request, unknown sender ...). */
export class ContractError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
    this.name = 'ContractError';
  }
}

export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof ContractError) return e.info;
  if (e instanceof CancelledError) return { code: 'cancelled', message: e.message };
  if (e instanceof NotFoundError) return { code: 'not-found', message: e.message };
  if (e instanceof TransitionError || e instanceof OwnershipError || e instanceof RunActionError)
    return { code: 'conflict', message: e.message };
  if (e instanceof InvalidConfigError)
    return { code: 'invalid', message: e.message, ...(e.issues[0] ? { field: e.issues[0].field } : {}), issues: e.issues };
  if (e instanceof ConfigError || e instanceof StoreInputError) return { code: 'invalid', message: e.message, field: e.field };
  if (e instanceof ImageFileError) return { code: 'invalid', message: e.message, field: e.file };
  if (e instanceof CheckpointError) return { code: 'not-found', message: e.message };
  if (e instanceof DataError || e instanceof ShapeError) return { code: 'invalid', message: e.message };
  if (e instanceof FlowStudioError) return { code: 'failed', message: e.message };
  // A plain Error's message is for the user too, but code 'failed' says it is not their input.
  if (e instanceof Error) return { code: 'failed', message: e.message };
  return { code: 'failed', message: String(e) };
}
