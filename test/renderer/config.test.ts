import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../common/config';
import {
  defaultAt,
  fromJson,
  getPath,
  issuesUnder,
  listFromText,
  numberFromText,
  setField,
  setKind,
  setPath,
  splitPath,
  starterConfig,
  TEMPLATES,
  textFromValue,
  toJson,
  unclaimed,
} from '../../renderer/src/lib/config';

const presetDir = join(import.meta.dirname, '../../resources/presets');
const presets = readdirSync(presetDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, config: JSON.parse(readFileSync(join(presetDir, f), 'utf8')) as Record<string, unknown> }));

describe('field paths', () => {
  it('splits dotted paths with indices', () => {
    expect(splitPath('data.gmm.means[3][0]')).toEqual(['data', 'gmm', 'means', 3, 0]);
    expect(splitPath('optim.lr')).toEqual(['optim', 'lr']);
  });

  it('gets and sets without touching the input', () => {
    const c = { optim: { lr: 1e-3 }, data: { kind: 'gmm', gmm: { means: [[0, 1]] } } };
    const d = setPath(c, 'data.gmm.means[0][1]', 5);
    expect(getPath(d, 'data.gmm.means[0][1]')).toBe(5);
    expect(getPath(c, 'data.gmm.means[0][1]')).toBe(1);
    expect(getPath(c, 'nope.deeper')).toBeUndefined();
    const e = setPath(c, 'train.steps', 10);
    expect(e).toMatchObject({ train: { steps: 10 }, optim: { lr: 1e-3 } });
  });

  it('undefined removes a key so the default applies', () => {
    const c = setPath({ optim: { lr: 0.1, beta1: 0.8 } }, 'optim.lr', undefined);
    expect(c).toEqual({ optim: { beta1: 0.8 } });
    expect('lr' in (c.optim as object)).toBe(false);
  });
});

describe('form <-> JSON round trip', () => {
  it.each(presets)('preset $file survives JSON and validates', ({ config }) => {
    const text = toJson(config);
    const back = fromJson(text);
    expect(back).toEqual({ ok: true, value: config });
    expect(parseExperiment(config).ok).toBe(true);
  });

  it('a form edit shows in the JSON and the JSON edit shows in the form', () => {
    let c = starterConfig();
    c = setField(c, 'train.steps', 300);
    expect(fromJson(toJson(c))).toMatchObject({ ok: true, value: { train: { steps: 300 } } });
    const edited = toJson(c).replace('"steps": 300', '"steps": 42');
    const r = fromJson(edited);
    expect(r.ok && getPath(r.value, 'train.steps')).toBe(42);
  });

  it('prints point sets one point per line and still round-trips', () => {
    const c = { data: { kind: 'points', points: Array.from({ length: 30 }, (_, i) => [i / 10, 1 - i]) }, name: 'a, "b"', tags: ['x,y'] };
    const text = toJson(c);
    expect(text).toContain('\n      [0.1, 0],\n');
    expect(text).toContain('"name": "a, \\"b\\""');
    expect(fromJson(text)).toEqual({ ok: true, value: c });
    expect(toJson({ a: [], b: {} })).toBe('{\n  "a": [],\n  "b": {}\n}');
  });

  it('rejects JSON that is not an object, saying so', () => {
    expect(fromJson('[1,2]')).toMatchObject({ ok: false, error: expect.stringContaining('JSON object') });
    expect(fromJson('{"a":')).toMatchObject({ ok: false, error: expect.stringContaining('not valid JSON') });
  });
});

