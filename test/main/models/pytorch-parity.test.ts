// The tfjs engine and the PyTorch engine (python/flow_studio_torch) compute the same things, checked
// across the language boundary with real processes:
//   - the same weights (a tfjs model made here, written with main/models/safetensors.ts) give the
//     same output in tfjs and in PyTorch, for MLPs (points, images) and U-Nets (the shipped MNIST
//     architecture included), within float32 tolerance;
//   - the same batch (x0, x1, times, bridge noise, labels) gives the same loss;
//   - a run trained by the PyTorch worker comes back: its checkpoint resumes in the TS trainer
//     (through the studio's checkpoint blobs) and its exported EMA weights give, in tfjs, the
//     velocity PyTorch computes.
// Python is found as the studio finds it (main/runtime/python.ts); without one that imports torch
// the suite is skipped with the reason printed.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { createModel, defaultUNetConfig, modelFromWeights, setWeights, type ModelConfig, type VelocityModel } from '../../../core/model';
import { samplePath, target as pathTarget } from '../../../core/path/affine';
import { interpolantAt } from '../../../core/path/interpolant';
import { flowBatchLoss, snrClippedWeight, type FlowBatch } from '../../../core/train/loss';
import { modelPredictor } from '../../../core/train/sample';
import { pathScheduler, modelConfigFor } from '../../../core/train/config';
import { createTrainer } from '../../../core/train/trainer';
import { toy2dSource } from '../../../core/data/source';
import { Rng } from '../../../core/util/random';
import { parseExperiment, type ExperimentConfig, type ExperimentInput } from '../../../common/config';
import { blobsToState, stateToBlobs } from '../../../main/models/state';
import { loadMnist } from '../../../main/data';
import {
  float32Tensor,
  flowStudioMetadata,
  fromTfTensors,
  int32Tensor,
  readSafetensorsFile,
  toFloat32,
  toInt32,
  toTfTensors,
  writeDataFile,
  writeSafetensorsFile,
  FLOW_STUDIO_METADATA_KEY,
  type SafeTensor,
} from '../../../main/models/safetensors';
import { engineEnv, findTorchPython, type TorchPython } from '../../../main/runtime/python';

const dir = mkdtempSync(join(tmpdir(), 'fs-parity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let python: TorchPython | null = null;
beforeAll(async () => {
  const found = await findTorchPython();
  if (found.ok) python = found.python;
  else console.log(`[skip] PyTorch parity: ${found.reason}`);
}, 120_000);

/** Runs the engine's CLI; resolves with stdout (rejects with stderr on a non-zero exit). */
function engine(args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python!.command, ['-m', 'flow_studio_torch', ...args], { env: { ...engineEnv(), OMP_NUM_THREADS: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`flow_studio_torch ${args[0]} exited ${code}:\n${out}\n${err}`)),
    );
    // The training worker reads controls on stdin and treats EOF as cancel: keep it open until it exits.
    if (stdin === undefined) child.stdin.end();
    else child.stdin.write(stdin);
  });
}

let counter = 0;
/** Writes an apply job (weights, inputs, optional experiment) and returns the engine's outputs. */
async function apply(
  weights: Map<string, SafeTensor>,
  modelConfig: ModelConfig,
  input: Map<string, SafeTensor>,
  experiment?: ExperimentInput,
) {
  const k = ++counter;
  const w = join(dir, `w${k}.safetensors`);
  const i = join(dir, `in${k}.safetensors`);
  const o = join(dir, `out${k}.safetensors`);
  await writeSafetensorsFile(w, weights, { [FLOW_STUDIO_METADATA_KEY]: JSON.stringify({ modelConfig }) });
  await writeSafetensorsFile(i, input);
  const job = join(dir, `apply${k}.json`);
  writeFileSync(job, JSON.stringify({ weights: w, input: i, out: o, device: 'cpu', ...(experiment ? { experiment } : {}) }));
  await engine(['apply', '--job', job]);
  return (await readSafetensorsFile(o)).tensors;
}

