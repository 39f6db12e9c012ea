// The U-Net's tape-free training path (core/model/unet-train.ts, unet-train-kernels.ts) on the wasm
// backend: each backward kernel against a float64 reference computed here from its definition, the
// whole path against the differentiable layers' gradients (tf.variableGrads of `apply`), and
// training curves of the fast and the stock path against each other.
import { describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { createModel, type UNetConfig, type VelocityModel } from '../../../core/model';
import {
  FLOW_CONCAT_CHANNELS,
  FLOW_CONV3X3_GRAD,
  FLOW_GROUP_NORM_ACT_GRAD,
  FLOW_SPLIT_CHANNELS,
  useConvGradMode,
} from '../../../core/model/unet-train-kernels';
import { unetTrainAvailable, useUNetTrainPath } from '../../../core/model/unet-train';
import { arraySource } from '../../../core/data/source';
import { disposeAll, specFrom, trainerFor } from '../train/helpers';

const onWasm = tf.getBackend() === 'wasm';

function randn(rng: Rng, n: number, scale = 1): Float64Array {
  return Float64Array.from(rng.normals(n), (v) => v * scale);
}

/** A float32 tensor of N(0, scale^2) values. */
const randt = (rng: Rng, shape: number[], scale = 1): Tensor =>
  tf.tensor(
    Float32Array.from(
      randn(
        rng,
        shape.reduce((p, q) => p * q, 1),
        scale,
      ),
    ),
    shape,
    'float32',
  );

/** max |a - b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 1e-30;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

/** The values as float32 rounds them (what the kernels read), in float64. */
const f32 = (d: Float64Array): Float64Array => Float64Array.from(Float32Array.from(d));

const tinyUNet = (over: Partial<UNetConfig> = {}): UNetConfig => ({
  kind: 'unet',
  size: 8,
  channels: 2,
  baseChannels: 8,
  channelMults: [1, 2],
  blocksPerLevel: 1,
  attention: true,
  groups: 2,
  timeEmbedDim: 8,
  numClasses: 3,
  ...over,
});

/** Every weight random (the zero-initialised output convs too), so each path carries signal. */
function randomise(model: VelocityModel, seed: number): void {
  const rng = new Rng(seed);
  for (const v of model.variables) {
    const r = randt(rng, v.shape, 0.3);
    v.assign(tf.add(v, r));
    r.dispose();
  }
}

describe.runIf(onWasm)('U-Net training kernels (wasm) against float64 references', () => {
  it('FlowConv3x3Grad: filter, bias and input gradients of a padded 3x3 conv, flat and compact filter gradients', () => {
    const rng = new Rng(5);
    const cases = [
      [2, 5, 7, 3, 9, 'flat'],
      [3, 8, 8, 16, 8, 'flat'],
      [1, 4, 4, 8, 1, 'flat'],
      [2, 5, 7, 3, 9, 'compact'],
      [3, 7, 7, 16, 12, 'compact'],
      [1, 4, 4, 8, 1, 'compact'],
      [2, 6, 6, 8, 8, 'auto'],
    ] as const;
    for (const [bsz, h, w, cin, cout, mode] of cases) {
      const hp = h + 2;
      const wp = w + 2;
      const x = f32(randn(rng, bsz * h * w * cin));
      const xp = new Float64Array(bsz * hp * wp * cin);
      for (let n = 0; n < bsz; n++)
        for (let y = 0; y < h; y++)
          for (let q = 0; q < w; q++)
            for (let c = 0; c < cin; c++) xp[((n * hp + y + 1) * wp + q + 1) * cin + c] = x[((n * h + y) * w + q) * cin + c]!;
      const dy = f32(randn(rng, bsz * h * w * cout));
      const wt = f32(randn(rng, 9 * cin * cout));
      // References from the definition: y[n,y,x,o] = Σ_{i,j,c} xp[n, y+i, x+j, c] W[i,j,c,o].
      const dW = new Float64Array(9 * cin * cout);
      const db = new Float64Array(cout);
      const dx = new Float64Array(bsz * h * w * cin);
      for (let n = 0; n < bsz; n++)
        for (let y = 0; y < h; y++)
          for (let q = 0; q < w; q++)
            for (let o = 0; o < cout; o++) {
              const g = dy[((n * h + y) * w + q) * cout + o]!;
              db[o] = db[o]! + g;
              for (let i = 0; i < 3; i++)
                for (let j = 0; j < 3; j++)
                  for (let c = 0; c < cin; c++) {
                    const wi = ((i * 3 + j) * cin + c) * cout + o;
                    dW[wi] = dW[wi]! + g * xp[((n * hp + y + i) * wp + q + j) * cin + c]!;
                    const yy = y + i - 1;
                    const xx = q + j - 1;
                    if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
                      const xi = ((n * h + yy) * w + xx) * cin + c;
                      dx[xi] = dx[xi]! + g * wt[wi]!;
                    }
                  }
            }
      const prevMode = useConvGradMode(mode);
      const run = (inputGrad: boolean): Float32Array[] =>
        tf.tidy(() => {
          const outs = tf.engine().runKernel(
            FLOW_CONV3X3_GRAD,
            {
              xp: tf.tensor(Float32Array.from(xp), [bsz, hp, wp, cin]),
              dy: tf.tensor(Float32Array.from(dy), [bsz, h, w, cout]),
              w: tf.tensor(Float32Array.from(wt), [3, 3, cin, cout]),
            },
            { inputGrad } as unknown as tf.NamedAttrMap,
          ) as unknown as Tensor[];
          return outs.map((o) => o.dataSync() as Float32Array);
        });
      const got = run(true);
      const noDx = run(false);
      useConvGradMode(prevMode);
      const tag = `[${bsz}, ${h}, ${w}, ${cin}] -> ${cout}, ${mode}`;
      expect(relErr(got[0]!, dW), `dW ${tag}`).toBeLessThan(2e-6);
      expect(relErr(got[1]!, db), `db ${tag}`).toBeLessThan(2e-6);
      expect(relErr(got[2]!, dx), `dx ${tag}`).toBeLessThan(2e-6);
      expect(noDx).toHaveLength(2);
      expect(relErr(noDx[0]!, dW), `dW without dx ${tag}`).toBeLessThan(2e-6);
    }
  });

  it('FlowGroupNormActGrad: dx, dγ, dβ and de of SiLU(GroupNorm(x + e)) and of plain GroupNorm, dy padded or not', () => {
    const rng = new Rng(9);
    for (const [bsz, h, w, c, groups, silu, withE, padded] of [
      [2, 5, 3, 8, 2, true, true, false],
      [3, 4, 4, 16, 8, true, false, true],
      [2, 3, 5, 12, 3, false, false, false],
      [1, 7, 7, 64, 8, true, true, true],
    ] as const) {
      const hw = h * w;
      const x = f32(randn(rng, bsz * hw * c, 2));
      const gam = f32(randn(rng, c));
      const bet = f32(randn(rng, c));
      const e = f32(randn(rng, bsz * c));
      const dyv = f32(randn(rng, bsz * hw * c));
      const eps = 1e-5;
      const cg = c / groups;
      // Float64 reference: forward per (sample, group), then the chain rule written out per value.
      const dx = new Float64Array(bsz * hw * c);
      const dg = new Float64Array(c);
      const dbt = new Float64Array(c);
      const de = new Float64Array(bsz * c);
      for (let s = 0; s < bsz; s++)
        for (let g = 0; g < groups; g++) {
          const idx: number[] = [];
          for (let p = 0; p < hw; p++) for (let j = g * cg; j < (g + 1) * cg; j++) idx.push((s * hw + p) * c + j);
          const v = idx.map((i) => x[i]! + (withE ? e[s * c + (i % c)]! : 0));
          const mu = v.reduce((a, b) => a + b, 0) / v.length;
          const r = 1 / Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / v.length + eps);
          const xh = v.map((u) => (u - mu) * r);
          const dz = idx.map((i, k) => {
            const j = i % c;
            const z = gam[j]! * xh[k]! + bet[j]!;
            const sg = 1 / (1 + Math.exp(-z));
            return dyv[i]! * (silu ? sg * (1 + z * (1 - sg)) : 1);
          });
          const dxh = idx.map((i, k) => dz[k]! * gam[i % c]!);
          const m1 = dxh.reduce((a, b) => a + b, 0) / v.length;
          const m2 = dxh.reduce((a, b, k) => a + b * xh[k]!, 0) / v.length;
          idx.forEach((i, k) => {
            const j = i % c;
            dx[i] = r * (dxh[k]! - m1 - xh[k]! * m2);
            dg[j] = dg[j]! + dz[k]! * xh[k]!;
            dbt[j] = dbt[j]! + dz[k]!;
            de[s * c + j] = de[s * c + j]! + dx[i]!;
          });
        }
      const dyData = new Float32Array(bsz * (h + 2 * +padded) * (w + 2 * +padded) * c).fill(padded ? 1e6 : 0); // the border is ignored
      for (let s = 0; s < bsz; s++)
        for (let y = 0; y < h; y++)
          for (let q = 0; q < w; q++)
            for (let j = 0; j < c; j++)
              dyData[((s * (h + 2 * +padded) + y + +padded) * (w + 2 * +padded) + q + +padded) * c + j] =
                dyv[((s * h + y) * w + q) * c + j]!;
      const got = tf.tidy(() => {
        const inputs: tf.NamedTensorMap = {
          x: tf.tensor(Float32Array.from(x), [bsz, h, w, c]),
          gamma: tf.tensor(Float32Array.from(gam)),
          beta: tf.tensor(Float32Array.from(bet)),
          dy: tf.tensor(dyData, [bsz, h + 2 * +padded, w + 2 * +padded, c]),
        };
        if (withE) inputs.e = tf.tensor(Float32Array.from(e), [bsz, c]);
        const outs = tf
          .engine()
          .runKernel(FLOW_GROUP_NORM_ACT_GRAD, inputs, { groups, eps, silu, padded } as unknown as tf.NamedAttrMap) as unknown as Tensor[];
        return outs.map((o) => o.dataSync() as Float32Array);
      });
      const tag = `[${bsz}, ${h}, ${w}, ${c}] groups ${groups} silu ${silu} e ${withE} padded ${padded}`;
      expect(relErr(got[0]!, dx), `dx ${tag}`).toBeLessThan(1e-5);
      expect(relErr(got[1]!, dg), `dgamma ${tag}`).toBeLessThan(1e-5);
      expect(relErr(got[2]!, dbt), `dbeta ${tag}`).toBeLessThan(1e-5);
      if (withE) expect(relErr(got[3]!, de), `de ${tag}`).toBeLessThan(1e-5);
      else expect(got.length).toBe(3);
    }
  });
});

