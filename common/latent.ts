/**
 * The JSON side of the latent studio: every request and result of main/latent is plain data
 * (numbers, strings, number arrays, base64 PNGs), so a worker thread can take a request from
 * postMessage and hand the result back unchanged, and the CLI can print it with --json.
 *
 * Pixels are HWC number arrays in the model's data range [-1, 1] (byte p <-> p / 127.5 - 1, as
 * main/data loads images). Latents are flat number arrays of the same length (the model's d).
 */
import type { LatentStats, ReconstructionError } from '../core/inversion/stats';
import type { AbortLike } from '../core/field';
import type { OdeMethod } from '../core/solver/types';

export type { LatentStats, ReconstructionError };

/** An image the studio works on. */
export interface LatentImage {
  /** HWC values in [-1, 1], length height * width * channels. */
  pixels: number[];
  /** [height, width, channels] (the model's shape). */
  shape: number[];
  /** Where it came from: 'mnist 7/12', a file path, 'pixels', 'sample class 3 seed 0'. */
  source: string;
  /** Its class when known (dataset label, or the class a sample was drawn with). */
  label?: number;
}

/** Where `pickImage` takes an image from. */
export type ImageSource =
  /** MNIST from the bundled package: digit `classId`, the `index`-th image of that digit. */
  | { kind: 'dataset'; dataset?: 'mnist'; classId: number; index: number }
  /**
   * A PNG or JPEG file, centre-cropped, resized and converted to the model's size and channels;
   * with `exactSize` a file of another size is refused instead. `background` is what transparent
   * pixels are composited onto (default 'white', as the data loaders do; 'black' suits MNIST-like
   * white-on-transparent drawings).
   */
  | { kind: 'file'; path: string; exactSize?: boolean; background?: 'white' | 'black' }
  /** The bytes of a PNG or JPEG (e.g. a file the user dropped in the app), base64, named for errors. */
  | { kind: 'bytes'; name: string; base64: string; exactSize?: boolean; background?: 'white' | 'black' }
  /** Pixels given directly: HWC, in [-1, 1] (range 'unit', the default) or 0..255 (range 'byte'). */
  | { kind: 'pixels'; pixels: number[]; range?: 'unit' | 'byte'; name?: string; label?: number }
  /** A sample just drawn from the model (noise with `seed` decoded by `solver`), of class `classLabel`. */
  | { kind: 'sample'; seed?: number; classLabel?: number | null; cfg?: number; solver?: SolverSpec };

/**
 * How to integrate the probability-flow ODE. Fixed-step methods take exactly `steps` steps;
 * dopri5 adapts its steps to `rtol`/`atol` (default 1e-5 each).
 */
export interface SolverSpec {
  method: OdeMethod;
  steps?: number;
  rtol?: number;
  atol?: number;
}

/**
 * A class for the conditional field: a class id, or null for the unconditional field (the model's
 * null label). For an unconditional model it must be null or omitted.
 */
export type ClassChoice = number | null;

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

// -------------------------------------------------------------------------- invert

export interface BitsPerDimRequest {
  /** Hutchinson probes per field evaluation (default 1). */
  probes?: number;
  /** Independent estimates (probe sets and dequantisation noise), default 3: their spread is reported. */
  repeats?: number;
  /** Seed of the first estimate (default 0); estimate r uses seed + r. */
  seed?: number;
  /**
   * Solver of the likelihood ODE (default: the inversion's when it is dopri5, else dopri5 with
   * rtol = atol = 1e-4: few fixed steps get the divergence integral badly wrong).
   */
  solver?: SolverSpec;
}

