/**
 * The JSON side of the latent studio: the request schema of every operation, and the types of their
 * results. Every request and result of main/latent is plain data (numbers, strings, number arrays,
 * base64 PNGs), so a worker thread can take a request from postMessage and hand the result back
 * unchanged, and the CLI can print it with --json.
 *
 * One schema per operation, built here once: the contract validates `latentRun` with them (over the
 * app's image sources, which have no host paths), the compute worker checks the task again, and
 * main/latent parses every request it is handed (the CLI's included, whose image sources may be
 * files), so an error names the same field whoever made the request. What a schema cannot know (an
 * image's size against the model's shape, a class against the model's class count, t0 against its
 * time range) main/latent checks against the loaded model.
 *
 * Pixels are HWC number arrays in the model's data range [-1, 1] (byte p <-> p / 127.5 - 1, as
 * main/data loads images). Latents are flat number arrays of the same length (the model's d).
 */
import { z } from 'zod';
import { FIXED_STEP_METHODS, INTERPOLATION_MODES, ODE_METHODS, spellOut, type InterpolationMode, type OdeMethod } from '../core/catalog';
import type { LatentStats, ReconstructionError } from '../core/inversion/stats';
import type { AbortLike } from '../core/field';
import type { Check, SameSet } from '../core/util/types';

export type { LatentStats, ReconstructionError, InterpolationMode };
export { INTERPOLATION_MODES };

// -------------------------------------------------------------------------- names and bounds

/** What transparent pixels of an image file are composited onto. */
export const IMAGE_BACKGROUNDS = ['white', 'black'] as const;
/** How `pixels` are given: in [-1, 1] ('unit') or 0..255 ('byte'). */
export const PIXEL_RANGES = ['unit', 'byte'] as const;
/** How SDEdit reaches t0: invert the PF-ODE, or draw the path sample with noise. */
export const SDEDIT_STARTS = ['invert', 'noise'] as const;
/**
 * SDEdit's default noise-side time: t0 = 0.2 (edit strength 0.8), where decoding under another class
 * changes a digit into that class; at 0.5 the shipped MNIST model gives back the same digit.
 */
export const SDEDIT_DEFAULT_T0 = 0.2;
/** SDEdit's default guidance weight of the decoding field (as class-swap's). */
export const SDEDIT_DEFAULT_CFG = 1;
/** How SDEdit comes back from t0: the PF-ODE or the SDE. */
export const SDEDIT_SAMPLERS = ['ode', 'sde'] as const;
/** The x0 of inpainting's known region: seeded noise, or the image's own latent. */
export const INPAINT_NOISE = ['random', 'inverted'] as const;

/** Largest image (values): 64 x 64 RGB, more than any model the studio runs. */
const MAX_IMAGE_VALUES = 3 * 64 * 64;
/** Most images (or masks, or classes) one request takes. */
const MAX_IMAGES = 256;
/** Longest name, source or path. */
const MAX_NAME = 4096;
/** Largest class id a request may name (the model's own count is checked by main/latent). */
const MAX_CLASS = 1000;
const MAX_SEED = 2 ** 31 - 1;

// -------------------------------------------------------------------------- building blocks

/** A value as a message shows it: strings quoted, arrays by length, the rest as JSON. */
function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'number') return String(v);
  return typeof v === 'object' && v !== null ? 'an object' : String(v);
}

/** A schema error that says what is allowed and what came: "must be ..., got 300". */
const says = (rule: string) => ({ error: (iss: { input?: unknown }) => `${rule}, got ${shown(iss.input)}` });

const intIn = (min: number, max: number, rule = `must be an integer in [${min}, ${max}]`) =>
  z.int(says(rule)).min(min, says(rule)).max(max, says(rule));
const nonNegative = (rule = 'must be a number >= 0') => z.number(says(rule)).min(0, says(rule));
const positive = (rule = 'must be a number > 0') => z.number(says(rule)).positive(says(rule));
const name = (rule = 'must be a non-empty name') =>
  z
    .string(says(rule))
    .min(1, says(rule))
    .max(MAX_NAME, says(`must be at most ${MAX_NAME} characters`));
