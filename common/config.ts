/**
 * Schemas of everything that crosses a boundary: experiment configs (CLI files, IPC payloads, web
 * host requests, presets) and the Gaussian-mixture files of `--model oracle --gmm FILE`.
 *
 * One schema, used by the CLI, Electron main, the web host and the renderer's inline validation, so a
 * config accepted by one is accepted by all. Errors name the dotted field and the allowed values.
 * No Node or DOM imports: every process can load this file.
 *
 * Every object is strict: an unknown key at any depth is an issue of its own, on the key's full path,
 * with the closest known field when one is close ("optim.learningRate: unknown field; did you mean
 * optim.lr?", see common/suggest.ts), so a typo never trains silently with a default. Combinations
 * of valid values that cannot train are the cross-field rules of core/train/rules.ts, applied here by
 * one superRefine.
 */
import { z } from 'zod';
import { ruleIssues } from '../core/train/rules';
import {
  ACTIVATIONS,
  CORRUPT_FILE_POLICIES,
  COUPLING_KINDS,
  LOSS_WEIGHTINGS,
  LR_SCHEDULES,
  ODE_METHODS,
  OPTIMIZERS,
  SAMPLERS,
  SCHEDULER_KINDS,
  TIME_DISTRIBUTIONS,
  TIME_GRIDS,
  TOY_2D_NAMES,
  TRAIN_PREDICTIONS,
} from '../core/catalog';
import { closestName, exactMatch } from './suggest';
import type { Check, SameSet } from '../core/util/types';

// Allowed values are core's lists (core/catalog.ts), under the names the app uses; core checks the
// same lists at run time, and the renderer offers them as choices.
export {
  ACTIVATIONS,
  CORRUPT_FILE_POLICIES,
  COUPLING_KINDS as COUPLINGS,
  LOSS_WEIGHTINGS,
  LR_SCHEDULES,
  ODE_METHODS as SOLVERS,
  OPTIMIZERS,
  SAMPLERS,
  SCHEDULER_KINDS,
  TIME_GRIDS,
  TIME_DISTRIBUTIONS,
  TOY_2D_NAMES as TOY_DATASETS,
  TRAIN_PREDICTIONS as PREDICTIONS,
};

/** The engines a run can train on (train.engine). */
export const TRAIN_ENGINES = ['tfjs', 'pytorch'] as const;
export type TrainEngine = (typeof TRAIN_ENGINES)[number];

// The field name is added by formatIssues, so messages say only what is wrong.
const positive = (_what: string) => z.number({ error: 'must be a number' }).positive({ error: 'must be > 0' });
const int = (min: number) =>
  z
    .number()
    .int({ error: 'must be an integer' })
    .min(min, { error: `must be >= ${min}` });

export const gmmSchema = z
  .strictObject({
    weights: z.array(z.number().nonnegative()).min(1, { error: 'needs at least one component' }),
    means: z.array(z.array(z.number()).min(1)).min(1),
    stds: z.array(positive('std')).min(1),
  })
  .superRefine((g, ctx) => {
    if (g.means.length !== g.weights.length || g.stds.length !== g.weights.length)
      ctx.addIssue({
        code: 'custom',
        message: `weights (${g.weights.length}), means (${g.means.length}) and stds (${g.stds.length}) must have the same length`,
        path: ['means'],
      });
    const d = g.means[0]?.length ?? 0;
    g.means.forEach((m, i) => {
      if (m.length !== d)
        ctx.addIssue({ code: 'custom', message: `must have dimension ${d} like means[0], got ${m.length}`, path: ['means', i] });
    });
    if (!(g.weights.reduce((a, b) => a + b, 0) > 0))
      ctx.addIssue({ code: 'custom', message: 'must have a positive sum', path: ['weights'] });
  });
export type GmmFile = z.infer<typeof gmmSchema>;

export const schedulerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('condot'), sigmaMin: z.number().min(0).lt(1).optional() }),
  z.strictObject({ kind: z.literal('polynomial'), n: positive('n') }),
  z.strictObject({ kind: z.literal('cosine') }),
  z.strictObject({ kind: z.literal('linear-vp') }),
  z.strictObject({ kind: z.literal('vp'), betaMin: positive('betaMin').optional(), betaMax: positive('betaMax').optional() }),
  z.strictObject({ kind: z.literal('sub-vp'), betaMin: positive('betaMin').optional(), betaMax: positive('betaMax').optional() }),
  z.strictObject({ kind: z.literal('ve'), sigmaMin: positive('sigmaMin').optional(), sigmaMax: positive('sigmaMax').optional() }),
]);

