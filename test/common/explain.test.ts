// The explanation tables (common/explain.ts) against the things they explain: every field the
// Experiment form shows and every choice it offers (read from the form's source and the schema's
// lists), every metric training stores; every formula typesets with KaTeX (the renderer's math
// library) without an error. And the plain-language rewriting of validation messages
// (common/messages.ts) against the messages zod really produces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import katex from 'katex';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import {
  COUPLINGS,
  DATA_KINDS,
  LOSS_WEIGHTINGS,
  MODEL_KINDS,
  PATH_KINDS,
  PREDICTIONS,
  SCHEDULER_KINDS,
  SOLVERS,
  SOURCE_KINDS,
  TIME_DISTRIBUTIONS,
} from '../../common/config';
import { choiceHelp, helpKey, METRIC_HELP, metricHelp, OPTION_HELP, optionHelp, PRESET_HELP } from '../../common/explain';
import { fieldSentence, plainMessage, readableField } from '../../common/messages';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** The config paths of the form's fields: literal `path="..."` and the data editor's `${base}.x` for both bases. */
function formPaths(): string[] {
  const lit = [...read('renderer/src/views/ExperimentView.vue').matchAll(/\bpath="([^"]+)"/g)].map((m) => m[1]!);
  const data = [...read('renderer/src/components/forms/DataEditor.vue').matchAll(/:path="`\$\{base\}\.([^`]+)`"/g)].map((m) => m[1]!);
  return [...lit, ...data.flatMap((f) => [`data.${f}`, `source.data.${f}`])];
}

describe('option explanations', () => {
  it('every field of the Experiment form has a title and a one-line explanation', () => {
    const paths = formPaths();
    expect(paths.length).toBeGreaterThan(50);
    const missing = paths.filter((p) => !optionHelp(p)?.short);
    expect(missing).toEqual([]);
  });

  it('every value the form offers for a choice has its own explanation', () => {
    const choices: [string, readonly string[]][] = [
      ['data.kind', DATA_KINDS],
      ['source.kind', SOURCE_KINDS],
      ['path.kind', PATH_KINDS],
      ['path.scheduler.kind', SCHEDULER_KINDS],
      ['prediction', PREDICTIONS],
      ['coupling.kind', COUPLINGS],
      ['time.distribution', TIME_DISTRIBUTIONS],
      ['time.weighting', LOSS_WEIGHTINGS],
      ['model.kind', MODEL_KINDS],
      ['sampling.solver', SOLVERS],
    ];
    for (const [path, values] of choices) {
      expect(
        choiceHelp(path).map(([v]) => v),
        path,
      ).toEqual(expect.arrayContaining([...values]));
      for (const v of values) expect(optionHelp(path, v), `${path}=${v}`).not.toBe(OPTION_HELP[path]);
    }
  });

  it('maps list entries and the source’s data to the field they belong to', () => {
    expect(helpKey('data.gmm.means[3]')).toBe('data.gmm');
    expect(helpKey('source.data.name')).toBe('data.name');
    expect(optionHelp('source.data.noise')).toBe(OPTION_HELP['data.noise']);
  });

  it('every bundled preset says what it demonstrates', () => {
    const names = ['moons', '8gaussians', 'checkerboard', '8gaussians-to-moons', 'mnist'];
    for (const n of names) expect(PRESET_HELP[n]?.short, n).toBeTruthy();
  });
});

describe('metric explanations', () => {
  it('every metric training logs and every summary number has one, with which way is better', () => {
    const stored = ['loss', 'lr', 'grad_norm'];
    const summary = [
      'finalLoss',
      'smoothedLoss',
      'energyDistance',
      'samplingNfe',
      'straightnessBefore',
      'straightnessAfter',
      'wallSeconds',
    ];
    const shown = ['straightness', 'nfe', 'psnr', 'bitsPerDim', 'logPrior', 'relError'];
    for (const m of [...stored, ...summary, ...shown]) expect(metricHelp(m)?.short, m).toBeTruthy();
    for (const m of ['energyDistance', 'straightness', 'psnr', 'bitsPerDim', 'nfe', 'logPrior'])
      expect(METRIC_HELP[m]!.better, m).toBeDefined();
    expect(METRIC_HELP.psnr!.better).toBe('higher');
    expect(METRIC_HELP.energyDistance!.better).toBe('lower');
  });
});

