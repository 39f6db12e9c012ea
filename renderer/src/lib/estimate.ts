/**
 * Words for a task estimate (common/contract.ts TaskEstimate): the time, and where its number of
 * evaluations comes from, so a counted figure and a typical range never read alike.
 */
import type { TaskEstimate } from '../../../common/contract';
import { fmtDuration } from './format';

/** Seconds as "< 1 s", "12 s", or a range "about 1–3 s" / "about 20 s – 1 min 20 s". */
export function fmtSeconds([lo, hi]: [number, number]): string {
  const one = (s: number) => (s < 1 ? '< 1 s' : fmtDuration(s));
  if (hi <= lo * 1.05) return `≈ ${one(lo)}`;
  if (hi < 1) return '< 1 s';
  const a = one(lo);
  const b = one(hi);
  // "about 1–3 s" when both are whole seconds under a minute.
  if (lo >= 1 && hi < 60) return `about ${Math.round(lo)}–${Math.round(hi)} s`;
  return `about ${a} – ${b}`;
}

/** Where the evaluation count comes from, in words. */
export function estimateBasis(e: TaskEstimate, what = 'this solver'): string {
  const per = `${(e.secondsPerEvaluation * 1000).toPrecision(2)} ms per evaluation of ${e.batch}`;
  if (e.basis === 'counted') return `${e.nfe[0]} evaluations at ${per}`;
  if (e.basis === 'measured') return `${e.nfe[0]} evaluations, as ${what} took last time on this model, at ${per}`;
  return `a typical ${e.nfe[0]}–${e.nfe[1]} evaluations: ${what} has not run on this model yet; ${per}`;
}
