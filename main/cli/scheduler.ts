/** `--scheduler`: a scheduler of the path, for commands that sample an oracle under another path. */
import { formatIssues, parseScheduler } from '../../common/config';
import type { SchedulerSpec } from '../../core/path/scheduler';
import { UsageError } from './errors';

/**
 * --scheduler for an oracle: a kind, optionally with its parameter after a colon:
 * condot, condot:0.01 (sigmaMin), polynomial:2 (n), cosine, linear-vp, vp, vp:5 (betaMax), sub-vp, sub-vp:5
 * (betaMax), ve, ve:0.01 (sigmaMin). Or a JSON object.
 */
export function parseSchedulerArg(text: string): SchedulerSpec {
  let raw: unknown;
  if (text.trim().startsWith('{')) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new UsageError(`--scheduler: not valid JSON: ${text}`);
    }
  } else {
    const [kind, param] = text.split(':') as [string, string | undefined];
    const value = param === undefined ? undefined : Number(param);
    if (param !== undefined && !Number.isFinite(value))
      throw new UsageError(`--scheduler: '${param}' is not a number (use e.g. polynomial:2)`);
    const key =
      kind === 'polynomial' ? 'n' : kind === 'condot' || kind === 've' ? 'sigmaMin' : kind === 'vp' || kind === 'sub-vp' ? 'betaMax' : null;
    if (value !== undefined && key === null) throw new UsageError(`--scheduler: '${kind}' takes no parameter`);
    raw = { kind, ...(value !== undefined && key ? { [key]: value } : {}) };
  }
  const r = parseScheduler(raw);
  if (!r.ok) {
    const issues = r.issues.map((i) => ({
      field: `--scheduler${i.field === '(root)' ? '' : ` ${i.field}`}`,
      message: i.message.startsWith('unknown kind')
        ? 'unknown kind; allowed: condot, polynomial:N, cosine, linear-vp, vp, sub-vp, ve'
        : i.message,
    }));
    throw new UsageError(formatIssues(issues));
  }
  return r.value as SchedulerSpec;
}