describe('union kinds', () => {
  it('every template validates in its place', () => {
    for (const kind of Object.keys(TEMPLATES.data!)) {
      let c = setKind(starterConfig(), 'data', kind);
      if (kind === 'points') c = setPath(c, 'data.points', [[0, 0]]);
      if (kind === 'images') c = setPath(c, 'data.folder', '/tmp/x');
      if (kind === 'mnist' || kind === 'images') c = setKind(c, 'model', 'unet');
      expect(parseExperiment(c), kind).toMatchObject({ ok: true });
    }
    for (const kind of Object.keys(TEMPLATES.scheduler!))
      expect(parseExperiment(setKind(starterConfig(), 'path.scheduler', kind)).ok, kind).toBe(true);
    for (const kind of Object.keys(TEMPLATES.path!)) expect(parseExperiment(setKind(starterConfig(), 'path', kind)).ok, kind).toBe(true);
    for (const kind of Object.keys(TEMPLATES.source!))
      expect(parseExperiment(setKind(starterConfig(), 'source', kind)).ok, kind).toBe(true);
  });

  it('changing a kind replaces the branch; the same kind keeps it', () => {
    const c = setPath(starterConfig(), 'model.width', 64);
    expect(setKind(c, 'model', 'mlp')).toBe(c);
    const u = setKind(c, 'model', 'unet');
    expect(getPath(u, 'model.width')).toBeUndefined();
    expect(getPath(u, 'model.baseChannels')).toBe(32);
  });

  it('setField writes out defaulted unions above the field', () => {
    const c: Record<string, unknown> = setField(
      { data: { kind: 'toy2d', name: 'moons' }, model: { kind: 'mlp' } },
      'path.scheduler.kind',
      'cosine',
    );
    expect(c.path).toEqual({ kind: 'affine', scheduler: { kind: 'cosine' } });
    expect(parseExperiment(c).ok).toBe(true);
    const s = setField(starterConfig(), 'source.data.kind', 'gmm');
    expect(getPath(s, 'source.kind')).toBe('gaussian'); // the union above was absent: gaussian, then data below it
    const d = setField(setField(starterConfig(), 'source.kind', 'data'), 'source.data.kind', 'gmm');
    expect(getPath(d, 'source.data.gmm.weights')).toHaveLength(4);
  });

  it('defaults show for absent fields, by model kind', () => {
    expect(defaultAt({}, 'optim.beta2')).toBe(0.999);
    expect(defaultAt({ model: { kind: 'mlp' } }, 'model.width')).toBe(256);
    expect(defaultAt({ model: { kind: 'unet' } }, 'model.baseChannels')).toBe(32);
    expect(defaultAt({}, 'train.threads')).toBe(1);
    expect(defaultAt({}, 'reflow.from')).toBeUndefined();
  });

  it('interval placeholders are what the schema fills in for this run length', () => {
    for (const steps of [undefined, 5, 100, 300, 5000]) {
      const start = setField(starterConfig(), 'optim.warmupSteps', undefined); // 50 would not fit in 5 steps
      const c = steps === undefined ? start : setField(start, 'train.steps', steps);
      const train = c.train as Record<string, unknown>;
      for (const k of ['checkpointEvery', 'logEvery', 'sampleEvery']) delete train[k];
      const parsed = parseExperiment(c);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) continue;
      for (const k of ['checkpointEvery', 'logEvery', 'sampleEvery'] as const)
        expect(defaultAt(c, `train.${k}`), `${k} at ${steps}`).toBe(parsed.value.train[k]);
    }
  });
});

describe('inputs and issues', () => {
  it('number text -> value', () => {
    expect(numberFromText('')).toBeUndefined();
    expect(numberFromText(' 1e-3 ')).toBe(0.001);
    expect(numberFromText('abc')).toBe('abc');
    expect(listFromText('1, 2 4')).toEqual([1, 2, 4]);
    expect(listFromText('')).toBeUndefined();
    expect(textFromValue([1, 2])).toBe('1, 2');
    expect(textFromValue(undefined)).toBe('');
  });

  it('a bad number becomes a schema issue on its field', () => {
    const c = setField(starterConfig(), 'optim.lr', numberFromText('fast'));
    const r = parseExperiment(c);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(issuesUnder(r.issues, 'optim.lr', true)).toHaveLength(1);
    const z = parseExperiment(setField(starterConfig(), 'train.steps', 0));
    expect(!z.ok && issuesUnder(z.issues, 'train.steps')[0]?.message).toMatch(/>= 1/);
  });

  it('issues are matched by prefix and none is lost', () => {
    const issues = [
      { field: 'data.gmm.means[2]', message: 'x' },
      { field: 'optim.lr', message: 'y' },
      { field: '(root)', message: 'z' },
    ];
    expect(issuesUnder(issues, 'data.gmm')).toHaveLength(1);
    expect(issuesUnder(issues, 'data.gm')).toHaveLength(0);
    expect(unclaimed(issues, new Set(['data.gmm', 'optim.lr'])).map((i) => i.field)).toEqual(['(root)']);
  });
});
