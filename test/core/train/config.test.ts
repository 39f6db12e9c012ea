// TrainSpec mirrors the experiment schema: a compile-time assignability check, run-time validation
// that names fields, and model configs derived from data shapes.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors';
import { modelConfigFor, pathScheduler, validateTrainSpec, type TrainSpec } from '../../../core/train/config';
import type { ExperimentConfig } from '../../../common/config';
import { specFrom } from './helpers';

// Compile-time check (tsc -p tsconfig.node.json): every validated experiment config is a TrainSpec,
// so the engine can hand the schema's output to the trainer without conversion.
const asTrainSpec = (c: ExperimentConfig): TrainSpec => c;
void asTrainSpec;

function fieldOf(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.field;
    throw e;
  }
  throw new Error('did not throw');
}

const base = { data: { kind: 'toy2d', name: 'moons' }, model: { kind: 'mlp' } };

describe('TrainSpec', () => {
  it('a schema-validated config with defaults passes validateTrainSpec', () => {
    const spec = specFrom(base);
    expect(() => validateTrainSpec(spec)).not.toThrow();
    expect(spec.optim.kind).toBe('adam');
    expect(pathScheduler(spec.path).spec).toEqual({ kind: 'condot' });
  });

  it('every preset file passes both the schema and validateTrainSpec', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('../../../resources/presets/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const spec = specFrom(JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Record<string, unknown>);
      expect(() => validateTrainSpec(spec), f).not.toThrow();
    }
  });

  it('range and cross-field errors name the field', () => {
    const ok = specFrom(base);
    const bad = (patch: (s: TrainSpec) => void): string => {
      const s = structuredClone(ok);
      patch(s);
      return fieldOf(() => validateTrainSpec(s));
    };
    expect(bad((s) => (s.optim.beta2 = 1))).toBe('optim.beta2');
    expect(bad((s) => (s.optim.lr = 0))).toBe('optim.lr');
    expect(bad((s) => (s.train.batchSize = 0))).toBe('train.batchSize');
    expect(bad((s) => (s.labelDropout = 1.5))).toBe('labelDropout');
    expect(bad((s) => (s.time.std = 0))).toBe('time.std');
    expect(bad((s) => (s.path = { kind: 'affine', scheduler: { kind: 'polynomial', n: -1 } }))).toBe('scheduler.n');
    // The interpolant trains a velocity only, and has no single SNR.
    expect(bad((s) => ((s.path = { kind: 'interpolant', s: 0.5 }), (s.prediction = 'eps')))).toBe('prediction');
    expect(bad((s) => ((s.path = { kind: 'interpolant', s: 0.5 }), (s.time.weighting = 'snr-clipped')))).toBe('time.weighting');
    // Guidance needs a conditional model trained with label dropout.
    expect(bad((s) => (s.sampling.cfg = 1))).toBe('sampling.cfg');
    expect(bad((s) => ((s.sampling.cfg = 1), (s.conditional = true)))).toBe('labelDropout');
  });

  it('modelConfigFor fills the data-dependent fields', () => {
    const mlp = specFrom(base).model;
    expect(modelConfigFor(mlp, [2], 0)).toMatchObject({ kind: 'mlp', dim: 2, numClasses: 0, width: 256, depth: 3 });
    expect(modelConfigFor(mlp, [28, 28, 1], 10)).toMatchObject({ kind: 'mlp', dim: 784, numClasses: 10 });
    const unet = specFrom({ data: { kind: 'mnist' }, model: { kind: 'unet' } }).model;
    expect(modelConfigFor(unet, [28, 28, 1], 10)).toMatchObject({ kind: 'unet', size: 28, channels: 1, numClasses: 10 });
    expect(fieldOf(() => modelConfigFor(unet, [2], 0))).toBe('model.kind');
  });
});
