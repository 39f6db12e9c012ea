/**
 * Interpolation between two images through their latents: encode both (one solve), interpolate the
 * latents by slerp and/or lerp (core/inversion/interpolate), decode every frame of every mode in one
 * batch. Norms per frame show why slerp: it stays near sqrt(d), lerp sags to ~sqrt(d / 2) midway.
 */
import { tf } from '../../core/tf';
import { ConfigError } from '../../core/errors';
import { decode, encode } from '../../core/inversion/encode';
import { interpolatePath } from '../../core/inversion/interpolate';
import { reconstructionError } from '../../core/inversion/stats';
import { unitToByte } from '../data';
import type { LoadedModel } from '../models/load';
import { encodeApng, encodeGif } from './anim';
import {
  batchOf,
  classesFor,
  condOf,
  DEFAULT_SOLVER,
  dimOf,
  imageShape,
  modelSummary,
  odeOptions,
  parseRequest,
  pngBase64,
  rowsOf,
  since,
  solveInfo,
  Stages,
  stripBase64,
  withTensors,
} from './common';
import { DATA_RANGE } from './invert';
import {
  INTERPOLATION_MODES,
  interpolateRequestSchema,
  type InterpolateRequest,
  type InterpolateResult,
  type InterpolationMode,
  type InterpolationPath,
  type LatentControl,
} from '../../common/latent';

/**
 * Frames between `a` and `b` (see the module comment).
 *
 * @example
 *   const r = await interpolateImages(model, { a, b, frames: 9 });
 *   r.paths[0].norms; // slerp: all ~ r.sqrtD
 */
export async function interpolateImages(
  model: LoadedModel,
  input: InterpolateRequest,
  ctl: LatentControl = {},
): Promise<InterpolateResult> {
  const shape = imageShape(model);
  const req = parseRequest(interpolateRequestSchema, input);
  const spec = req.solver ?? DEFAULT_SOLVER;
  const frames = req.frames ?? 8;
  const modes: readonly InterpolationMode[] = req.modes ?? INTERPOLATION_MODES;
  const cfg = req.cfg ?? 0;
  const [cls] = classesFor(model, req.classLabel ?? null, 1, 'classLabel');
  return withTensors(async (keep) => {
    const x = batchOf(model, [req.a, req.b], 'a/b');
    keep(x);
    const cond2 = condOf(model, [cls!, cls!]);
    keep(cond2);
    const stages = new Stages(ctl, [
      { name: 'encode', weight: 2 },
      { name: 'decode', weight: frames * modes.length },
    ]);
    let t = performance.now();
    const enc = encode(model.field(0), x, { ...odeOptions(model, spec, cond2 ? { cond: cond2 } : {}), ...stages.controls() });
    keep(enc.x);
    const encInfo = solveInfo(spec.method, enc, since(t));
    await stages.next();
    const [za, zb] = tf.split(enc.x, 2);
    keep(za);
    keep(zb);
    const paths = modes.map((m) => {
      const p = interpolatePath(za!, zb!, frames, m); // [F, 1, ...shape]
      keep(p);
      return p;
    });
    const all = tf.tidy(() => tf.reshape(tf.concat(paths), [frames * modes.length, ...model.shape]));
    keep(all);
    const normList = rowsOf(all).map((z) => Math.sqrt(z.reduce((acc, v) => acc + v * v, 0)));
    const condF = condOf(
      model,
      Array.from({ length: frames * modes.length }, () => cls!),
    );
    keep(condF);
    t = performance.now();
    const dec = decode(model.field(cfg), all, { ...odeOptions(model, spec, condF ? { cond: condF } : {}), ...stages.controls() });
    keep(dec.x);
    const decInfo = solveInfo(spec.method, dec, since(t));
    await stages.next();
    const rows = rowsOf(dec.x);
    const s = Array.from({ length: frames }, (_, j) => j / (frames - 1));
    const out: InterpolationPath[] = modes.map((mode, k) => {
      const fr = rows.slice(k * frames, (k + 1) * frames);
      return {
        mode,
        s,
        frames: fr,
        framesPng: fr.map((f) => pngBase64(f, shape)),
        norms: normList.slice(k * frames, (k + 1) * frames),
        stripPng: stripBase64(fr, shape),
      };
    });
    const first = out[0]!;
    return {
      model: modelSummary(model),
      latentA: Array.from(za!.dataSync()),
      latentB: Array.from(zb!.dataSync()),
      sqrtD: Math.sqrt(dimOf(model)),
      paths: out,
      endpoints: {
        a: reconstructionError(req.a.pixels, first.frames[0]!, DATA_RANGE),
        b: reconstructionError(req.b.pixels, first.frames[frames - 1]!, DATA_RANGE),
      },
      encode: encInfo,
      decode: decInfo,
    };
  });
}

/**
 * An interpolation path as an animation: 'apng' (lossless) or 'gif', each frame shown `delayMs`;
 * with `bounce` the frames play forwards then backwards (a..b..a) so the loop has no jump.
 */
export function interpolationAnimation(
  result: Pick<InterpolateResult, 'paths'> & { model: { shape: number[] } },
  opts: { mode?: InterpolationMode; format: 'apng' | 'gif'; delayMs?: number; bounce?: boolean },
): Uint8Array {
  const path = result.paths.find((p) => p.mode === (opts.mode ?? result.paths[0]?.mode));
  if (!path)
    throw new ConfigError('mode', `the result has no '${String(opts.mode)}' path (it has ${result.paths.map((p) => p.mode).join(', ')})`);
  const [h, w, c] = result.model.shape as [number, number, 1 | 3];
  let frames = path.frames.map((f) => Uint8Array.from(f, unitToByte));
  if (opts.bounce) frames = [...frames, ...frames.slice(1, -1).reverse()];
  const delay = opts.delayMs ?? 150;
  return opts.format === 'gif' ? encodeGif(frames, w, h, c, delay) : encodeApng(frames, w, h, c, delay);
}
