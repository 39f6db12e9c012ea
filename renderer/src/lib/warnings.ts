/**
 * Settings that are valid but obviously bad or expensive: the schema accepts a learning rate of 1e9,
 * the run would only diverge. Each warning names the field and says why and what is usual; 'danger'
 * ones ask for a confirmation before Train, 'cost' ones show the measured time estimate.
 *
 * Pure: reads a config (as written, defaults not filled) and the backend training would use.
 */
import type { PytorchEngineDiagnosis } from '../../../common/contract';
import { getPath } from './config';

export interface ConfigWarning {
  field: string;
  level: 'danger' | 'cost';
  message: string;
}

/** Backends that run on the CPU (no GPU, no native TensorFlow). */
export const CPU_BACKENDS = ['wasm', 'cpu'];

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function isImageData(config: unknown): boolean {
  const k = getPath(config, 'data.kind');
  return k === 'mnist' || k === 'images';
}

/** What the host found of the PyTorch engine, in a few words ("torch 1.13.0 on CUDA: RTX 4090"), or null. */
export function pytorchSummary(p: PytorchEngineDiagnosis | null | undefined): string | null {
  if (!p?.ok) return null;
  const gpu = p.devices.cuda.length ? `CUDA: ${p.devices.cuda.map((c) => c.name).join(', ')}` : p.devices.mps ? 'Apple GPU (mps)' : 'CPU';
  return `torch ${p.torch} on ${gpu}`;
}

/**
 * `backend` is the tfjs backend a tfjs run would use; `pytorch` what Settings found of the PyTorch
 * engine (undefined while the probe runs), so the cost warning can name the faster engine when it is here.
 */
export function configWarnings(config: unknown, ctx: { backend: string | null; pytorch?: PytorchEngineDiagnosis | null }): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const lr = num(getPath(config, 'optim.lr'));
  if (lr !== null && lr >= 0.1)
    out.push({
      field: 'optim.lr',
      level: 'danger',
      message: `A learning rate of ${lr} is far above the usual 1e-4 … 1e-2: the loss will most likely explode to NaN within a few steps. Try 1e-3.`,
    });
  else if (lr !== null && lr > 0 && lr < 1e-6)
    out.push({
      field: 'optim.lr',
      level: 'danger',
      message: `A learning rate of ${lr} is so small that training will barely move. Try 1e-3.`,
    });
  const clip = num(getPath(config, 'optim.gradClip'));
  if (clip !== null && clip > 0 && clip < 1e-3)
    out.push({
      field: 'optim.gradClip',
      level: 'danger',
      message: `Clipping gradients to ${clip} stops almost every update. Use 1, or 0 for no clipping.`,
    });
  const warm = num(getPath(config, 'optim.warmupSteps'));
  const steps = num(getPath(config, 'train.steps')) ?? 2000;
  if (warm !== null && warm >= steps && steps > 1)
    out.push({
      field: 'optim.warmupSteps',
      level: 'danger',
      message: `Warmup (${warm} steps) lasts the whole run (${steps} steps): the full learning rate is never reached.`,
    });
  const engine = getPath(config, 'train.engine') ?? 'tfjs';
  const torch = pytorchSummary(ctx.pytorch);
  if (isImageData(config) && engine === 'tfjs' && ctx.backend !== null && CPU_BACKENDS.includes(ctx.backend))
    out.push({
      field: 'data.kind',
      level: 'cost',
      message: torch
        ? `Image models train slowly on tfjs ${ctx.backend}: expect minutes per hundred steps. The PyTorch engine is installed here (${torch}): choose engine "pytorch" under Training.`
        : `Image models train slowly on the CPU (backend ${ctx.backend}): expect minutes per hundred steps. A GPU backend or the PyTorch engine, where installed, is much faster (see Settings).`,
    });
  if (engine === 'pytorch' && ctx.pytorch && !ctx.pytorch.ok)
    out.push({
      field: 'train.engine',
      level: 'danger',
      message: `The PyTorch engine is not available here: ${ctx.pytorch.reason}`,
    });
  if (steps >= 100_000)
    out.push({ field: 'train.steps', level: 'cost', message: `${steps} steps is a long run: check the time estimate first.` });
  const width = num(getPath(config, 'model.width'));
  if (getPath(config, 'model.kind') === 'mlp' && width !== null && width >= 2048)
    out.push({ field: 'model.width', level: 'cost', message: `A width of ${width} makes every step slow; 256 is plenty for 2D data.` });
  return out;
}
