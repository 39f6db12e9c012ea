/**
 * The cross-field rules of an experiment config: combinations of individually valid values that
 * would fail at the first training step, or silently do something other than what was asked. Each
 * rule lives here once. The experiment schema (common/config.ts) applies all of them, so the CLI,
 * the app's form and the hosts report them before anything is stored; core's validateTrainSpec
 * applies the 'spec' ones again, since core is also used without the schema.
 *
 * Every problem lands on the field to change, with a message that names both values, e.g.
 *   train.checkpointEvery: 5000 is more than train.steps (2000): ...
 *
 * No tfjs import: the renderer runs these rules on every keystroke.
 */
import { ConfigError } from '../errors';
import { DATASETS_2D } from '../data/toy2d-info';
import type { DataSpec } from '../data/source';
import { makeScheduler } from '../path/scheduler';
import { unetShapeProblems } from '../model/unet-shape';
import type { TrainSpec } from './spec';

/** One violated rule: the dotted field to change and why. */
export interface RuleIssue {
  field: string;
  message: string;
}

/** What the rules read: a TrainSpec (the schema's output is one) and the config's reflow block. */
export type RuleConfig = TrainSpec & { reflow?: { from: string } | undefined };

/**
 * A rule. `reads` lists the fields it looks at: the schema skips a rule when one of them (or an
 * object above it) already has an issue, so a typo is reported once, not again as a combination.
 *
 * scope 'spec': how the trainer itself must be set up; core's validateTrainSpec checks these too.
 * scope 'config': the run loop's intervals (train.steps can be overridden at run time), and what the
 * config's data implies about shapes and labels (core checks those against the loaded data instead,
 * in createTrainer and modelConfigFor, and its trainers may be handed sources the spec does not
 * describe).
 */
interface Rule {
  scope: 'spec' | 'config';
  reads: readonly string[];
  check(c: RuleConfig): RuleIssue[];
}

const one = (field: string, message: string): RuleIssue[] => [{ field, message }];
const none: RuleIssue[] = [];

/** Per-sample shape of a data config, or null where only loading tells (never for today's kinds). */
export function dataShapeOf(data: DataSpec): number[] | null {
  switch (data.kind) {
    case 'toy2d':
      return [2];
    case 'gmm':
      return [data.gmm.means[0]?.length ?? 0];
    case 'points':
      return [data.points[0]?.length ?? 0];
    case 'mnist':
      return [28, 28, 1];
    case 'images':
      return [data.size, data.size, data.channels];
    default:
      return null;
  }
}

/**
 * Class count of a data config's labels: 0 for unlabelled data (a point list, an image folder
 * without labelsFromSubfolders), null when only reading the folder tells.
 */