describe.runIf(onWasm)('channel concatenation kernels (wasm)', () => {
  it('FlowConcatChannels and FlowSplitChannels equal tf.concat and tf.split along the last axis, and invert each other', () => {
    const rng = new Rng(2);
    const cases: Array<[number[], number, number]> = [
      [[2, 3, 5], 4, 12],
      [[7], 1, 3],
    ];
    for (const [lead, c1, c2] of cases) {
      tf.tidy(() => {
        const a = randt(rng, [...lead, c1]);
        const b = randt(rng, [...lead, c2]);
        const cat = tf.engine().runKernel(FLOW_CONCAT_CHANNELS, { a, b }) as Tensor;
        expect(cat.shape).toEqual([...lead, c1 + c2]);
        expect(Array.from(cat.dataSync())).toEqual(Array.from(tf.concat([a, b], -1).dataSync()));
        const [p, q] = tf.engine().runKernel(FLOW_SPLIT_CHANNELS, { x: cat }, { c1 } as unknown as tf.NamedAttrMap) as unknown as Tensor[];
        expect(Array.from(p!.dataSync())).toEqual(Array.from(a.dataSync()));
        expect(Array.from(q!.dataSync())).toEqual(Array.from(b.dataSync()));
        expect(() => tf.engine().runKernel(FLOW_SPLIT_CHANNELS, { x: cat }, { c1: c1 + c2 } as unknown as tf.NamedAttrMap)).toThrow(
          /c1 must be/,
        );
      });
    }
  });
});

