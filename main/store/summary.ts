// Labels for the runs table, read from a run's config (see summariseConfig).

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstString(...candidates: unknown[]): string | null {
  for (const c of candidates) if (typeof c === 'string' && c.length > 0) return c;
  return null;
}

/**
 * The dataset and probability-path labels the runs table shows, read from a run's config.
 *
 * Best effort, because the experiment config's exact shape belongs to the engine: dataset is
 * `config.dataset` (a string, or an object's name/kind/id) or `config.data` alike; path is
 * `config.path` (a string, or "kind/scheduler" from an object with kind and scheduler.kind) or
 * `config.scheduler` (a string or its kind). Missing labels are null, never an error.
 */
export function summariseConfig(config: unknown): { dataset: string | null; path: string | null } {
  if (!isPlainObject(config)) return { dataset: null, path: null };
  const label = (v: unknown): string | null => (isPlainObject(v) ? firstString(v.name, v.kind, v.id) : firstString(v));
  const dataset = label(config.dataset) ?? label(config.data);
  let path: string | null;
  const p = config.path;
  if (isPlainObject(p)) {
    const kind = firstString(p.kind, p.name);
    const scheduler = label(p.scheduler);
    path = kind && scheduler ? `${kind}/${scheduler}` : (kind ?? scheduler);
  } else {
    path = firstString(p);
  }
  path ??= label(config.scheduler);
  return { dataset, path };
}
