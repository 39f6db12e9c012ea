// The trainer's state and robustness: reproducible and resumable bit for bit, other data and paths,
// divergence detection without corrupting weights, no leaks.
import { describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { Rng } from '../../../core/util/random';
import { ConfigError } from '../../../core/errors';
import { createModel } from '../../../core/model';
import { arraySource, gaussianSource, gmmSource, toy2dSource, type DataSource } from '../../../core/data/source';
import { modelConfigFor, type TrainSpec } from '../../../core/train/config';
import { createTrainer } from '../../../core/train/trainer';
import { disposeAll, eightGaussiansSpec, mean, snapshot, specFrom, trainerFor } from './helpers';

describe('reproducibility', () => {
  const small = (): TrainSpec =>
    eightGaussiansSpec({
      model: { kind: 'mlp', width: 64, depth: 2 },
      optim: { kind: 'adamw', lr: 2e-3, weightDecay: 0.01, warmupSteps: 5, schedule: 'cosine', gradClip: 1, emaDecay: 0.9 },
      coupling: { kind: 'sinkhorn', reg: 0.1 },
      time: { distribution: 'logit-normal' },
      train: { steps: 20, batchSize: 64 },
    });

  it('the same seed gives the same losses bit for bit; another seed does not', () => {
    const target = toy2dSource('8gaussians');
    const run = (seed: number): number[] => {
      const tr = createTrainer({ spec: small(), model: createModel(modelConfigFor(small().model, [2], 0), 3), target, seed });
      const out = Array.from({ length: 8 }, () => tr.step().loss);
      disposeAll(tr);
      return out;
    };
    const a = run(11);
    expect(run(11)).toEqual(a);
    expect(run(12)).not.toEqual(a);
  });

  it('training k steps, saving, restoring into a fresh trainer and continuing equals training straight', () => {
    const target = toy2dSource('8gaussians');
    const straight = trainerFor(small(), target, 1);
    const all = Array.from({ length: 20 }, () => straight.step().loss);

    const first = trainerFor(small(), target, 1);
    for (let i = 0; i < 10; i++) expect(first.step().loss).toBe(all[i]);
    const saved = first.getState();
    expect(saved.get('trainer/rng')!.dataSync()[1]).toBe(10);
    // Round-trip through plain arrays, as a checkpoint store would.
    const stored = new Map<string, Tensor>([...saved].map(([k, t]) => [k, tf.tensor(t.dataSync().slice(), t.shape, t.dtype)]));
    disposeAll(first);

    const resumed = trainerFor(small(), target, 99); // different initial weights: the state overrides them
    resumed.setState(stored);
    expect(resumed.stepCount).toBe(10);
    const rest = Array.from({ length: 10 }, () => resumed.step().loss);
    expect(rest).toEqual(all.slice(10));
    const a = snapshot(straight);
    snapshot(resumed).forEach((w, i) => expect(w).toEqual(a[i]));
    // The EMA too.
    const sa = straight.getState();
    const sb = resumed.getState();
    for (const [k, t] of sa) if (k.startsWith('optim/ema/')) expect(sb.get(k)!.dataSync()).toEqual(t.dataSync());
    tf.dispose([...saved.values(), ...stored.values(), ...sa.values(), ...sb.values()]);
    disposeAll(straight);
    disposeAll(resumed);
  });

  it('setState rejects a misfit state without changing anything', () => {
    const target = toy2dSource('8gaussians');
    const tr = trainerFor(small(), target, 1);
    tr.step();
    const state = tr.getState();
    const w = snapshot(tr);
    const broken = new Map(state);
    broken.delete('optim/v/mlp/0/W');
    expect(() => tr.setState(broken)).toThrow(/optim\/v\/mlp\/0\/W|v\/mlp\/0\/W/);
    snapshot(tr).forEach((x, i) => expect(x).toEqual(w[i]));
    expect(tr.stepCount).toBe(1);
    expect(() => tr.setState(new Map([...state, ['extra', tf.scalar(1)]]))).toThrow(/extra/);
    tf.dispose([...state.values()]);
    disposeAll(tr);
  });
});

describe('other data, paths and validation', () => {
  it('8gaussians -> moons with exact OT: trains, and samples start from the source data', () => {
    const spec = specFrom({
      data: { kind: 'toy2d', name: 'moons' },
      source: { kind: 'data', data: { kind: 'toy2d', name: '8gaussians' } },
      coupling: { kind: 'exact-ot' },
      model: { kind: 'mlp', width: 64, depth: 2 },
      optim: { lr: 3e-3 },
      train: { steps: 60, batchSize: 64 },
    });
    const source = toy2dSource('8gaussians');
    const target = toy2dSource('moons');
    const tr = trainerFor(spec, target, 1, { source });
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const r = tr.step();
      expect(r.diverged).toBe(false);
      expect(r.couplingCost).toBeGreaterThan(0);
      losses.push(r.loss);
    }
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)));
    const s = tr.sample({ n: 50, seed: 4 });
    const expected = source.sample(50, new Rng(4)).x;
    expect(s.x0.dataSync()).toEqual(expected.dataSync());
    tf.dispose([s.x, s.x0, expected]);
    disposeAll(tr);
  });

  it('class-aware OT between two labelled datasets pairs each source class with its own target class', () => {
    // Source: class 0 at the bottom (0, -4), class 1 at the top (0, 4). Target: moons, class 0 the
    // upper moon (mean y ~ 1.9), class 1 the lower one (mean y ~ -0.4). Plain OT sends the bottom blob
    // to the lower moon; class-aware OT pairs the bottom blob (class 0) with the upper moon (class 0).
    // Those pairs cross, which one deterministic flow cannot do, so that run is class-conditional
    // (as class-aware coupling is meant to be used) and samples with each start point's label.
    const gmm = {
      weights: [1, 1],
      means: [
        [0, -4],
        [0, 4],
      ],
      stds: [0.3, 0.3],
    };
    const source = gmmSource(gmm);
    const target = toy2dSource('moons');
    const meanY: Record<string, number[]> = {};
    for (const classAware of [false, true]) {
      const spec = specFrom({
        data: { kind: 'toy2d', name: 'moons' },
        source: { kind: 'data', data: { kind: 'gmm', gmm } },
        coupling: { kind: 'exact-ot', classAware },
        conditional: classAware,
        model: { kind: 'mlp', width: 64, depth: 2 },
        optim: { lr: 3e-3, emaDecay: 0.9 },
        train: { steps: 150, batchSize: 128 },
        sampling: { solver: 'euler', steps: 20 },
      });
      const tr = trainerFor(spec, target, 1, { source });
      for (let i = 0; i < 150; i++) expect(tr.step().diverged).toBe(false);
      const { x, labels } = source.sample(400, new Rng(8)); // the same draw sample() starts from
      x.dispose();
      const s = tr.sample({ n: 400, seed: 8, ...(classAware ? { labels } : {}) });
      const v = s.x.dataSync();
      const sums = [0, 0];
      const counts = [0, 0];
      for (let i = 0; i < 400; i++) {
        sums[labels![i]!]! += v[2 * i + 1]!;
        counts[labels![i]!]!++;
      }
      meanY[String(classAware)] = [sums[0]! / counts[0]!, sums[1]! / counts[1]!];
      tf.dispose([s.x, s.x0]);
      disposeAll(tr);
    }
    console.log(
      `mean y of mapped source class 0 / 1: plain OT ${meanY.false!.map((y) => y.toFixed(2))}, class-aware ${meanY.true!.map((y) => y.toFixed(2))}`,
    );
    expect(meanY.false![0]!).toBeLessThan(meanY.false![1]! - 1); // bottom -> lower moon
    expect(meanY.true![0]!).toBeGreaterThan(meanY.true![1]! + 1); // bottom (class 0) -> upper moon (class 0)
  });

  it('images: a tiny conditional U-Net and an MLP (flattening) train on an array source and sample in shape', () => {
    // 3 classes of 8x8 images: class k is a bright band at rows 2k..2k+2, plus noise.
    const n = 96;
    const rng = new Rng(21);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const data = new Float32Array(n * 64);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < 64; p++) data[i * 64 + p] = (Math.floor(p / 8) >> 1 === labels[i]! ? 1 : -1) + 0.1 * rng.normal();
    }
    const target = arraySource(data, [8, 8, 1], labels, 3);
    const models = [
      { kind: 'unet', baseChannels: 8, channelMults: [1, 2], blocksPerLevel: 1, attention: true, groups: 4, timeEmbedDim: 16 },
      { kind: 'mlp', width: 32, depth: 2, timeEmbedDim: 8 },
    ];
    for (const model of models) {
      const spec = specFrom({
        data: { kind: 'images', folder: '/unused', size: 28, channels: 1, labelsFromSubfolders: true },
        model,
        conditional: true,
        labelDropout: 0.1,
        optim: { lr: 2e-3 },
        train: { steps: 6, batchSize: 8 },
        sampling: { solver: 'euler', steps: 3, cfg: 1 },
      });
      const tr = trainerFor(spec, target);
      for (let i = 0; i < 6; i++) expect(tr.step().diverged).toBe(false);
      const s = tr.sample({ n: 3, seed: 1, labels: Int32Array.from([0, 1, 2]) });
      expect(s.x.shape).toEqual([3, 8, 8, 1]);
      expect(s.x.dataSync().every(Number.isFinite)).toBe(true);
      tf.dispose([s.x, s.x0]);
      disposeAll(tr);
    }
  });

  it('the stochastic interpolant (SB-CFM) with a Sinkhorn coupling trains', () => {
    const spec = eightGaussiansSpec({
      path: { kind: 'interpolant', s: 0.3 },
      coupling: { kind: 'sinkhorn', reg: 0.05 },
      model: { kind: 'mlp', width: 64, depth: 2 },
      train: { steps: 60, batchSize: 64 },
    });
    const tr = trainerFor(spec, toy2dSource('8gaussians'));
    expect(tr.timeRange).toEqual({ lo: 1e-3, hi: 1 - 1e-3 });
    expect(tr.sampleRange).toEqual({ lo: 0, hi: 1 });
    const losses = Array.from({ length: 60 }, () => tr.step().loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)));
    disposeAll(tr);
  });

  it('rejects inconsistent setups, naming the field', () => {
    const target = toy2dSource('8gaussians');
    const fieldOf = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        if (e instanceof ConfigError) return e.field;
        throw e;
      }
      return 'no error';
    };
    const uncond = createModel(modelConfigFor(eightGaussiansSpec().model, [2], 0), 1);
    expect(fieldOf(() => createTrainer({ spec: eightGaussiansSpec({ conditional: true }), model: uncond, target }))).toBe('conditional');
    // Class-aware pairing without a conditional model: the schema refuses it (core/train/rules.ts),
    // and so does createTrainer for a spec built past the schema.
    const classAware = { ...eightGaussiansSpec(), coupling: { kind: 'independent' as const, reg: 0.05, classAware: true } };
    expect(fieldOf(() => createTrainer({ spec: classAware, model: uncond, target: gaussianSource([2]) }))).toBe('coupling.classAware');
    // A VE path does not start at a data source (sigma_0 = 50).
    const ve = eightGaussiansSpec({ path: { kind: 'affine', scheduler: { kind: 've' } } });
    expect(fieldOf(() => createTrainer({ spec: ve, model: uncond, target, source: toy2dSource('moons') }))).toBe('path');
    uncond.dispose();
  });
});

