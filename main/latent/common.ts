/**
 * What the studio's operations share: parsing a request by its schema, checking images and classes
 * against the model, the solver options of a request, progress over several solves, and PNG encoding
 * of results.
 */
import type { z } from 'zod';
import { tf, type Tensor } from '../../core/tf';
import { CancelledError, ConfigError, ShapeError } from '../../core/errors';
import type { InversionOptions } from '../../core/inversion/encode';
import type { StepInfo } from '../../core/field';
import { parseWith } from '../../common/config';
import { encodePng, imageGridPng, type Channels } from '../data';
import type { LoadedModel } from '../models/load';
import type { ClassChoice, LatentControl, LatentImage, ModelSummary, SolveInfo, SolverSpec } from '../../common/latent';

/**
 * `input` parsed by its request schema (common/latent.ts), so every caller (the compute worker, the
 * CLI, a script) gets the same checks. The first issue becomes a ConfigError naming its field,
 * under `prefix` when given ('source' -> 'source.classId').
 */
export function parseRequest<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const r = parseWith(schema, input);
  if (r.ok) return r.value;
  const { field, message } = r.issues[0]!;
  const at = !prefix ? field : field === '(root)' ? prefix : field.startsWith('[') ? `${prefix}${field}` : `${prefix}.${field}`;
  throw new ConfigError(at, message);
}

/** The studio works on image models: [height, width, channels] with 1 or 3 channels. */
export function imageShape(model: LoadedModel): [number, number, Channels] {
  const s = model.shape;
  if (s.length !== 3 || (s[2] !== 1 && s[2] !== 3)) {
    throw new ConfigError('model', `${model.label} models data of shape [${s.join(', ')}], not images [height, width, 1 or 3]`);
  }
  return s as [number, number, Channels];
}

export function dimOf(model: LoadedModel): number {
  return model.shape.reduce((a, b) => a * b, 1);
}

export function modelSummary(model: LoadedModel): ModelSummary {
  return {
    label: model.label,
    shape: [...model.shape],
    numClasses: model.numClasses,
    ...(model.runId !== undefined ? { runId: model.runId } : {}),
    ...(model.step !== undefined ? { step: model.step } : {}),
  };
}

/** Checks pixels against the model's shape and values; `what` names the image in errors. */
export function checkPixels(model: LoadedModel, pixels: ArrayLike<number>, what: string): void {
  const d = dimOf(model);
  if (pixels.length !== d) {
    throw new ShapeError(`${what}: has ${pixels.length} values; ${model.label} takes ${model.shape.join('x')} = ${d}`);
  }
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ShapeError(`${what}: value ${i} is ${String(v)}, not a finite number`);
  }
}

/** A batch [B, ...shape] of images (checked against the model's size). Caller disposes. */
export function batchOf(model: LoadedModel, images: readonly LatentImage[], field = 'images'): Tensor {
  const d = dimOf(model);
  const data = new Float32Array(images.length * d);
  images.forEach((img, i) => {
    checkPixels(model, img.pixels, `${field}[${i}] (${img.source})`);
    data.set(img.pixels, i * d);
  });
  return tf.tensor(data, [images.length, ...model.shape], 'float32');
}

/** A batch of flat latents (checked). Caller disposes. */
export function latentBatch(model: LoadedModel, latents: readonly (readonly number[])[], field: string): Tensor {
  const d = dimOf(model);
  const data = new Float32Array(latents.length * d);
  latents.forEach((z, i) => {
    checkPixels(model, z, `${field}[${i}] (latent)`);
    data.set(z, i * d);
  });
  return tf.tensor(data, [latents.length, ...model.shape], 'float32');
}

