/**
 * `flow-studio edit OP`: the latent studio's edits on images, through the probability-flow ODE
 * (main/latent/edit.ts has the maths):
 *
 *   edit class-swap --image mnist:3:0 --to-class 8 [--from-class 3] [--cfg 1]
 *   edit sdedit     --image FILE --t0 0.5 [--start invert|noise] [--sampler ode|sde] [--class C | --from-class A --to-class B]
 *   edit inpaint    --image FILE (--mask MASK.png | --mask-rect X,Y,W,H) [--class C] [--x0 random|inverted]
 *   edit arithmetic --a IMG --b IMG --c IMG [--scale S] [--renormalise] [--class C]
 *
 * Output: --out FILE.png (rows of original | edited, or the arithmetic strip a | b | c | result),
 * the numbers on stdout (--json: one document), and --save / --export like the other studio commands.
 */
import type { LoadedModel } from '../../models/load';
import { imageGridPng, type Channels } from '../../data';
import { classSwap, inpaint, latentArithmetic, sdedit } from '../../latent/edit';
import type { LatentResult } from '../../latent/save';
import {
  INPAINT_NOISE,
  SDEDIT_SAMPLERS,
  SDEDIT_STARTS,
  type ClassChoice,
  type EditItem,
  type LatentImage,
  type LatentOp,
} from '../../../common/latent';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { UsageError } from '../errors';
import { writeOutput } from '../io';
import { loadModel, MODEL_OPTIONS, modelInfo, SOLVER_OPTIONS, solverChoice } from '../modeling';
import { keepResults, readStudioImage, solverSpec, STUDIO_OPTIONS } from '../latent-args';

/** The latent ops that are edits (main/latent/edit.ts), as `edit OP` names them. */
export const EDIT_OPS = ['class-swap', 'sdedit', 'inpaint', 'arithmetic'] as const satisfies readonly LatentOp[];
type EditOp = (typeof EDIT_OPS)[number];

export const EDIT_OPTIONS = {
  ...MODEL_OPTIONS,
  ...SOLVER_OPTIONS,
  ...STUDIO_OPTIONS,
  image: { type: 'string', multiple: true },
  class: { type: 'string' },
  'from-class': { type: 'string' },
  'to-class': { type: 'string' },
  cfg: { type: 'string' },
  t0: { type: 'string' },
  start: { type: 'string' },
  sampler: { type: 'string' },
  noise: { type: 'string' },
  seed: { type: 'string' },
  mask: { type: 'string' },
  'mask-rect': { type: 'string' },
  x0: { type: 'string' },
  a: { type: 'string' },
  b: { type: 'string' },
  c: { type: 'string' },
  scale: { type: 'string' },
  renormalise: { type: 'boolean' },
  out: { type: 'string' },
} as const satisfies OptionSpecs;

/** Flags each op takes besides the model, solver, studio and --out ones. */
const OP_FLAGS: Record<EditOp, readonly string[]> = {
  'class-swap': ['image', 'from-class', 'to-class', 'cfg'],
  sdedit: ['image', 'class', 'from-class', 'to-class', 'cfg', 't0', 'start', 'sampler', 'noise', 'seed'],
  inpaint: ['image', 'class', 'cfg', 'mask', 'mask-rect', 'x0', 'seed'],
  arithmetic: ['a', 'b', 'c', 'scale', 'renormalise', 'class', 'cfg'],
};
const OP_SPECIFIC = [...new Set(Object.values(OP_FLAGS).flat())];

function classArg(ctx: Context, model: LoadedModel, name: string): ClassChoice | undefined {
  const c = ctx.args.int(name, { min: 0 });
  if (c === undefined) return undefined;
  if (model.numClasses === 0)
    throw new UsageError(`--${name}: ${model.label} is unconditional (it was trained without class labels)`, 'edit');
  if (c >= model.numClasses)
    throw new UsageError(`--${name}: must be in [0, ${model.numClasses - 1}] for ${model.label}, got ${c}`, 'edit');
  return c;
}

async function readImages(ctx: Context, model: LoadedModel): Promise<LatentImage[]> {
  // --image a b c: the values after the first --image are positionals to parseArgs (a flag takes one
  // value); they are more images, like a repeated --image.
  const specs = [...ctx.args.strings('image'), ...extraImages(ctx)];
  if (specs.length === 0)
    throw new UsageError('--image is required (a PNG/JPEG file or mnist:DIGIT[:INDEX]; repeat it for several)', 'edit');
  const images: LatentImage[] = [];
  for (const s of specs) images.push(await readStudioImage(ctx, model, s, '--image'));
  return images;
}

