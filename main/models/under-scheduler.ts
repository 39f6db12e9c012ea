/**
 * A loaded model sampled under another scheduler: the same trained network, its predictions carried
 * to the other scheduler's path exactly (core/path/model.ts transformPathModel). Used by the CLI's
 * `sample --scheduler` and the studio's "sample now" with a scheduler.
 */
import { ConfigError } from '../../core/errors';
import { pathModelOf, pathVelocity, transformPathModel, velocityModel } from '../../core/path/model';
import { makeScheduler, type SchedulerSpec } from '../../core/path/scheduler';
import type { LoadedModel } from './load';

/**
 * The model under `spec`: samplers then start from sourceScale(scheduler) N(0, I) and run over
 * [0, 1] of the new path. Disposing the result frees nothing (the original model owns the weights).
 * @throws ConfigError for a bad spec or a model trained on an interpolant path; SolverError (when
 *   sampling) where the new path's signal-to-noise ratio is outside the model's.
 */
export function underScheduler(model: LoadedModel, spec: SchedulerSpec): LoadedModel {
  if (model.config && model.config.path.kind !== 'affine')
    throw new ConfigError(
      'scheduler',
      `${model.label} was trained on an interpolant path, not an affine one: it has no scheduler to change`,
    );
  const to = makeScheduler(spec);
  return {
    ...model,
    label: `${model.label} under ${spec.kind}`,
    field: (w?: number) => {
      const f = model.field(w);
      return pathVelocity(transformPathModel(pathModelOf(f) ?? velocityModel(f, model.scheduler), to));
    },
    scheduler: to,
    timeRange: { lo: 0, hi: 1 },
    dispose: () => {},
  };
}