describe('divergence', () => {
  it('a huge learning rate is reported as diverged, and the weights stay the last finite ones', () => {
    const spec = eightGaussiansSpec({
      model: { kind: 'mlp', width: 32, depth: 2 },
      optim: { lr: 1e15 },
      train: { steps: 50, batchSize: 64 },
    });
    const tr = trainerFor(spec, toy2dSource('8gaussians'));
    let diverged = -1;
    let last = snapshot(tr);
    for (let i = 0; i < 30 && diverged < 0; i++) {
      const before = snapshot(tr);
      const r = tr.step();
      if (r.diverged) {
        diverged = i;
        expect(Number.isFinite(r.loss) && Number.isFinite(r.gradNorm)).toBe(false);
        expect(tr.stepCount).toBe(i);
        last = before;
      }
    }
    expect(diverged).toBeGreaterThan(0);
    snapshot(tr).forEach((w, i) => {
      expect(w).toEqual(last[i]);
      expect(w.every(Number.isFinite)).toBe(true);
    });
    disposeAll(tr);
  });

  it('a NaN in the data is reported as diverged and changes nothing', () => {
    const clean = toy2dSource('8gaussians');
    const poisoned: DataSource = {
      shape: [2],
      numClasses: 8,
      sample(n, rng) {
        const b = clean.sample(n, rng);
        const v = b.x.dataSync().slice();
        b.x.dispose();
        v[3] = NaN;
        return { x: tf.tensor2d(v, [n, 2]), labels: b.labels! };
      },
    };
    const tr = trainerFor(eightGaussiansSpec({ model: { kind: 'mlp', width: 32, depth: 2 } }), poisoned);
    const w = snapshot(tr);
    const state = tr.getState();
    const r = tr.step();
    expect(r.diverged).toBe(true);
    expect(Number.isNaN(r.loss)).toBe(true);
    expect(r.step).toBe(1);
    expect(tr.stepCount).toBe(0);
    snapshot(tr).forEach((x, i) => expect(x).toEqual(w[i]));
    const after = tr.getState();
    for (const [k, t] of state) expect(after.get(k)!.dataSync()).toEqual(t.dataSync());
    tf.dispose([...state.values(), ...after.values()]);
    disposeAll(tr);
  });
});

describe('memory', () => {
  it('no tensor leaks across steps, fields and sampling (conditional, OT, CFG, EMA)', () => {
    const spec = eightGaussiansSpec({
      conditional: true,
      labelDropout: 0.1,
      coupling: { kind: 'exact-ot', classAware: true },
      time: { weighting: 'snr-clipped' },
      model: { kind: 'mlp', width: 32, depth: 2 },
      optim: { gradClip: 1 },
      train: { steps: 50, batchSize: 32 },
      sampling: { solver: 'heun', steps: 4, cfg: 2 },
    });
    const tr = trainerFor(spec, toy2dSource('8gaussians'));
    const cycle = (): void => {
      tr.step();
      tr.step();
      const s = tr.sample({ n: 8, seed: 1, labels: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]) });
      tf.dispose([s.x, s.x0]);
      const field = tr.modelField();
      const x = tf.zeros([3, 2]);
      tf.dispose([field(x, 0.5), x]);
    };
    cycle(); // warm-up: creates the EMA twin
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) cycle();
    expect(tf.memory().numTensors).toBe(n);
    disposeAll(tr);
  });
});