/** Replaces every weight by N(0, scale^2) values from a seeded Rng (the zero-initialised heads would hide errors). */
function randomize(model: VelocityModel, seed: number, scale = 0.3): void {
  const rng = new Rng(seed);
  const w = new Map<string, Tensor>(
    model.variables.map((v, i) => [
      model.names[i]!,
      tf.tensor(
        rng.normals(v.size).map((x) => x * scale),
        v.shape,
      ),
    ]),
  );
  setWeights(model, w);
  tf.dispose([...w.values()]);
}

function weightsOf(model: VelocityModel): Map<string, SafeTensor> {
  return fromTfTensors(new Map(model.variables.map((v, i) => [model.names[i]!, v as Tensor])));
}

const normals = (rng: Rng, shape: number[]): Float32Array => rng.normals(shape.reduce((a, b) => a * b, 1));
const times = (rng: Rng, n: number, lo = 0.02, hi = 0.98): number[] =>
  Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * rng.uniform()));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return { diff, scale };
}

const MLP: ModelConfig = { kind: 'mlp', dim: 2, width: 32, depth: 3, activation: 'silu', timeEmbedDim: 8, numClasses: 3 };
const MLP_IMAGES: ModelConfig = { kind: 'mlp', dim: 48, width: 16, depth: 2, activation: 'gelu', timeEmbedDim: 0, numClasses: 0 };
const UNET_RGB: ModelConfig = {
  kind: 'unet',
  size: 16,
  channels: 3,
  baseChannels: 8,
  channelMults: [1, 2, 2],
  blocksPerLevel: 1,
  attention: true,
  groups: 4,
  timeEmbedDim: 16,
  numClasses: 0,
};
const UNET_MNIST: ModelConfig = defaultUNetConfig(28, 1, 10);

describe('tfjs and PyTorch compute the same velocity from the same weights', () => {
  const cases: [string, ModelConfig, number[]][] = [
    ['MLP on points (conditional, SiLU)', MLP, [2]],
    ['MLP on images (NHWC rows, GELU, raw t)', MLP_IMAGES, [4, 4, 3]],
    ['U-Net 16x16x3 with attention', UNET_RGB, [16, 16, 3]],
    ['U-Net of the shipped MNIST model (28x28x1, 10 classes)', UNET_MNIST, [28, 28, 1]],
  ];
  it.for(cases)('%s', async ([, config, shape], ctx) => {
    if (!python) return ctx.skip();
    const model = createModel(config, 1);
    randomize(model, 11);
    const n = config.kind === 'unet' ? 3 : 16;
    const rng = new Rng(5);
    const x = normals(rng, [n, ...shape]);
    const t = times(rng, n, 0, 1);
    const k = config.numClasses;
    // labels include the "no label" class k (classifier-free guidance's unconditional branch)
    const labels = k > 0 ? Array.from({ length: n }, (_, i) => i % (k + 1)) : undefined;
    const input = new Map<string, SafeTensor>([
      ['x', float32Tensor([n, ...shape], x)],
      ['t', float32Tensor([n], t)],
    ]);
    if (labels) input.set('labels', int32Tensor([n], labels));
    const out = await apply(weightsOf(model), config, input);
    const ours = tf.tidy(() => {
      const xt = tf.tensor(x, [n, ...shape]);
      const pred = modelPredictor(model)(xt, tf.tensor1d(t), labels ? tf.tensor1d(labels, 'int32') : undefined);
      return pred.dataSync() as Float32Array;
    });
    model.dispose();
    const theirs = toFloat32(out.get('pred')!);
    expect(out.get('pred')!.shape).toEqual([n, ...shape]);
    const { diff, scale } = maxAbsDiff(ours, theirs);
    expect(scale).toBeGreaterThan(0.1); // a real signal, not two zero outputs
    expect(diff).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
  });
});

