/**
 * Reading and writing a model's weights by stable name, with validation.
 */
import { tf, type Tensor } from '../tf';
import { FlowStudioError } from '../errors';
import type { VelocityModel } from './types';

/**
 * A checkpoint does not fit the model: a missing, unexpected or wrongly shaped variable.
 * `variable` is the stable parameter name (e.g. "mlp/0/W"); `expected` / `got` are shapes when the
 * shape is at fault.
 */
export class CheckpointError extends FlowStudioError {
  constructor(
    readonly variable: string,
    message: string,
    readonly expected?: readonly number[],
    readonly got?: readonly number[],
  ) {
    super(`${variable}: ${message}`);
  }
}

/**
 * Copies of the model's weights keyed by stable name, in the model's parameter order. The caller
 * owns (and disposes) the returned tensors; they do not change when the model trains further.
 */
export function getWeights(model: VelocityModel): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  model.variables.forEach((v, i) => out.set(model.names[i]!, tf.clone(v)));
  return out;
}

/**
 * Assigns weights by stable name. Every model variable must be present with the same shape and no
 * extra names may appear, otherwise a CheckpointError names the first offending variable and
 * nothing is assigned. Values are copied; the caller keeps ownership of `weights`.
 */
export function setWeights(model: VelocityModel, weights: ReadonlyMap<string, Tensor>): void {
  const known = new Set(model.names);
  for (const name of weights.keys()) {
    if (!known.has(name)) throw new CheckpointError(name, `not a variable of this ${model.config.kind} model`);
  }
  model.variables.forEach((v, i) => {
    const name = model.names[i]!;
    const w = weights.get(name);
    if (!w) throw new CheckpointError(name, 'missing from the checkpoint', v.shape);
    const same = w.shape.length === v.shape.length && w.shape.every((d, k) => d === v.shape[k]);
    if (!same) {
      throw new CheckpointError(name, `expected shape [${v.shape.join(', ')}], got [${w.shape.join(', ')}]`, v.shape, w.shape);
    }
    if (w.dtype !== 'float32') throw new CheckpointError(name, `expected dtype float32, got ${w.dtype}`);
  });
  model.variables.forEach((v, i) => v.assign(weights.get(model.names[i]!)!));
}

/** Number of scalar parameters. */
export function countParameters(model: VelocityModel): number {
  return model.variables.reduce((n, v) => n + v.size, 0);
}

/** Shapes of every parameter by stable name: what a checkpoint for `config` must contain. */
export function parameterShapes(model: VelocityModel): Map<string, number[]> {
  return new Map(model.variables.map((v, i) => [model.names[i]!, [...v.shape]]));
}