/** One class per item from a single choice or a list (checked against the model). */
export function classesFor(
  model: LoadedModel,
  choice: ClassChoice | readonly ClassChoice[] | undefined,
  n: number,
  field: string,
): ClassChoice[] {
  const list = Array.isArray(choice)
    ? [...(choice as readonly ClassChoice[])]
    : Array.from({ length: n }, () => (choice as ClassChoice | undefined) ?? null);
  if (list.length !== n) throw new ConfigError(field, `has ${list.length} classes for ${n} images`);
  list.forEach((c, i) => {
    if (c === null || c === undefined) return;
    if (model.numClasses === 0) throw new ConfigError(field, `${model.label} is unconditional; give no class (got ${c})`);
    if (!(Number.isInteger(c) && c >= 0 && c < model.numClasses)) {
      throw new ConfigError(
        field,
        `${Array.isArray(choice) ? `item ${i}: ` : ''}must be a class in [0, ${model.numClasses - 1}] or null, got ${String(c)}`,
      );
    }
  });
  return list.map((c) => c ?? null);
}

/**
 * Labels [n] for the field: a class id, or the model's null label (numClasses) for "unconditional".
 * Undefined for an unconditional model. Caller disposes.
 */
export function condOf(model: LoadedModel, classes: readonly ClassChoice[]): Tensor | undefined {
  if (model.numClasses === 0) return undefined;
  if (classes.every((c) => c === null)) return undefined; // the field's own unconditional branch
  return tf.tensor1d(
    Int32Array.from(classes, (c) => (c === null ? model.numClasses : c)),
    'int32',
  );
}

/**
 * An edit's inputs as tensors, registered with `keep` (withTensors frees them at the end): the image
 * batch, and its conditioning under the source classes (`condA`, to invert) and the target classes
 * (`condB`, to decode).
 */
export function editInputs(
  model: LoadedModel,
  images: readonly LatentImage[],
  from: readonly ClassChoice[],
  to: readonly ClassChoice[],
  keep: (t: Tensor | undefined) => void,
): { x: Tensor; condA: Tensor | undefined; condB: Tensor | undefined } {
  const x = batchOf(model, images);
  keep(x);
  const condA = condOf(model, from);
  keep(condA);
  const condB = condOf(model, to);
  keep(condB);
  return { x, condA, condB };
}

/** The solver of a request that names none: dopri5 at rtol = atol = 1e-5. */
export const DEFAULT_SOLVER: SolverSpec = { method: 'dopri5', rtol: 1e-5, atol: 1e-5 };

/** Inversion options of a solver spec over the model's time range [lo, hi] (lo = noise end). */
export function odeOptions(model: LoadedModel, spec: SolverSpec, extra: { cond?: Tensor; t0?: number } = {}): InversionOptions {
  return {
    method: spec.method,
    ...(spec.method !== 'dopri5' || spec.steps !== undefined ? { steps: spec.steps } : {}),
    rtol: spec.rtol ?? 1e-5,
    atol: spec.atol ?? 1e-5,
    t0: extra.t0 ?? model.timeRange.lo,
    t1: model.timeRange.hi,
    ...(extra.cond ? { cond: extra.cond } : {}),
  };
}

/**
 * Progress over a fixed list of stages with weights (their expected share of the work): each solver
 * step reports the overall fraction; `next` closes a stage and yields to the event loop, so a
 * worker sees messages (and an AbortSignal flips) between stages.
 */
export class Stages {
  private done = 0;
  private readonly total: number;
  private index = 0;

  constructor(
    private readonly ctl: LatentControl,
    private readonly weights: readonly { name: string; weight: number }[],
  ) {
    this.total = weights.reduce((s, w) => s + w.weight, 0) || 1;
  }

  /** Solver controls of the current stage: the signal and an onStep reporting progress. */
  controls(): { signal?: LatentControl['signal']; onStep: (info: StepInfo) => void } {
    const stage = this.weights[this.index] ?? { name: 'work', weight: 0 };
    const base = this.done;
    return {
      ...(this.ctl.signal ? { signal: this.ctl.signal } : {}),
      onStep: (info: StepInfo) => {
        this.ctl.onProgress?.({
          stage: stage.name,
          fraction: Math.min(1, (base + stage.weight * info.progress) / this.total),
          nfe: info.nfe,
        });
      },
    };
  }