const oneOf = <const T extends readonly [string, ...string[]]>(names: T) =>
  z.enum(names, says(`must be ${spellOut(names.map((n) => `'${n}'`))}`));
const listOf = <T extends z.ZodType>(item: T, what: string, max = MAX_IMAGES) =>
  z.array(item, says(`must be a list of ${what}`)).max(max, says(`must hold at most ${max} ${what}`));

const seedSchema = intIn(0, MAX_SEED);
const cfgSchema = nonNegative();
const classId = intIn(0, MAX_CLASS, 'must be a class id (an integer >= 0)');
/** A class for the conditional field, or null for the unconditional field. */
const classChoice = classId.nullable();
/** One class for every image, or one per image. */
const classChoices = z.union([classChoice, listOf(classChoice, 'classes')], says('must be a class id, null, or a list of them'));

/**
 * How to integrate the probability-flow ODE. Fixed-step methods take exactly `steps` steps (so
 * they need them); dopri5 adapts its steps to `rtol`/`atol` (default 1e-5 each).
 */
export const solverSpecSchema = z
  .strictObject({
    method: oneOf(ODE_METHODS),
    steps: intIn(1, 100_000).optional(),
    rtol: positive().optional(),
    atol: positive().optional(),
  })
  .refine((s) => s.method === 'dopri5' || s.steps !== undefined, {
    path: ['steps'],
    error: (iss) => `is required for the fixed-step method '${String((iss.input as { method?: unknown } | undefined)?.method)}'`,
  });
export type SolverSpec = z.output<typeof solverSpecSchema>;

/** An image the studio works on. */
export const latentImageSchema = z.strictObject({
  /** HWC values in [-1, 1], length height * width * channels. */
  pixels: listOf(z.number(says('must be a finite number')), 'values', MAX_IMAGE_VALUES).min(1, says('must hold the image values')),
  /** [height, width, channels] (the model's shape). */
  shape: listOf(intIn(1, 4096), 'sizes', 4),
  /** Where it came from: 'mnist 7/12', a file path, 'pixels', 'sample class 3 seed 0'. */
  source: z.string(says('must be a string')).max(MAX_NAME),
  /** Its class when known (dataset label, or the class a sample was drawn with). */
  label: classId.optional(),
});
export type LatentImage = z.output<typeof latentImageSchema>;

const imagesSchema = listOf(latentImageSchema, 'images').min(1, says('must hold at least one image'));

/**
 * A class for the conditional field: a class id, or null for the unconditional field (the model's
 * null label). For an unconditional model it must be null or omitted.
 */
export type ClassChoice = number | null;

// -------------------------------------------------------------------------- image sources

/** Options of image files and their bytes: decoding to the model's size. */
const fileOptions = {
  /** Refuse a file of another size instead of centre-cropping and resizing it. */
  exactSize: z.boolean(says('must be true or false')).optional(),
  /** What transparent pixels are composited onto (default 'white', as the data loaders do). */
  background: oneOf(IMAGE_BACKGROUNDS).optional(),
};

