// Adam / AdamW against a float64 hand computation; schedule, clipping, EMA and state round trips.
import { afterEach, describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import type { OptimSpec } from '../../../core/train/config';
import { Optimizer, clipFactor, emaDecayAt, learningRate } from '../../../core/train/optim';

const SPEC: OptimSpec = {
  kind: 'adam',
  lr: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  weightDecay: 0,
  warmupSteps: 0,
  schedule: 'constant',
  minLrRatio: 0.1,
  gradClip: 0,
  emaDecay: 0.9,
};

// L(w) = 1/2 sum a (w - c)^2 over two variables: a vector [3] and a matrix [2, 2].
const A = [Float64Array.of(1, 2, 3), Float64Array.of(0.5, 1, 4, 0.25)];
const C = [Float64Array.of(1, -1, 0.5), Float64Array.of(2, 0, -1, 3)];
const W0 = [Float64Array.of(0, 0.5, -0.5), Float64Array.of(1, 1, 1, 1)];
const SHAPES = [[3], [2, 2]];

let vars: tf.Variable[] = [];
afterEach(() => {
  tf.dispose(vars);
  vars = [];
});

function makeVars(): tf.Variable[] {
  vars = W0.map((w, i) => tf.variable(tf.tensor(Float32Array.from(w), SHAPES[i]!), true, `q${Math.random()}`));
  return vars;
}

/** Gradients a (w - c) of the quadratic at the variables' current values. */
function grads(vs: readonly tf.Variable[]): Tensor[] {
  return vs.map((v, i) =>
    tf.tidy(() => tf.mul(tf.tensor(Float32Array.from(A[i]!), SHAPES[i]!), tf.sub(v, tf.tensor(Float32Array.from(C[i]!), SHAPES[i]!)))),
  );
}

/** PyTorch's Adam / AdamW, float64, straight from the algorithm boxes (m_hat, v_hat form). */
function referenceAdam(spec: OptimSpec, steps: number, total: number): Float64Array[] {
  const w = W0.map((x) => Float64Array.from(x));
  const m = W0.map((x) => new Float64Array(x.length));
  const v = W0.map((x) => new Float64Array(x.length));
  for (let k = 1; k <= steps; k++) {
    const lr = learningRate(spec, k - 1, total);
    const g = w.map((wi, i) => wi.map((x, j) => A[i]![j]! * (x - C[i]![j]!)));
    let sq = 0;
    g.forEach((gi) => gi.forEach((x) => (sq += x * x)));
    const norm = Math.sqrt(sq);
    const c = spec.gradClip > 0 && norm > spec.gradClip ? spec.gradClip / norm : 1;
    for (let i = 0; i < w.length; i++) {
      for (let j = 0; j < w[i]!.length; j++) {
        let gj = c * g[i]![j]!;
        if (spec.kind === 'adam') gj += spec.weightDecay * w[i]![j]!;
        else w[i]![j] = w[i]![j]! * (1 - lr * spec.weightDecay);
        m[i]![j] = spec.beta1 * m[i]![j]! + (1 - spec.beta1) * gj;
        v[i]![j] = spec.beta2 * v[i]![j]! + (1 - spec.beta2) * gj * gj;
        const mh = m[i]![j]! / (1 - spec.beta1 ** k);
        const vh = v[i]![j]! / (1 - spec.beta2 ** k);
        w[i]![j] = w[i]![j]! - (lr * mh) / (Math.sqrt(vh) + spec.eps);
      }
    }
  }
  return w;
}

function expectWeights(vs: readonly tf.Variable[], ref: Float64Array[], tol: number): void {
  vs.forEach((v, i) => {
    const got = v.dataSync();
    ref[i]!.forEach((x, j) => expect(Math.abs(got[j]! - x), `w${i}[${j}]`).toBeLessThan(tol));
  });
}

describe('Adam and AdamW', () => {
  const cases: Array<[string, Partial<OptimSpec>]> = [
    ['adam', {}],
    ['adam + L2 weight decay', { weightDecay: 0.1 }],
    ['adamw (decoupled decay)', { kind: 'adamw', weightDecay: 0.5 }],
    [
      'adamw + warmup + cosine + clipping',
      { kind: 'adamw', weightDecay: 0.5, warmupSteps: 2, schedule: 'cosine', minLrRatio: 0.2, gradClip: 1 },
    ],
  ];
  for (const [name, patch] of cases) {
    it(`${name}: 3 steps on a quadratic match a float64 hand computation`, () => {
      const spec = { ...SPEC, ...patch };
      const vs = makeVars();
      const opt = new Optimizer(vs, ['a', 'b'], spec, 5);
      for (let k = 0; k < 3; k++) {
        const g = grads(vs);
        const info = opt.apply(g);
        expect(info.applied).toBe(true);
        tf.dispose(g);
      }
      expect(opt.step).toBe(3);
      const ref = referenceAdam(spec, 3, 5);
      // The weights moved by ~0.1-0.3; float32 arithmetic agrees to ~1e-7.
      expectWeights(vs, ref, 2e-6);
      const moved = Math.abs(vs[0]!.dataSync()[0]! - W0[0]![0]!);
      expect(moved).toBeGreaterThan(0.05);
      opt.dispose();
    });
  }
});

describe('learning-rate schedule', () => {
  it('linear warmup, then cosine to minLrRatio * lr (values worked by hand)', () => {
    const o = { lr: 1e-3, warmupSteps: 10, schedule: 'cosine' as const, minLrRatio: 0.1 };
    const T = 110;
    expect(learningRate(o, 0, T)).toBeCloseTo(1e-4, 15); // (0 + 1) / 10
    expect(learningRate(o, 4, T)).toBeCloseTo(5e-4, 15);
    expect(learningRate(o, 9, T)).toBeCloseTo(1e-3, 15);
    expect(learningRate(o, 10, T)).toBeCloseTo(1e-3, 15); // cosine starts at its top
    expect(learningRate(o, 60, T)).toBeCloseTo(0.55e-3, 15); // half way: 0.1 + 0.9 * 0.5
    expect(learningRate(o, 35, T)).toBeCloseTo(1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.SQRT1_2)), 15); // quarter: cos(pi/4)
    expect(learningRate(o, 110, T)).toBeCloseTo(1e-4, 15);
    expect(learningRate(o, 500, T)).toBeCloseTo(1e-4, 15); // past the end: stays at the floor
    expect(learningRate({ ...o, schedule: 'constant' }, 50, T)).toBe(1e-3);
    expect(learningRate({ ...o, warmupSteps: 0, schedule: 'constant' }, 0, T)).toBe(1e-3);
  });
});

