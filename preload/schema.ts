/**
 * Schemas of everything that crosses a boundary: experiment configs (CLI files, IPC payloads, web
 * host requests, presets) and the Gaussian-mixture files of `--model oracle --gmm FILE`.
 *
 * One schema, used by the CLI, Electron main, the web host and the renderer's inline validation, so a
 * config accepted by one is accepted by all. Errors name the dotted field and the allowed values.
 * No Node or DOM imports: every process can load this file.
 */
import { z } from 'zod';

// Allowed values are spelled here once; core checks the same names at run time.
export const TOY_DATASETS = ['moons', '8gaussians', 'circles', 'checkerboard', '2spirals', 'swissroll'] as const;
export const PREDICTIONS = ['velocity', 'eps', 'x1'] as const;
export const COUPLINGS = ['independent', 'exact-ot', 'sinkhorn'] as const;
export const SOLVERS = ['euler', 'midpoint', 'heun', 'rk4', 'dopri5'] as const;
export const ACTIVATIONS = ['silu', 'relu', 'gelu', 'tanh'] as const;

// The field name is added by formatIssues, so messages say only what is wrong.
const positive = (_what: string) => z.number({ error: 'must be a number' }).positive({ error: 'must be > 0' });
const int = (min: number) => z.number().int({ error: 'must be an integer' }).min(min, { error: `must be >= ${min}` });

export const gmmSchema = z
  .object({
    weights: z.array(z.number().nonnegative()).min(1, { error: 'needs at least one component' }),
    means: z.array(z.array(z.number()).min(1)).min(1),
    stds: z.array(positive('std')).min(1),
  })
  .superRefine((g, ctx) => {
    if (g.means.length !== g.weights.length || g.stds.length !== g.weights.length)
      ctx.addIssue({ code: 'custom', message: `weights (${g.weights.length}), means (${g.means.length}) and stds (${g.stds.length}) must have the same length`, path: ['means'] });
    const d = g.means[0]?.length ?? 0;
    g.means.forEach((m, i) => {
      if (m.length !== d) ctx.addIssue({ code: 'custom', message: `must have dimension ${d} like means[0], got ${m.length}`, path: ['means', i] });
    });
    if (!(g.weights.reduce((a, b) => a + b, 0) > 0)) ctx.addIssue({ code: 'custom', message: 'must have a positive sum', path: ['weights'] });
  });
export type GmmFile = z.infer<typeof gmmSchema>;

export const schedulerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('condot'), sigmaMin: z.number().min(0).lt(1).optional() }),
  z.object({ kind: z.literal('polynomial'), n: positive('n') }),
  z.object({ kind: z.literal('cosine') }),
  z.object({ kind: z.literal('linear-vp') }),
  z.object({ kind: z.literal('vp'), betaMin: positive('betaMin').optional(), betaMax: positive('betaMax').optional() }),
  z.object({ kind: z.literal('ve'), sigmaMin: positive('sigmaMin').optional(), sigmaMax: positive('sigmaMax').optional() }),
]);

export const dataSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('toy2d'), name: z.enum(TOY_DATASETS), noise: z.number().min(0).optional() }),
  z.object({ kind: z.literal('gmm'), gmm: gmmSchema }),
  z.object({ kind: z.literal('points'), points: z.array(z.array(z.number()).length(2)).min(1, { error: 'needs at least one point' }) }),
  z.object({ kind: z.literal('mnist'), digits: z.array(int(0).max(9)).min(1).optional() }),
  z.object({
    kind: z.literal('images'),
    folder: z.string().min(1),
    size: z.union([z.literal(28), z.literal(32)]),
    channels: z.union([z.literal(1), z.literal(3)]),
    onCorrupt: z.enum(['skip', 'reject']).default('skip'),
    /** Each immediate subfolder is a class (sorted names), for class-conditional training. */
    labelsFromSubfolders: z.boolean().default(false),
  }),
]);
export type DataConfig = z.output<typeof dataSchema>;
export type DataInput = z.input<typeof dataSchema>;

const mlpSchema = z.object({
  kind: z.literal('mlp'),
  width: int(1).max(4096).default(256),
  depth: int(1).max(16).default(3),
  activation: z.enum(ACTIVATIONS).default('silu'),
  /** Sinusoidal time features (even); 0 feeds t itself as one input (the 3 -> 256 ... benchmark net). */
  timeEmbedDim: int(0).max(512).default(32).refine((d) => d === 0 || d % 2 === 0, { error: 'must be 0 or even' }),
});
const unetSchema = z.object({
  kind: z.literal('unet'),
  baseChannels: int(4).max(256).default(32),
  channelMults: z.array(int(1).max(8)).min(2).default([1, 2, 2]),
  blocksPerLevel: int(1).max(4).default(1),
  attention: z.boolean().default(true),
  groups: int(1).default(8),
  timeEmbedDim: int(2).max(512).default(64),
});

