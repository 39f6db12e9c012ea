// Data-parallel training over worker threads (main/training/parallel.ts): replicas with their own
// wasm backends follow the single-thread loss curve to float32 rounding, stay bitwise identical to
// each other (state hashes), are reproducible, fail loudly, and work inside a run (started event,
// checkpoints, resume equals straight).
import { afterAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createModel } from '../../../core/model';
import { createTrainer, type Trainer } from '../../../core/train/trainer';
import { modelConfigFor, type TrainSpec } from '../../../core/train/config';
import { toy2dSource } from '../../../core/data/source';
import { createParallelTrainer, defaultReplicaEntry, resolveThreads, stateHash, type ReplicaData } from '../../../main/training/parallel';
import { parseExperiment } from '../../../common/config';
import { loadExperimentData } from '../../../main/training/sources';
import { Harness, preset, tinyMoons } from './helpers';

const harnesses: Harness[] = [];
afterAll(async () => {
  await Promise.all(harnesses.map((x) => x.dispose()));
});

/** The moons preset with an MLP 3 x 128 (t as a raw input), AdamW, warmup and cosine decay. */
function moonsSpec(batch: number, steps = 100): TrainSpec {
  const base = preset('moons');
  const p = parseExperiment({
    ...base,
    model: { kind: 'mlp', width: 128, depth: 3, activation: 'silu', timeEmbedDim: 8 },
    optim: {
      kind: 'adamw',
      lr: 2e-3,
      weightDecay: 0.01,
      warmupSteps: Math.min(10, steps - 1),
      schedule: 'cosine',
      gradClip: 1,
      emaDecay: 0.99,
    },
    // The preset's intervals (500, 250) must fit in the shorter run: they default to at most `steps`.
    train: { batchSize: batch, steps },
  });
  if (!p.ok) throw new Error(JSON.stringify(p.issues));
  return p.value;
}

/** The spec's own moons (its noise, as the replicas load it from spec.data), not the dataset default. */
const moonsOf = (spec: TrainSpec) => toy2dSource('moons', { noise: (spec.data as { noise?: number }).noise });

function makeTrainer(spec: TrainSpec): Trainer {
  return createTrainer({ spec, model: createModel(modelConfigFor(spec.model, [2], 0), 1), target: moonsOf(spec) });
}

const dataOf = (spec: TrainSpec): ReplicaData => ({ kind: 'experiment', data: spec.data, source: spec.source });

function free(t: Trainer): void {
  t.dispose();
  t.model.dispose();
}