/** The positionals after OP: more --image values (`--image a b`), refused without --image. */
function extraImages(ctx: Context): string[] {
  const extra = ctx.args.positionals.slice(1);
  if (extra.length > 0 && ctx.args.strings('image').length === 0)
    throw new UsageError(`unexpected argument '${extra[0]}' (images go after --image: --image a.png b.png)`, 'edit');
  return extra;
}

/** --mask FILE (white = regenerate, read at the model's size) or --mask-rect X,Y,W,H (pixels). */
async function readMask(ctx: Context, model: LoadedModel): Promise<number[]> {
  const { args } = ctx;
  args.exclusive('mask', 'mask-rect');
  const [h, w] = model.shape as [number, number, number];
  const rect = args.string('mask-rect');
  if (rect !== undefined) {
    const parts = rect.split(',').map((p) => Number(p.trim()));
    if (parts.length !== 4 || parts.some((v) => !Number.isInteger(v) || v < 0))
      throw new UsageError(`--mask-rect: expected X,Y,W,H (non-negative integers), got '${rect}'`, 'edit');
    const [x, y, rw, rh] = parts as [number, number, number, number];
    if (rw < 1 || rh < 1 || x + rw > w || y + rh > h)
      throw new UsageError(`--mask-rect ${rect}: must be a non-empty rectangle inside the ${w}x${h} image`, 'edit');
    return Array.from({ length: h * w }, (_, p) => {
      const py = Math.floor(p / w);
      const px = p % w;
      return px >= x && px < x + rw && py >= y && py < y + rh ? 1 : 0;
    });
  }
  const file = args.string('mask');
  if (file === undefined) throw new UsageError('inpaint needs --mask FILE.png (white = regenerate) or --mask-rect X,Y,W,H', 'edit');
  const img = await readStudioImage(ctx, model, file, '--mask');
  const c = model.shape[2]!;
  // Grey level (averaged over channels) in [0, 1], thresholded at half: 1 = regenerate.
  return Array.from({ length: h * w }, (_, p) => {
    let s = 0;
    for (let ch = 0; ch < c; ch++) s += img.pixels[p * c + ch]!;
    return (s / c + 1) / 2 >= 0.5 ? 1 : 0;
  });
}