export const dataSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('toy2d'), name: z.enum(TOY_2D_NAMES), noise: z.number().min(0).optional() }),
  z.strictObject({ kind: z.literal('gmm'), gmm: gmmSchema }),
  z.strictObject({
    kind: z.literal('points'),
    points: z.array(z.array(z.number()).length(2)).min(1, { error: 'needs at least one point' }),
  }),
  z.strictObject({ kind: z.literal('mnist'), digits: z.array(int(0).max(9)).min(1).optional() }),
  z.strictObject({
    kind: z.literal('images'),
    folder: z.string().min(1),
    size: z.union([z.literal(28), z.literal(32)]),
    channels: z.union([z.literal(1), z.literal(3)]),
    onCorrupt: z.enum(CORRUPT_FILE_POLICIES).default('skip'),
    /** Each immediate subfolder is a class (sorted names), for class-conditional training. */
    labelsFromSubfolders: z.boolean().default(false),
  }),
]);
export type DataConfig = z.output<typeof dataSchema>;
export type DataInput = z.input<typeof dataSchema>;

const mlpSchema = z.strictObject({
  kind: z.literal('mlp'),
  width: int(1).max(4096).default(256),
  depth: int(1).max(16).default(3),
  activation: z.enum(ACTIVATIONS).default('silu'),
  /** Sinusoidal time features (even); 0 feeds t itself as one input (the 3 -> 256 ... benchmark net). */
  timeEmbedDim: int(0)
    .max(512)
    .default(32)
    .refine((d) => d === 0 || d % 2 === 0, { error: 'must be 0 or even' }),
});
const unetSchema = z.strictObject({
  kind: z.literal('unet'),
  baseChannels: int(4).max(256).default(32),
  channelMults: z.array(int(1).max(8)).min(2).default([1, 2, 2]),
  blocksPerLevel: int(1).max(4).default(1),
  attention: z.boolean().default(true),
  groups: int(1).default(8),
  timeEmbedDim: int(2)
    .max(512)
    .default(64)
    .refine((d) => d % 2 === 0, { error: 'must be even (sinusoidal features come in sin/cos pairs)' }),
});

/** Source x0: standard normal noise, or another dataset (data translation). */
const sourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('gaussian') }),
  z.strictObject({ kind: z.literal('data'), data: dataSchema }),
]);
const pathSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('affine'), scheduler: schedulerSchema }),
  // Stochastic interpolant / Schrodinger-bridge CFM: x_t = t x1 + (1-t) x0 + s sqrt(t(1-t)) eps.
  z.strictObject({ kind: z.literal('interpolant'), s: z.number().min(0) }),
]);
const modelSchema = z.discriminatedUnion('kind', [mlpSchema, unetSchema]);

/** The kinds of a discriminated union of the schema, in its order: the choices the form offers. */
const kindsOf = <K extends string>(union: { options: readonly { shape: { kind: { value: K } } }[] }): K[] =>
  union.options.map((o) => o.shape.kind.value);
export const DATA_KINDS = kindsOf(dataSchema);
export const SOURCE_KINDS = kindsOf(sourceSchema);
export const PATH_KINDS = kindsOf(pathSchema);
export const MODEL_KINDS = kindsOf(modelSchema);
// The scheduler kinds of the schema are exactly core's (SCHEDULER_KINDS): one added to either alone fails to compile.
export type SchemaSchedulerKindsAgree = Check<SameSet<z.output<typeof schedulerSchema>['kind'], (typeof SCHEDULER_KINDS)[number]>>;

