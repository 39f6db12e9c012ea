// The U-Net's inference kernels (core/model/unet-kernels.ts) against the differentiable layers they
// replace when no gradient tape records: each kernel alone, then whole models, on the wasm backend.
import { describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { conv2d, createModel, groupNorm, silu, type UNetConfig, type VelocityModel } from '../../../core/model';
import { conv3x3, FLOW_CONV3X3, groupNormAct, unetKernelsActive, useUNetKernels } from '../../../core/model/unet-kernels';
import { decode, encode } from '../../../core/inversion/encode';
import type { VelocityField } from '../../../core/field';

const onWasm = tf.getBackend() === 'wasm';

function randn(rng: Rng, shape: number[], scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = rng.normals(n);
  for (let i = 0; i < n; i++) d[i]! *= scale;
  return tf.tensor(d, shape);
}

/** max |a - b| / max |b|. */
function relErr(a: Tensor, b: Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / Math.max(1e-12, tf.max(tf.abs(b)).dataSync()[0]!));
}

/** Every weight random (the zero-initialised output convs too), so each path carries signal. */
function randomise(model: VelocityModel, seed: number, scale = 0.3): void {
  const rng = new Rng(seed);
  for (const v of model.variables) {
    const r = randn(rng, v.shape, scale);
    v.assign(tf.add(v, r));
    r.dispose();
  }
}

