/**
 * engine-step: the same training step on the two engines a run can choose (train.engine), on this
 * machine, one after the other:
 *
 *   tfjs     core's createTrainer on the backend the studio picks (wasm here): what a tfjs run does
 *            per step
 *   pytorch  the PyTorch engine as a run uses it: `python -m flow_studio_torch train` on a job with
 *            the same config (MNIST handed over as the studio does, data.safetensors), every step
 *            reported (progressIntervalMs 0); a step's time is the gap between consecutive
 *            'progress' lines as they reach Node, so it includes the pipe, as a real run does
 *
 * for the moons preset's MLP (batch 256) and the MNIST preset's class-conditional U-Net (batch 32).
 * No checkpoints, samples or metric rows during the timed steps (intervals past the end). The first
 * steps of each are warm-up (wasm kernels compiled, torch's allocator grown) and not counted. The
 * PyTorch side is skipped, with the reason, when no Python with torch is found (FLOW_STUDIO_PYTHON
 * or discovery, main/runtime/python.ts). GPU figures need a GPU machine: run there with
 * FLOW_STUDIO_TORCH_DEVICE unset (auto picks CUDA).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createModel } from '../core/model';
import { createTrainer } from '../core/train/trainer';
import { modelConfigFor } from '../core/train/config';
import { parseExperiment, type ExperimentConfig, type ExperimentInput } from '../common/config';
import { loadImageData } from '../main/data';
import { writeDataFile } from '../main/models/safetensors';
import { engineEnv, findTorchPython } from '../main/runtime/python';
import { loadExperimentData } from '../main/training/sources';
import { log, round, timeStats } from './lib';
import { readPreset } from './presets';

export interface EnginesOptions {
  /** Timed steps per engine and model (after WARMUP). */
  steps: { mlp: number; unet: number };
}

const WARMUP = 3;

interface Case {
  name: 'mlp' | 'unet';
  preset: string;
  batch: number;
}

const CASES: Case[] = [
  { name: 'mlp', preset: 'moons', batch: 256 },
  { name: 'unet', preset: 'mnist', batch: 32 },
];

/** The preset at `batch`, with `steps` steps and nothing written during them. */
function configFor(c: Case, steps: number): ExperimentConfig {
  const base = readPreset(c.preset) as Record<string, unknown>;
  const raw: ExperimentInput = {
    ...base,
    optim: { ...(base.optim as object), warmupSteps: 0 },
    train: { ...(base.train as object), steps, batchSize: c.batch, checkpointEvery: steps, logEvery: steps, sampleEvery: 0 },
  } as ExperimentInput;
  const p = parseExperiment(raw);
  if (!p.ok) throw new Error(`preset ${c.preset} does not parse`);
  return p.value;
}

async function tfjsSteps(config: ExperimentConfig, n: number): Promise<number[]> {
  const { target, source } = await loadExperimentData(config);
  const model = createModel(
    modelConfigFor(config.model, target.source.shape, config.conditional ? target.source.numClasses : 0),
    config.seed,
  );
  const trainer = createTrainer({ spec: config, model, target: target.source, source });
  try {
    for (let i = 0; i < WARMUP; i++) trainer.step();
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      trainer.step();
      ms.push(performance.now() - t0);
    }
    return ms;
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** ms per step of the PyTorch engine (gaps between 'progress' lines), and what its 'started' said. */
async function torchSteps(
  python: string,
  config: ExperimentConfig,
  n: number,
): Promise<{ ms: number[]; started: Record<string, unknown> }> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-engine-'));
  try {
    const job: Record<string, unknown> = { config, out: join(dir, 'out'), progressIntervalMs: 0, stdinControl: false };
    if (config.data.kind === 'mnist' || config.data.kind === 'images') {
      const ds = await loadImageData(config.data);
      await writeDataFile(join(dir, 'data.safetensors'), { ...ds, shape: [ds.height, ds.width, ds.channels] });
      job.data = join(dir, 'data.safetensors');
    }
    writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
    const child = spawn(python, ['-m', 'flow_studio_torch', 'train', '--job', join(dir, 'job.json')], {
      env: engineEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const at = new Map<number, number>();
    let started: Record<string, unknown> = {};
    let finished: Record<string, unknown> | null = null;
    for await (const line of createInterface({ input: child.stdout })) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e.type === 'progress') at.set(Number(e.step), performance.now());
      else if (e.type === 'started') started = e;
      else if (e.type === 'finished') finished = e;
    }
    await new Promise((r) => child.on('close', r));
    if (finished?.status !== 'completed')
      throw new Error(`the PyTorch engine ended ${String(finished?.status)}: ${String(finished?.error ?? stderr)}`);
    const ms: number[] = [];
    for (let s = WARMUP + 1; s <= WARMUP + n; s++) if (at.has(s) && at.has(s - 1)) ms.push(at.get(s)! - at.get(s - 1)!);
    return { ms, started };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchEngines(o: EnginesOptions): Promise<Record<string, unknown>> {
  const found = await findTorchPython();
  const results: Record<string, unknown>[] = [];
  let torchInfo: Record<string, unknown> | string = found.ok ? {} : `skipped: ${found.reason}`;
  for (const c of CASES) {
    const n = o.steps[c.name];
    const config = configFor(c, WARMUP + n);
    log(`engine-step ${c.name} batch ${c.batch}: tfjs ...`);
    const tf = timeStats(await tfjsSteps(config, n));
    let torch: ReturnType<typeof timeStats> | null = null;
    if (found.ok) {
      log(`engine-step ${c.name} batch ${c.batch}: pytorch ...`);
      const r = await torchSteps(found.python.command, config, n);
      torch = timeStats(r.ms);
      torchInfo = {
        python: r.started.python,
        torch: r.started.torch,
        device: r.started.device,
        threads: r.started.threads,
        ...(r.started.deviceName ? { deviceName: r.started.deviceName } : {}),
      };
    }
    results.push({
      model: c.name,
      preset: c.preset,
      batch: c.batch,
      steps: n,
      msPerStep: { tfjs: tf, pytorch: torch },
      ratioTfjsOverPytorch: torch ? { best: round(tf.best / torch.best, 2), median: round(tf.median / torch.median, 2) } : null,
    });
  }
  return { warmupSteps: WARMUP, pytorch: torchInfo, results };
}