describe.runIf(onWasm)('U-Net tape-free training path (wasm)', () => {
  it('loss and every gradient equal tf.variableGrads of the weighted MSE through the differentiable layers', () => {
    for (const over of [
      {},
      { numClasses: 0, attention: false, channelMults: [1, 2, 2] },
      { blocksPerLevel: 2, channels: 1 },
    ] as Partial<UNetConfig>[]) {
      const cfg = tinyUNet(over);
      const m = createModel(cfg, 5);
      randomise(m, 3);
      expect(unetTrainAvailable(cfg)).toBe(true);
      const rng = new Rng(31);
      const bsz = 3;
      const shape = [bsz, cfg.size, cfg.size, cfg.channels];
      const { fast, ref, names } = tf.tidy(() => {
        const x = randt(rng, shape);
        const target = randt(rng, shape);
        const wts = tf.tensor([0.5, 1, 1.5], [bsz, 1, 1, 1]);
        const t = tf.tensor1d([0.1, 0.5, 0.9]);
        const labels = cfg.numClasses ? tf.tensor1d([0, 3, 1], 'int32') : undefined;
        const r = m.mseLossAndGrads!(x, t, labels, target, wts)!;
        const f = (): tf.Scalar => tf.mean(tf.mul(tf.squaredDifference(m.apply(x, t, labels), target), wts));
        const { value, grads } = tf.variableGrads(f, m.variables as tf.Variable[]);
        return {
          fast: [r.loss, ...r.grads].map((g) => g.dataSync() as Float32Array),
          ref: [value, ...m.variables.map((v) => grads[v.name]!)].map((g) => g.dataSync() as Float32Array),
          names: ['loss', ...m.names],
        };
      });
      m.dispose();
      let worst = 0;
      let worstName = '';
      ref.forEach((r, i) => {
        const g = fast[i]!;
        let num = 0;
        let den = 1e-3; // the attention key bias has an exactly zero gradient
        for (let k = 0; k < g.length; k++) {
          num = Math.max(num, Math.abs(g[k]! - r[k]!));
          den = Math.max(den, Math.abs(r[k]!));
        }
        if (num / den > worst) {
          worst = num / den;
          worstName = names[i]!;
        }
      });
      console.log(`${JSON.stringify(over)}: worst ${worstName} rel err ${worst.toExponential(1)}`);
      expect(worst, `${JSON.stringify(over)}: ${worstName}`).toBeLessThan(1e-4);
    }
  });

  it('the switch turns the path off, and the model returns null then', () => {
    const cfg = tinyUNet();
    const m = createModel(cfg, 1);
    const prev = useUNetTrainPath(false);
    try {
      expect(unetTrainAvailable(cfg)).toBe(false);
      const [x, t, labels] = [tf.zeros([1, 8, 8, 2]), tf.tensor1d([0.5]), tf.tensor1d([1], 'int32')];
      expect(m.mseLossAndGrads!(x, t, labels, x)).toBeNull();
      tf.dispose([x, t, labels]);
    } finally {
      useUNetTrainPath(prev);
      m.dispose();
    }
    expect(unetTrainAvailable({ ...cfg, baseChannels: 6, groups: 2 })).toBe(false); // channels not a multiple of 4
  });
});