describe.runIf(onWasm)('U-Net inference kernels (wasm)', () => {
  it('are active on the wasm backend, and the switch turns them off', () => {
    expect(unetKernelsActive()).toBe(true);
    const prev = useUNetKernels(false);
    expect(unetKernelsActive()).toBe(false);
    useUNetKernels(prev);
  });

  it('FlowGroupNormAct equals GroupNorm (+ the projected embedding) + SiLU, padded or not', () => {
    const rng = new Rng(1);
    // 16 and 48 channels take the SIMD path, 6 the JavaScript one (not a multiple of 4).
    for (const [c, groups] of [
      [16, 8],
      [48, 8],
      [6, 3],
    ] as const) {
      tf.tidy(() => {
        const x = randn(rng, [2, 7, 5, c], 2);
        const g = randn(rng, [c]);
        const b = randn(rng, [c]);
        const eAct = randn(rng, [2, 8]);
        const ew = randn(rng, [8, c], 0.5);
        const eb = randn(rng, [c]);
        const withE = tf.add(x, tf.reshape(tf.add(tf.matMul(eAct, ew), eb), [2, 1, 1, c]));
        const ref = silu(groupNorm(withE, g, b, groups));
        const got = groupNormAct(x, g, b, { groups, eps: 1e-5, silu: true }, { eAct, w: ew, b: eb });
        expect(relErr(got, ref)).toBeLessThan(2e-6);
        const padded = groupNormAct(x, g, b, { groups, eps: 1e-5, silu: false, pad: true });
        expect(padded.shape).toEqual([2, 9, 7, c]);
        const refPad = tf.pad(groupNorm(x, g, b, groups), [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]);
        expect(relErr(padded, refPad)).toBeLessThan(2e-6);
      });
    }
  });

  it('FlowGroupNormAct of a pair of inputs normalises their concatenation (groups straddling the two)', () => {
    const rng = new Rng(3);
    // 64 + 32 in 8 groups of 12 (the SIMD path), 4 + 2 in 3 groups of 2 (the JavaScript path).
    for (const [c1, c2, groups] of [
      [64, 32, 8],
      [4, 2, 3],
    ] as const) {
      tf.tidy(() => {
        const a = randn(rng, [2, 5, 6, c1], 2);
        const b2 = randn(rng, [2, 5, 6, c2], 0.5);
        const g = randn(rng, [c1 + c2]);
        const b = randn(rng, [c1 + c2]);
        const ref = tf.pad(silu(groupNorm(tf.concat([a, b2], 3), g, b, groups)), [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]);
        expect(relErr(groupNormAct([a, b2], g, b, { groups, eps: 1e-5, silu: true, pad: true }), ref)).toBeLessThan(2e-6);
      });
    }
  });

  it('FlowConv3x3 equals conv2d + bias, with a 1x1 skip conv (of one input or a pair) or a residual added', () => {
    const rng = new Rng(2);
    for (const [h, w, cin, cout] of [
      [7, 7, 64, 64],
      [5, 9, 6, 3],
      [14, 14, 96, 32],
    ] as const) {
      tf.tidy(() => {
        const x = randn(rng, [2, h, w, cin]);
        const f = randn(rng, [3, 3, cin, cout], 0.3);
        const b = randn(rng, [cout]);
        const xp = tf.pad(x, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]);
        const ref = conv2d(x, f, b);
        expect(relErr(conv3x3(xp, f, b), ref)).toBeLessThan(2e-6);
        const sx = randn(rng, [2, h, w, 5]);
        const sw = randn(rng, [1, 1, 5, cout]);
        const sb = randn(rng, [cout]);
        expect(relErr(conv3x3(xp, f, b, { x: sx, w: sw, b: sb }), tf.add(ref, conv2d(sx, sw, sb)))).toBeLessThan(2e-6);
        const sx2 = randn(rng, [2, h, w, 3]);
        const sw2 = randn(rng, [1, 1, 8, cout]);
        const ref2 = tf.add(ref, conv2d(tf.concat([sx, sx2], 3), sw2, sb));
        expect(relErr(conv3x3(xp, f, b, { x: [sx, sx2], w: sw2, b: sb }), ref2)).toBeLessThan(2e-6);
        const r = randn(rng, [2, h, w, cout]);
        expect(relErr(conv3x3(xp, f, b, { residual: r }), tf.add(ref, r))).toBeLessThan(2e-6);
      });
    }
  });

  const configs: Array<[string, UNetConfig]> = [
    [
      'class-conditional 28x28x1 with attention (the shipped MNIST layout)',
      {
        kind: 'unet',
        size: 28,
        channels: 1,
        baseChannels: 16,
        channelMults: [1, 2, 4],
        blocksPerLevel: 1,
        attention: true,
        groups: 8,
        timeEmbedDim: 64,
        numClasses: 10,
      },
    ],
    [
      'unconditional 16x16x3, two blocks a level, no attention',
      {
        kind: 'unet',
        size: 16,
        channels: 3,
        baseChannels: 8,
        channelMults: [1, 2],
        blocksPerLevel: 2,
        attention: false,
        groups: 2,
        timeEmbedDim: 16,
        numClasses: 0,
      },
    ],
    [
      'channel counts that are not multiples of 4 (JavaScript GroupNorm path)',
      {
        kind: 'unet',
        size: 8,
        channels: 2,
        baseChannels: 6,
        channelMults: [1, 2],
        blocksPerLevel: 1,
        attention: true,
        groups: 3,
        timeEmbedDim: 8,
        numClasses: 3,
      },
    ],
  ];

  for (const [name, cfg] of configs) {
    it(`a whole forward pass agrees with the layer-by-layer one: ${name}`, () => {
      const m = createModel(cfg, 4);
      randomise(m, 5);
      const rng = new Rng(6);
      for (const bsz of [1, 2, 3]) {
        tf.tidy(() => {
          const x = randn(rng, [bsz, cfg.size, cfg.size, cfg.channels]);
          const t = tf.tensor1d(Array.from({ length: bsz }, (_, i) => (i + 0.3) / bsz));
          // Every label, including "no label" (numClasses).
          const labels = cfg.numClasses
            ? tf.tensor1d(
                Array.from({ length: bsz }, (_, i) => (3 * i) % (cfg.numClasses + 1)),
                'int32',
              )
            : undefined;
          const prev = useUNetKernels(false);
          const ref = m.apply(x, t, labels);
          useUNetKernels(true);
          const before = tf.memory().numTensors;
          const got = m.apply(x, t, labels);
          expect(tf.memory().numTensors).toBe(before + 1); // nothing leaks
          useUNetKernels(prev);
          expect(got.shape).toEqual(ref.shape);
          expect(relErr(got, ref)).toBeLessThan(1e-5);
        });
      }
      m.dispose();
    });
  }

  /** Calls of each kernel while fn runs (every op reaches the backend through engine.runKernel). */
  function countKernels<T>(fn: () => T): { result: T; calls: Map<string, number> } {
    const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
    const orig = engine.runKernel;
    const calls = new Map<string, number>();
    engine.runKernel = function (name: string, ...rest: unknown[]) {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return orig.call(this, name, ...rest);
    };
    try {
      return { result: fn(), calls };
    } finally {
      engine.runKernel = orig;
    }
  }

  for (const k of [0, 1]) {
    it(`inversion runs on the kernels and gives the layer-by-layer latent: ${configs[k]![0]}`, () => {
      const cfg = configs[k]![1];
      const m = createModel(cfg, 11);
      // Smaller perturbations than above: a smooth field, so the adaptive round trip takes few steps.
      randomise(m, 12, 0.05);
      const rng = new Rng(13);
      const bsz = 2;
      const x = randn(rng, [bsz, cfg.size, cfg.size, cfg.channels]);
      const cond = cfg.numClasses ? tf.tensor1d([4, cfg.numClasses], 'int32') : undefined;
      // The field as sampling and inversion see it: one time for the batch, no tape.
      const field: VelocityField = (xx, t, c) => tf.tidy(() => m.apply(xx, tf.fill([xx.shape[0]!], t), c));
      const opts = { method: 'rk4' as const, steps: 6, cond };
      const on = countKernels(() => encode(field, x, opts));
      const prev = useUNetKernels(false);
      const off = countKernels(() => encode(field, x, opts));
      useUNetKernels(prev);
      // One FlowConv3x3 per 3x3 conv of a pass but the input conv's, in every one of the nfe passes.
      const convsPerPass = 2 * (cfg.channelMults.length * cfg.blocksPerLevel + 2 + cfg.channelMults.length * (cfg.blocksPerLevel + 1)) + 1;
      expect(on.calls.get(FLOW_CONV3X3)).toBe(on.result.nfe * convsPerPass);
      expect(off.calls.get(FLOW_CONV3X3)).toBeUndefined();
      expect(relErr(on.result.x, off.result.x)).toBeLessThan(1e-5);
      // The round trip (encode, then decode with the same adaptive solver) reconstructs the image as
      // well through the kernels as through the layers. Its error is the solver's: rounding-level
      // differences in the field move dopri5's step choices, so the two errors are of the same
      // size, not equal (checked on the smaller model, where the layer-by-layer solves are quick).
      const roundTrip = (): number =>
        tf.tidy(() => {
          const tight = { method: 'dopri5' as const, rtol: 1e-5, atol: 1e-5, cond };
          return relErr(decode(field, encode(field, x, tight).x, tight).x, x);
        });
      if (k === 1) {
        const errOn = roundTrip();
        useUNetKernels(false);
        const errOff = roundTrip();
        useUNetKernels(prev);
        expect(errOn).toBeLessThan(5e-3);
        expect(errOn).toBeLessThan(2 * errOff);
      }
      tf.dispose([x, on.result.x, off.result.x]);
      if (cond) cond.dispose();
      m.dispose();
    });
  }

  it('gradients still go through the differentiable layers (the tape is recording)', () => {
    const cfg = configs[2]![1];
    const m = createModel(cfg, 4);
    randomise(m, 7);
    const rng = new Rng(8);
    tf.tidy(() => {
      const x = randn(rng, [2, cfg.size, cfg.size, cfg.channels]);
      const t = tf.tensor1d([0.2, 0.7]);
      const labels = tf.tensor1d([0, 3], 'int32');
      const f = (xx: Tensor): Tensor => tf.sum(tf.square(m.apply(xx, t, labels)));
      const dx = tf.grad(f)(x);
      const prev = useUNetKernels(false);
      const ref = tf.grad(f)(x);
      useUNetKernels(prev);
      expect(relErr(dx, ref)).toBe(0);
    });
    m.dispose();
  });
});
