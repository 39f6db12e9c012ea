/**
 * `flow-studio export --run ID --to DIR` and `flow-studio import DIR`: a run as a launch folder for
 * the PyTorch engine elsewhere (one process, torchrun, Ray), and its results back into the store
 * (main/training/launch.ts has the folder's layout).
 */
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { EXIT } from '../errors';
import { exportLaunchFolder, importLaunchFolder } from '../../training/launch';

export const EXPORT_OPTIONS = {
  run: { type: 'string' },
  to: { type: 'string' },
} as const satisfies OptionSpecs;

export const IMPORT_OPTIONS = {
  name: { type: 'string' },
} as const satisfies OptionSpecs;

/** Writes the launch folder; prints where and the first command. */
export async function exportCommand(ctx: Context): Promise<number> {
  const { args, out } = ctx;
  const runId = args.required('run');
  const to = args.required('to');
  const store = ctx.requireStore();
  const r = await exportLaunchFolder(store, runId, to);
  out.note(
    `wrote the launch folder of run ${runId} to ${r.dir}` +
      (r.info.startStep > 0 ? ` (continues from step ${r.info.startStep})` : '') +
      `; see ${r.dir}/README.md, e.g.\n  cd ${r.dir} && PYTHONPATH=python python3 -m flow_studio_torch train --job job.json`,
  );
  out.result({ runId, dir: r.dir, startStep: r.info.startStep, files: r.files }, () => r.dir);
  return EXIT.ok;
}

/** Imports the launch folder as a new run; prints its id. */
export async function importCommand(ctx: Context): Promise<number> {
  const { args, out } = ctx;
  const dir = args.positionals[0]!;
  const name = args.string('name');
  const store = ctx.requireStore();
  const r = await importLaunchFolder(store, dir, name !== undefined ? { name } : {});
  for (const w of r.warnings) out.warn(w);
  out.note(
    `imported ${dir} as run ${r.run.id} (${r.run.status} at step ${r.run.step}: ${r.metrics} metric rows, ${r.checkpoints} checkpoints, ${r.samples} samples)`,
  );
  out.result(
    {
      runId: r.run.id,
      status: r.run.status,
      step: r.run.step,
      metrics: r.metrics,
      checkpoints: r.checkpoints,
      samples: r.samples,
      finished: r.finished,
    },
    () => r.run.id,
  );
  return EXIT.ok;
}
