// MLP and U-Net: shapes, determinism, checkpoints, whole-model gradients against tfjs built-ins.
import { afterAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { tf, type Tensor } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { ConfigError } from '../../../core/errors';
import {
  CheckpointError,
  countParameters,
  createModel,
  defaultUNetConfig,
  getWeights,
  modelFromWeights,
  selfAttention,
  setWeights,
  timeEmbedding,
  useBuiltinGradients,
  type MlpConfig,
  type UNetConfig,
  type VelocityModel,
} from '../../../core/model';

const testBackend = tf.getBackend();
afterAll(async () => {
  useBuiltinGradients(false);
  await tf.setBackend(testBackend);
});

const mlpCfg = (over: Partial<MlpConfig> = {}): MlpConfig => ({
  kind: 'mlp',
  dim: 2,
  width: 32,
  depth: 2,
  activation: 'silu',
  timeEmbedDim: 16,
  numClasses: 0,
  ...over,
});

/** A U-Net small enough for cpu-backend reference gradients. */
const tinyUNet = (over: Partial<UNetConfig> = {}): UNetConfig => ({
  kind: 'unet',
  size: 8,
  channels: 2,
  baseChannels: 4,
  channelMults: [1, 2],
  blocksPerLevel: 1,
  attention: true,
  groups: 2,
  timeEmbedDim: 8,
  numClasses: 3,
  ...over,
});

function randn(rng: Rng, shape: number[], scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = rng.normals(n);
  for (let i = 0; i < n; i++) d[i]! *= scale;
  return tf.tensor(d, shape);
}

/** Sets every parameter to small random values (zero-initialised layers would hide gradient bugs). */
function randomise(model: VelocityModel, seed: number): void {
  const rng = new Rng(seed);
  for (const v of model.variables) {
    const r = randn(rng, v.shape, 0.3);
    v.assign(r);
    r.dispose();
  }
}

function maxAbs(a: Float32Array | Int32Array | Uint8Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

describe('time embedding', () => {
  it('is [sin(ω t), cos(ω t)] with ω geometric from 1 to 1000', () => {
    const e = timeEmbedding(tf.tensor1d([0, 0.5]), 8);
    expect(e.shape).toEqual([2, 8]);
    const d = e.arraySync() as number[][];
    expect(d[0]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const w = [1, 10, 100, 1000];
    w.forEach((om, i) => {
      expect(d[1]![i]).toBeCloseTo(Math.sin(om * 0.5), 4);
      expect(d[1]![i + 4]).toBeCloseTo(Math.cos(om * 0.5), 4);
    });
    e.dispose();
  });
});

describe('MLP', () => {
  it('maps [B, dim] to [B, dim], with and without classes, raw t or embedded t', () => {
    for (const over of [{}, { numClasses: 4 }, { timeEmbedDim: 0 }, { activation: 'gelu' as const, dim: 3 }]) {
      const m = createModel(mlpCfg(over), 3);
      randomise(m, 1);
      const dim = m.config.kind === 'mlp' ? m.config.dim : 0;
      const x = tf.randomNormal([5, dim]);
      const t = tf.linspace(0, 1, 5);
      const labels = tf.tensor1d([0, 1, 2, 3, 4], 'int32');
      const y = m.apply(x, t, over.numClasses ? labels : undefined);
      expect(y.shape).toEqual([5, dim]);
      expect(Number.isFinite(maxAbs(y.dataSync() as Float32Array))).toBe(true);
      tf.dispose([x, t, labels, y]);
      m.dispose();
    }
  });

  it('whole-model gradients (parameters and input, with and without classes) equal tfjs built-ins on the cpu backend', async () => {
    // On wasm the SiLU MLP runs as one fused op (ops.siluStack) with hand-written backward.
    for (const over of [{ depth: 3, timeEmbedDim: 0 }, { numClasses: 3 }]) {
      const cfg = mlpCfg(over);
      const rng = new Rng(21);
      const xData = rng.normals(6 * 2);
      const wData = rng.normals(6 * 2);
      const run = async (backend: string, builtin: boolean): Promise<Float32Array[]> => {
        await tf.setBackend(backend);
        useBuiltinGradients(builtin);
        const m = createModel(cfg, 5);
        randomise(m, 3);
        const out = tf.tidy(() => {
          const x = tf.tensor(xData, [6, 2]);
          const w = tf.tensor(wData, [6, 2]);
          const t = tf.tensor1d([0.1, 0.3, 0.5, 0.6, 0.8, 0.95]);
          const labels = cfg.numClasses ? tf.tensor1d([0, 1, 2, 3, 1, 0], 'int32') : undefined;
          const f = (): tf.Scalar => tf.sum(tf.mul(m.apply(x, t, labels), w));
          const { grads } = tf.variableGrads(f, m.variables as tf.Variable[]);
          const dx = tf.grad((xx: Tensor) => tf.sum(tf.mul(m.apply(xx, t, labels), w)))(x);
          return [...m.variables.map((v) => grads[v.name]!.dataSync() as Float32Array), dx.dataSync() as Float32Array];
        });
        m.dispose();
        useBuiltinGradients(false);
        return out;
      };
      const ours = await run(testBackend, false);
      const ref = await run('cpu', true);
      await tf.setBackend(testBackend);
      ours.forEach((g, i) => {
        const r = ref[i]!;
        const err = maxAbs(g.map((v, k) => v - r[k]!)) / Math.max(maxAbs(r), 1e-6);
        expect(err, `${JSON.stringify(over)} gradient ${i}`).toBeLessThan(1e-4);
      });
    }
  });

  it('mseLossAndGrads (the tape-free training path) equals tf.variableGrads of the weighted MSE with tfjs built-ins on cpu', async () => {
    for (const over of [{ depth: 3, timeEmbedDim: 0 }, { numClasses: 3 }]) {
      const cfg = mlpCfg(over);
      const rng = new Rng(31);
      const xData = rng.normals(6 * 2);
      const targetData = rng.normals(6 * 2);
      const wData = Float32Array.from({ length: 6 }, (_, i) => 0.5 + i / 6);
      const labelData = [0, 1, 2, 3, 1, 0];
      const t = [0.1, 0.3, 0.5, 0.6, 0.8, 0.95];
      await tf.setBackend(testBackend);
      const m = createModel(cfg, 5);
      randomise(m, 3);
      let fast: Float32Array[] | null = null;
      tf.tidy(() => {
        const r = m.mseLossAndGrads?.(
          tf.tensor(xData, [6, 2]),
          tf.tensor1d(t),
          cfg.numClasses ? tf.tensor1d(labelData, 'int32') : undefined,
          tf.tensor(targetData, [6, 2]),
          tf.tensor(wData, [6, 1]),
        );
        if (r) fast = [r.loss.dataSync() as Float32Array, ...r.grads.map((g) => g.dataSync() as Float32Array)];
      });
      const weights = getWeights(m);
      m.dispose();
      if (testBackend !== 'wasm') {
        expect(fast).toBeNull(); // the fast path needs the wasm kernels
        tf.dispose([...weights.values()]);
        continue;
      }
      expect(fast).not.toBeNull();
      await tf.setBackend('cpu');
      useBuiltinGradients(true);
      const ref = modelFromWeights(cfg, weights);
      const expected: Float32Array[] = tf.tidy(() => {
        const x = tf.tensor(xData, [6, 2]);
        const labels = cfg.numClasses ? tf.tensor1d(labelData, 'int32') : undefined;
        const f = (): tf.Scalar =>
          tf.mean(
            tf.mul(tf.squaredDifference(ref.apply(x, tf.tensor1d(t), labels), tf.tensor(targetData, [6, 2])), tf.tensor(wData, [6, 1])),
          );
        const { value, grads } = tf.variableGrads(f, ref.variables as tf.Variable[]);
        return [value.dataSync() as Float32Array, ...ref.variables.map((v) => grads[v.name]!.dataSync() as Float32Array)];
      });
      useBuiltinGradients(false);
      ref.dispose();
      tf.dispose([...weights.values()]);
      await tf.setBackend(testBackend);
      const got = fast as Float32Array[] | null;
      expected.forEach((r, i) => {
        const g = got![i]!;
        const err = maxAbs(g.map((v, k) => v - r[k]!)) / Math.max(maxAbs(r), 1e-6);
        expect(err, `${JSON.stringify(over)} ${i === 0 ? 'loss' : `gradient ${i - 1}`}`).toBeLessThan(1e-4);
      });
    }
  });

  it('predicts 0 before training (zero-initialised output layer)', () => {
    const m = createModel(mlpCfg({ numClasses: 2 }), 1);
    const y = m.apply(tf.ones([3, 2]), tf.ones([3]), tf.tensor1d([0, 1, 2], 'int32'));
    expect(maxAbs(y.dataSync() as Float32Array)).toBe(0);
    m.dispose();
  });

  it('has stable names and the expected parameter count', () => {
    const m = createModel(mlpCfg({ numClasses: 3 }), 1);
    expect(m.names).toEqual(['mlp/0/W', 'mlp/0/b', 'mlp/1/W', 'mlp/1/b', 'mlp/out/W', 'mlp/out/b', 'mlp/class/E']);
    // (2 + 16) * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2 + 4 * 32
    expect(countParameters(m)).toBe(18 * 32 + 32 + 32 * 32 + 32 + 64 + 2 + 128);
    m.dispose();
  });

  it('rejects invalid configs with a ConfigError naming the field', () => {
    expect(() => createModel(mlpCfg({ timeEmbedDim: 3 }), 1)).toThrow(ConfigError);
    expect(() => createModel(mlpCfg({ width: 0 }), 1)).toThrow(/model\.width/);
    expect(() => createModel({ ...mlpCfg(), kind: 'cnn' } as unknown as MlpConfig, 1)).toThrow(/model\.kind/);
  });

  it('checks input shapes and requires labels for a conditional model', () => {
    const m = createModel(mlpCfg({ numClasses: 2 }), 1);
    expect(() => m.apply(tf.ones([3, 3]), tf.ones([3]))).toThrow(/x must have shape \[batch, 2\]/);
    expect(() => m.apply(tf.ones([3, 2]), tf.ones([3]))).toThrow(/labels must have shape \[3\]/);
    m.dispose();
  });
});

describe('U-Net', () => {
  for (const [size, channels] of [
    [28, 1],
    [32, 3],
  ] as const) {
    for (const numClasses of [0, 10]) {
      it(`maps [B, ${size}, ${size}, ${channels}] to itself (${numClasses ? 'class-conditional' : 'unconditional'})`, () => {
        const m = createModel(defaultUNetConfig(size, channels, numClasses), 7);
        randomise(m, 2);
        const x = tf.randomNormal([2, size, size, channels]);
        const t = tf.tensor1d([0.1, 0.9]);
        const labels = numClasses ? tf.tensor1d([3, numClasses], 'int32') : undefined;
        const y = m.apply(x, t, labels);
        expect(y.shape).toEqual([2, size, size, channels]);
        expect(Number.isFinite(maxAbs(y.dataSync() as Float32Array))).toBe(true);
        tf.dispose([x, t, y]);
        labels?.dispose();
        m.dispose();
      });
    }
  }

  it('default config: a few hundred thousand parameters, predicts 0 untrained', () => {
    const m = createModel(defaultUNetConfig(28, 1, 10), 1);
    const n = countParameters(m);
    expect(n).toBeGreaterThan(200_000);
    expect(n).toBeLessThan(2_000_000);
    const y = m.apply(tf.randomNormal([1, 28, 28, 1]), tf.tensor1d([0.5]), tf.tensor1d([10], 'int32'));
    expect(maxAbs(y.dataSync() as Float32Array)).toBe(0);
    m.dispose();
  });

  it('rejects sizes the resolutions cannot halve and groups that do not divide the channels', () => {
    expect(() => createModel({ ...defaultUNetConfig(28, 1, 0), channelMults: [1, 2, 2, 2] }, 1)).toThrow(/model\.channelMults/);
    expect(() => createModel({ ...defaultUNetConfig(28, 1, 0), groups: 3 }, 1)).toThrow(/model\.groups/);
  });

  it('whole-model gradients equal those of tfjs built-ins on the cpu backend', async () => {
    const cfg = tinyUNet();
    const rng = new Rng(11);
    const xs = randn(rng, [2, 8, 8, 2]);
    const weight = randn(rng, [2, 8, 8, 2]);
    const xData = xs.dataSync().slice();
    const wData = weight.dataSync().slice();
    tf.dispose([xs, weight]);
    const run = async (backend: string, builtin: boolean): Promise<{ grads: Float32Array[]; dx: Float32Array }> => {
      await tf.setBackend(backend);
      useBuiltinGradients(builtin);
      const m = createModel(cfg, 5);
      randomise(m, 3);
      const out = tf.tidy(() => {
        const x = tf.tensor(xData, [2, 8, 8, 2]);
        const w = tf.tensor(wData, [2, 8, 8, 2]);
        const t = tf.tensor1d([0.3, 0.8]);
        const labels = tf.tensor1d([1, 3], 'int32');
        const f = (): tf.Scalar => tf.sum(tf.mul(m.apply(x, t, labels), w));
        const { grads } = tf.variableGrads(f, m.variables as tf.Variable[]);
        const dx = tf.grad((xx: Tensor) => tf.sum(tf.mul(m.apply(xx, t, labels), w)))(x);
        return {
          grads: m.variables.map((v) => grads[v.name]!.dataSync() as Float32Array),
          dx: dx.dataSync() as Float32Array,
        };
      });
      m.dispose();
      useBuiltinGradients(false);
      return out;
    };
    const ours = await run(testBackend, false);
    const ref = await run('cpu', true);
    await tf.setBackend(testBackend);
    let worst = 0;
    let worstName = '';
    const names = createModel(cfg, 0);
    names.dispose();
    ours.grads.forEach((g, i) => {
      const r = ref.grads[i]!;
      let num = 0;
      let den = 1e-3; // the attention key bias has an exactly zero gradient
      for (let k = 0; k < g.length; k++) {
        num = Math.max(num, Math.abs(g[k]! - r[k]!));
        den = Math.max(den, Math.abs(r[k]!));
      }
      if (num / den > worst) {
        worst = num / den;
        worstName = names.names[i]!;
      }
    });
    const dxErr = maxAbs(ours.dx.map((v, k) => v - ref.dx[k]!)) / maxAbs(ref.dx);
    console.log(`U-Net gradients: worst parameter ${worstName} rel err ${worst.toExponential(1)}, input ${dxErr.toExponential(1)}`);
    expect(worst).toBeLessThan(1e-3);
    expect(dxErr).toBeLessThan(1e-3);
  });
});

describe('self-attention block', () => {
  it('gradients equal the built-in ones (cpu backend)', async () => {
    const rng = new Rng(21);
    const c = 4;
    const shapes: Record<string, number[]> = {
      x: [2, 3, 3, c],
      g: [c],
      bn: [c],
      qw: [c, c],
      qb: [c],
      kw: [c, c],
      kb: [c],
      vw: [c, c],
      vb: [c],
      pw: [c, c],
      pb: [c],
      w: [2, 3, 3, c],
    };
    const data = Object.fromEntries(
      Object.entries(shapes).map(([k, s]) => {
        const t = randn(rng, s, 0.7);
        const d = t.dataSync().slice();
        t.dispose();
        return [k, d];
      }),
    );
    const run = async (backend: string, builtin: boolean): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      useBuiltinGradients(builtin);
      const res = tf.tidy(() => {
        const ts = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.tensor(data[k]!, s)]));
        const keys = ['x', 'g', 'bn', 'qw', 'qb', 'kw', 'kb', 'vw', 'vb', 'pw', 'pb'];
        const f = (...a: Tensor[]): Tensor => {
          const [x, g, bn, qw, qb, kw, kb, vw, vb, pw, pb] = a as [Tensor, ...Tensor[]];
          const y = selfAttention(
            x,
            {
              norm: { g: g!, b: bn! },
              q: { w: qw!, b: qb! },
              k: { w: kw!, b: kb! },
              v: { w: vw!, b: vb! },
              proj: { w: pw!, b: pb! },
            },
            2,
          );
          return tf.sum(tf.mul(y, ts.w!));
        };
        return tf
          .grads(f)(keys.map((k) => ts[k]!))
          .map((g) => g.dataSync() as Float32Array);
      });
      useBuiltinGradients(false);
      return res;
    };
    const ours = await run(testBackend, false);
    const ref = await run('cpu', true);
    await tf.setBackend(testBackend);
    // The key bias has an exactly zero gradient (softmax ignores a constant per query row): compare
    // each gradient relative to its own scale, but at least 1% of the largest gradient.
    const scale = Math.max(...ref.map((r) => maxAbs(r)));
    ours.forEach((g, i) => {
      const r = ref[i]!;
      const err = maxAbs(g.map((v, k) => v - r[k]!)) / Math.max(maxAbs(r), 1e-2 * scale);
      expect(err, `attention grad ${i}`).toBeLessThan(1e-4);
    });
  });
});