export function dataClassesOf(data: DataSpec & { labelsFromSubfolders?: boolean }): number | null {
  switch (data.kind) {
    case 'toy2d':
      return DATASETS_2D.find((d) => d.name === data.name)?.classes ?? null;
    case 'gmm':
      return data.gmm.weights.length;
    case 'points':
      return 0;
    case 'mnist':
      return 10;
    case 'images':
      return data.labelsFromSubfolders ? null : 0;
    default:
      return null;
  }
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

const RULES: readonly Rule[] = [
  // ---- the run loop: everything periodic must fit in the run
  {
    scope: 'config',
    reads: ['train.steps', 'train.checkpointEvery'],
    check: ({ train: { steps, checkpointEvery: every } }) =>
      every !== undefined && every > steps
        ? one(
            'train.checkpointEvery',
            `is ${every}, more than train.steps (${steps}): the run would write no checkpoint before it ends, so a crash would lose all of it (use at most ${steps}; less keeps more of a crashed run)`,
          )
        : none,
  },
  {
    scope: 'config',
    reads: ['train.steps', 'train.logEvery'],
    check: ({ train: { steps, logEvery: every } }) =>
      every !== undefined && every > steps
        ? one(
            'train.logEvery',
            `is ${every}, more than train.steps (${steps}): the loss curve would have a single point (use at most ${steps})`,
          )
        : none,
  },
  {
    scope: 'config',
    reads: ['train.steps', 'train.sampleEvery'],
    check: ({ train: { steps, sampleEvery: every } }) =>
      every !== undefined && every > steps
        ? one(
            'train.sampleEvery',
            `is ${every}, more than train.steps (${steps}): no sample would be taken during the run (use at most ${steps}, or 0 for none)`,
          )
        : none,
  },
  {
    scope: 'config',
    reads: ['train.steps', 'optim.warmupSteps'],
    check: ({ train: { steps }, optim: { warmupSteps: w } }) =>
      w >= steps
        ? one(
            'optim.warmupSteps',
            `is ${w}, not below train.steps (${steps}): the learning rate would still be warming up when the run ends (use less than ${steps})`,
          )
        : none,
  },

  // ---- what the path and the prediction allow
  {
    scope: 'spec',
    reads: ['path', 'prediction'],
    check: ({ path, prediction }) =>
      path.kind === 'interpolant' && prediction !== 'velocity'
        ? one(
            'prediction',
            `the interpolant path trains a velocity (its target u_t = x1 - x0 + dGamma eps is not an affine map of x_t), got '${prediction}'`,
          )
        : none,
  },
  {
    scope: 'spec',
    reads: ['path', 'time.weighting'],
    check: ({ path, time }) =>
      path.kind === 'interpolant' && time.weighting !== 'none'
        ? one(
            'time.weighting',
            `snr-clipped needs an affine path (the interpolant has no single signal-to-noise ratio); path.kind is '${path.kind}'`,
          )
        : none,
  },
  {
    // Scheduler parameters that are valid alone but not together (vp: betaMax > betaMin, ve:
    // sigmaMax > sigmaMin, defaults included): core/path/scheduler.ts says which, once.
    scope: 'config',
    reads: ['path'],
    check: ({ path }) => {
      if (path.kind !== 'affine') return none;
      try {
        makeScheduler(path.scheduler);
        return none;
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        return one(`path.${e.field}`, e.message.slice(e.field.length + 2));
      }
    },
  },

  // ---- labels: conditioning, guidance, class-aware pairing
  {
    scope: 'spec',
    reads: ['labelDropout', 'conditional'],
    check: ({ labelDropout: p, conditional }) =>
      p > 0 && !conditional
        ? one(
            'labelDropout',
            `is ${p}, but conditional is false: label dropout trains the "no label" branch of a class-conditional model (set conditional: true, or labelDropout: 0)`,
          )
        : none,
  },
  {
    scope: 'spec',
    reads: ['sampling.cfg', 'conditional'],
    check: ({ sampling: { cfg }, conditional }) =>
      cfg > 0 && !conditional
        ? one(
            'sampling.cfg',
            `guidance (cfg = ${cfg}) needs a conditional model, but conditional is false (set conditional: true, or cfg: 0)`,
          )
        : none,
  },
  {
    scope: 'spec',
    reads: ['sampling.cfg', 'conditional', 'labelDropout'],
    check: ({ sampling: { cfg }, conditional, labelDropout }) =>
      cfg > 0 && conditional && labelDropout === 0
        ? one(
            'labelDropout',
            `is 0, but guidance (sampling.cfg = ${cfg}) needs labelDropout > 0, or the unconditional ("no label") branch is never trained`,
          )
        : none,
  },
  {
    scope: 'spec',
    reads: ['coupling.classAware', 'conditional'],
    check: ({ coupling, conditional }) =>
      coupling.classAware && !conditional
        ? one(
            'coupling.classAware',
            'pairs points of the same class, which needs a class-conditional model, but conditional is false: one unconditional flow cannot follow pairs of different classes that cross (set conditional: true)',
          )
        : none,
  },
  {
    scope: 'config',
    reads: ['conditional', 'data'],
    check: ({ conditional, data }) => {
      if (!conditional || dataClassesOf(data) !== 0) return none;
      const why =
        data.kind === 'images'
          ? 'an image folder has labels only with data.labelsFromSubfolders: true'
          : `data.kind '${data.kind}' has no labels`;
      return one('conditional', `is true, but the data is unlabelled (${why})`);
    },
  },
  {
    scope: 'config',
    reads: ['coupling.classAware', 'source', 'data'],
    check: ({ coupling, source, data }) => {
      if (!coupling.classAware || source.kind !== 'data') return none;
      const k0 = dataClassesOf(source.data);
      const k1 = dataClassesOf(data);
      return k0 !== null && k1 !== null && k0 > 0 && k0 !== k1
        ? one('coupling.classAware', `pairs rows of the same class, but source.data has ${k0} classes and data ${k1}`)
        : none;
    },
  },

  // ---- the source
  {
    scope: 'config',
    reads: ['source', 'data'],
    check: ({ source, data }) => {
      if (source.kind !== 'data') return none;
      const a = dataShapeOf(source.data);
      const b = dataShapeOf(data);
      return a && b && shapeText(a) !== shapeText(b)
        ? one(
            'source.data',
            `gives samples of shape ${shapeText(a)}, but data gives ${shapeText(b)}; a flow maps between samples of one shape`,
          )
        : none;
    },
  },
  {
    scope: 'config',
    reads: ['source', 'path'],
    check: ({ source, path }) => {
      if (source.kind !== 'data' || path.kind !== 'affine') return none;
      let c;
      try {
        c = makeScheduler(path.scheduler).coeffs(0);
      } catch {
        return none; // the scheduler rule above reports it
      }
      // createTrainer's tolerance: the path must start at x0 itself.
      return Math.abs(c.alpha) <= 0.01 && Math.abs(c.sigma - 1) <= 0.01
        ? none
        : one(
            'path',
            `a data source needs a path that starts at it (alpha_0 = 0, sigma_0 = 1); scheduler '${path.scheduler.kind}' has alpha_0 = ${c.alpha.toPrecision(3)}, sigma_0 = ${c.sigma.toPrecision(3)}`,
          );
    },
  },

  // ---- reflow trains on fixed pairs
  {
    scope: 'config',
    reads: ['reflow', 'coupling.kind'],
    check: ({ reflow, coupling }) =>
      reflow && coupling.kind !== 'independent'
        ? one(
            'coupling.kind',
            `is '${coupling.kind}', but reflow trains on run ${reflow.from}'s fixed (noise, sample) pairs, which a coupling would re-pair (use 'independent')`,
          )
        : none,
  },
  {
    scope: 'config',
    reads: ['reflow', 'source'],
    check: ({ reflow, source }) =>
      reflow && source.kind !== 'gaussian'
        ? one(
            'source.kind',
            `is '${source.kind}', but reflow's pairs start from the noise of run ${reflow.from}'s sampler, so a data source would be ignored (use 'gaussian')`,
          )
        : none,
  },

  // ---- the model must fit the data
  {
    scope: 'config',
    reads: ['model', 'data'],
    check: ({ model, data }) => {
      if (model.kind !== 'unet') return none;
      const shape = dataShapeOf(data);
      if (!shape) return none;
      if (shape.length !== 3 || shape[0] !== shape[1]) {
        return one(
          'model.kind',
          `a U-Net needs square images, but data.kind '${data.kind}' gives samples of shape ${shapeText(shape)} (use an MLP)`,
        );
      }
      return unetShapeProblems({
        size: shape[0]!,
        baseChannels: model.baseChannels,
        channelMults: model.channelMults,
        groups: model.groups,
      }).map((p) => ({
        field: `model.${p.field}`,
        message: p.message,
      }));
    },
  },
];

/**
 * The rules `config` violates, in a fixed order. `scope: 'spec'` applies only the rules core checks
 * (validateTrainSpec); `blocked(field)` skips the rules that read a field already reported.
 */
export function ruleIssues(config: RuleConfig, opts: { scope?: 'spec' | 'all'; blocked?: (field: string) => boolean } = {}): RuleIssue[] {
  const out: RuleIssue[] = [];
  for (const r of RULES) {
    if (opts.scope === 'spec' && r.scope !== 'spec') continue;
    if (opts.blocked && r.reads.some(opts.blocked)) continue;
    out.push(...r.check(config));
  }
  return out;
}