describe('tfjs and PyTorch compute the same loss for the same batch', () => {
  const base = { data: { kind: 'toy2d', name: 'moons' } } as const;
  const cases: [string, ExperimentInput, ModelConfig, number[]][] = [
    ['CondOT velocity, MLP', { ...base, model: { kind: 'mlp' } }, MLP, [2]],
    [
      'cosine eps with min-SNR weights',
      {
        ...base,
        model: { kind: 'mlp' },
        prediction: 'eps',
        path: { kind: 'affine', scheduler: { kind: 'cosine' } },
        time: { weighting: 'snr-clipped' },
      },
      MLP,
      [2],
    ],
    ['VP x1', { ...base, model: { kind: 'mlp' }, prediction: 'x1', path: { kind: 'affine', scheduler: { kind: 'vp' } } }, MLP, [2]],
    ['interpolant s = 0.5', { ...base, model: { kind: 'mlp' }, path: { kind: 'interpolant', s: 0.5 } }, MLP, [2]],
    [
      'U-Net, polynomial velocity with min-SNR weights',
      {
        data: { kind: 'mnist' },
        model: { kind: 'unet' },
        path: { kind: 'affine', scheduler: { kind: 'polynomial', n: 2 } },
        time: { weighting: 'snr-clipped' },
      },
      UNET_RGB,
      [16, 16, 3],
    ],
  ];
  it.for(cases)('%s', async ([, input, config, shape], ctx) => {
    if (!python) return ctx.skip();
    const parsed = parseExperiment(input);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const cfg = parsed.value;
    const model = createModel(config, 2);
    randomize(model, 13, 0.2);
    const n = config.kind === 'unet' ? 4 : 24;
    const rng = new Rng(9);
    const x0 = normals(rng, [n, ...shape]);
    const x1 = normals(rng, [n, ...shape]);
    const eps = normals(rng, [n, ...shape]);
    const t = times(rng, n);
    const labels = config.numClasses > 0 ? Array.from({ length: n }, (_, i) => i % config.numClasses) : undefined;

    const ours = tf.tidy(() => {
      const a = tf.tensor(x0, [n, ...shape]);
      const b = tf.tensor(x1, [n, ...shape]);
      let xt: Tensor;
      let target: Tensor;
      let weights: Tensor | undefined;
      if (cfg.path.kind === 'interpolant') {
        const p = interpolantAt(a, b, tf.tensor(eps, [n, ...shape]), t, cfg.path.s);
        xt = p.xt;
        target = p.velocityTarget;
      } else {
        const sched = pathScheduler(cfg.path);
        const p = samplePath(sched, a, b, t);
        xt = p.xt;
        target = pathTarget(cfg.prediction, p, a, b);
        if (cfg.time.weighting === 'snr-clipped') {
          weights = tf.tensor(
            t.map((ti) => snrClippedWeight(sched, cfg.prediction, ti)),
            [n, ...shape.map(() => 1)],
          );
        }
      }
      const batch: FlowBatch = {
        xt,
        t: tf.tensor1d(t),
        target,
        times: Float64Array.from(t),
        ...(weights ? { weights } : {}),
        ...(labels ? { labels: tf.tensor1d(labels, 'int32') } : {}),
      };
      return flowBatchLoss(modelPredictor(model), batch).dataSync()[0]!;
    });
    const inputs = new Map<string, SafeTensor>([
      ['x', float32Tensor([n, ...shape], x1)],
      ['t', float32Tensor([n], t)],
      ['x0', float32Tensor([n, ...shape], x0)],
      ['x1', float32Tensor([n, ...shape], x1)],
      ['eps', float32Tensor([n, ...shape], eps)],
    ]);
    if (labels) inputs.set('labels', int32Tensor([n], labels));
    const out = await apply(weightsOf(model), config, inputs, cfg as ExperimentInput);
    model.dispose();
    const theirs = toFloat32(out.get('loss')!)[0]!;
    expect(ours).toBeGreaterThan(0);
    expect(Math.abs(theirs - ours)).toBeLessThanOrEqual(2e-6 * ours);
  });
});