describe('gradient clipping', () => {
  it('scales the global norm to the threshold and reports the pre-clip norm', () => {
    expect(clipFactor(10, 1)).toBe(0.1);
    expect(clipFactor(0.5, 1)).toBe(1);
    expect(clipFactor(10, 0)).toBe(1);
    const vs = makeVars();
    const spec = { ...SPEC, gradClip: 1 };
    const opt = new Optimizer(vs, ['a', 'b'], spec, 10);
    // Gradient (3, 4, 0 | 0, 0, 0, 12): global norm 13.
    const g = [tf.tensor1d([3, 4, 0]), tf.tensor2d([0, 0, 0, 12], [2, 2])];
    const info = opt.apply(g);
    expect(info.gradNorm).toBeCloseTo(13, 5);
    expect(info.clip).toBeCloseTo(1 / 13, 7);
    // The moments saw the clipped gradient g / 13, whose norm is the threshold 1.
    const state = opt.getState();
    const m = [...state.get('m/a')!.dataSync(), ...state.get('m/b')!.dataSync()];
    const v = [...state.get('v/a')!.dataSync(), ...state.get('v/b')!.dataSync()];
    const clipped = [3, 4, 0, 0, 0, 0, 12].map((x) => x / 13);
    clipped.forEach((x, j) => {
      expect(m[j]).toBeCloseTo((1 - spec.beta1) * x, 7);
      expect(v[j]).toBeCloseTo((1 - spec.beta2) * x * x, 8);
    });
    expect(Math.hypot(...m) / (1 - spec.beta1)).toBeCloseTo(1, 6);
    tf.dispose([...g, ...state.values()]);
    opt.dispose();
  });
});

