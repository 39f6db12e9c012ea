/**
 * CFM training step of the 2-D MLP 3 -> 256 -> 256 -> 256 -> 2 (SiLU; input = x and t itself, i.e.
 * timeEmbedDim 0) on the tfjs wasm backend: sample x0 ~ N(0, I) and t ~ U(0, 1), x_t = t x1 + (1 - t) x0,
 * loss = mean |v(x_t, t) - (x1 - x0)|², gradients, Adam update; steps/s at batch 256 and 2048.
 *
 * Variants:
 *   plain   tf.matMul + add + x·sigmoid(x), tfjs's default gradients, tf.train.adam      (before)
 *   custom  core/model createMlp (hand-written dense/SiLU gradients), tf.variableGrads, tf.train.adam (after)
 *   manual  the same network differentiated by hand without the tape, tf.train.adam
 *   manual+jsAdam  manual, and Adam over one flat Float32Array in JavaScript
 *
 * Run: node --experimental-transform-types --no-warnings --import ./scripts/ts-hooks.mjs bench/mlp-step.ts
 *      [--batches 256,2048] [--rounds 6] [--out bench/results/mlp-step.local.json]
 * Prints one JSON object. Variants run interleaved in short rounds (the machine is shared); best and
 * median rounds are reported, plus the top kernels of one profiled step.
 */
import '@tensorflow/tfjs-backend-wasm';
import { writeFileSync } from 'node:fs';
import { tf, type Tensor } from '../core/tf';
import { createMlp, type VelocityModel } from '../core/model';
import { registerFlowKernels } from '../core/kernels/register';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const batches = arg('batches', '256,2048').split(',').map(Number);
const rounds = Number(arg('rounds', '6'));
const outFile = arg('out', '');

const WIDTH = 256;
const DIM = 2;

type Step = () => number;

/** Data: 4 Gaussian blobs at (±2, ±2), std 0.1. */
function makeData(b: number): Tensor {
  return tf.tidy(() => tf.add(tf.mul(tf.randomNormal([b, DIM]), 0.1), tf.mul(tf.sign(tf.randomNormal([b, DIM])), 2)));
}

function cfmBatch(x1: Tensor): { xt: Tensor; t: Tensor; target: Tensor } {
  const b = x1.shape[0]!;
  const x0 = tf.randomNormal([b, DIM]);
  const t = tf.randomUniform([b]);
  const tc = tf.reshape(t, [b, 1]);
  return { xt: tf.add(tf.mul(tc, x1), tf.mul(tf.sub(1, tc), x0)), t, target: tf.sub(x1, x0) };
}

function adamStep(opt: tf.Optimizer, vars: readonly tf.Variable[], grads: Tensor[]): void {
  opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
}

function plainStep(model: VelocityModel, x1: Tensor, opt: tf.Optimizer): Step {
  const v = model.variables;
  const apply = (x: Tensor, t: Tensor): Tensor => {
    let h = tf.concat([x, tf.reshape(t, [-1, 1])], 1);
    for (let l = 0; l < 3; l++) {
      const z = tf.add(tf.matMul(h, v[2 * l]!), v[2 * l + 1]!);
      h = tf.mul(z, tf.sigmoid(z));
    }
    return tf.add(tf.matMul(h, v[6]!), v[7]!);
  };
  return () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const { xt, t, target } = cfmBatch(x1);
        return tf.mean(tf.square(tf.sub(apply(xt, t), target))) as tf.Scalar;
      }, v as tf.Variable[]);
      adamStep(
        opt,
        v,
        v.map((x) => grads[x.name]!),
      );
      return value.dataSync()[0]!;
    });
}

function customStep(model: VelocityModel, x1: Tensor, opt: tf.Optimizer): Step {
  const v = model.variables;
  return () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const { xt, t, target } = cfmBatch(x1);
        return tf.mean(tf.square(tf.sub(model.apply(xt, t), target))) as tf.Scalar;
      }, v as tf.Variable[]);
      adamStep(
        opt,
        v,
        v.map((x) => grads[x.name]!),
      );
      return value.dataSync()[0]!;
    });
}