export const experimentSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    seed: int(0).default(0),
    data: dataSchema,
    source: sourceSchema.default({ kind: 'gaussian' }),
    path: pathSchema.default({ kind: 'affine', scheduler: { kind: 'condot' } }),
    /**
     * Reflow (rectified flow): train on (noise, sample) pairs generated by a finished run's EMA model
     * instead of independent pairs; `data` still names the data set used for evaluation.
     */
    reflow: z
      .strictObject({
        from: z.string().min(1, { error: 'must name the run to reflow' }),
        pairs: int(1).max(1_000_000).default(10_000),
        solver: z.enum(ODE_METHODS).default('rk4'),
        steps: int(1).max(10_000).default(50),
      })
      .optional(),
    prediction: z.enum(TRAIN_PREDICTIONS).default('velocity'),
    coupling: z
      .strictObject({
        kind: z.enum(COUPLING_KINDS).default('independent'),
        /** Sinkhorn regularisation (entropic OT), relative to the mean cost. */
        reg: positive('reg').default(0.05),
        /** Pair only points of the same class (needs labelled source and target). */
        classAware: z.boolean().default(false),
      })
      .default({ kind: 'independent', reg: 0.05, classAware: false }),
    time: z
      .strictObject({
        distribution: z.enum(TIME_DISTRIBUTIONS).default('uniform'),
        mean: z.number().default(0),
        std: positive('std').default(1),
        /** Loss weight over time: none, or emphasise by the path's signal-to-noise ratio. */
        weighting: z.enum(LOSS_WEIGHTINGS).default('none'),
      })
      .default({ distribution: 'uniform', mean: 0, std: 1, weighting: 'none' }),
    model: modelSchema,
    /** Classifier-free guidance: probability of dropping the label in training (0 = no CFG). */
    labelDropout: z.number().min(0).max(1).default(0),
    conditional: z.boolean().default(false),
    optim: z
      .strictObject({
        kind: z.enum(OPTIMIZERS).default('adam'),
        lr: positive('lr').default(1e-3),
        beta1: z.number().min(0).lt(1).default(0.9),
        beta2: z.number().min(0).lt(1).default(0.999),
        eps: positive('eps').default(1e-8),
        weightDecay: z.number().min(0).default(0),
        warmupSteps: int(0).default(0),
        schedule: z.enum(LR_SCHEDULES).default('constant'),
        minLrRatio: z.number().min(0).max(1).default(0.1),
        gradClip: z.number().min(0).default(0),
        emaDecay: z.number().min(0).lt(1).default(0.999),
      })
      .default({
        kind: 'adam',
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0,
        warmupSteps: 0,
        schedule: 'constant',
        minLrRatio: 0.1,
        gradClip: 0,
        emaDecay: 0.999,
      }),
    train: z
      .strictObject({
        steps: int(1).max(10_000_000).default(2000),
        batchSize: int(1).max(65536).default(256),
        // The three intervals default to TRAIN_INTERVALS, or to train.steps when the run is shorter
        // (see trainIntervalDefault): a default never breaks the rule "at most train.steps".
        checkpointEvery: int(1).optional(),
        logEvery: int(1).optional(),
        /** 0 = no periodic samples. */
        sampleEvery: int(0).optional(),
        sampleCount: int(1).max(10000).default(512),
        /**
         * Data-parallel threads: 1 (default), a count (each thread computes the gradient of its share
         * of the batch on its own tfjs backend), or 'auto' (main/training/parallel.ts resolveThreads).
         * Different counts give the same curve up to float32 rounding, not bit for bit. With
         * engine 'pytorch' a count is torch's CPU thread count (torch.set_num_threads) and 'auto'
         * leaves torch's default (one per core).
         */
        threads: z.union([z.literal('auto'), int(1).max(64)]).default(1),
        /**
         * What trains the run: the studio's own tfjs engine, or the PyTorch engine in a Python child
         * process (python/flow_studio_torch; docs/pytorch-engine.md). Either way the run, its
         * checkpoints and samples are stored the same, and sampling uses tfjs.
         */
        engine: z.enum(TRAIN_ENGINES).default('tfjs'),
      })
      .transform((t) => ({
        ...t,
        checkpointEvery: t.checkpointEvery ?? trainIntervalDefault('checkpointEvery', t.steps),
        logEvery: t.logEvery ?? trainIntervalDefault('logEvery', t.steps),
        sampleEvery: t.sampleEvery ?? trainIntervalDefault('sampleEvery', t.steps),
      }))
      .prefault({}),
    sampling: z
      .strictObject({
        /** An ODE method, an exponential integrator (ddim, dpm++2m) or a stochastic sampler (sde, ancestral, pc, edm). */
        solver: z.enum(SAMPLERS).default('euler'),
        steps: int(1).max(10000).default(50),
        rtol: positive('rtol').default(1e-5),
        atol: positive('atol').default(1e-5),
        cfg: z.number().min(0).default(0),
        /** Time grid: uniform in t, Karras' rho schedule, uniform in log-SNR (default: the sampler's). */
        grid: z.enum(TIME_GRIDS).optional(),
        /** sde, pc: g_t = noise sigma_t; ancestral: eta (1 = DDPM). */
        noise: z.number().min(0).max(100).optional(),
        /** edm: S_churn (0 = deterministic Heun). */
        churn: z.number().min(0).max(1000).optional(),
        /** pc: the Langevin corrector's signal-to-noise ratio and steps per step. */
        snr: z.number().min(0).max(10).optional(),
        correctorSteps: int(0).max(20).optional(),
      })
      .default({ solver: 'euler', steps: 50, rtol: 1e-5, atol: 1e-5, cfg: 0 }),
  })
  // when: run the rules even where other fields have issues (the form shows everything at once);
  // ruleIssues skips each rule whose fields are among them.
  .superRefine((c, payload) => addRuleIssues(c, payload.issues, (i) => payload.issues.push(i)), { when: () => true });

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

