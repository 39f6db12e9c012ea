/**
 * The experiment form's model: the config is kept exactly as the user wrote it (the JSON view shows
 * it verbatim), fields absent from it show the schema's default as a placeholder, and switching a
 * discriminated union's `kind` replaces that branch with a small template of the new kind.
 *
 * Pure functions over plain objects, no Vue and no DOM, so the round trip form <-> JSON is unit-tested.
 */
import { parseExperiment, trainIntervalDefault, TRAIN_INTERVALS, type FieldIssue } from '../../../common/config';

// The choices of each union come from the schema (and core's lists), spelled there once.
export { DATA_KINDS, MODEL_KINDS, PATH_KINDS, SCHEDULER_KINDS, SOURCE_KINDS } from '../../../common/config';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type ConfigObject = Record<string, unknown>;

/** Splits 'data.gmm.means[3][0]' into ['data', 'gmm', 'means', 3, 0]. */
export function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new Error(`bad field path ${JSON.stringify(path)}`);
    if (m[1]) out.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** The value at a dotted path, or undefined where any step is missing. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of splitPath(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

/**
 * A copy of `obj` with `value` at `path` (intermediate objects created); `undefined` removes the key,
 * so the field falls back to the schema default. The input is not modified.
 */
export function setPath<T extends object>(obj: T, path: string, value: unknown): T {
  const keys = splitPath(path);
  const rec = (cur: unknown, i: number): unknown => {
    const key = keys[i]!;
    const base: Record<string | number, unknown> | unknown[] = Array.isArray(cur)
      ? [...cur]
      : cur !== null && typeof cur === 'object'
        ? { ...(cur as object) }
        : typeof key === 'number'
          ? []
          : {};
    const b = base as Record<string | number, unknown>;
    if (i === keys.length - 1) {
      if (value === undefined && !Array.isArray(base)) delete b[key];
      else b[key] = value;
    } else {
      b[key] = rec(b[key], i + 1);
    }
    return base;
  };
  return rec(obj, 0) as T;
}

export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

// ---- Templates of each union branch -------------------------------------------------------------

/** Eight unit-variance-ish components on a circle of radius 2 (a small version of 8gaussians). */
export function ringMixture(k = 4, radius = 2, std = 0.3): { weights: number[]; means: number[][]; stds: number[] } {
  const means = Array.from({ length: k }, (_, i) => {
    const a = (2 * Math.PI * i) / k;
    return [round(radius * Math.cos(a)), round(radius * Math.sin(a))];
  });
  return { weights: means.map(() => 1), means, stds: means.map(() => std) };
}

/** A starting value for each `kind` of each union in the schema, keyed by the union's field. */
export const TEMPLATES: Record<string, Record<string, ConfigObject>> = {
  data: {
    toy2d: { kind: 'toy2d', name: 'moons' },
    gmm: { kind: 'gmm', gmm: ringMixture() },
    points: { kind: 'points', points: [] },
    mnist: { kind: 'mnist' },
    images: { kind: 'images', folder: '', size: 28, channels: 1 },
  },
  scheduler: {
    condot: { kind: 'condot' },
    polynomial: { kind: 'polynomial', n: 2 },
    cosine: { kind: 'cosine' },
    'linear-vp': { kind: 'linear-vp' },
    vp: { kind: 'vp' },
    ve: { kind: 've' },
  },
  path: {
    affine: { kind: 'affine', scheduler: { kind: 'condot' } },
    interpolant: { kind: 'interpolant', s: 0.1 },
  },
  source: {
    gaussian: { kind: 'gaussian' },
    data: { kind: 'data', data: { kind: 'toy2d', name: '8gaussians' } },
  },
  model: {
    mlp: { kind: 'mlp', width: 256, depth: 3, activation: 'silu', timeEmbedDim: 32 },
    unet: { kind: 'unet', baseChannels: 32, channelMults: [1, 2, 2], blocksPerLevel: 1, attention: true, groups: 8, timeEmbedDim: 64 },
  },
};

/** Which template family the union at `path` belongs to ('source.data' is a data union too). */
export function unionOf(path: string): string {
  const last = splitPath(path).at(-1);
  if (last === 'data') return 'data';
  return String(last);
}

/** Sets the union at `path` to `kind`: keeps the branch if it already has that kind. */
export function setKind<T extends object>(config: T, path: string, kind: string): T {
  const cur = getPath(config, path) as ConfigObject | undefined;
  if (cur && cur.kind === kind) return config;
  const tpl = TEMPLATES[unionOf(path)]?.[kind];
  if (!tpl) throw new Error(`no template for ${path}.kind = ${kind}`);
  return setPath(config, path, clone(tpl));
}

/** Unions the schema fills in when absent, and the kind it picks. */
const DEFAULT_KINDS: [string, string][] = [
  ['source', 'gaussian'],
  ['path', 'affine'],
  ['path.scheduler', 'condot'],
];

/**
 * Sets a field, first writing out any defaulted union above it (setting path.scheduler.kind on a
 * config without `path` must give { kind: 'affine', scheduler: ... }, not a path without its kind).
 */
export function setField<T extends object>(config: T, path: string, value: unknown): T {
  let out = config;
  for (const [root, kind] of DEFAULT_KINDS) {
    if (path.startsWith(`${root}.`) && getPath(out, root) === undefined) out = setPath(out, root, clone(TEMPLATES[unionOf(root)]![kind]!));
  }
  if (path.endsWith('.kind') && TEMPLATES[unionOf(path.slice(0, -5))]) {
    return setKind(out, path.slice(0, -5), String(value));
  }
  return setPath(out, path, value);
}

/** The smallest valid config: every other field takes its schema default. */
export const MINIMAL: ConfigObject = { data: { kind: 'toy2d', name: 'moons' }, model: { kind: 'mlp' } };

/** A new experiment's starting config (the moons preset without the host round trip). */
export function starterConfig(): ConfigObject {
  return {
    name: 'moons',
    seed: 0,
    data: { kind: 'toy2d', name: 'moons' },
    path: { kind: 'affine', scheduler: { kind: 'condot' } },
    prediction: 'velocity',
    coupling: { kind: 'independent' },
    model: clone(TEMPLATES.model!.mlp!),
    optim: { kind: 'adam', lr: 0.002, warmupSteps: 50, schedule: 'cosine', minLrRatio: 0.05, emaDecay: 0.99 },
    train: { steps: 2000, batchSize: 256, checkpointEvery: 500, logEvery: 10, sampleEvery: 250, sampleCount: 1000 },
    sampling: { solver: 'rk4', steps: 20 },
  };
}

function parsedDefaults(extra: ConfigObject): ConfigObject {
  const r = parseExperiment({ ...MINIMAL, ...extra });
  if (!r.ok) throw new Error(`schema defaults failed: ${r.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  return r.value as unknown as ConfigObject;
}

let defaultsCache: { mlp: ConfigObject; unet: ConfigObject } | null = null;

/**
 * The schema's default for a field, as a placeholder for a field the config leaves out. Defaults of
 * a union branch depend on its kind (model.width exists for mlp, model.baseChannels for unet).
 */
export function defaultAt(config: unknown, path: string): unknown {
  defaultsCache ??= {
    mlp: parsedDefaults({ reflow: { from: '-' } }),
    // A U-Net needs image data (a schema rule), so its defaults are read off an MNIST config.
    unet: parsedDefaults({ data: { kind: 'mnist' }, model: { kind: 'unet' }, reflow: { from: '-' } }),
  };
  if (path === 'reflow.from') return undefined;
  // The intervals default to at most the run's length (common/config.ts trainIntervalDefault).
  const interval = /^train\.(checkpointEvery|logEvery|sampleEvery)$/.exec(path)?.[1] as keyof typeof TRAIN_INTERVALS | undefined;
  if (interval) {
    const steps = getPath(config, 'train.steps');
    return trainIntervalDefault(
      interval,
      typeof steps === 'number' && Number.isInteger(steps) && steps >= 1 ? steps : (getPath(defaultsCache.mlp, 'train.steps') as number),
    );
  }
  const isUnet = getPath(config, 'model.kind') === 'unet';
  const v = getPath(isUnet ? defaultsCache.unet : defaultsCache.mlp, path);
  if (v !== undefined) return v;
  // Scheduler parameters without schema defaults: the values core uses.
  const fallbacks: Record<string, unknown> = {
    'path.scheduler.sigmaMin': getPath(config, 'path.scheduler.kind') === 've' ? 0.01 : 0,
    'path.scheduler.betaMin': 0.1,
    'path.scheduler.betaMax': 20,
    'path.scheduler.sigmaMax': 80,
  };
  return fallbacks[path];
}

// ---- JSON view ------------------------------------------------------------------------------------

/**
 * The JSON view's text: objects one key per line, short arrays (numbers, [x, y] pairs) on one line,
 * so a drawn point set reads as one point per line instead of four lines per point.
 */
export function toJson(config: unknown): string {
  const fmt = (v: unknown, indent: string): string => {
    if (v === undefined) return 'null';
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      const flat = v.every(
        (x) => x === null || typeof x !== 'object' || (Array.isArray(x) && x.every((y) => y === null || typeof y !== 'object')),
      );
      if (flat) {
        const item = (x: unknown): string => (Array.isArray(x) ? `[${x.map(item).join(', ')}]` : (JSON.stringify(x) ?? 'null'));
        const one = item(v);
        if (one.length <= 72 || v.every((x) => x === null || typeof x !== 'object')) return one;
      }
      return `[\n${v.map((x) => inner + fmt(x, inner)).join(',\n')}\n${indent}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${fmt(x, inner)}`).join(',\n')}\n${indent}}`;
  };
  return fmt(config, '');
}

export type JsonParse = { ok: true; value: ConfigObject } | { ok: false; error: string };

/** Parses the JSON view's text: must be a JSON object; errors say where. */
export function fromJson(text: string): JsonParse {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not valid JSON: ${(err as Error).message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, error: 'the config must be a JSON object { ... }' };
  return { ok: true, value: v as ConfigObject };
}

// ---- Number and list inputs -----------------------------------------------------------------------

/**
 * What a number input's text puts into the config: undefined (empty: use the default), a number, or
 * the text itself when it is not a number, so the schema's message ("must be a number") shows.
 */
export function numberFromText(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

export function textFromValue(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

/** "1, 2, 4" -> [1, 2, 4]; entries that are not numbers stay text, so the schema names them. */
export function listFromText(text: string): (number | string)[] | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  return t
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map((s) => {
      const n = Number(s);
      return Number.isFinite(n) ? n : s;
    });
}

// ---- Issues -----------------------------------------------------------------------------------------

/** Issues about `field` itself or anything inside it ('data.gmm' gets 'data.gmm.means[2]'). */
export function issuesUnder(issues: readonly FieldIssue[], field: string, exact = false): FieldIssue[] {
  return issues.filter((i) => i.field === field || (!exact && (i.field.startsWith(`${field}.`) || i.field.startsWith(`${field}[`))));
}

/** Issues that no form field shows: listed above the form so none is ever hidden. */
export function unclaimed(issues: readonly FieldIssue[], shown: ReadonlySet<string>): FieldIssue[] {
  return issues.filter((i) => {
    for (const f of shown) if (i.field === f || i.field.startsWith(`${f}.`) || i.field.startsWith(`${f}[`)) return false;
    return true;
  });
}

export function round(x: number, digits = 3): number {
  const p = 10 ** digits;
  return Math.round(x * p) / p;
}