/** The members of the image-source union, each once; the app's and the CLI's unions are built from them. */
const sourceMembers = {
  /** MNIST from the bundled package: digit `classId`, the `index`-th image of that digit. */
  dataset: z.strictObject({
    kind: z.literal('dataset'),
    dataset: z.literal('mnist', says("only 'mnist' is bundled")).optional(),
    classId: intIn(0, 9, 'must be a digit 0..9'),
    index: intIn(0, 100_000),
  }),
  /** A PNG or JPEG file on the host's disk, centre-cropped, resized and converted to the model's size and channels. */
  file: z.strictObject({ kind: z.literal('file'), path: name('must be a file path'), ...fileOptions }),
  /** The bytes of a PNG or JPEG (e.g. a file the user dropped in the app), base64, named for errors. */
  bytes: z.strictObject({
    kind: z.literal('bytes'),
    name: name(),
    base64: z
      .string(says('must be the base64 of the file'))
      .min(1, says('must not be empty'))
      .max(20_000_000, says('must be at most 20000000 characters (15 MB)')),
    ...fileOptions,
  }),
  /** Pixels given directly: HWC, in [-1, 1] (range 'unit', the default) or 0..255 (range 'byte'). */
  pixels: z.strictObject({
    kind: z.literal('pixels'),
    pixels: listOf(z.number(says('must be a finite number')), 'values', MAX_IMAGE_VALUES).min(1, says('must hold the image values')),
    range: oneOf(PIXEL_RANGES).optional(),
    name: z.string(says('must be a string')).max(MAX_NAME).optional(),
    label: classId.optional(),
  }),
  /** A sample just drawn from the model (noise with `seed` decoded by `solver`), of class `classLabel`. */
  sample: z.strictObject({
    kind: z.literal('sample'),
    seed: seedSchema.optional(),
    classLabel: classChoice.optional(),
    cfg: cfgSchema.optional(),
    solver: solverSpecSchema.optional(),
  }),
};
const m = sourceMembers;
/** Something that is not an object at all; an unknown kind keeps the "unknown kind; allowed: ..." message. */
const notASource = {
  error: (iss: { code?: string; input?: unknown }) =>
    iss.code === 'invalid_type' ? `must be an image source { kind, ... }, got ${shown(iss.input)}` : undefined,
};

/** Where `pickImage` takes an image from (the CLI and the library: a file on the host's disk too). */
export const imageSourceSchema = z.discriminatedUnion('kind', [m.dataset, m.file, m.bytes, m.pixels, m.sample], notASource);
export type ImageSource = z.output<typeof imageSourceSchema>;

/** An image source from the app: files arrive as their bytes (the renderer reads what the user picks), never as a host path. */
export const appImageSourceSchema = z.discriminatedUnion('kind', [m.dataset, m.bytes, m.pixels, m.sample], notASource);
export type AppImageSource = z.output<typeof appImageSourceSchema>;

// -------------------------------------------------------------------------- requests

export const bitsPerDimRequestSchema = z.strictObject({
  /** Hutchinson probes per field evaluation (default 1). */
  probes: intIn(1, 100).optional(),
  /** Independent estimates (probe sets and dequantisation noise), default 3: their spread is reported. */
  repeats: intIn(1, 100).optional(),
  /** Seed of the first estimate (default 0); estimate r uses seed + r. */
  seed: seedSchema.optional(),
  /**
   * Solver of the likelihood ODE (default: the inversion's when it is dopri5, else dopri5 with
   * rtol = atol = 1e-4: few fixed steps get the divergence integral badly wrong).
   */
  solver: solverSpecSchema.optional(),
});
export type BitsPerDimRequest = z.output<typeof bitsPerDimRequestSchema>;

export const invertRequestSchema = z.strictObject({
  images: imagesSchema,
  /** Class of every image, or one per image (default: unconditional). */
  classLabel: classChoices.optional(),
  /** Guidance weight of the field (default 0: the plain conditional field, which inverts exactly). */
  cfg: cfgSchema.optional(),
  /** Default dopri5, rtol = atol = 1e-5. The same solver decodes the reconstruction. */
  solver: solverSpecSchema.optional(),
  /** Also estimate bits/dim by Hutchinson's estimator (costs a backward pass per evaluation). */
  bitsPerDim: z.union([bitsPerDimRequestSchema, z.boolean()], says('must be true, false or { probes, repeats, seed, solver }')).optional(),
});
export type InvertRequest = z.output<typeof invertRequestSchema>;

