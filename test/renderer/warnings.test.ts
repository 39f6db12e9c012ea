/**
 * Warnings before Train and error sentences, on real inputs: the shipped presets (resources/presets)
 * raise no "check this" warning; a learning rate of 1e9 passes the schema yet is flagged by field;
 * MNIST on a CPU backend is flagged as expensive. A StudioError the host builds from a schema issue
 * reads without the dotted field or zod's wording.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../common/config';
import { StudioError } from '../../common/contract';
import { describeError } from '../../renderer/src/lib/errors';
import { configWarnings } from '../../renderer/src/lib/warnings';

const PRESETS = join(import.meta.dirname, '..', '..', 'resources', 'presets');
const presets = readdirSync(PRESETS)
  .filter((f) => f.endsWith('.json'))
  .map(
    (f) =>
      [f, JSON.parse(readFileSync(join(PRESETS, f), 'utf8')) as { config?: Record<string, unknown> } & Record<string, unknown>] as const,
  );
const configOf = (p: { config?: Record<string, unknown> } & Record<string, unknown>) => p.config ?? p;

describe('configWarnings', () => {
  it('the shipped presets need no confirmation', () => {
    expect(presets.length).toBeGreaterThan(2);
    for (const [name, p] of presets)
      expect(
        configWarnings(configOf(p), { backend: 'tensorflow' }).filter((w) => w.level === 'danger'),
        name,
      ).toEqual([]);
  });

  it('a learning rate of 1e9 is valid for the schema and flagged by field', () => {
    const moons = configOf(presets.find(([f]) => f === 'moons.json')![1]);
    const wild = { ...moons, optim: { ...(moons.optim as object), lr: 1e9 } };
    expect(parseExperiment(wild).ok).toBe(true);
    const w = configWarnings(wild, { backend: 'wasm' });
    expect(w.map((x) => [x.field, x.level])).toEqual([['optim.lr', 'danger']]);
  });

  it('MNIST on a CPU backend is expensive, not on a GPU one', () => {
    const mnist = configOf(presets.find(([f]) => f === 'mnist.json')![1]);
    expect(configWarnings(mnist, { backend: 'wasm' }).some((w) => w.field === 'data.kind' && w.level === 'cost')).toBe(true);
    expect(configWarnings(mnist, { backend: 'tensorflow-gpu' }).some((w) => w.field === 'data.kind')).toBe(false);
  });
});

describe('configWarnings and the PyTorch engine', () => {
  const mnist = () => configOf(presets.find(([f]) => f === 'mnist.json')![1]);
  const found = {
    ok: true as const,
    python: '/usr/bin/python3',
    pythonVersion: '3.11.2',
    torch: '1.13.0',
    cuda: null,
    devices: { cuda: [], mps: false, cpu: { threads: 2, cores: 2 } },
    libraries: {},
  };

  it('names the installed engine as the faster way for images on wasm', () => {
    const w = configWarnings(mnist(), { backend: 'wasm', pytorch: found }).find((x) => x.field === 'data.kind');
    expect(w?.message).toContain('torch 1.13.0 on CPU');
    expect(w?.message).toContain('"pytorch"');
  });

  it('no tfjs cost warning once the run trains on pytorch', () => {
    const cfg = { ...mnist(), train: { ...(mnist().train as object), engine: 'pytorch' } };
    expect(parseExperiment(cfg).ok).toBe(true);
    expect(configWarnings(cfg, { backend: 'wasm', pytorch: found }).some((x) => x.field === 'data.kind')).toBe(false);
  });

  it('pytorch chosen where it is missing is a danger naming why', () => {
    const cfg = { ...mnist(), train: { ...(mnist().train as object), engine: 'pytorch' } };
    const w = configWarnings(cfg, { backend: 'wasm', pytorch: { ok: false, reason: 'no module named torch in /usr/bin/python3' } });
    expect(w.find((x) => x.field === 'train.engine')).toMatchObject({ level: 'danger' });
    expect(w.find((x) => x.field === 'train.engine')!.message).toContain('no module named torch');
  });
});

describe('describeError', () => {
  it('says a schema issue in words, without the dotted path or zod’s wording', () => {
    const bad = parseExperiment({ data: { kind: 'toy2d', name: 'moons' }, model: { kind: 'mlp' }, optim: { lr: 'fast' } });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    const issue = bad.issues.find((i) => i.field === 'optim.lr')!;
    const err = new StudioError({ code: 'invalid', field: issue.field, message: `${issue.field}: ${issue.message}` });
    const text = describeError(err);
    expect(text).not.toContain('optim.lr');
    expect(text).not.toMatch(/expected|received/);
    expect(text).toMatch(/number/);
  });
  it('a cancelled task is just that', () => {
    expect(describeError(new StudioError({ code: 'cancelled', message: 'task t1 cancelled' }))).toBe('Cancelled.');
  });
});
