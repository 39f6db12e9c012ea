/**
 * Messages between a ThreadedModel (main/models/threaded.ts) and its helper threads
 * (main/models/infer-worker.ts). Requests and replies travel on a MessagePort and are taken with
 * receiveMessageOnPort; the shared Int32Array `ctrl` carries the wake-ups:
 *   ctrl[CTRL_READY] = 1 once the helper's backend is up, HELPER_GONE (2) when its thread ends,
 *   ctrl[CTRL_REQ]   = requests sent (written by the caller, waited on by the helper),
 *   ctrl[CTRL_DONE]  = requests answered (written by the helper, waited on by the caller).
 */
import type { MessagePort } from 'node:worker_threads';
import type { ModelConfig } from '../../core/model';

export const CTRL_READY = 0;
export const CTRL_REQ = 1;
export const CTRL_DONE = 2;
/** ctrl[CTRL_READY] when the helper's thread is ending (so a waiting caller stops waiting). */
export const HELPER_GONE = 2;

export interface InferSetup {
  ctrl: SharedArrayBuffer;
  port: MessagePort;
  /** The caller's tfjs backend; the helper selects the same. */
  backend: string;
}

/** A model's weights by checkpoint name. */
export type WeightList = { name: string; shape: number[]; data: Float32Array }[];

export type InferRequest =
  | { kind: 'load'; key: number; config: ModelConfig; weights: WeightList }
  | { kind: 'unload' }
  | { kind: 'apply'; key: number; shape: number[]; x: Float32Array; t: Float32Array; labels: Int32Array | null }
  | { kind: 'stop' };

export type InferReply =
  { kind: 'loaded' } | { kind: 'unloaded' } | { kind: 'result'; y: Float32Array } | { kind: 'error'; message: string };