export const nfeSweepRequestSchema = z.strictObject({
  images: imagesSchema,
  classLabel: classChoices.optional(),
  /** Fixed-step methods to sweep (default all of them). */
  methods: listOf(
    z.enum(FIXED_STEP_METHODS, says(`must be one of ${FIXED_STEP_METHODS.join(', ')} (dopri5 is swept by tolerances)`)),
    'methods',
    8,
  ).optional(),
  /** Steps per fixed-step method (default [2, 4, 8, 16]). */
  steps: listOf(intIn(1, 10_000), 'step counts', 32).optional(),
  /** dopri5 tolerances (rtol = atol), default [1e-2, 1e-3, 1e-4]; [] skips dopri5. */
  tolerances: listOf(
    z.number(says('must be a number in (0, 1)')).gt(0, says('must be a number in (0, 1)')).lt(1, says('must be a number in (0, 1)')),
    'tolerances',
    16,
  ).optional(),
});
export type NfeSweepRequest = z.output<typeof nfeSweepRequestSchema>;

export const interpolateRequestSchema = z.strictObject({
  a: latentImageSchema,
  b: latentImageSchema,
  /** Frames including both ends (default 8). */
  frames: intIn(2, 256).optional(),
  /** Default both, slerp first. */
  modes: listOf(oneOf(INTERPOLATION_MODES), 'modes', 2)
    .min(1, says(`must list ${INTERPOLATION_MODES.map((mode) => `'${mode}'`).join(' and/or ')}`))
    .optional(),
  /** Class for encoding and decoding (default unconditional). */
  classLabel: classChoice.optional(),
  /** Guidance of the decoding field (default 0). */
  cfg: cfgSchema.optional(),
  solver: solverSpecSchema.optional(),
});
export type InterpolateRequest = z.output<typeof interpolateRequestSchema>;

export const classSwapRequestSchema = z.strictObject({
  images: imagesSchema,
  /** Class to invert under, per image or for all (default: each image's label, else unconditional). */
  fromClass: classChoices.optional(),
  /** Class to decode under, per image or for all. */
  toClass: z.union([classId, listOf(classId, 'classes')], {
    error: (iss) =>
      iss.input === undefined ? 'is required: the class to decode under' : `must be a class id or a list of them, got ${shown(iss.input)}`,
  }),
  /** Guidance weight of the decoding field (default 1). */
  cfg: cfgSchema.optional(),
  solver: solverSpecSchema.optional(),
});
export type ClassSwapRequest = z.output<typeof classSwapRequestSchema>;

export const sdeditRequestSchema = z.strictObject({
  images: imagesSchema,
  /**
   * Noise-side time to go back to (inside the model's time range, default SDEDIT_DEFAULT_T0 = 0.2). The edit strength
   * is 1 - t0: t0 near 1 keeps the image, t0 = 0 forgets it.
   */
  t0: z.number(says('must be a number')).optional(),
  /** How to reach t0: 'invert' the PF-ODE (deterministic, the default) or draw the path sample 'noise' x_t0 = alpha x + sigma eps. */
  start: oneOf(SDEDIT_STARTS).optional(),
  /** How to come back: 'ode' (the PF-ODE, default) or 'sde' (Euler-Maruyama with g = noise sigma_t). */
  sampler: oneOf(SDEDIT_SAMPLERS).optional(),
  /** SDE noise level (default 1). */
  noise: nonNegative().optional(),
  seed: seedSchema.optional(),
  /** Class the inversion runs under (default: each image's label, else unconditional). */
  fromClass: classChoices.optional(),
  /** Class to sample back under (default: the same as fromClass). */
  toClass: classChoices.optional(),
  /** Guidance weight of the decoding field (default SDEDIT_DEFAULT_CFG = 1). */
  cfg: cfgSchema.optional(),
  /** ODE solver (default dopri5); the SDE takes `solver.steps` (default 50) Euler-Maruyama steps over [t0, 1]. */
  solver: solverSpecSchema.optional(),
});
export type SdeditRequest = z.output<typeof sdeditRequestSchema>;

