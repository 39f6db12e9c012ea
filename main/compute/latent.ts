/**
 * The latent studio's tasks in the compute worker: main/latent's functions on a model resolved by
 * spec (shipped:NAME, RUN_ID, RUN_ID@STEP), with progress and cancellation through shared memory.
 * The last model stays loaded: the studio's calls come in series on one model (pick, invert, edit).
 */
import type { LatentModelInfo } from '../../common/contract';
import { listShippedModels, readManifest } from '../models/shipped';
import { resolveModel, type LoadedModel } from '../models/load';
import { resultFiles, runLatentTask, saveArtifacts, sharedCancel, type LatentFile, type LatentProgress } from '../latent';
import type { RunStore } from '../store';
import type { ParsedTaskArgs, TaskResult } from './protocol';

let cached: { key: string; model: LoadedModel } | null = null;

/** The model of `spec`; a run without a step is keyed by its latest checkpoint, so a newer one reloads. */
export function modelFor(store: RunStore, spec: string): LoadedModel {
  let key = spec;
  if (!spec.startsWith('shipped:') && !spec.includes('@')) key = `${spec}@${store.listCheckpoints(spec).at(-1)?.step ?? 'none'}`;
  if (cached?.key === key) return cached.model;
  const model = resolveModel(spec, { store });
  cached?.model.dispose();
  cached = { key, model };
  return model;
}

/** One latent task on its model; `args.cancel` (4 bytes, a non-zero int32 cancels) is main/latent's sharedCancel. */
export function latentRun(
  store: RunStore,
  args: ParsedTaskArgs<'latent'>,
  progress: (p: LatentProgress) => void,
): Promise<TaskResult<'latent'>> {
  const model = modelFor(store, args.model);
  return runLatentTask(model, args.task, { onProgress: progress, ...(args.cancel ? { signal: sharedCancel(args.cancel) } : {}) });
}

export function latentSave(store: RunStore, args: ParsedTaskArgs<'latent-save'>): TaskResult<'latent-save'> {
  const model = modelFor(store, args.model);
  const saved = saveArtifacts(store, model, resultFiles(args.result), { modelKey: args.model });
  return { runId: saved.runId, artifacts: saved.artifacts.map((a) => ({ id: a.id, name: a.name })) };
}

export function latentExport(args: ParsedTaskArgs<'latent-export'>): LatentFile[] {
  return resultFiles(args.result);
}

/** Shipped models and image runs with a checkpoint, for the Latent view's model picker. */
export function latentModels(store: RunStore): LatentModelInfo[] {
  const out: LatentModelInfo[] = [];
  for (const name of listShippedModels()) {
    try {
      const m = readManifest(name);
      out.push({
        spec: `shipped:${name}`,
        label: `${name} (shipped, ${m.trainedSteps} steps)`,
        kind: 'shipped',
        shape: m.shape,
        numClasses: m.numClasses,
      });
    } catch {
      // an unreadable manifest is not offered
    }
  }
  for (const r of store.listRuns()) {
    const meta = (store.listCheckpoints(r.id).at(-1)?.meta ?? null) as { shape?: number[]; numClasses?: number } | null;
    if (meta?.shape && meta.shape.length === 3)
      out.push({
        spec: r.id,
        label: `${r.name} (run ${r.id}, step ${r.step})`,
        kind: 'run',
        shape: meta.shape,
        numClasses: meta.numClasses ?? 0,
      });
  }
  return out;
}