export interface InvertRequest {
  images: LatentImage[];
  /** Class of every image, or one per image (default: unconditional). */
  classLabel?: ClassChoice | ClassChoice[];
  /** Guidance weight of the field (default 0: the plain conditional field, which inverts exactly). */
  cfg?: number;
  /** Default dopri5, rtol = atol = 1e-5. The same solver decodes the reconstruction. */
  solver?: SolverSpec;
  /** Also estimate bits/dim by Hutchinson's estimator (costs a backward pass per evaluation). */
  bitsPerDim?: BitsPerDimRequest | boolean;
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

// -------------------------------------------------------------------------- NFE sweep

export interface NfeSweepRequest {
  images: LatentImage[];
  classLabel?: ClassChoice | ClassChoice[];
  /** Fixed-step methods to sweep (default euler, midpoint, heun, rk4). */
  methods?: ('euler' | 'midpoint' | 'heun' | 'rk4')[];
  /** Steps per fixed-step method (default [2, 4, 8, 16]). */
  steps?: number[];
  /** dopri5 tolerances (rtol = atol), default [1e-2, 1e-3, 1e-4]; [] skips dopri5. */
  tolerances?: number[];
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

// -------------------------------------------------------------------------- interpolate

export type InterpolationMode = 'slerp' | 'lerp';

export interface InterpolateRequest {
  a: LatentImage;
  b: LatentImage;
  /** Frames including both ends (default 8). */
  frames?: number;
  /** Default both, slerp first. */
  modes?: InterpolationMode[];
  /** Class for encoding and decoding (default unconditional). */
  classLabel?: ClassChoice;
  /** Guidance of the decoding field (default 0). */
  cfg?: number;
  solver?: SolverSpec;
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

// -------------------------------------------------------------------------- edits

/** One edited image with the original beside it. */
export interface EditItem {
  source: string;
  original: number[];
  edited: number[];
  editedPng: string;
  /** Original and edited side by side. */
  pairPng: string;
}

export interface ClassSwapRequest {
  images: LatentImage[];
  /** Class to invert under, per image or for all (default: each image's label, else unconditional). */
  fromClass?: ClassChoice | ClassChoice[];
  /** Class to decode under, per image or for all. */
  toClass: number | number[];
  /** Guidance weight of the decoding field (default 1). */
  cfg?: number;
  solver?: SolverSpec;
}

export interface ClassSwapResult {
  model: ModelSummary;
  items: (EditItem & { fromClass: ClassChoice; toClass: number; latentStats: LatentStats })[];
  cfg: number;
  encode: SolveInfo;
  decode: SolveInfo;
}

export interface SdeditRequest {
  images: LatentImage[];
  /**
   * Noise-side time to go back to (0 < t0 < 1; default 0.5). The edit strength is 1 - t0: t0 near 1
   * keeps the image, t0 = 0 forgets it.
   */
  t0?: number;
  /** How to reach t0: 'invert' the PF-ODE (deterministic, the default) or draw the path sample 'noise' x_t0 = alpha x + sigma eps. */
  start?: 'invert' | 'noise';
  /** How to come back: 'ode' (the PF-ODE, default) or 'sde' (Euler-Maruyama with g = noise sigma_t). */
  sampler?: 'ode' | 'sde';
  /** SDE noise level (default 1). */
  noise?: number;
  seed?: number;
  /** Class the inversion runs under (default: each image's label, else unconditional). */
  fromClass?: ClassChoice | ClassChoice[];
  /** Class to sample back under (default: the same as fromClass). */
  toClass?: ClassChoice | ClassChoice[];
  cfg?: number;
  /** ODE solver (default dopri5); the SDE takes `solver.steps` (default 50) Euler-Maruyama steps over [t0, 1]. */
  solver?: SolverSpec;
}

export interface SdeditResult {
  model: ModelSummary;
  items: (EditItem & { toClass: ClassChoice })[];
  t0: number;
  start: 'invert' | 'noise';
  sampler: 'ode' | 'sde';
  nfe: number;
}

export interface InpaintRequest {
  images: LatentImage[];
  /**
   * Per pixel (height * width values, shared by channels) or per value (height * width * channels):
   * 1 = regenerate, 0 = keep, values between blend. One mask for all images, or one per image.
   */
  mask: number[] | number[][];
  classLabel?: ClassChoice | ClassChoice[];
  cfg?: number;
  /**
   * The fixed x0 of the known region's path sample: 'random' standard normals (seeded, the default)
   * or 'inverted', the image's own latent (one extra inversion).
   */
  x0?: 'random' | 'inverted';
  seed?: number;
  /** Replacement happens after each of `steps` intervals; default heun, 25 steps. */
  solver?: SolverSpec;
}

export interface InpaintResult {
  model: ModelSummary;
  items: (EditItem & { maskPng: string; maxAbsErrorUnmasked: number; meanAbsChangeMasked: number })[];
  nfe: number;
  steps: number;
}

/** An operand of latent arithmetic: an image (inverted first) or a latent given directly. */
export type LatentOperand = LatentImage | { latent: number[]; source?: string };

export interface ArithmeticRequest {
  /** z = z_a + scale (z_b - z_c). */
  a: LatentOperand;
  b: LatentOperand;
  c: LatentOperand;
  scale?: number;
  /** Class for encoding and decoding (default unconditional). */
  classLabel?: ClassChoice;
  cfg?: number;
  /** Rescale z to the norm of z_a, keeping it on the Gaussian shell (default false). */
  renormalise?: boolean;
  solver?: SolverSpec;
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

// -------------------------------------------------------------------------- saving

/** A result file: what `saveArtifacts` stores and `exportFiles` writes. */
export interface LatentFile {
  name: string;
  mime: string;
  base64: string;
  meta?: Record<string, unknown>;
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