const maskValue = z
  .number(says('mask values are in [0, 1] (1 = regenerate, 0 = keep)'))
  .min(0, says('mask values are in [0, 1] (1 = regenerate, 0 = keep)'))
  .max(1, says('mask values are in [0, 1] (1 = regenerate, 0 = keep)'));
const oneMask = listOf(maskValue, 'values', MAX_IMAGE_VALUES).min(1, says('must hold a value per pixel'));

export const inpaintRequestSchema = z.strictObject({
  images: imagesSchema,
  /**
   * Per pixel (height * width values, shared by channels) or per value (height * width * channels):
   * 1 = regenerate, 0 = keep, values between blend. One mask for all images, or one per image.
   */
  mask: z.union([oneMask, listOf(oneMask, 'masks')], {
    error: (iss) =>
      iss.input === undefined
        ? 'is required: per-pixel values in [0, 1], 1 = regenerate'
        : `must be a list of values in [0, 1], or one such list per image, got ${shown(iss.input)}`,
  }),
  classLabel: classChoices.optional(),
  cfg: cfgSchema.optional(),
  /**
   * The fixed x0 of the known region's path sample: 'random' standard normals (seeded, the default)
   * or 'inverted', the image's own latent (one extra inversion).
   */
  x0: oneOf(INPAINT_NOISE).optional(),
  seed: seedSchema.optional(),
  /** Replacement happens after each of `steps` intervals; default heun, 25 steps. */
  solver: solverSpecSchema.optional(),
});
export type InpaintRequest = z.output<typeof inpaintRequestSchema>;

/** An operand of latent arithmetic: an image (inverted first) or a latent given directly. */
const latentOperandSchema = z.union(
  [
    latentImageSchema,
    z.strictObject({
      latent: listOf(z.number(says('must be a finite number')), 'values', MAX_IMAGE_VALUES).min(1),
      source: z.string().max(MAX_NAME).optional(),
    }),
  ],
  says('must be an image { pixels, shape, source } or { latent }'),
);
export type LatentOperand = z.output<typeof latentOperandSchema>;

export const arithmeticRequestSchema = z.strictObject({
  /** z = z_a + scale (z_b - z_c). */
  a: latentOperandSchema,
  b: latentOperandSchema,
  c: latentOperandSchema,
  scale: z.number(says('must be a finite number')).optional(),
  /** Class for encoding and decoding (default unconditional). */
  classLabel: classChoice.optional(),
  cfg: cfgSchema.optional(),
  /** Rescale z to the norm of z_a, keeping it on the Gaussian shell (default false). */
  renormalise: z.boolean(says('must be true or false')).optional(),
  solver: solverSpecSchema.optional(),
});
export type ArithmeticRequest = z.output<typeof arithmeticRequestSchema>;

/**
 * One call of the studio as data: what the contract's `latentRun` carries and a worker receives.
 * Each op is spelled here once; LATENT_OPS and LatentOp are read off this union.
 */
export const latentTaskSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('pick'), source: appImageSourceSchema }),
  z.strictObject({ op: z.literal('invert'), request: invertRequestSchema }),
  z.strictObject({ op: z.literal('nfe-sweep'), request: nfeSweepRequestSchema }),
  z.strictObject({ op: z.literal('interpolate'), request: interpolateRequestSchema }),
  z.strictObject({ op: z.literal('class-swap'), request: classSwapRequestSchema }),
  z.strictObject({ op: z.literal('sdedit'), request: sdeditRequestSchema }),
  z.strictObject({ op: z.literal('inpaint'), request: inpaintRequestSchema }),
  z.strictObject({ op: z.literal('arithmetic'), request: arithmeticRequestSchema }),
]);
type AnyLatentTask = z.output<typeof latentTaskSchema>;
export type LatentOp = AnyLatentTask['op'];
/** Every op, in the order of the union. */
export const LATENT_OPS: readonly LatentOp[] = latentTaskSchema.options.map((o) => o.shape.op.value);