export const experimentSchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    seed: int(0).default(0),
    data: dataSchema,
    /** Source x0: standard normal noise, or another dataset (data translation). */
    source: z
      .discriminatedUnion('kind', [z.object({ kind: z.literal('gaussian') }), z.object({ kind: z.literal('data'), data: dataSchema })])
      .default({ kind: 'gaussian' }),
    path: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('affine'), scheduler: schedulerSchema }),
        // Stochastic interpolant / Schrodinger-bridge CFM: x_t = t x1 + (1-t) x0 + s sqrt(t(1-t)) eps.
        z.object({ kind: z.literal('interpolant'), s: z.number().min(0) }),
      ])
      .default({ kind: 'affine', scheduler: { kind: 'condot' } }),
    /**
     * Reflow (rectified flow): train on (noise, sample) pairs generated by a finished run's EMA model
     * instead of independent pairs; `data` still names the data set used for evaluation.
     */
    reflow: z
      .object({
        from: z.string().min(1, { error: 'must name the run to reflow' }),
        pairs: int(1).max(1_000_000).default(10_000),
        solver: z.enum(SOLVERS).default('rk4'),
        steps: int(1).max(10_000).default(50),
      })
      .optional(),
    prediction: z.enum(PREDICTIONS).default('velocity'),
    coupling: z
      .object({
        kind: z.enum(COUPLINGS).default('independent'),
        /** Sinkhorn regularisation (entropic OT), relative to the mean cost. */
        reg: positive('reg').default(0.05),
        /** Pair only points of the same class (needs labelled source and target). */
        classAware: z.boolean().default(false),
      })
      .default({ kind: 'independent', reg: 0.05, classAware: false }),
    time: z
      .object({
        distribution: z.enum(['uniform', 'logit-normal']).default('uniform'),
        mean: z.number().default(0),
        std: positive('std').default(1),
        /** Loss weight over time: none, or emphasise by the path's signal-to-noise ratio. */
        weighting: z.enum(['none', 'snr-clipped']).default('none'),
      })
      .default({ distribution: 'uniform', mean: 0, std: 1, weighting: 'none' }),
    model: z.discriminatedUnion('kind', [mlpSchema, unetSchema]),
    /** Classifier-free guidance: probability of dropping the label in training (0 = no CFG). */
    labelDropout: z.number().min(0).max(1).default(0),
    conditional: z.boolean().default(false),
    optim: z
      .object({
        kind: z.enum(['adam', 'adamw']).default('adam'),
        lr: positive('lr').default(1e-3),
        beta1: z.number().min(0).lt(1).default(0.9),
        beta2: z.number().min(0).lt(1).default(0.999),
        eps: positive('eps').default(1e-8),
        weightDecay: z.number().min(0).default(0),
        warmupSteps: int(0).default(0),
        schedule: z.enum(['constant', 'cosine']).default('constant'),
        minLrRatio: z.number().min(0).max(1).default(0.1),
        gradClip: z.number().min(0).default(0),
        emaDecay: z.number().min(0).lt(1).default(0.999),
      })
      .default({ kind: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, warmupSteps: 0, schedule: 'constant', minLrRatio: 0.1, gradClip: 0, emaDecay: 0.999 }),
    train: z
      .object({
        steps: int(1).max(10_000_000).default(2000),
        batchSize: int(1).max(65536).default(256),
        checkpointEvery: int(1).default(500),
        logEvery: int(1).default(10),
        sampleEvery: int(0).default(250),
        sampleCount: int(1).max(10000).default(512),
        /**
         * Data-parallel threads: 1 (default), a count (each thread computes the gradient of its share
         * of the batch on its own tfjs backend), or 'auto' (main/engine/parallel.ts resolveThreads).
         * Different counts give the same curve up to float32 rounding, not bit for bit.
         */
        threads: z.union([z.literal('auto'), int(1).max(64)]).default(1),
      })
      .default({ steps: 2000, batchSize: 256, checkpointEvery: 500, logEvery: 10, sampleEvery: 250, sampleCount: 512, threads: 1 }),
    sampling: z
      .object({
        solver: z.enum(SOLVERS).default('euler'),
        steps: int(1).max(10000).default(50),
        rtol: positive('rtol').default(1e-5),
        atol: positive('atol').default(1e-5),
        cfg: z.number().min(0).default(0),
      })
      .default({ solver: 'euler', steps: 50, rtol: 1e-5, atol: 1e-5, cfg: 0 }),
  })
  .strict();

export type ExperimentInput = z.input<typeof experimentSchema>;
export type ExperimentConfig = z.output<typeof experimentSchema>;

/** One problem with a config: the dotted field and a message that says what is allowed. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Formats a path like ['optim', 'lr'] or ['data', 'gmm', 'means', 3] as 'optim.lr' / 'data.gmm.means[3]'. */
export function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

function issuesOf(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => {
    let message = i.message;
    if (i.code === 'invalid_value' && 'values' in i) message = `must be one of ${(i.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    if (i.code === 'invalid_union' && 'discriminator' in i && i.discriminator) message = `unknown kind; allowed: ${unionKinds(i)}`;
    if (i.code === 'unrecognized_keys') message = `unknown field(s) ${i.keys.join(', ')}`;
    return { field: fieldName(i.path), message };
  });
}

function unionKinds(issue: z.core.$ZodIssue): string {
  const opts = (issue as unknown as { options?: unknown[] }).options;
  return Array.isArray(opts) ? opts.map((o) => JSON.stringify(o)).join(', ') : 'see the documentation';
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

/** Validates an experiment config (defaults filled in). Never throws. */
export function parseExperiment(input: unknown): Parsed<ExperimentConfig> {
  const r = experimentSchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: issuesOf(r.error) };
}

/** Validates a Gaussian-mixture description. Never throws. */
export function parseGmm(input: unknown): Parsed<GmmFile> {
  const r = gmmSchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: issuesOf(r.error) };
}

/** "field: message" lines, for the CLI and error dialogs. */
export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('\n');
}