describe('a PyTorch run comes back into the studio', () => {
  it('resumes in the TS trainer and samples with the same velocity in tfjs', async (ctx) => {
    if (!python) return ctx.skip();
    const input: ExperimentInput = {
      data: { kind: 'toy2d', name: 'moons' },
      model: { kind: 'mlp', width: 32, depth: 2, timeEmbedDim: 8 },
      conditional: true,
      labelDropout: 0.1,
      coupling: { kind: 'exact-ot', classAware: true },
      optim: { warmupSteps: 5 },
      train: { steps: 30, batchSize: 64, checkpointEvery: 30, logEvery: 10, sampleEvery: 0 },
      sampling: { solver: 'euler', steps: 4, cfg: 1 },
      seed: 3,
    };
    const parsed = parseExperiment(input);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const cfg: ExperimentConfig = parsed.value;
    const out = join(dir, 'run');
    mkdirSync(out, { recursive: true });
    const jobPath = join(out, 'job.json');
    writeFileSync(jobPath, JSON.stringify({ runId: 'torch-run', config: cfg, out, device: 'cpu', threads: 1 }));
    const stdout = await engine(['train', '--job', jobPath], '');
    const events = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const finished = events.at(-1)!;
    expect(finished).toMatchObject({ type: 'finished', status: 'completed', step: 30 });
    const ckptFile = events.filter((e) => e.type === 'checkpoint').at(-1)!.file as string;
    const modelFile = events.find((e) => e.type === 'exported')!.file as string;

    // The checkpoint, through the studio's blobs, into the TS trainer: same names, layouts, step.
    const ckpt = await readSafetensorsFile(ckptFile);
    const meta = flowStudioMetadata(ckpt)!;
    const modelConfig = meta.modelConfig as ModelConfig;
    expect(modelConfig).toEqual(modelConfigFor(cfg.model, [2], 2));
    // the fields main/models/load.ts reads from a checkpoint's meta, in its shapes
    expect(meta).toMatchObject({ shape: [2], numClasses: 2, sampleRange: { lo: 0, hi: 1 }, step: 30 });
    const state0 = toTfTensors(ckpt.tensors, ckptFile);
    const blobs = stateToBlobs(state0);
    tf.dispose([...state0.values()]);
    const state = blobsToState(blobs, 'torch checkpoint');
    const model = createModel(modelConfig, 0);
    const trainer = createTrainer({ spec: cfg, model, target: toy2dSource('moons') });
    trainer.setState(state);
    tf.dispose([...state.values()]);
    expect(trainer.stepCount).toBe(30);
    const next = trainer.step(); // and the studio's engine trains it further
    expect(next.step).toBe(31);
    expect(Number.isFinite(next.loss)).toBe(true);
    trainer.dispose();
    model.dispose();

    // The exported EMA weights: a tfjs model's output equals PyTorch's on the same inputs.
    const exported = await readSafetensorsFile(modelFile);
    expect(flowStudioMetadata(exported)).toMatchObject({ format: 'flow-studio-model', ema: true, step: 30 });
    const weights = toTfTensors(exported.tensors, modelFile);
    const ema = modelFromWeights(modelConfig, weights);
    tf.dispose([...weights.values()]);
    const n = 12;
    const rng = new Rng(21);
    const x = normals(rng, [n, 2]);
    const t = times(rng, n, 0, 1);
    const labels = Array.from({ length: n }, (_, i) => i % 3);
    const res = await apply(
      exported.tensors,
      modelConfig,
      new Map([
        ['x', float32Tensor([n, 2], x)],
        ['t', float32Tensor([n], t)],
        ['labels', int32Tensor([n], labels)],
      ]),
    );
    const ours = tf.tidy(() => ema.apply(tf.tensor2d(x, [n, 2]), tf.tensor1d(t), tf.tensor1d(labels, 'int32')).dataSync() as Float32Array);
    ema.dispose();
    const { diff, scale } = maxAbsDiff(ours, toFloat32(res.get('pred')!));
    expect(scale).toBeGreaterThan(0.05);
    expect(diff).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
  });
});