/**
 * The task of op O. `& { op: O }` lets a call infer O from the op it is given, and lets a dispatcher
 * index a table by `task.op` with the correlation kept (see main/latent runLatentTask).
 */
export type LatentTask<O extends LatentOp = LatentOp> = Extract<AnyLatentTask, { op: O }> & { op: O };
/** The ops that compute a result (every op but 'pick', whose image is an input). */
export type LatentResultOp = Exclude<LatentOp, 'pick'>;
/** The request of each op that takes one. */
export type LatentRequest<O extends LatentResultOp = LatentResultOp> = LatentTask<O>['request'];

// -------------------------------------------------------------------------- progress and control

/** Progress of a long computation. */
export interface LatentProgress {
  /** What is running: 'encode', 'decode', 'bits/dim 2/3', 'rk4 8 steps' ... */
  stage: string;
  /** Overall fraction done, 0..1 (monotone). */
  fraction: number;
  /** Field evaluations so far in this stage. */
  nfe: number;
}

/** Progress and cancellation of every long function of the studio. */
export interface LatentControl {
  /** Called after every solver step. */
  onProgress?: (p: LatentProgress) => void;
  /**
   * Checked before every solver step; once `aborted` is true the call rejects with CancelledError
   * and frees every tensor. Solves are synchronous, so in a worker thread back it by shared memory
   * (`sharedCancel`) for it to be seen during a solve; a plain AbortSignal is seen between stages.
   */
  signal?: AbortLike;
}

// -------------------------------------------------------------------------- results

/** What one solve cost. */
export interface SolveInfo {
  method: OdeMethod;
  nfe: number;
  steps: number;
  rejected: number;
  seconds: number;
}

/** The model a result was computed with. */
export interface ModelSummary {
  label: string;
  shape: number[];
  numClasses: number;
  runId?: string;
  step?: number;
}

export interface BitsPerDimResult {
  /** Mean over repeats. */
  mean: number;
  /** Sample standard deviation over repeats (0 for one repeat). */
  std: number;
  values: number[];
  probes: number;
  nfe: number;
}

export interface InvertItem {
  source: string;
  classLabel: ClassChoice;
  /** The latent at t = 0, flat (length d). */
  latent: number[];
  /** The latent shown as an image: z / 3 mapped to [-1, 1] (so +-3 sigma spans black to white). */
  latentPng: string;
  stats: LatentStats;
  /** decode(encode(x)), HWC in the data range (raw, not clamped). */
  reconstruction: number[];
  reconstructionPng: string;
  /** Reconstruction vs the input: PSNR with data range 2 ([-1, 1]), MSE, max abs error. */
  error: ReconstructionError;
  bitsPerDim?: BitsPerDimResult;
}

export interface InvertResult {
  model: ModelSummary;
  items: InvertItem[];
  /** The whole batch was encoded (decoded) in one solve. */
  encode: SolveInfo;
  decode: SolveInfo;
  /** Width of the data interval used for PSNR (2: data in [-1, 1]). */
  dataRange: number;
  /** sqrt(d): the norm a standard Gaussian latent concentrates at. */
  sqrtD: number;
}

export interface NfePoint {
  method: OdeMethod;
  steps?: number;
  tol?: number;
  /** Evaluations of the round trip (encode + decode), per batch. */
  nfe: number;
  encodeNfe: number;
  decodeNfe: number;
  /** Mean over images of the PSNR (dB), MSE and max abs error of decode(encode(x)). */
  psnr: number;
  mse: number;
  maxAbsError: number;
  seconds: number;
}

export interface NfeSweepResult {
  model: ModelSummary;
  /** One series per method, points in increasing NFE: a chart's lines. */
  series: { method: OdeMethod; points: NfePoint[] }[];
  images: number;
}

export interface InterpolationPath {
  mode: InterpolationMode;
  /** Interpolation parameter of each frame, 0 .. 1. */
  s: number[];
  /** Decoded frames, HWC pixels each. */
  frames: number[][];
  framesPng: string[];
  /** ||z_s|| per frame (compare with sqrtD). */
  norms: number[];
  /** All frames side by side, one PNG. */
  stripPng: string;
}

