// Bad input -> exit 2 with a message that names the field, file or variable at fault, and nothing
// stored is lost or added. All commands run against one data folder seeded with two runs.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../core/tf';
import { createModel, getWeights } from '../../../core/model';
import { modelConfigFor } from '../../../core/train/config';
import { encodePng } from '../../../main/data';
import { encodeTensors } from '../../../main/models/serialize';
import { RunStore } from '../../../main/store';
import { parseExperiment, type ExperimentInput } from '../../../common/config';
import { cli, freshHome, jsonOf, show, writeJson, type CliResult } from './helpers';

const home = freshHome();
const dbPath = join(home, 'flow-studio.db');

function moons(width: number): ExperimentInput {
  return {
    name: `moons w${width}`,
    data: { kind: 'toy2d', name: 'moons' },
    model: { kind: 'mlp', width, depth: 2 },
    train: { steps: 100 },
  };
}

function config(input: ExperimentInput) {
  const p = parseExperiment(input);
  if (!p.ok) throw new Error(JSON.stringify(p.issues));
  return p.value;
}

/** Everything stored, with blobs reduced to hashes: equal snapshots mean nothing was lost or added. */
function snapshot(): string {
  const store = RunStore.open(dbPath);
  try {
    const sha = (b: Uint8Array | null) => (b ? createHash('sha256').update(b).digest('hex') : null);
    const runs = store.listRuns({ order: 'oldest' }).map((r) => {
      const { updatedAt: _u, ...item } = r; // reading a run never touches it, but keep the check about data
      return {
        ...item,
        record: store.getRun(r.id),
        metrics: store.getMetrics(r.id),
        checkpoints: store.listCheckpoints(r.id).map((c) => {
          const full = store.checkpointAt(r.id, c.step);
          return { ...c, model: sha(full.model), ema: sha(full.ema), optimizer: sha(full.optimizer) };
        }),
        samples: store.listSamples(r.id),
      };
    });
    return JSON.stringify(runs);
  } finally {
    store.close();
  }
}

let wrongShapeRun = '';
let before = '';

beforeAll(() => {
  const store = RunStore.open(dbPath);
  try {
    // A run with metrics, a checkpoint and a sample (opaque blobs: this run is only checked for loss).
    const keep = store.createRun({ name: 'keep me', config: config(moons(32)), backend: 'wasm', seed: 0 });
    store.setStatus(keep.id, 'running');
    store.appendMetrics(
      keep.id,
      [10, 20, 30].map((step) => ({ step, name: 'loss', value: 1 / step })),
    );
    store.saveCheckpoint(keep.id, { step: 30, model: Uint8Array.from({ length: 4096 }, (_, i) => i % 251), meta: { note: 'opaque' } });
    store.addSample(keep.id, {
      step: 30,
      kind: 'points',
      data: [
        [0, 1],
        [1, 0],
      ],
    });
    store.setStatus(keep.id, 'paused');

    // A run whose config says width 32 but whose checkpoint holds a width-16 network.
    const cfg = config(moons(32));
    const bad = store.createRun({ name: 'wrong shape', config: cfg, backend: 'wasm', seed: 0 });
    const small = createModel(modelConfigFor({ ...cfg.model, width: 16 } as typeof cfg.model, [2], 0), 0);
    const weights = new Map([...getWeights(small)].map(([k, v]) => [`model/${k}`, v]));
    const blob = encodeTensors(weights);
    tf.dispose([...weights.values()]);
    small.dispose();
    store.saveCheckpoint(bad.id, {
      step: 10,
      model: blob,
      meta: { modelConfig: modelConfigFor(cfg.model, [2], 0), shape: [2], numClasses: 0 },
    });
    wrongShapeRun = bad.id;
  } finally {
    store.close();
  }
  before = snapshot();
});

/** Runs a command that must be refused: exit 2, the expected message, nothing stored changed. */
async function refused(args: string[], ...patterns: RegExp[]): Promise<CliResult> {
  const r = await cli(args, { home });
  expect(r.code, show(r)).toBe(2);
  for (const p of patterns) expect(r.stderr, show(r)).toMatch(p);
  expect(r.stderr).not.toMatch(/\n\s+at /); // one clear message, no stack trace
  expect(snapshot(), 'stored runs changed').toBe(before);
  return r;
}