describe('EMA', () => {
  for (const warmup of [true, false]) {
    it(`follows ema = d ema + (1 - d) w (${warmup ? 'decay min(d, (1 + k)/(10 + k))' : 'constant decay'})`, () => {
      const vs = makeVars();
      const spec = { ...SPEC, emaDecay: 0.8, emaWarmup: warmup };
      const opt = new Optimizer(vs, ['a', 'b'], spec, 10);
      const ema = W0.map((w) => Float64Array.from(w)); // starts at the initial weights
      for (let k = 0; k < 5; k++) {
        const g = grads(vs);
        opt.apply(g);
        tf.dispose(g);
        const d = warmup ? Math.min(0.8, (1 + k) / (10 + k)) : 0.8;
        expect(emaDecayAt(spec, k)).toBeCloseTo(d, 15);
        vs.forEach((v, i) => {
          const w = v.dataSync();
          ema[i] = ema[i]!.map((e, j) => d * e + (1 - d) * w[j]!);
        });
      }
      const got = opt.emaWeights();
      ['a', 'b'].forEach((name, i) => {
        const e = got.get(name)!.dataSync();
        ema[i]!.forEach((x, j) => expect(Math.abs(e[j]! - x)).toBeLessThan(1e-6));
        expect(got.get(name)!.shape).toEqual(SHAPES[i]);
      });
      tf.dispose([...got.values()]);
      opt.dispose();
    });
  }
});

describe('robustness and state', () => {
  it('skips non-finite gradients without touching weights, moments, EMA or the step', () => {
    const vs = makeVars();
    const opt = new Optimizer(vs, ['a', 'b'], SPEC, 10);
    const g = grads(vs);
    opt.apply(g);
    tf.dispose(g);
    const before = opt.getState();
    const w = vs.map((v) => v.dataSync().slice());
    const bad = [tf.tensor1d([NaN, 0, 0]), tf.zeros([2, 2])];
    const info = opt.apply(bad);
    expect(info.applied).toBe(false);
    expect(Number.isNaN(info.gradNorm)).toBe(true);
    expect(opt.step).toBe(1);
    vs.forEach((v, i) => expect(v.dataSync()).toEqual(w[i]));
    const after = opt.getState();
    for (const [k, t] of before) expect(after.get(k)!.dataSync()).toEqual(t.dataSync());
    const inf = [tf.tensor1d([Infinity, 0, 0]), tf.zeros([2, 2])];
    expect(opt.apply(inf).applied).toBe(false);
    tf.dispose([...bad, ...inf, ...before.values(), ...after.values()]);
    opt.dispose();
  });

  it('getState -> setState into a fresh optimiser continues identically (bit for bit)', () => {
    const spec = { ...SPEC, kind: 'adamw' as const, weightDecay: 0.1, warmupSteps: 2, schedule: 'cosine' as const };
    const vs = makeVars();
    const a = new Optimizer(vs, ['a', 'b'], spec, 8);
    const g1 = grads(vs);
    a.apply(g1);
    a.apply(g1);
    tf.dispose(g1);
    const state = a.getState();
    expect([...state.keys()].sort()).toEqual(['ema/a', 'ema/b', 'm/a', 'm/b', 'step', 'v/a', 'v/b']);
    expect(state.get('step')!.dataSync()[0]).toBe(2);
    const twin = vs.map((v, i) => tf.variable(v.clone(), true, `twin${i}${Math.random()}`));
    const b = new Optimizer(twin, ['a', 'b'], spec, 8);
    b.setState(state);
    for (let k = 0; k < 3; k++) {
      const ga = grads(vs);
      const gb = grads(twin);
      a.apply(ga);
      b.apply(gb);
      tf.dispose([...ga, ...gb]);
    }
    vs.forEach((v, i) => expect(twin[i]!.dataSync()).toEqual(v.dataSync()));
    const ea = a.emaWeights();
    const eb = b.emaWeights();
    expect(eb.get('b')!.dataSync()).toEqual(ea.get('b')!.dataSync());
    expect(() => b.setState(new Map([['step', state.get('step')!]]))).toThrow(/m\/a/);
    tf.dispose([...state.values(), ...twin, ...ea.values(), ...eb.values()]);
    a.dispose();
    b.dispose();
  });

  it('leaks no tensors per update', () => {
    const vs = makeVars();
    const opt = new Optimizer(vs, ['a', 'b'], { ...SPEC, gradClip: 0.5, weightDecay: 0.1 }, 10);
    const g = grads(vs);
    opt.apply(g);
    const n = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) opt.apply(g);
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose(g);
    opt.dispose();
  });
});
