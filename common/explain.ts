/**
 * What every option and metric of the studio means, in one place: a one-line explanation (shown on
 * hover and focus), and for the "learn" panel a formula in our convention (KaTeX source: noise at
 * t = 0, data at t = 1, x_t = alpha_t x1 + sigma_t x0; docs/conventions.md), what the option changes
 * and which way is better. The app, the CLI's help and the docs read the same texts.
 *
 * Keys are the option's config path (e.g. 'path.scheduler.kind', 'sampling.solver') or, for a
 * choice, the path and the value ('sampling.solver=dopri5'); metrics are keyed by their stored name.
 */

/** One explanation. */
export interface Explanation {
  /** A short label, e.g. "Scheduler". */
  title: string;
  /** One line, shown on hover/focus. */
  short: string;
  /** KaTeX source of the formula it stands for, in our convention. */
  formula?: string;
  /** A few sentences for the learn panel: what it changes, when to use it. */
  learn?: string;
  /** For metrics and tunable numbers: which way is better. */
  better?: 'higher' | 'lower';
}

/** Options of the experiment, the samplers and the latent studio, by config path (and `path=value` for a choice). */
export const OPTION_HELP: Record<string, Explanation> = {};

/** Metrics, by their stored name (e.g. 'loss', 'energyDistance', 'bitsPerDim'). */
export const METRIC_HELP: Record<string, Explanation> = {};

/** The explanation of an option (or of its value, when one is given), or undefined. */
export function optionHelp(path: string, value?: string | number | boolean): Explanation | undefined {
  return (value !== undefined ? OPTION_HELP[`${path}=${String(value)}`] : undefined) ?? OPTION_HELP[path];
}