/**
 * Loss and parameter gradients of the CFM loss, differentiated by hand (no tape): params are
 * [W0, b0, ..., W_out, b_out] of the SiLU MLP. Uses only plain matMuls after explicit transposes.
 */
function manualLossAndGrads(params: readonly Tensor[], x1: Tensor): { loss: Tensor; grads: Tensor[] } {
  const b = x1.shape[0]!;
  const layers = params.length / 2;
  const { xt, t, target } = cfmBatch(x1);
  const hs: Tensor[] = [tf.concat([xt, tf.reshape(t, [b, 1])], 1)];
  const ss: Tensor[] = [];
  for (let l = 0; l < layers - 1; l++) {
    const z = tf.fused.matMul({ a: hs[l]!, b: params[2 * l]!, bias: params[2 * l + 1]! });
    const s = tf.sigmoid(z);
    ss.push(s);
    hs.push(tf.mul(z, s));
  }
  const out = tf.fused.matMul({ a: hs[layers - 1]!, b: params[2 * layers - 2]!, bias: params[2 * layers - 1]! });
  const r = tf.sub(out, target);
  const loss = tf.mean(tf.square(r));
  let g = tf.mul(r, 2 / (b * DIM));
  const ones = tf.ones([1, b]);
  const grads: Tensor[] = new Array<Tensor>(2 * layers);
  for (let l = layers - 1; l >= 0; l--) {
    grads[2 * l] = tf.matMul(tf.transpose(hs[l]!), g);
    grads[2 * l + 1] = tf.reshape(tf.matMul(ones, g), [-1]);
    if (l > 0) {
      const gh = tf.matMul(g, tf.transpose(params[2 * l]!));
      const s = ss[l - 1]!;
      const h = hs[l]!;
      g = tf.mul(gh, tf.sub(tf.add(s, h), tf.mul(h, s))); // silu' = s + h - h s
    }
  }
  return { loss, grads };
}

function manualStep(model: VelocityModel, x1: Tensor, opt: tf.Optimizer): Step {
  const v = model.variables;
  return () =>
    tf.tidy(() => {
      const { loss, grads } = manualLossAndGrads(v, x1);
      adamStep(opt, v, grads);
      return loss.dataSync()[0]!;
    });
}

/** Adam (Kingma & Ba) over all parameters as one Float32Array; the tensors are re-uploaded each step. */
function manualJsAdamStep(model: VelocityModel, x1: Tensor): { step: Step; dispose: () => void } {
  const shapes = model.variables.map((v) => v.shape);
  const sizes = model.variables.map((v) => v.size);
  const n = sizes.reduce((a, c) => a + c, 0);
  const p = new Float32Array(n);
  const m = new Float32Array(n);
  const s = new Float32Array(n);
  let off = 0;
  for (const v of model.variables) {
    p.set(v.dataSync() as Float32Array, off);
    off += v.size;
  }
  let params: Tensor[] = model.variables.map((v) => tf.clone(v));
  let k = 0;
  const [lr, b1, b2, eps] = [1e-3, 0.9, 0.999, 1e-8];
  const step: Step = () => {
    const [flat, loss] = tf.tidy(() => {
      const r = manualLossAndGrads(params, x1);
      return [tf.concat(r.grads.map((g) => tf.reshape(g, [-1]))), r.loss] as const;
    });
    const g = flat.dataSync() as Float32Array;
    const lossValue = loss.dataSync()[0]!;
    tf.dispose([flat, loss]);
    k++;
    const a = (lr * Math.sqrt(1 - b2 ** k)) / (1 - b1 ** k);
    for (let i = 0; i < n; i++) {
      const gi = g[i]!;
      const mi = b1 * m[i]! + (1 - b1) * gi;
      const si = b2 * s[i]! + (1 - b2) * gi * gi;
      m[i] = mi;
      s[i] = si;
      p[i] = p[i]! - (a * mi) / (Math.sqrt(si) + eps);
    }
    tf.dispose(params);
    let o = 0;
    params = shapes.map((shape, i) => {
      const t = tf.tensor(p.subarray(o, o + sizes[i]!), shape);
      o += sizes[i]!;
      return t;
    });
    return lossValue;
  };
  return { step, dispose: () => tf.dispose(params) };
}