/** Runs `flow-studio edit OP`. */
export async function editCommand(ctx: Context): Promise<number> {
  const { args, out } = ctx;
  const op = args.positionals[0] as EditOp;
  if (!(EDIT_OPS as readonly string[]).includes(op))
    throw new UsageError(`unknown edit '${String(op)}'; edits: ${EDIT_OPS.join(', ')}`, 'edit');
  args.forbid(
    OP_SPECIFIC.filter((f) => !OP_FLAGS[op].includes(f)),
    `(not an option of 'edit ${op}')`,
  );
  if (!OP_FLAGS[op].includes('image') && args.positionals.length > 1)
    throw new UsageError(`unexpected argument '${args.positionals[1]}'`, 'edit');
  const model = await loadModel(ctx);
  if (model.shape.length !== 3) throw new UsageError(`${model.label} does not make images; edit works on image models`, 'edit');
  const outFile = args.string('out');
  const fixedDefault = op === 'inpaint' ? 'heun' : 'dopri5';
  const solver = solverSpec(solverChoice(args, model, { solver: fixedDefault, useRunSampling: false }));
  const cfg = args.number('cfg', { min: 0 });
  const seed = args.int('seed', { min: 0 });
  let r: LatentResult;
  let summary: Record<string, unknown>;
  if (op === 'class-swap') {
    if (model.numClasses === 0) throw new UsageError(`class-swap needs a class-conditional model; ${model.label} is unconditional`, 'edit');
    const to = classArg(ctx, model, 'to-class');
    if (to === undefined || to === null) throw new UsageError('--to-class is required: the class to decode under', 'edit');
    const from = classArg(ctx, model, 'from-class');
    const images = await readImages(ctx, model);
    const res = await classSwap(model, {
      images,
      toClass: to,
      ...(from !== undefined ? { fromClass: from } : {}),
      ...(cfg !== undefined ? { cfg } : {}),
      solver,
    });
    r = { kind: 'class-swap', result: res };
    summary = {
      cfg: res.cfg,
      nfe: res.encode.nfe + res.decode.nfe,
      items: res.items.map((it) => ({ input: it.source, fromClass: it.fromClass, toClass: it.toClass, latentStats: it.latentStats })),
    };
  } else if (op === 'sdedit') {
    const cls = classArg(ctx, model, 'class');
    if (cls !== undefined) args.forbid(['from-class', 'to-class'], 'cannot be combined with --class (which sets both)');
    const from = cls ?? classArg(ctx, model, 'from-class');
    const to = cls ?? classArg(ctx, model, 'to-class');
    const t0 = args.number('t0');
    const start = args.choice('start', SDEDIT_STARTS);
    const sampler = args.choice('sampler', SDEDIT_SAMPLERS);
    const noise = args.number('noise', { min: 0 });
    const images = await readImages(ctx, model);
    const res = await sdedit(model, {
      images,
      ...(t0 !== undefined ? { t0 } : {}),
      ...(start ? { start } : {}),
      ...(sampler ? { sampler } : {}),
      ...(noise !== undefined ? { noise } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(from !== undefined ? { fromClass: from } : {}),
      ...(to !== undefined ? { toClass: to } : {}),
      ...(cfg !== undefined ? { cfg } : {}),
      solver,
    });
    r = { kind: 'sdedit', result: res };
    summary = {
      t0: res.t0,
      start: res.start,
      sampler: res.sampler,
      nfe: res.nfe,
      items: res.items.map((it) => ({ input: it.source, toClass: it.toClass })),
    };
  } else if (op === 'inpaint') {
    const cls = classArg(ctx, model, 'class');
    const x0 = args.choice('x0', INPAINT_NOISE);
    const images = await readImages(ctx, model);
    const mask = await readMask(ctx, model);
    const res = await inpaint(model, {
      images,
      mask,
      ...(cls !== undefined ? { classLabel: cls } : {}),
      ...(cfg !== undefined ? { cfg } : {}),
      ...(x0 ? { x0 } : {}),
      ...(seed !== undefined ? { seed } : {}),
      solver,
    });
    r = { kind: 'inpaint', result: res };
    summary = {
      nfe: res.nfe,
      steps: res.steps,
      maskedPixels: mask.filter((v) => v > 0).length,
      items: res.items.map((it) => ({
        input: it.source,
        maxAbsErrorUnmasked: it.maxAbsErrorUnmasked,
        meanAbsChangeMasked: it.meanAbsChangeMasked,
      })),
    };
  } else {
    const cls = classArg(ctx, model, 'class');
    const need = (f: 'a' | 'b' | 'c'): string =>
      args.required(f, 'is required: z = z_a + scale (z_b - z_c), each a PNG/JPEG file or mnist:DIGIT[:INDEX]');
    const specs = [need('a'), need('b'), need('c')];
    const [a, b, c] = [
      await readStudioImage(ctx, model, specs[0]!, '--a'),
      await readStudioImage(ctx, model, specs[1]!, '--b'),
      await readStudioImage(ctx, model, specs[2]!, '--c'),
    ];
    const scale = args.number('scale');
    const res = await latentArithmetic(model, {
      a: a!,
      b: b!,
      c: c!,
      ...(scale !== undefined ? { scale } : {}),
      ...(cls !== undefined ? { classLabel: cls } : {}),
      ...(cfg !== undefined ? { cfg } : {}),
      renormalise: args.flag('renormalise'),
      solver,
    });
    r = { kind: 'arithmetic', result: res };
    summary = { scale: res.scale, nfe: res.nfe, inputs: specs, latentStats: res.latentStats };
  }
  let written: string | undefined;
  if (outFile) {
    const [h, w, c] = model.shape as [number, number, Channels];
    const d = h * w * c;
    if (r.kind === 'arithmetic') {
      written = writeOutput(outFile, new Uint8Array(Buffer.from(r.result.stripPng, 'base64')));
    } else if (r.kind === 'class-swap' || r.kind === 'sdedit' || r.kind === 'inpaint') {
      const items: readonly EditItem[] = r.result.items;
      const all = new Float32Array(items.length * 2 * d);
      items.forEach((it, i) => {
        all.set(it.original, 2 * i * d);
        all.set(it.edited, (2 * i + 1) * d);
      });
      written = writeOutput(outFile, imageGridPng(all, items.length * 2, h, w, c, 2));
    }
  }
  const kept = keepResults(ctx, model, r, `edit-${op}`);
  const doc = {
    op,
    model: modelInfo(model),
    // An SDE edit comes back with Euler-Maruyama whatever --solver says (that one inverts to t0).
    ...(r.kind === 'sdedit' && r.result.sampler === 'sde'
      ? { solver: 'euler-maruyama', ...(r.result.start === 'invert' ? { inverter: solver.method } : {}) }
      : { solver: solver.method }),
    ...summary,
    ...(written ? { out: written, format: 'png' } : {}),
    ...kept,
  };
  out.note(`edit ${op} with ${model.label} (${String(doc.solver)}, ${String(summary.nfe)} NFE)${written ? `; wrote ${written}` : ''}`);
  out.result(doc);
  return 0;
}
