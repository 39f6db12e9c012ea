/**
 * Messages between the host (main process / web host) and the compute worker: a request names a task
 * and carries its JSON arguments; the reply carries the result or an error with the field it is about.
 */
import type { ErrorInfo } from '../../common/contract';

export interface ComputeRequest {
  id: number;
  task: string;
  args: unknown;
}

export type ComputeReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: ErrorInfo }
  | { id: number; progress: { stage: string; fraction: number; nfe: number } };

export interface ComputeJob {
  dbPath: string;
  backend?: string;
}

/** The request that ends the worker after the tasks queued before it. */
export const CLOSE_TASK = '__close';