describe.runIf(onWasm)('U-Net training curves: tape-free path against the differentiable layers', () => {
  it('300 steps of the trainer (Adam, clipping, EMA, CFG dropout) give the same loss curve to float32 rounding', () => {
    // 3 classes of 8x8 images: class k is a bright band at rows 2k..2k+2, plus noise.
    const n = 96;
    const rng = new Rng(21);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const data = new Float32Array(n * 64);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < 64; p++) data[i * 64 + p] = (Math.floor(p / 8) >> 1 === labels[i]! ? 1 : -1) + 0.1 * rng.normal();
    }
    const target = arraySource(data, [8, 8, 1], labels, 3);
    const steps = 300;
    const spec = specFrom({
      data: { kind: 'images', folder: '/unused', size: 28, channels: 1, labelsFromSubfolders: true }, // the model is built for the source's 8x8
      model: { kind: 'unet', baseChannels: 8, channelMults: [1, 2], blocksPerLevel: 1, attention: true, groups: 4, timeEmbedDim: 16 },
      conditional: true,
      labelDropout: 0.1,
      optim: { lr: 2e-3, gradClip: 1, emaDecay: 0.99, warmupSteps: 20 },
      train: { steps, batchSize: 16 },
    });
    const curve = (fast: boolean): { losses: number[]; weights: Float32Array } => {
      const prev = useUNetTrainPath(fast);
      try {
        const tr = trainerFor(spec, target);
        const losses: number[] = [];
        for (let i = 0; i < steps; i++) {
          const r = tr.step();
          expect(r.diverged).toBe(false);
          losses.push(r.loss);
        }
        const w = tf.tidy(() => tf.concat(tr.model.variables.map((v) => tf.reshape(v, [-1]))).dataSync() as Float32Array);
        disposeAll(tr);
        return { losses, weights: w };
      } finally {
        useUNetTrainPath(prev);
      }
    };
    const fast = curve(true);
    const stock = curve(false);
    // The loss falls (the data is learnable), and the two curves coincide step by step: float32
    // rounding differences (summation order) grow through 300 Adam updates but stay far below the
    // loss's own step-to-step noise.
    const head = fast.losses.slice(0, 20).reduce((a, b) => a + b, 0) / 20;
    const tail = fast.losses.slice(-20).reduce((a, b) => a + b, 0) / 20;
    expect(tail).toBeLessThan(0.5 * head);
    let worst = 0;
    fast.losses.forEach((l, i) => (worst = Math.max(worst, Math.abs(l - stock.losses[i]!) / stock.losses[i]!)));
    const wErr = relErr(fast.weights, stock.weights);
    console.log(
      `loss ${head.toFixed(3)} -> ${tail.toFixed(3)}; worst relative loss difference ${worst.toExponential(1)}, weights ${wErr.toExponential(1)}`,
    );
    expect(worst).toBeLessThan(1e-3);
    expect(wErr).toBeLessThan(1e-3);
  });
});