describe('bad input is refused with exit 2, naming what is wrong, and the store is untouched', () => {
  it('unknown dataset in a config names data.name and the allowed values', async () => {
    const f = writeJson(home, 'dataset.json', { data: { kind: 'toy2d', name: 'spirals' }, model: { kind: 'mlp' } });
    await refused(['train', '--config', f], /data\.name: must be one of .*"moons"/, /dataset\.json/);
  });

  it('a bad learning rate names optim.lr', async () => {
    const f = writeJson(home, 'lr.json', { ...moons(8), optim: { lr: -0.1 } });
    await refused(['train', '--config', f], /optim\.lr: must be > 0/);
  });

  it('an unknown field is named by its full path, with the field it most likely means', async () => {
    // A misspelt learning rate once trained silently with the default one.
    const nested = writeJson(home, 'nested.json', { ...moons(8), optim: { learningRate: 1e6 } });
    const r = await refused(['train', '--config', nested], /nested\.json: invalid experiment config/);
    expect(r.stderr).toContain('optim.learningRate: unknown field; did you mean optim.lr?');
    const top = writeJson(home, 'field.json', { ...moons(8), learningRate: 0.01 });
    await refused(['train', '--config', top], /learningRate: unknown field; did you mean optim\.lr\?/);
  });

  it('a combination that cannot train names the field to change and both values', async () => {
    const f = writeJson(home, 'ckpt.json', { ...moons(8), train: { steps: 100, checkpointEvery: 5000 } });
    await refused(['train', '--config', f], /train\.checkpointEvery: is 5000, more than train\.steps \(100\)/);
  });

  it('an unknown preset lists the available ones', async () => {
    await refused(['train', '--preset', 'spirals'], /unknown preset 'spirals'/, /moons/);
  });

  it('a malformed JSON config names the file', async () => {
    const f = writeJson(home, 'broken.json', '{ "data": { "kind": "toy2d", ');
    await refused(['train', '--config', f], /broken\.json: not valid JSON/);
  });

  it('an unknown --model run id (or shipped model, or oracle) is named', async () => {
    await refused(['sample', '--model', '01NOSUCHRUN', '--n', '4'], /01NOSUCHRUN/, /not found/);
    await refused(['sample', '--model', 'shipped:nosuchmodel', '--n', '4'], /no shipped model 'nosuchmodel'/);
    await refused(['sample', '--model', 'oracle:moons', '--n', '4'], /'moons' is not a built-in Gaussian mixture/);
  });

  it("a corrupt image under onCorrupt 'reject' names the file, before any run is created", async () => {
    const folder = join(home, 'images');
    mkdirSync(folder, { recursive: true });
    const grey = new Float32Array(28 * 28).fill(0.25);
    writeFileSync(join(folder, 'a.png'), encodePng(grey, 28, 28, 1));
    writeFileSync(join(folder, 'b.png'), encodePng(grey, 28, 28, 1));
    writeFileSync(join(folder, 'corrupt.png'), Buffer.from('\x89PNG\r\n\x1a\n this is not a picture'));
    const f = writeJson(home, 'images.json', {
      data: { kind: 'images', folder, size: 28, channels: 1, onCorrupt: 'reject' },
      model: { kind: 'mlp', width: 8, depth: 1 },
    });
    await refused(['train', '--config', f], /corrupt\.png/);
  });

  it('a checkpoint of the wrong shape names the variable and both shapes', async () => {
    await refused(
      ['sample', '--model', wrongShapeRun, '--n', '4'],
      new RegExp(wrongShapeRun),
      /mlp\/\w+\/[Wb]: expected shape \[[\d, ]*32[\d, ]*\], got \[[\d, ]*16[\d, ]*\]/,
    );
  });

  it('points of the wrong dimension name the file and the item', async () => {
    const f = writeJson(home, 'pts3.json', [
      [0, 0],
      [1, 2, 3],
    ]);
    await refused(['likelihood', '--model', 'oracle:8gaussians', '--points', f], /pts3\.json: item 1 has 3 numbers, the model expects 2/);
  });

  it('usage errors: unknown command, unknown flag, bad number, missing value', async () => {
    await refused(['trian'], /unknown command 'trian'/);
    await refused(['sample', '--model', 'oracle:8gaussians', '--bogus'], /unknown option '--bogus'/, /flow-studio sample --help/);
    await refused(['sample', '--model', 'oracle:8gaussians', '--n', 'many'], /--n: must be an integer/);
    await refused(['train', '--preset'], /--preset needs a value/);
    await refused(
      ['sample', '--model', 'oracle:8gaussians', '--solver', 'rk5'],
      /--solver: must be one of euler, midpoint, heun, rk4, dopri5/,
    );
  });

  it('--json turns a refusal into one error document', async () => {
    const r = await refused(['train', '--preset', 'spirals', '--json'], /unknown preset/);
    const doc = jsonOf<{ error: { kind: string; message: string; exitCode: number } }>(r);
    expect(doc.error).toMatchObject({ kind: 'UsageError', exitCode: 2 });
    expect(doc.error.message).toMatch(/spirals/);
  });
});
