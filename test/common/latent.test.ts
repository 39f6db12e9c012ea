/**
 * The latent studio's request schemas (common/latent.ts): each op's request is checked field by
 * field with messages that name the field and say what is allowed; the app's image sources are the
 * CLI's without host files; the op lists agree with the schemas. The same schemas run in the
 * contract, the compute worker and main/latent (tested there end to end).
 */
import { describe, expect, it } from 'vitest';
import { parseWith } from '../../common/config';
import { ODE_METHODS } from '../../core/catalog';
import {
  appImageSourceSchema,
  imageSourceSchema,
  interpolateRequestSchema,
  invertRequestSchema,
  inpaintRequestSchema,
  LATENT_OPS,
  latentResultSchema,
  latentTaskSchema,
  classSwapRequestSchema,
  nfeSweepRequestSchema,
  solverSpecSchema,
  type LatentImage,
} from '../../common/latent';

const img: LatentImage = {
  pixels: Array.from({ length: 784 }, (_, i) => ((i % 7) - 3) / 3),
  shape: [28, 28, 1],
  source: 'mnist 3/0',
  label: 3,
};

/** The first issue of a refused input as "field: message". */
function firstIssue(schema: Parameters<typeof parseWith>[0], input: unknown): string {
  const r = parseWith(schema, input);
  if (r.ok) throw new Error(`accepted ${JSON.stringify(input).slice(0, 80)}`);
  return `${r.issues[0]!.field}: ${r.issues[0]!.message}`;
}

describe('latent request schemas', () => {
  it('accept the requests the studio makes, unchanged', () => {
    const req = {
      images: [img],
      classLabel: [3],
      cfg: 0,
      solver: { method: 'rk4' as const, steps: 12 },
      bitsPerDim: { repeats: 2, probes: 1, seed: 0 },
    };
    const r = parseWith(invertRequestSchema, req);
    expect(r).toEqual({ ok: true, value: req });
    // JSON round trip (what postMessage and HTTP carry) parses to the same request.
    expect(parseWith(invertRequestSchema, JSON.parse(JSON.stringify(req)))).toEqual({ ok: true, value: req });
  });

  it('name the field and the allowed values of a bad request', () => {
    expect(firstIssue(solverSpecSchema, { method: 'rk4' })).toBe("steps: is required for the fixed-step method 'rk4'");
    expect(firstIssue(solverSpecSchema, { method: 'rk5', steps: 4 })).toBe(
      `method: must be ${ODE_METHODS.slice(0, -1)
        .map((m) => `'${m}'`)
        .join(', ')} or 'dopri5', got 'rk5'`,
    );
    expect(firstIssue(interpolateRequestSchema, { a: img, b: img, frames: 300 })).toBe('frames: must be an integer in [2, 256], got 300');
    expect(firstIssue(interpolateRequestSchema, { a: img, b: img, modes: ['slerp', 'cubic'] })).toBe(
      "modes[1]: must be 'slerp' or 'lerp', got 'cubic'",
    );
    expect(firstIssue(invertRequestSchema, { images: [img], bitsPerDim: { repeats: 0 } })).toBe(
      'bitsPerDim.repeats: must be an integer in [1, 100], got 0',
    );
    expect(firstIssue(invertRequestSchema, { images: [] })).toBe('images: must hold at least one image, got an array of 0');
    expect(firstIssue(invertRequestSchema, { images: [{ ...img, pixels: [0, 'x'] }] })).toBe(
      "images[0].pixels[1]: must be a finite number, got 'x'",
    );
    expect(firstIssue(nfeSweepRequestSchema, { images: [img], methods: ['dopri5'] })).toBe(
      "methods[0]: must be one of euler, midpoint, heun, rk4 (dopri5 is swept by tolerances), got 'dopri5'",
    );
    expect(firstIssue(nfeSweepRequestSchema, { images: [img], tolerances: [0.5, 1] })).toBe(
      'tolerances[1]: must be a number in (0, 1), got 1',
    );
    expect(firstIssue(classSwapRequestSchema, { images: [img] })).toBe('toClass: is required: the class to decode under');
    expect(firstIssue(inpaintRequestSchema, { images: [img], mask: [0, 1, 2] })).toBe(
      'mask[2]: mask values are in [0, 1] (1 = regenerate, 0 = keep), got 2',
    );
    expect(firstIssue(inpaintRequestSchema, { images: [img] })).toBe('mask: is required: per-pixel values in [0, 1], 1 = regenerate');
  });

  it('suggest the field meant by an unknown one', () => {
    expect(firstIssue(invertRequestSchema, { images: [img], classlabel: 3 })).toBe('classlabel: unknown field; did you mean classLabel?');
  });

  it("build the app's and the CLI's image sources from the same members; the app's have no host paths", () => {
    const file = { kind: 'file', path: '/etc/passwd' };
    expect(parseWith(imageSourceSchema, file).ok).toBe(true);
    expect(firstIssue(appImageSourceSchema, file)).toBe('kind: unknown kind; allowed: "dataset", "bytes", "pixels", "sample"');
    for (const s of [
      { kind: 'dataset', classId: 3, index: 0 },
      { kind: 'pixels', pixels: [0, 255], range: 'byte' },
      { kind: 'sample', seed: 1, classLabel: null },
    ]) {
      expect(parseWith(appImageSourceSchema, s)).toEqual(parseWith(imageSourceSchema, s));
    }
    expect(firstIssue(imageSourceSchema, { kind: 'dataset', classId: 10, index: 0 })).toBe('classId: must be a digit 0..9, got 10');
    expect(firstIssue(imageSourceSchema, { kind: 'dataset', dataset: 'cifar', classId: 1, index: 0 })).toBe(
      "dataset: only 'mnist' is bundled, got 'cifar'",
    );
  });

  it('tasks: one member per op, the op list read off them; every op but pick has a savable result', () => {
    expect(latentTaskSchema.options.map((o) => o.shape.op.value)).toEqual(LATENT_OPS);
    expect(new Set(LATENT_OPS).size).toBe(LATENT_OPS.length);
    expect(latentResultSchema.options.map((o) => o.shape.kind.value)).toEqual(LATENT_OPS.filter((op) => op !== 'pick'));
    expect(firstIssue(latentTaskSchema, { op: 'invert', request: { images: [img], solver: { method: 'heun' } } })).toBe(
      "request.solver.steps: is required for the fixed-step method 'heun'",
    );
    expect(firstIssue(latentTaskSchema, { op: 'pick', request: {} })).toBe('source: must be an image source { kind, ... }, got nothing');
  });
});
