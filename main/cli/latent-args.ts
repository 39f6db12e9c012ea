/**
 * What the latent-studio commands (invert and interpolate on images, edit) share: image arguments
 * (a PNG/JPEG file or `mnist:DIGIT[:INDEX]`), the solver as main/latent takes it, and keeping the
 * results (--save into the run store, --export DIR to files).
 *
 * Inputs are all read and checked before anything is written, so a corrupt or wrong-size file
 * stops the command (exit 2, the file named) with the store untouched.
 */
import type { LoadedModel } from '../models/load';
import { pickImage } from '../latent/image';
import { exportFiles, resultFiles, saveArtifacts, type LatentResult } from '../latent/save';
import { IMAGE_BACKGROUNDS, type LatentImage, type SolverSpec } from '../../common/latent';
import type { OptionSpecs } from './args';
import type { Context } from './context';
import { UsageError } from './errors';
import { isImageFile } from './io';
import type { SolverChoice } from './modeling';

/** Flags of every studio command. */
export const STUDIO_OPTIONS = {
  'exact-size': { type: 'boolean' },
  background: { type: 'string' },
  save: { type: 'boolean' },
  export: { type: 'string' },
} as const satisfies OptionSpecs;

const MNIST_SPEC = /^mnist:(\d+)(?::(\d+))?$/;

/** True for an image argument: an image file name or mnist:DIGIT[:INDEX]. */
export function isImageSpec(text: string): boolean {
  return isImageFile(text) || text.startsWith('mnist:');
}

/** Reads one image argument at the model's shape. @throws UsageError / ImageFileError naming it */
export async function readStudioImage(ctx: Context, model: LoadedModel, spec: string, flag: string): Promise<LatentImage> {
  const { args } = ctx;
  if (spec.startsWith('mnist:')) {
    const m = MNIST_SPEC.exec(spec);
    if (!m) throw new UsageError(`${flag} ${spec}: expected mnist:DIGIT or mnist:DIGIT:INDEX, e.g. mnist:7:0`, args.command);
    try {
      return await pickImage(model, { kind: 'dataset', classId: Number(m[1]), index: Number(m[2] ?? 0) });
    } catch (e) {
      throw new UsageError(`${flag} ${spec}: ${e instanceof Error ? e.message : String(e)}`, args.command);
    }
  }
  const background = args.choice('background', IMAGE_BACKGROUNDS);
  return pickImage(model, { kind: 'file', path: spec, exactSize: args.flag('exact-size'), ...(background ? { background } : {}) });
}

/** The solver of a studio call from the parsed solver flags. */
export function solverSpec(choice: SolverChoice): SolverSpec {
  return { method: choice.solver, ...(choice.steps !== undefined ? { steps: choice.steps } : {}), rtol: choice.rtol, atol: choice.atol };
}

/** --save and --export: where the result's files went (for the report). */
export function keepResults(
  ctx: Context,
  model: LoadedModel,
  r: LatentResult,
  base: string,
): { saved?: { runId: string; artifacts: { id: number; name: string; bytes: number }[] }; exported?: string[] } {
  const { args } = ctx;
  if (!args.flag('save') && !args.has('export')) return {};
  const files = resultFiles(r, base);
  const out: ReturnType<typeof keepResults> = {};
  const dir = args.string('export');
  if (dir !== undefined) {
    out.exported = exportFiles(dir, files);
    ctx.out.note(`exported ${files.length} file(s) to ${dir}`);
  }
  if (args.flag('save')) {
    const s = saveArtifacts(ctx.requireStore(), model, files, { modelKey: args.string('model') ?? model.label });
    out.saved = { runId: s.runId, artifacts: s.artifacts.map((a) => ({ id: a.id, name: a.name, bytes: a.bytes })) };
    ctx.out.note(`saved ${s.artifacts.length} artifact(s) to run ${s.runId}`);
  }
  return out;
}