describe('a studio run moves to PyTorch', () => {
  it('the PyTorch worker resumes a checkpoint written from the TS trainer', async (ctx) => {
    if (!python) return ctx.skip();
    const parsed = parseExperiment({
      data: { kind: 'toy2d', name: 'moons' },
      model: { kind: 'mlp', width: 16, depth: 2, timeEmbedDim: 4 },
      optim: { schedule: 'cosine', warmupSteps: 3 },
      train: { steps: 20, batchSize: 32, checkpointEvery: 20, logEvery: 1, sampleEvery: 0 },
      seed: 4_000_000_000,
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const cfg = parsed.value;
    const model = createModel(modelConfigFor(cfg.model, [2], 0), cfg.seed);
    const trainer = createTrainer({ spec: cfg, model, target: toy2dSource('moons') });
    for (let i = 0; i < 8; i++) trainer.step();
    const state = trainer.getState();
    const out = join(dir, 'moved');
    mkdirSync(out, { recursive: true });
    const ckpt = join(out, 'from-tfjs.safetensors');
    await writeSafetensorsFile(ckpt, fromTfTensors(state));
    const before = (state.get('model/mlp/0/W')!.dataSync() as Float32Array).slice();
    tf.dispose([...state.values()]);
    trainer.dispose();
    model.dispose();

    const jobPath = join(out, 'job.json');
    writeFileSync(
      jobPath,
      JSON.stringify({ runId: 'moved', config: cfg, out, device: 'cpu', threads: 1, resume: ckpt, progressIntervalMs: 0 }),
    );
    const events = (await engine(['train', '--job', jobPath], ''))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: 'started', resumedFrom: 8, startStep: 8, totalSteps: 20 });
    expect(events.at(-1)).toMatchObject({ type: 'finished', status: 'completed', step: 20 });
    // PyTorch continues the count where tfjs stopped: the steps logged are exactly 9..20
    const steps = events
      .filter((e) => e.type === 'metrics')
      .flatMap((e) => (e.rows as { step: number; name: string }[]).filter((r) => r.name === 'loss').map((r) => r.step));
    expect(steps).toEqual(Array.from({ length: 12 }, (_, i) => i + 9));
    const last = await readSafetensorsFile(events.filter((e) => e.type === 'checkpoint').at(-1)!.file as string);
    // the data stream's key survives the trip (stored as a signed int32, as the TS trainer stores it)
    expect(Array.from(toInt32(last.tensors.get('trainer/rng')!))).toEqual([4_000_000_000 | 0, 20]);
    expect(Array.from(toInt32(last.tensors.get('optim/step')!))).toEqual([20]);
    expect(toFloat32(last.tensors.get('model/mlp/0/W')!)).not.toEqual(before);
  });
});

describe('MNIST handed over to PyTorch', () => {
  it('trains a class-conditional U-Net on the studio’s MNIST arrays and writes image samples', async (ctx) => {
    if (!python) return ctx.skip();
    const ds = loadMnist({ limit: 300 });
    const out = join(dir, 'mnist');
    mkdirSync(out, { recursive: true });
    const data = join(out, 'data.safetensors');
    await writeDataFile(data, { ...ds, shape: [ds.height, ds.width, ds.channels] });
    const parsed = parseExperiment({
      data: { kind: 'mnist' },
      conditional: true,
      labelDropout: 0.1,
      model: { kind: 'unet', baseChannels: 8, channelMults: [1, 2], groups: 4, timeEmbedDim: 16 },
      train: { steps: 4, batchSize: 8, checkpointEvery: 4, logEvery: 1, sampleEvery: 4, sampleCount: 10 },
      sampling: { solver: 'euler', steps: 2, cfg: 1 },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const jobPath = join(out, 'job.json');
    writeFileSync(jobPath, JSON.stringify({ runId: 'mnist', config: parsed.value, data, out, device: 'cpu', threads: 1 }));
    const events = (await engine(['train', '--job', jobPath], ''))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.at(-1)).toMatchObject({ type: 'finished', status: 'completed', step: 4 });
    expect(events[0]).toMatchObject({ modelConfig: { kind: 'unet', size: 28, channels: 1, numClasses: 10 } });
    const sample = events.find((e) => e.type === 'sample')!;
    expect(sample).toMatchObject({ kind: 'images', n: 10, labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    const file = await readSafetensorsFile(sample.file as string);
    expect(file.tensors.get('x')!.shape).toEqual([10, 28, 28, 1]); // NHWC, as the studio renders
    expect(Array.from(toInt32(file.tensors.get('labels')!))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