describe('determinism and checkpoints', () => {
  it('the same seed gives identical weights and outputs; another seed differs', () => {
    const a = createModel(defaultUNetConfig(28, 1, 0), 42);
    const b = createModel(defaultUNetConfig(28, 1, 0), 42);
    const c = createModel(defaultUNetConfig(28, 1, 0), 43);
    let differs = false;
    a.variables.forEach((v, i) => {
      expect(Array.from(v.dataSync())).toEqual(Array.from(b.variables[i]!.dataSync()));
      if (!differs && v.size > 1 && maxAbs(v.dataSync() as Float32Array) > 0) {
        differs = maxAbs(tf.sub(v, c.variables[i]!).dataSync() as Float32Array) > 0;
      }
    });
    expect(differs).toBe(true);
    expect(a.names).toEqual(b.names);
    // Variables of two models with the same names coexist (tfjs names carry a per-model suffix).
    expect(a.variables[0]!.name).not.toBe(b.variables[0]!.name);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('getWeights / setWeights / modelFromWeights round-trip', () => {
    const a = createModel(mlpCfg({ numClasses: 2 }), 1);
    randomise(a, 9);
    const w = getWeights(a);
    expect([...w.keys()]).toEqual(a.names);
    const b = createModel(mlpCfg({ numClasses: 2 }), 2);
    setWeights(b, w);
    const c = modelFromWeights(a.config, w);
    const x = tf.randomNormal([4, 2]);
    const t = tf.tensor1d([0, 0.3, 0.6, 1]);
    const labels = tf.tensor1d([0, 1, 2, 1], 'int32');
    const ya = a.apply(x, t, labels).dataSync();
    expect(Array.from(b.apply(x, t, labels).dataSync())).toEqual(Array.from(ya));
    expect(Array.from(c.apply(x, t, labels).dataSync())).toEqual(Array.from(ya));
    // The copies do not alias the model: training a further does not change them.
    a.variables[0]!.assign(tf.zerosLike(a.variables[0]!));
    expect(maxAbs(w.get('mlp/0/W')!.dataSync() as Float32Array)).toBeGreaterThan(0);
    tf.dispose([...w.values(), x, t, labels]);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('a wrong shape, a missing or an unknown variable is a CheckpointError naming it', () => {
    const a = createModel(mlpCfg(), 1);
    const w = getWeights(a);
    const bad = new Map(w);
    bad.set('mlp/1/W', tf.zeros([32, 31]));
    let err: unknown;
    try {
      setWeights(a, bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointError);
    const ce = err as CheckpointError;
    expect(ce.variable).toBe('mlp/1/W');
    expect(ce.expected).toEqual([32, 32]);
    expect(ce.got).toEqual([32, 31]);
    expect(ce.message).toMatch(/mlp\/1\/W.*\[32, 32\].*\[32, 31\]/);

    const missing = new Map(w);
    missing.delete('mlp/out/b');
    expect(() => setWeights(a, missing)).toThrow(/mlp\/out\/b: missing/);
    const extra = new Map(w);
    extra.set('mlp/9/W', tf.zeros([1]));
    expect(() => setWeights(a, extra)).toThrow(/mlp\/9\/W: not a variable/);
    expect(() => modelFromWeights(mlpCfg({ width: 16 }), w)).toThrow(CheckpointError);
    tf.dispose([...w.values(), bad.get('mlp/1/W')!, extra.get('mlp/9/W')!]);
    a.dispose();
  });
});