  /** Closes the current stage; rejects with CancelledError when the signal is set. */
  async next(): Promise<void> {
    const stage = this.weights[this.index];
    if (stage) this.done += stage.weight;
    this.index++;
    this.ctl.onProgress?.({ stage: stage?.name ?? 'work', fraction: Math.min(1, this.done / this.total), nfe: 0 });
    await new Promise((r) => setImmediate(r));
    if (this.ctl.signal?.aborted) throw new CancelledError('latent studio');
  }
}

/** Seconds since `t0` (performance.now()). */
export function since(t0: number): number {
  return (performance.now() - t0) / 1000;
}

export function solveInfo(method: SolverSpec['method'], r: { nfe: number; steps: number; rejected?: number }, seconds: number): SolveInfo {
  return { method, nfe: r.nfe, steps: r.steps, rejected: r.rejected ?? 0, seconds };
}

/** Base64 of a PNG of one HWC image in [-1, 1]. */
export function pngBase64(pixels: ArrayLike<number>, shape: readonly number[]): string {
  const [h, w, c] = shape as [number, number, Channels];
  return Buffer.from(encodePng(Float32Array.from(pixels), w, h, c)).toString('base64');
}

/** Base64 of a latent shown as an image: z / 3 in [-1, 1] (so +-3 standard deviations span the range). */
export function latentPngBase64(z: ArrayLike<number>, shape: readonly number[]): string {
  return pngBase64(
    Float32Array.from(z, (v) => Math.max(-1, Math.min(1, v / 3))),
    shape,
  );
}

/** Base64 of a row of images side by side (2 px grey padding). */
export function stripBase64(images: readonly ArrayLike<number>[], shape: readonly number[]): string {
  const [h, w, c] = shape as [number, number, Channels];
  const d = h * w * c;
  const all = new Float32Array(images.length * d);
  images.forEach((im, i) => all.set(Float32Array.from(im), i * d));
  return Buffer.from(imageGridPng(all, images.length, h, w, c, images.length)).toString('base64');
}

/** Rows of a [B, ...] tensor as plain number arrays. */
export function rowsOf(x: Tensor): number[][] {
  const B = x.shape[0]!;
  const d = x.size / B;
  const data = x.dataSync();
  return Array.from({ length: B }, (_, b) => Array.from(data.subarray(b * d, (b + 1) * d)));
}

/** Runs `fn` and disposes every tensor pushed to the list, whatever happens. */
export async function withTensors<T>(fn: (keep: (t: Tensor | undefined) => void) => Promise<T> | T): Promise<T> {
  const list: Tensor[] = [];
  try {
    return await fn((t) => {
      if (t) list.push(t);
    });
  } finally {
    tf.dispose(list);
  }
}

/**
 * A cancellation flag in shared memory, for a studio call running in a worker thread: the solver's
 * steps are synchronous, so a message cannot be handled mid-solve, but a flag in a SharedArrayBuffer
 * the parent sets with `cancel()` (or Atomics.store(new Int32Array(buffer), 0, 1)) is seen before
 * the next step. Pass the same buffer to both sides.
 *
 * @example
 *   // parent:  const buf = new SharedArrayBuffer(4); worker.postMessage({ buf, request }); ... sharedCancel(buf).cancel();
 *   // worker:  await invertImages(model, request, { signal: sharedCancel(buf) });
 */
export function sharedCancel(buffer: SharedArrayBuffer): { readonly aborted: boolean; cancel(): void } {
  const flag = new Int32Array(buffer, 0, 1);
  return {
    get aborted() {
      return Atomics.load(flag, 0) !== 0;
    },
    cancel() {
      Atomics.store(flag, 0, 1);
    },
  };
}