describe('formulas', () => {
  it('every formula typesets with KaTeX', () => {
    const all = [...Object.entries(OPTION_HELP), ...Object.entries(METRIC_HELP)].filter(([, e]) => e.formula);
    expect(all.length).toBeGreaterThan(40);
    for (const [key, e] of all) {
      expect(() => katex.renderToString(e.formula!, { throwOnError: true, displayMode: true }), key).not.toThrow();
    }
  });
});

describe('plain messages', () => {
  const schema = z.object({
    a: z.number(),
    b: z.int().min(1).max(9),
    c: z.enum(['euler', 'rk4']),
    d: z.array(z.number()).min(1),
    e: z.string().min(1),
    f: z.number().lt(1),
    g: z.number().positive(),
  });
  const issues = (v: unknown) => new Map(schema.safeParse(v).error!.issues.map((i) => [String(i.path[0]), i.message]));

  it('rewrites what zod says into what the value must be', () => {
    const m = issues({ a: 'x', b: 1.5, c: 'heun', d: [], e: '', f: 2, g: -1 });
    expect(plainMessage(m.get('a')!)).toBe('must be a number');
    expect(plainMessage(m.get('b')!)).toBe('must be a whole number');
    expect(plainMessage(m.get('c')!)).toBe('must be one of euler, rk4');
    expect(plainMessage(m.get('d')!)).toBe('needs at least 1 item');
    expect(plainMessage(m.get('e')!)).toBe('must not be empty');
    expect(plainMessage(m.get('f')!)).toBe('must be less than 1');
    expect(plainMessage(m.get('g')!)).toBe('must be more than 0');
    const big = issues({ a: 1, b: 10, c: 'rk4', d: [1], e: 'x', f: 0, g: 1 });
    expect(plainMessage(big.get('b')!)).toBe('must be at most 9');
    const missing = z.object({ a: z.number() }).safeParse({}).error!.issues[0]!.message;
    expect(plainMessage(missing)).toBe('is required');
  });

  it('keeps the schemas’ own sentences, and words their operators', () => {
    expect(plainMessage('must be >= 1')).toBe('must be at least 1');
    expect(plainMessage('must be > 0')).toBe('must be more than 0');
    const own = 'is 5000, more than train.steps (400): the run would write no checkpoint before it ends';
    expect(plainMessage(own)).toBe(own);
  });

  it('names fields in words, never by their internal path', () => {
    expect(readableField('task.source.classId')).toBe('class');
    expect(readableField('optim.lr')).toBe('Learning rate');
    expect(readableField('config.train.steps')).toBe('Steps');
    const issue = z
      .object({ task: z.object({ source: z.object({ classId: z.int().max(9) }) }) })
      .safeParse({ task: { source: { classId: 12 } } }).error!.issues[0]!;
    const sentence = fieldSentence('task.source.classId', issue.message);
    expect(sentence).toBe('Class must be at most 9');
    expect(sentence).not.toMatch(/task\.|classId|expected|<=/);
  });

  it('a file in the field slot keeps its name', () => {
    expect(fieldSentence('broken-digit.png', 'not a PNG or JPEG file')).toBe('broken-digit.png: not a PNG or JPEG file');
    expect(fieldSentence('/data/points.json', 'is empty')).toBe('/data/points.json: is empty');
    expect(fieldSentence('digit.PNG', 'is empty')).toBe('digit.PNG: is empty');
    // ... while dotted config fields still read as labels.
    expect(fieldSentence('optim.lr', 'must be a number')).not.toContain('optim.lr');
  });
});