interface KernelStat {
  name: string;
  ms: number;
  calls: number;
}

async function profile(step: Step): Promise<{ kernelMs: number; kernels: number; top: KernelStat[] }> {
  const info = await tf.profile(() => {
    step();
  });
  const agg = new Map<string, KernelStat>();
  for (const k of info.kernels) {
    if (!tf.getKernel(k.name, tf.getBackend())) continue; // skip op scopes, keep kernels
    const a = agg.get(k.name) ?? { name: k.name, ms: 0, calls: 0 };
    a.ms += k.kernelTimeMs as number;
    a.calls++;
    agg.set(k.name, a);
  }
  const all = [...agg.values()].sort((x, y) => y.ms - x.ms);
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    kernelMs: r2(all.reduce((acc, x) => acc + x.ms, 0)),
    kernels: all.reduce((acc, x) => acc + x.calls, 0),
    top: all.slice(0, 6).map((x) => ({ ...x, ms: r2(x.ms) })),
  };
}

async function main(): Promise<void> {
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
  await tf.ready();
  // The project's kernels, as main/runtime/backend.ts selectBackend registers them.
  registerFlowKernels('wasm');
  const cfg = { kind: 'mlp' as const, dim: DIM, width: WIDTH, depth: 3, activation: 'silu' as const, timeEmbedDim: 0, numClasses: 0 };
  const results: unknown[] = [];
  for (const b of batches) {
    const x1 = makeData(b);
    const models = [0, 1, 2, 3].map(() => createMlp(cfg, 1));
    const opts = [0, 1, 2].map(() => tf.train.adam(1e-3));
    const js = manualJsAdamStep(models[3]!, x1);
    const variants: Array<[string, Step]> = [
      ['plain', plainStep(models[0]!, x1, opts[0]!)],
      ['custom', customStep(models[1]!, x1, opts[1]!)],
      ['manual', manualStep(models[2]!, x1, opts[2]!)],
      ['manual+jsAdam', js.step],
    ];
    const roundMs = b > 1024 ? 1500 : 500;
    const rates: number[][] = variants.map(() => []);
    const losses: number[] = variants.map(() => NaN);
    for (const [, step] of variants) for (let i = 0; i < 3; i++) step();
    for (let r = 0; r < rounds; r++) {
      variants.forEach(([name, step], i) => {
        if (name === 'plain' && b > 1024 && r >= 2) return; // ~1 step/s: two rounds are enough
        let n = 0;
        const t0 = performance.now();
        while (performance.now() - t0 < roundMs) {
          losses[i] = step();
          n++;
        }
        rates[i]!.push((1000 * n) / (performance.now() - t0));
      });
    }
    for (const [i, [name, step]] of variants.entries()) {
      const sorted = [...rates[i]!].sort((x, y) => y - x);
      const prof = await profile(step);
      const r1 = (x: number): number => Math.round(x * 10) / 10;
      results.push({
        batch: b,
        variant: name,
        stepsPerSecBest: r1(sorted[0]!),
        stepsPerSecMedian: r1(sorted[sorted.length >> 1]!),
        lastLoss: Math.round(losses[i]! * 1e4) / 1e4,
        ...prof,
      });
    }
    js.dispose();
    models.forEach((m) => m.dispose());
    opts.forEach((o) => o.dispose());
    x1.dispose();
  }
  const report = {
    bench: 'mlp-step',
    model: '3 -> 256 -> 256 -> 256 -> 2, SiLU, input [x, t] (timeEmbedDim 0)',
    backend: tf.getBackend(),
    node: process.version,
    date: new Date().toISOString(),
    results,
  };
  const json = JSON.stringify(report, null, 2);
  console.log(json);
  if (outFile) writeFileSync(outFile, json + '\n');
}

await main();