describe('createParallelTrainer', () => {
  it('2 threads follow 1 thread for 100 steps to float32 rounding; the replicas stay bitwise identical', async () => {
    const spec = moonsSpec(256);
    const single = makeTrainer(spec);
    const one = Array.from({ length: 100 }, () => single.step());

    const leader = makeTrainer(spec);
    const par = await createParallelTrainer(leader, { threads: 2, data: dataOf(spec), backend: 'wasm' });
    try {
      expect(par.threads).toBe(2);
      const two = [];
      for (let i = 0; i < 100; i++) two.push(await par.step());
      expect(two.map((r) => r.step)).toEqual(one.map((r) => r.step));
      expect(two.map((r) => r.lr)).toEqual(one.map((r) => r.lr));
      expect(two.every((r) => !r.diverged)).toBe(true);
      // Relative difference of the losses and gradient norms: float32 rounding of a differently
      // ordered sum (~1e-7 per step), grown a little through 100 Adam steps.
      const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
      const lossDiff = Math.max(...two.map((r, i) => rel(r.loss, one[i]!.loss)));
      const normDiff = Math.max(...two.map((r, i) => rel(r.gradNorm, one[i]!.gradNorm)));
      expect(lossDiff).toBeLessThan(1e-4);
      expect(normDiff).toBeLessThan(1e-3);
      expect(lossDiff).toBeGreaterThan(0); // a different summation order, so not the same bits
      // The loss fell: this is training, not two identical no-ops.
      expect(two.at(-1)!.loss).toBeLessThan(two[0]!.loss);

      const hashes = await par.stateHashes();
      expect(hashes).toHaveLength(2);
      expect(hashes[1]).toBe(hashes[0]);
      expect(hashes[0]).toBe(stateHash(leader));
      // ... and differ from the single-thread state (rounding), so the hash does see the weights.
      expect(stateHash(single)).not.toBe(hashes[0]);

      const t = par.timings();
      expect(t.steps).toBe(100);
      expect(t.cpuMs).toHaveLength(2);
      expect(t.cpuMs.every((c) => c > 0)).toBe(true);
    } finally {
      await par.close();
      free(single);
      free(leader);
    }
  });

  it('a class-conditional U-Net (tape-free training path) on MNIST: 2 threads follow 1 thread, replicas identical', async () => {
    const p = parseExperiment({
      ...preset('mnist'),
      data: { kind: 'mnist', digits: [0, 1, 7] },
      model: { kind: 'unet', baseChannels: 8, channelMults: [1, 2], blocksPerLevel: 1, attention: true, groups: 4, timeEmbedDim: 16 },
      optim: { kind: 'adam', lr: 2e-3, warmupSteps: 5, schedule: 'cosine', gradClip: 1, emaDecay: 0.99 },
      train: { batchSize: 10, steps: 20 },
    });
    if (!p.ok) throw new Error(JSON.stringify(p.issues));
    const spec = p.value;
    const { target, source } = await loadExperimentData(spec);
    const make = (): Trainer =>
      createTrainer({
        spec,
        model: createModel(modelConfigFor(spec.model, target.source.shape, target.source.numClasses), spec.seed),
        target: target.source,
        source,
      });
    const single = make();
    const one = Array.from({ length: 20 }, () => single.step());
    const leader = make();
    const par = await createParallelTrainer(leader, { threads: 2, data: dataOf(spec), backend: 'wasm' });
    try {
      const two = [];
      for (let i = 0; i < 20; i++) two.push(await par.step());
      const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
      expect(Math.max(...two.map((r, i) => rel(r.loss, one[i]!.loss)))).toBeLessThan(1e-4);
      expect(Math.max(...two.map((r, i) => rel(r.gradNorm, one[i]!.gradNorm)))).toBeLessThan(1e-3);
      expect(two.at(-1)!.loss).toBeLessThan(two[0]!.loss);
      const hashes = await par.stateHashes();
      expect(hashes[1]).toBe(hashes[0]);
      expect(hashes[0]).toBe(stateHash(leader));
    } finally {
      await par.close();
      free(single);
      free(leader);
    }
  });

  it('3 threads with uneven shards agree as well, and a data-parallel run is reproducible bit for bit', async () => {
    const spec = moonsSpec(100, 30); // shards of 33, 33, 34 rows
    const runs: number[][] = [];
    const hashes: string[] = [];
    for (let rep = 0; rep < 2; rep++) {
      const leader = makeTrainer(spec);
      const par = await createParallelTrainer(leader, { threads: 3, data: dataOf(spec), backend: 'wasm' });
      try {
        const losses = [];
        for (let i = 0; i < 30; i++) losses.push((await par.step()).loss);
        runs.push(losses);
        const h = await par.stateHashes();
        expect(new Set(h).size).toBe(1);
        hashes.push(h[0]!);
      } finally {
        await par.close();
        free(leader);
      }
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(hashes[1]).toBe(hashes[0]);
  });

  it('starts the replicas from the leader state, e.g. after a resume', async () => {
    const spec = moonsSpec(128, 40);
    const straight = makeTrainer(spec);
    const parStraight = await createParallelTrainer(straight, { threads: 2, data: dataOf(spec), backend: 'wasm' });
    const all = [];
    for (let i = 0; i < 40; i++) all.push((await parStraight.step()).loss);
    const final = stateHash(straight);
    await parStraight.close();

    // 20 steps data-parallel, then the state into a fresh trainer, then 20 more with new replicas.
    const first = makeTrainer(spec);
    const parFirst = await createParallelTrainer(first, { threads: 2, data: dataOf(spec), backend: 'wasm' });
    for (let i = 0; i < 20; i++) expect((await parFirst.step()).loss).toBe(all[i]);
    await parFirst.close();
    const state = first.getState();
    const resumed = createTrainer({ spec, model: createModel(modelConfigFor(spec.model, [2], 0), 77), target: moonsOf(spec) });
    resumed.setState(state);
    state.forEach((t) => t.dispose());
    const parResumed = await createParallelTrainer(resumed, { threads: 2, data: dataOf(spec), backend: 'wasm' });
    for (let i = 20; i < 40; i++) expect((await parResumed.step()).loss).toBe(all[i]);
    expect(stateHash(resumed)).toBe(final);
    await parResumed.close();
    [straight, first, resumed].forEach(free);
  });

  it('fails to start with the replica message when a replica cannot start', async () => {
    const spec = moonsSpec(64, 10);
    const leader = makeTrainer(spec);
    await expect(createParallelTrainer(leader, { threads: 2, data: dataOf(spec), backend: 'no-such-backend' })).rejects.toThrow(
      /replica 1 failed to start: .*unknown backend 'no-such-backend'/,
    );
    await expect(createParallelTrainer(leader, { threads: 1, data: dataOf(spec), backend: 'wasm' })).rejects.toThrow(/threads >= 2/);
    // The leader is untouched and still trains alone.
    expect(leader.step().diverged).toBe(false);
    free(leader);
  });

  it('a replica that dies after the start fails the next step instead of hanging', async () => {
    const spec = moonsSpec(64, 10);
    const leader = makeTrainer(spec);
    const real = defaultReplicaEntry();
    const entry = { url: new URL('./fixtures/replica-exits.ts', import.meta.url), execArgv: real.execArgv };
    expect(fileURLToPath(entry.url)).toMatch(/replica-exits\.ts$/);
    const par = await createParallelTrainer(leader, { threads: 2, data: dataOf(spec), backend: 'wasm', entry });
    try {
      await expect(
        (async () => {
          for (let i = 0; i < 50; i++) await par.step();
        })(),
      ).rejects.toThrow(/data-parallel replica 1 failed: the worker exited/);
    } finally {
      await par.close();
      free(leader);
    }
  });
});

describe('resolveThreads', () => {
  const mlp = { modelKind: 'mlp', batchSize: 512, backend: 'wasm' };
  it('explicit counts are kept (capped by the batch); auto takes 2 only on wasm/cpu for MLPs with batch >= 512 or U-Nets with batch >= 8, with an idle core', () => {
    expect(resolveThreads(undefined, mlp)).toBe(1);
    expect(resolveThreads(1, mlp)).toBe(1);
    expect(resolveThreads(2, mlp)).toBe(2);
    expect(resolveThreads(4, { ...mlp, batchSize: 3 })).toBe(3);
    expect(resolveThreads(2, { ...mlp, modelKind: 'unet' })).toBe(2);
    const idle = { cores: 2, idleCores: 1.7 };
    expect(resolveThreads('auto', mlp, idle)).toBe(2);
    expect(resolveThreads('auto', mlp, { cores: 2, idleCores: 0.3 })).toBe(1);
    expect(resolveThreads('auto', mlp, { cores: 1, idleCores: 1 })).toBe(1);
    expect(resolveThreads('auto', { ...mlp, batchSize: 256 }, idle)).toBe(1);
    expect(resolveThreads('auto', { ...mlp, batchSize: 2048 }, idle)).toBe(2);
    const unet = { ...mlp, modelKind: 'unet', batchSize: 32 };
    expect(resolveThreads('auto', unet, idle)).toBe(2);
    expect(resolveThreads('auto', { ...unet, batchSize: 8 }, idle)).toBe(2);
    expect(resolveThreads('auto', { ...unet, batchSize: 4 }, idle)).toBe(1);
    expect(resolveThreads('auto', unet, { cores: 2, idleCores: 0.3 })).toBe(1);
    expect(resolveThreads('auto', { ...unet, backend: 'tensorflow' }, idle)).toBe(1);
    expect(resolveThreads('auto', { ...mlp, modelKind: 'other' }, idle)).toBe(1);
    expect(resolveThreads('auto', { ...mlp, backend: 'tensorflow' }, idle)).toBe(1);
    expect(resolveThreads('auto', { ...mlp, backend: 'cpu' }, idle)).toBe(2);
  });

  it('the schema takes 1 by default, a count or auto', () => {
    const base = tinyMoons();
    const parse = (threads: unknown) => parseExperiment({ ...base, train: { ...(base.train as object), threads } });
    const def = parseExperiment(base);
    expect(def.ok && def.value.train.threads).toBe(1);
    for (const t of [1, 2, 'auto'] as const) {
      const p = parse(t);
      expect(p.ok && p.value.train.threads).toBe(t);
    }
    for (const t of [0, 1.5, 'two', -1]) expect(parse(t).ok).toBe(false);
  });
});

describe("a run with train.threads = 'auto'", () => {
  it('resolves the count at the start, reports it and stores it in the checkpoints', async () => {
    const h = new Harness();
    harnesses.push(h);
    // Batch 128 < AUTO_MIN_BATCH: one thread whatever the machine's load.
    const id = h.run(tinyMoons({ train: { steps: 60, checkpointEvery: 30, threads: 'auto' } }));
    expect(await h.sup.start(id)).toMatchObject({ status: 'completed', step: 60 });
    expect(h.of(id, 'started')[0]!.threads).toBe(1);
    expect(h.store.listCheckpoints(id).map((c) => c.meta.threads)).toEqual([1, 1]);
  });
});

describe('a run with train.threads = 2', () => {
  it('trains data-parallel (started event, checkpoints, summary), follows the 1-thread run, and resumes bit for bit', async () => {
    const h = new Harness({ maxConcurrent: 2 });
    harnesses.push(h);
    const total = 200;
    const config = (threads: number) => tinyMoons({ seed: 3, train: { steps: total, logEvery: 1, checkpointEvery: 50, threads } });
    const two = h.run(config(2), 'two');
    const one = h.run(config(1), 'one');
    const split = h.run(config(2), 'split');

    const [r2, r1] = await Promise.all([h.sup.start(two), h.sup.start(one)]);
    expect(r2).toMatchObject({ status: 'completed', step: total });
    expect(r1).toMatchObject({ status: 'completed', step: total });
    expect(h.of(two, 'started')[0]!.threads).toBe(2);
    expect(h.of(one, 'started')[0]!.threads).toBe(1);
    expect(h.store.getRun(two).summary).toMatchObject({ threads: 2, steps: total });
    expect(h.store.latestCheckpoint(two)!.meta.threads).toBe(2);

    const a = h.losses(two);
    const b = h.losses(one);
    expect(a.steps).toEqual(b.steps);
    const rel = a.values.map((v, i) => Math.abs(v - b.values[i]!) / Math.abs(b.values[i]!));
    expect(Math.max(...rel)).toBeLessThan(1e-3);

    // Crash after step 120 (last checkpoint 100), start again: the curve equals the straight run's.
    const crashed = await h.sup.start(split, { crashAfterStep: 120 });
    expect(crashed.status).toBe('failed');
    const resumed = await h.sup.start(split);
    expect(resumed).toMatchObject({ status: 'completed', step: total });
    expect(h.of(split, 'started').at(-1)).toMatchObject({ resumedFrom: 100, startStep: 100, threads: 2 });
    const names = ['grad_norm', 'loss', 'lr'];
    expect(h.store.getMetrics(split, names).map((s) => s.values)).toEqual(h.store.getMetrics(two, names).map((s) => s.values));
    const ca = h.store.latestCheckpoint(two)!;
    const cb = h.store.latestCheckpoint(split)!;
    expect(Buffer.compare(ca.model, cb.model)).toBe(0);
    expect(Buffer.compare(ca.optimizer!, cb.optimizer!)).toBe(0);
  });
});