/** Defaults of the train intervals for runs of at least that many steps. */
export const TRAIN_INTERVALS = { checkpointEvery: 500, logEvery: 10, sampleEvery: 250 } as const;

/**
 * The default of a train interval for a run of `steps` steps: TRAIN_INTERVALS capped at `steps` (a
 * 100-step run checkpoints, logs and samples at most every 100 steps, instead of failing the rule
 * that the intervals fit in the run).
 */
export function trainIntervalDefault(field: keyof typeof TRAIN_INTERVALS, steps: number): number {
  return Math.min(TRAIN_INTERVALS[field], steps);
}

/** The rules of core/train/rules.ts as zod issues, skipping rules that read a field already at fault. */
function addRuleIssues(c: ExperimentConfig, existing: readonly z.core.$ZodRawIssue[], push: (i: z.core.$ZodRawIssue) => void): void {
  if (typeof c !== 'object' || c === null) return;
  // Unknown keys do not block: 'optim.learningRate' says nothing about optim.warmupSteps.
  const bad = existing.filter((i) => i.code !== 'unrecognized_keys').map((i) => fieldName(i.path ?? []));
  const blocked = (read: string): boolean =>
    bad.some((f) => f === '(root)' || f === read || f.startsWith(`${read}.`) || f.startsWith(`${read}[`) || read.startsWith(`${f}.`));
  let found;
  try {
    found = ruleIssues(c, { blocked });
  } catch (e) {
    // A value of the wrong type can reach a rule only past a field already reported (a union
    // member's missing field, say): the config is refused anyway. Without issues it is a bug.
    if (bad.length === 0) throw e;
    return;
  }
  for (const r of found) push({ code: 'custom', message: r.message, path: r.field.split('.'), input: c, continue: true });
}