export interface InterpolateResult {
  model: ModelSummary;
  latentA: number[];
  latentB: number[];
  sqrtD: number;
  paths: InterpolationPath[];
  /** First frame vs a and last frame vs b (of the first mode's path). */
  endpoints: { a: ReconstructionError; b: ReconstructionError };
  encode: SolveInfo;
  decode: SolveInfo;
}

/** One edited image with the original beside it. */
export interface EditItem {
  source: string;
  original: number[];
  edited: number[];
  editedPng: string;
  /** Original and edited side by side. */
  pairPng: string;
}

export interface ClassSwapResult {
  model: ModelSummary;
  items: (EditItem & { fromClass: ClassChoice; toClass: number; latentStats: LatentStats })[];
  cfg: number;
  encode: SolveInfo;
  decode: SolveInfo;
}

export interface SdeditResult {
  model: ModelSummary;
  items: (EditItem & { toClass: ClassChoice })[];
  t0: number;
  start: (typeof SDEDIT_STARTS)[number];
  sampler: (typeof SDEDIT_SAMPLERS)[number];
  nfe: number;
}

export interface InpaintResult {
  model: ModelSummary;
  items: (EditItem & { maskPng: string; maxAbsErrorUnmasked: number; meanAbsChangeMasked: number })[];
  nfe: number;
  steps: number;
}

export interface ArithmeticResult {
  model: ModelSummary;
  latent: number[];
  latentStats: LatentStats;
  /** Decoded z. */
  result: number[];
  resultPng: string;
  /** a, b, c and the result side by side (operands given as latents show their decoding). */
  stripPng: string;
  scale: number;
  nfe: number;
}

/** The result type of each latent task (main/latent runLatentTask), by op. */
export interface LatentTaskResults {
  pick: LatentImage;
  invert: InvertResult;
  'nfe-sweep': NfeSweepResult;
  interpolate: InterpolateResult;
  'class-swap': ClassSwapResult;
  sdedit: SdeditResult;
  inpaint: InpaintResult;
  arithmetic: ArithmeticResult;
}
// The table has exactly the schema's ops: an op added to one and not the other fails to compile.
export type LatentOpsAgree = Check<SameSet<keyof LatentTaskResults, LatentOp>>;

// -------------------------------------------------------------------------- saving

/** A result file: what `saveArtifacts` stores and `exportFiles` writes. */
export interface LatentFile {
  name: string;
  mime: string;
  base64: string;
  meta?: Record<string, unknown>;
}

const isResult = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
/**
 * A result handed back to be saved or exported. It is the host's own reply to `latentRun`, returned
 * unchanged by the renderer: the schema checks its kind and that it is an object, and types it as
 * that op's result.
 */
const resultOf = <K extends LatentResultOp>(kind: K) =>
  z.strictObject({
    kind: z.literal(kind),
    result: z.custom<LatentTaskResults[K]>(isResult, says(`must be the ${kind} result latentRun returned`)),
  });
export const latentResultSchema = z.discriminatedUnion('kind', [
  resultOf('invert'),
  resultOf('nfe-sweep'),
  resultOf('interpolate'),
  resultOf('class-swap'),
  resultOf('sdedit'),
  resultOf('inpaint'),
  resultOf('arithmetic'),
]);
// Every op with a result can be saved, and no other.
export type SavableOpsAgree = Check<SameSet<z.output<typeof latentResultSchema>['kind'], LatentResultOp>>;

/** A result with what kind it is (what `resultFiles` takes); an interpolation may carry its animation's frame delay. */
export type LatentResult = {
  [K in LatentResultOp]: { kind: K; result: LatentTaskResults[K] } & (K extends 'interpolate' ? { delayMs?: number } : unknown);
}[LatentResultOp];
