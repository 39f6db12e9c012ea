/**
 * What the Compare view derives from the runs it shows: the settings that differ between their
 * configs, which value of a metric is the best, and whether their losses can share an axis.
 * Pure functions of plain data (the configs as stored, the summary values), tested on their own.
 */
import { parseExperiment } from '../../../common/config';

/** One setting of the configs: its dotted path and the value in each run (undefined: not set). */
export interface DiffRow {
  path: string;
  values: unknown[];
  /** True when not every run has the same value. */
  differs: boolean;
}

/** Leaves of a JSON value as dotted paths ('model.width', 'data.gmm.means'); arrays are one leaf. */
export function flatten(v: unknown, prefix = '', out: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, {});
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.set(prefix, v);
  return out;
}

/**
 * The configs with the schema's defaults filled in (a config that does not parse is taken as
 * written), so "not set" and "set to the default" compare equal.
 */
export function resolvedConfig(config: unknown): unknown {
  const p = parseExperiment(config);
  return p.ok ? p.value : config;
}

/** Every setting of the configs (defaults filled in), in first-seen order; `differs` marks the diff. */
export function configDiff(configs: readonly unknown[]): DiffRow[] {
  const flat = configs.map((c) => flatten(resolvedConfig(c)));
  const paths: string[] = [];
  const seen = new Set<string>();
  for (const f of flat)
    for (const p of f.keys())
      if (!seen.has(p)) {
        seen.add(p);
        paths.push(p);
      }
  return paths.map((path) => {
    const values = flat.map((f) => f.get(path));
    const first = JSON.stringify(values[0]);
    return { path, values, differs: values.some((v) => JSON.stringify(v) !== first) };
  });
}

/**
 * Index of the best value by `better` (ties: every index holding it), or [] when fewer than two
 * runs have a finite number or no direction is known.
 */
export function bestOf(values: readonly (number | string | null)[], better: 'higher' | 'lower' | undefined): number[] {
  if (!better) return [];
  const nums = values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null));
  const finite = nums.filter((v): v is number => v !== null);
  if (finite.length < 2) return [];
  const best = better === 'lower' ? Math.min(...finite) : Math.max(...finite);
  if (finite.every((v) => v === best)) return [];
  return nums.flatMap((v, i) => (v === best ? [i] : []));
}

/**
 * The prediction target of each config (the schema's default when unset): a velocity loss and a
 * noise loss measure different things on different scales, so the chart warns when they are mixed.
 */
export function predictionsOf(configs: readonly unknown[]): string[] {
  return configs.map((c) => {
    const r = resolvedConfig(c) as { prediction?: unknown };
    return typeof r?.prediction === 'string' ? r.prediction : 'unknown';
  });
}