function issuesOf(error: z.ZodError, schema: z.ZodType, input: unknown): FieldIssue[] {
  return error.issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys')
      return i.keys.map((k) => ({ field: fieldName([...i.path, k]), message: unknownFieldMessage(schema, input, i.path, k) }));
    let message = i.message;
    // zod's own wording ("Invalid option: ...") is replaced; a message the schema set is kept.
    const generic = message.startsWith('Invalid');
    if (generic && i.code === 'invalid_value' && 'values' in i)
      message = `must be one of ${(i.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    if (generic && i.code === 'invalid_union' && 'discriminator' in i && i.discriminator)
      message = `unknown kind; allowed: ${unionKinds(i)}`;
    return [{ field: fieldName(i.path), message }];
  });
}

function unionKinds(issue: z.core.$ZodIssue): string {
  const opts = (issue as unknown as { options?: unknown[] }).options;
  return Array.isArray(opts) ? opts.map((o) => JSON.stringify(o)).join(', ') : 'see the documentation';
}

// ---- Unknown fields: what the schema knows at a path ---------------------------------------------

type Def = {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  options?: Schema[];
  discriminator?: string;
  values?: unknown[];
};
type Schema = { def: Def } | z.core.$ZodType;
const defOf = (s: Schema): Def => (s as { _zod: { def: Def } })._zod.def;

/** Through wrappers to the schema that parses: optional, default, prefault, nullable, a pipe's input ... */
function unwrap(s: Schema): Schema {
  for (;;) {
    const d = defOf(s);
    if (d.innerType && ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(d.type))
      s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

const kindOf = (option: Schema, disc: string): unknown => defOf(unwrap(defOf(option).shape![disc]!)).values?.[0];

interface ObjectAt {
  keys: string[];
  /** When the object is a member of a discriminated union: its kind and the other members' keys. */
  union?: { discriminator: string; kind: unknown; others: { kind: unknown; keys: string[] }[] };
}

/** The object schema at `path`, following discriminated unions by the input's kind. */
function objectAt(schema: Schema, input: unknown, path: readonly PropertyKey[]): ObjectAt | null {
  let s = unwrap(schema);
  let v: unknown = input;
  let union: ObjectAt['union'];
  for (let i = 0; ;) {
    const d = defOf(s);
    if (d.type === 'union' && d.discriminator && d.options) {
      const disc = d.discriminator;
      const kind = (v as Record<string, unknown> | undefined)?.[disc];
      const member = d.options.find((o) => kindOf(o, disc) === kind);
      if (!member) return null;
      union = {
        discriminator: disc,
        kind,
        others: d.options
          .filter((o) => o !== member)
          .map((o) => ({ kind: kindOf(o, disc), keys: Object.keys(defOf(unwrap(o)).shape ?? {}) })),
      };
      s = unwrap(member);
      continue;
    }
    if (i === path.length) return d.type === 'object' && d.shape ? { keys: Object.keys(d.shape), ...(union ? { union } : {}) } : null;
    const key = path[i++]!;
    v = (v as Record<PropertyKey, unknown> | undefined)?.[key];
    union = undefined;
    if (d.type === 'object' && d.shape && typeof key === 'string' && d.shape[key]) s = unwrap(d.shape[key]);
    else if (d.type === 'array' && d.element && typeof key === 'number') s = unwrap(d.element);
    else return null;
  }
}

/** Every object of the schema with its dotted path, depth first in field order (union members included). */
function allObjects(
  schema: Schema,
  path: string[] = [],
  out: { path: string[]; keys: string[] }[] = [],
): { path: string[]; keys: string[] }[] {
  const d = defOf(unwrap(schema));
  if (d.type === 'union' && d.options) for (const o of d.options) allObjects(o, path, out);
  else if (d.type === 'object' && d.shape) {
    out.push({ path, keys: Object.keys(d.shape) });
    for (const [k, sub] of Object.entries(d.shape)) allObjects(sub, [...path, k], out);
  }
  return out;
}

/**
 * "unknown field; did you mean optim.lr?" for `key` in the object at `path`: the closest field of
 * that object (common/suggest.ts closestName), else a field of that name (same up to case and '_',
 * an alias or initials) in an object below it, else anywhere in the config (a field put one level too
 * high or low: 'learningRate' at the top -> optim.lr). Without a match it lists the object's fields,
 * and says so when the key belongs to another kind of the same union.
 */
function unknownFieldMessage(schema: Schema, input: unknown, path: readonly PropertyKey[], key: string): string {
  const at = objectAt(schema, input, path);
  if (!at) return 'unknown field';
  const prefix = path.length ? `${fieldName(path)}.` : '';
  const near = closestName(key, at.keys);
  if (near !== null) return `unknown field; did you mean ${prefix}${near}?`;
  const owner = at.union?.others.find((o) => o.keys.includes(key));
  if (at.union && owner) {
    const d = at.union.discriminator;
    return `unknown field for ${prefix}${d} ${JSON.stringify(at.union.kind)} (${key} belongs to ${d} ${JSON.stringify(owner.kind)}); allowed here: ${at.keys.join(', ')}`;
  }
  // Elsewhere: objects below this one first, then the whole config. A 'kind' is never the answer
  // there (every union has one; it says nothing about where a field belongs).
  const here = path.filter((p): p is string => typeof p === 'string');
  const objects = allObjects(schema);
  const below = objects.filter((o) => o.path.length > here.length && here.every((p, i) => o.path[i] === p));
  for (const o of [...below, ...objects]) {
    if (o.path.join('.') === here.join('.')) continue;
    const hit = exactMatch(
      key,
      o.keys.filter((k) => k !== 'kind'),
    );
    if (hit !== null) return `unknown field; did you mean ${[...o.path, hit].join('.')}?`;
  }
  return `unknown field; allowed here: ${at.keys.join(', ')}`;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

/**
 * Validates `input` against any schema of common/, with the issues configs get: dotted fields,
 * "must be one of" for enums, the closest field for an unknown key. Never throws.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown): Parsed<z.output<S>> {
  const r = schema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: issuesOf(r.error, schema, input) };
}

/** Validates an experiment config (defaults filled in). Never throws. */
export function parseExperiment(input: unknown): Parsed<ExperimentConfig> {
  return parseWith(experimentSchema, input);
}

/** Validates a scheduler (`path.scheduler` alone, e.g. the CLI's --scheduler of an oracle). Never throws. */
export function parseScheduler(input: unknown): Parsed<z.output<typeof schedulerSchema>> {
  return parseWith(schedulerSchema, input);
}

/** Validates a Gaussian-mixture description. Never throws. */
export function parseGmm(input: unknown): Parsed<GmmFile> {
  return parseWith(gmmSchema, input);
}

/** "field: message" lines, for the CLI and error dialogs. */
export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('\n');
}
