// Checkpoint bytes and what is built from them: the tensor file format (safetensors, and the FST1
// blobs of older stores: exact round trip, damaged files rejected by name), trainer state <-> blobs,
// resolveModel for a trained run and for the 8-gaussians oracle, and checkpoints that do not fit the
// model (another width).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import { ConfigError } from '../../../core/errors';
import { CheckpointError, createModel, modelFromWeights, type ModelConfig } from '../../../core/model';
import { createTrainer } from '../../../core/train/trainer';
import { modelConfigFor } from '../../../core/train/config';
import { toy2dSource } from '../../../core/data/source';
import { decodeTensors, encodeTensors, tensorFormatOf, TensorFormatError } from '../../../main/models/serialize';
import { decodeSafetensors } from '../../../main/models/safetensors';
import { blobsToState, samplingWeights, stateToBlobs } from '../../../main/models/state';
import { resolveModel } from '../../../main/models/load';
import { ControlState, runTrainJob } from '../../../main/training/train-job';
import { NotFoundError } from '../../../main/store';
import { parseExperiment, type ExperimentInput } from '../../../common/config';
import { float32Bits, Harness, tinyMoons } from '../training/helpers';

const harnesses: Harness[] = [];
afterAll(async () => {
  await Promise.all(harnesses.map((x) => x.dispose()));
});

/** Disposes every tensor of the maps. */
const free = (...maps: ReadonlyMap<string, Tensor>[]): void => maps.forEach((m) => tf.dispose([...m.values()]));

const SPECIAL = [0, -0, 1.5, -2.25, NaN, Infinity, -Infinity, 1e-45, 3.4028234663852886e38, -1.1754943508222875e-38, Math.PI, 1 / 3];

function sample(): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['f32 [3,4]', tf.tensor2d(Float32Array.from(SPECIAL), [3, 4])],
    ['i32 [5]', tf.tensor1d([-2147483648, 2147483647, 0, -1, 7], 'int32')],
    ['scalar f32', tf.scalar(-0.125)],
    ['scalar i32', tf.scalar(42, 'int32')],
    ['empty [0]', tf.tensor1d([], 'float32')],
    ['empty [3,0,2] int', tf.zeros([3, 0, 2], 'int32')],
    ['ünïcødé/名前', tf.tensor1d([1, 2, 3])],
  ]);
}

/**
 * An FST1 blob (the checkpoint format before safetensors; main/models/serialize.ts documents the
 * layout), written here from the documented layout, so the reader is checked against an
 * independent writer; the fixture below holds blobs written by the old code itself.
 */
function fst1(tensors: ReadonlyMap<string, Tensor>, edit: (entries: Record<string, unknown>[]) => unknown = (e) => e): Uint8Array {
  const entries: Record<string, unknown>[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const d = t.dataSync() as Float32Array | Int32Array;
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], offset, bytes: d.byteLength });
    parts.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    offset += d.byteLength;
  }
  const header = new TextEncoder().encode(JSON.stringify(edit(entries)));
  const padded = (header.byteLength + 3) & ~3;
  const out = new Uint8Array(8 + padded + offset);
  out.set(new TextEncoder().encode('FST1'));
  new DataView(out.buffer).setUint32(4, header.byteLength, true);
  out.set(header, 8);
  let at = 8 + padded;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** A safetensors blob with its JSON header changed by `edit` (data kept as is). */
function withSafetensorsHeader(bytes: Uint8Array, edit: (head: Record<string, Record<string, unknown>>) => unknown): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const head = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
  const data = bytes.subarray(8 + n);
  const header = new TextEncoder().encode(JSON.stringify(edit(head)));
  const out = new Uint8Array(8 + header.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.byteLength), true);
  out.set(header, 8);
  out.set(data, 8 + header.byteLength);
  return out;
}

/** Every tensor of `a` equals the one of the same name in `b`: dtype, shape, bits. */
function expectSameTensors(a: ReadonlyMap<string, Tensor>, b: ReadonlyMap<string, Tensor>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, t] of a) {
    const u = b.get(name)!;
    expect(u.dtype, name).toBe(t.dtype);
    expect(u.shape, name).toEqual(t.shape);
    if (t.dtype === 'float32') expect(float32Bits(u.dataSync() as Float32Array), name).toEqual(float32Bits(t.dataSync() as Float32Array));
    else expect(Array.from(u.dataSync()), name).toEqual(Array.from(t.dataSync()));
  }
}

/** Decodes, and disposes what decoded; returns the error thrown (or undefined). */
function decodeError(bytes: Uint8Array): unknown {
  try {
    free(decodeTensors(bytes, 'ckpt'));
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('serialize: encodeTensors / decodeTensors', () => {
  it('writes safetensors and round-trips float32 (bit for bit, incl. -0, NaN, ±Inf, subnormals), int32, scalars and empty shapes', () => {
    const input = sample();
    const bytes = encodeTensors(input);
    expect(tensorFormatOf(bytes)).toBe('safetensors');
    // The safetensors reader (checked against the Python library in safetensors.test.ts) reads it.
    const file = decodeSafetensors(bytes);
    expect(file.tensors.get('i32 [5]')).toMatchObject({ dtype: 'I32', shape: [5] });
    expect(file.tensors.get('f32 [3,4]')).toMatchObject({ dtype: 'F32', shape: [3, 4] });
    const output = decodeTensors(bytes);
    try {
      expectSameTensors(input, output);
      // Encoding the decoded tensors gives the same bytes.
      expect(Buffer.compare(encodeTensors(output), bytes)).toBe(0);
      expect(decodeTensors(encodeTensors(new Map())).size).toBe(0);
    } finally {
      free(input, output);
    }
  });

  it('decodes from a Buffer view at an odd offset of a larger pool (what SQLite hands back), copying the data out', () => {
    const input = sample();
    for (const bytes of [encodeTensors(input), fst1(input)]) {
      const pool = Buffer.alloc(bytes.byteLength + 11, 0xee);
      pool.set(bytes, 3);
      const view = pool.subarray(3, 3 + bytes.byteLength);
      const output = decodeTensors(view);
      try {
        const before = float32Bits(output.get('f32 [3,4]')!.dataSync() as Float32Array);
        expect(before).toEqual(float32Bits(Float32Array.from(SPECIAL)));
        pool.fill(0); // the tensors own their data
        expect(float32Bits(output.get('f32 [3,4]')!.dataSync() as Float32Array)).toEqual(before);
        expect(Array.from(output.get('i32 [5]')!.dataSync())).toEqual([-2147483648, 2147483647, 0, -1, 7]);
      } finally {
        free(output);
      }
    }
    free(input);
  });

  it('refuses dtypes it cannot store, naming the tensor', () => {
    const b = tf.tensor1d([true, false], 'bool');
    try {
      expect(() => encodeTensors(new Map([['mask', b]]))).toThrow(
        new TensorFormatError('mask: dtype bool cannot be stored (float32 or int32 only)'),
      );
    } finally {
      b.dispose();
    }
  });

  it('rejects damaged safetensors bytes with a TensorFormatError that names the problem, and leaks no tensors', () => {
    const input = sample();
    const good = encodeTensors(input);
    free(input);
    const before = tf.memory().numTensors;
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /^ckpt: not a Flow Studio tensor file$/],
      ['zeroed start', Uint8Array.from([...new Uint8Array(16), ...good.subarray(16)]), /^ckpt: not a Flow Studio tensor file$/],
      [
        'truncated data',
        good.subarray(0, good.byteLength - 4),
        /^ckpt: truncated: the tensors need \d+ bytes of data, the file holds \d+$/,
      ],
      [
        'shape changed',
        withSafetensorsHeader(good, (h) => ((h['f32 [3,4]']!.shape = [4, 4]), h)),
        /^ckpt: tensor 'f32 \[3,4\]': dtype F32 shape \[4, 4\] needs 64 bytes but data_offsets \[\d+, \d+\] span 48$/,
      ],
      [
        'unknown dtype',
        withSafetensorsHeader(good, (h) => ((h['i32 [5]']!.dtype = 'Q8'), h)),
        /^ckpt: tensor 'i32 \[5\]': unknown dtype "Q8"/,
      ],
      [
        'a dtype checkpoints do not hold',
        withSafetensorsHeader(good, (h) => ((h['i32 [5]']!.dtype = 'U32'), h)),
        /^ckpt: tensor 'i32 \[5\]' has dtype U32; checkpoints hold F32 or I32 tensors$/,
      ],
      ['header not JSON', Uint8Array.from([...good.subarray(0, 9), 0x7b, ...good.subarray(10)]), /^ckpt: the header is not valid JSON/],
    ];
    for (const [label, bytes, message] of cases) {
      const err = decodeError(bytes);
      expect(err, label).toBeInstanceOf(TensorFormatError);
      expect((err as Error).message, label).toMatch(message);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reads FST1 blobs (the format before safetensors) and rejects damaged ones by name, leaking no tensors', () => {
    const input = sample();
    const good = fst1(input);
    expect(tensorFormatOf(good)).toBe('fst1');
    const back = decodeTensors(good);
    expectSameTensors(input, back);
    expect([...back.keys()]).toEqual([...input.keys()]); // FST1 keeps the order it was written in
    free(back);
    const cases: [string, Uint8Array, RegExp][] = [
      ['wrong magic', Uint8Array.from([...good.subarray(0, 3), 0x30, ...good.subarray(4)]), /not a Flow Studio tensor file/],
      [
        'header length past the end',
        (() => {
          const c = good.slice();
          new DataView(c.buffer).setUint32(4, 1 << 30, true);
          return c;
        })(),
        /header length 1073741824 exceeds the data/,
      ],
      [
        'garbage header',
        (() => {
          const c = good.slice();
          c[9] = 0x7b;
          c[10] = 0x7b;
          return c;
        })(),
        /unreadable header/,
      ],
      ['header not a list', fst1(input, () => ({ name: 'x' })), /header is not a list of tensors/],
      ['truncated data', good.subarray(0, good.byteLength - 4), /entry 'ünïcødé\/名前' \(shape \[3\]\) does not fit the data/],
      ['shape changed', fst1(input, (e) => ((e[0]!.shape = [4, 4]), e)), /entry 'f32 \[3,4\]' \(shape \[4, 4\]\) does not fit the data/],
      [
        'unknown dtype',
        fst1(input, (e) => ((e[1]!.dtype = 'float64'), e)),
        /header entry 1 \('i32 \[5\]'\): dtype must be float32 or int32, got "float64"/,
      ],
      [
        'negative dims',
        fst1(input, (e) => ((e[0]!.shape = [-3, -4]), e)),
        /header entry 0 \('f32 \[3,4\]'\): shape must be a list of integers >= 0, got \[-3,-4\]/,
      ],
      [
        'fractional offset',
        fst1(input, (e) => ((e[2]!.offset = 1.5), e)),
        /header entry 2 \('scalar f32'\): offset must be an integer >= 0/,
      ],
      ['missing name', fst1(input, (e) => (delete e[3]!.name, e)), /header entry 3: name must be a non-empty string/],
      ['entry not an object', fst1(input, (e) => [...e, 7]), /header entry 7 is not an object/],
      ['duplicate names', fst1(input, (e) => ((e[1]!.name = e[0]!.name), e)), /tensor 'f32 \[3,4\]' appears twice/],
    ];
    free(input);
    const before = tf.memory().numTensors;
    for (const [label, bytes, message] of cases) {
      const err = decodeError(bytes);
      expect(err, label).toBeInstanceOf(TensorFormatError);
      expect((err as Error).message, label).toMatch(message);
      expect((err as Error).message.startsWith('ckpt: '), label).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** fixtures/fst1-checkpoint.json: FST1 blobs written by the code before safetensors, and their tensors as JSON. */
interface Fst1Fixture {
  config: ExperimentInput;
  step: number;
  meta: Record<string, unknown>;
  blobs: { model: string; ema: string; optimizer: string };
  tensors: { name: string; dtype: 'float32' | 'int32'; shape: number[]; values: number[] }[];
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'fst1-checkpoint.json'), 'utf8')) as Fst1Fixture;
const fixtureBlobs = {
  model: new Uint8Array(Buffer.from(fixture.blobs.model, 'base64')),
  ema: new Uint8Array(Buffer.from(fixture.blobs.ema, 'base64')),
  optimizer: new Uint8Array(Buffer.from(fixture.blobs.optimizer, 'base64')),
};

describe('old FST1 checkpoints keep working', () => {
  it('a trainer state written as FST1 by the previous release decodes to the very values it held', () => {
    for (const b of Object.values(fixtureBlobs)) expect(tensorFormatOf(b)).toBe('fst1');
    const state = blobsToState(fixtureBlobs, 'fixture');
    const expected = new Map(fixture.tensors.map((t) => [t.name, tf.tensor(t.values, t.shape, t.dtype)] as const));
    try {
      expectSameTensors(expected, state);
      // Re-encoded, the same state is safetensors and decodes to the same values.
      const again = stateToBlobs(state);
      expect(tensorFormatOf(again.model)).toBe('safetensors');
      const back = blobsToState(again, 'again');
      expectSameTensors(expected, back);
      free(back);
    } finally {
      free(state, expected);
    }
  });

  it('a store holding an FST1 checkpoint samples from it and resumes training from it (tfjs)', async () => {
    const h = new Harness();
    harnesses.push(h);
    const id = h.run(fixture.config);
    h.store.saveCheckpoint(id, { step: fixture.step, ...fixtureBlobs, meta: fixture.meta });
    const m = resolveModel(id, { store: h.store });
    const x = tf.tensor2d([
      [0.5, -1],
      [1, 2],
    ]);
    try {
      expect(m).toMatchObject({ step: fixture.step, label: `run ${id} step ${fixture.step} (EMA)` });
      // The field is the fixture's EMA network applied directly.
      const ema = new Map(
        fixture.tensors
          .filter((t) => t.name.startsWith('optim/ema/'))
          .map((t) => [t.name.slice(10), tf.tensor(t.values, t.shape)] as const),
      );
      const net = modelFromWeights(fixture.meta.modelConfig as ModelConfig, ema);
      free(ema);
      const v = m.field()(x, 0.3);
      const ref = tf.tidy(() => net.apply(x, tf.fill([2], 0.3)));
      expect(float32Bits(v.dataSync() as Float32Array)).toEqual(float32Bits(ref.dataSync() as Float32Array));
      tf.dispose([v, ref]);
      net.dispose();
    } finally {
      x.dispose();
      m.dispose();
    }
    const r = await h.sup.start(id);
    expect(r).toMatchObject({ status: 'completed', step: fixture.config.train!.steps });
    expect(h.of(id, 'started')[0]).toMatchObject({ resumedFrom: fixture.step, startStep: fixture.step });
    // The checkpoints written since are safetensors.
    expect(tensorFormatOf(h.store.latestCheckpoint(id)!.model)).toBe('safetensors');
  }, 60_000);
});

describe('state: trainer state <-> checkpoint blobs', () => {
  it('splits by prefix (model, EMA, optimiser + stream position) and merges back exactly; sampling prefers the EMA', () => {
    const p = parseExperiment(tinyMoons());
    if (!p.ok) throw new Error('bad config');
    const model = createModel(modelConfigFor(p.value.model, [2], 0), 3);
    const trainer = createTrainer({ spec: p.value, model, target: toy2dSource('moons') });
    for (let i = 0; i < 7; i++) trainer.step();
    const state = trainer.getState();
    const blobs = stateToBlobs(state);
    const parts = [blobs.model, blobs.ema, blobs.optimizer].map((b) => decodeTensors(b));
    const back = blobsToState(blobs, 'test');
    const sw = samplingWeights(blobs, 'test');
    const raw = samplingWeights({ model: blobs.model, ema: null }, 'test');
    const rawEmpty = samplingWeights({ model: blobs.model, ema: encodeTensors(new Map()) }, 'test');
    try {
      const [m, e, o] = parts.map((x) => [...x.keys()]) as [string[], string[], string[]];
      expect(m.length).toBeGreaterThan(0);
      expect(m.every((k) => k.startsWith('model/'))).toBe(true);
      expect(e.every((k) => k.startsWith('optim/ema/'))).toBe(true);
      expect(e).toHaveLength(m.length);
      expect(o).toContain('trainer/rng');
      expect(o).toContain('optim/step');
      expect(o.filter((k) => k.startsWith('optim/m/') || k.startsWith('optim/v/'))).toHaveLength(2 * m.length);
      expect(Array.from(parts[2]!.get('trainer/rng')!.dataSync())[1]).toBe(7);

      expect([...back.keys()].sort()).toEqual([...state.keys()].sort());
      for (const [k, t] of state)
        expect(float32Bits(back.get(k)!.dataSync() as Float32Array), k).toEqual(float32Bits(t.dataSync() as Float32Array));

      expect(sw.ema).toBe(true);
      expect([...sw.weights.keys()].sort()).toEqual([...model.names].sort());
      expect(Array.from(sw.weights.get('mlp/0/W')!.dataSync())).toEqual(Array.from(state.get('optim/ema/mlp/0/W')!.dataSync()));
      for (const r of [raw, rawEmpty]) {
        expect(r.ema).toBe(false);
        expect(Array.from(r.weights.get('mlp/0/W')!.dataSync())).toEqual(Array.from(state.get('model/mlp/0/W')!.dataSync()));
      }
    } finally {
      free(state, back, sw.weights, raw.weights, rawEmpty.weights, ...parts);
      trainer.dispose();
      model.dispose();
    }
  });
});

describe('models and checkpoints that do not fit', () => {
  /** A run trained in this process by the worker's own loop (runTrainJob): checkpoints at 25, 50, 60. */
  async function trainedRun(h: Harness, patch: Parameters<typeof tinyMoons>[0] = {}): Promise<string> {
    const id = h.run(tinyMoons({ train: { steps: 60, checkpointEvery: 25 }, ...patch }));
    const status = await runTrainJob({ kind: 'train', runId: id, dbPath: h.dbPath, backend: 'wasm' }, () => {}, new ControlState());
    expect(status).toBe('completed');
    return id;
  }

  it("resolveModel: a trained run's EMA network at its latest or a given checkpoint, with the errors for bad specs", async () => {
    const h = new Harness();
    harnesses.push(h);
    const id = await trainedRun(h);
    expect(h.store.listCheckpoints(id).map((c) => c.step)).toEqual([25, 50, 60]);

    const m = resolveModel(id, { store: h.store });
    const m25 = resolveModel(`${id}@25`, { store: h.store });
    // The same network restored the other way: a fresh trainer takes the whole checkpoint state.
    const p = parseExperiment(h.store.getRun(id).config);
    if (!p.ok) throw new Error('bad config');
    const model = createModel(modelConfigFor(p.value.model, [2], 0), 99);
    const trainer = createTrainer({ spec: p.value, model, target: toy2dSource('moons') });
    const state = blobsToState(h.store.latestCheckpoint(id)!, 'test');
    trainer.setState(state);
    free(state);
    const x = tf.tensor2d([
      [0, 0],
      [1, -0.5],
      [-2, 1.5],
      [0.3, 0.7],
    ]);
    try {
      expect(m).toMatchObject({
        kind: 'run',
        label: `run ${id} step 60 (EMA)`,
        shape: [2],
        numClasses: 0,
        runId: id,
        step: 60,
        timeRange: { lo: 0, hi: 1 },
      });
      expect(m25.step).toBe(25);
      for (const t of [0, 0.5, 0.9]) {
        const v = m.field()(x, t);
        const v25 = m25.field()(x, t);
        const ref = trainer.emaField()(x, t);
        expect(v.shape).toEqual([4, 2]);
        expect(float32Bits(v.dataSync() as Float32Array)).toEqual(float32Bits(ref.dataSync() as Float32Array));
        expect(Array.from(v.dataSync())).not.toEqual(Array.from(v25.dataSync()));
        expect(Array.from(v.dataSync()).some((a) => a !== 0)).toBe(true); // trained: the zero-initialised head moved
        tf.dispose([v, v25, ref]);
      }
    } finally {
      x.dispose();
      m.dispose();
      m25.dispose();
      trainer.dispose();
      model.dispose();
    }

    expect(() => resolveModel(`${id}@26`, { store: h.store })).toThrow(NotFoundError);
    expect(() => resolveModel(`${id}@abc`, { store: h.store })).toThrow(
      new ConfigError('model', "checkpoint step must be a non-negative integer, got 'abc'"),
    );
    expect(() => resolveModel('01NOSUCHRUN00000', { store: h.store })).toThrow(NotFoundError);
    expect(() => resolveModel(id, {})).toThrow(/needs the run store/);
    const fresh = h.run(tinyMoons());
    expect(() => resolveModel(fresh, { store: h.store })).toThrow(CheckpointError);
    expect(() => resolveModel(fresh, { store: h.store })).toThrow(/has no checkpoint yet \(status queued, step 0\)/);
  });

  it('resolveModel: oracle:8gaussians is the exact mixture flow (v(x, 0) = E[x1] - x = -x); other names are refused', () => {
    const m = resolveModel('oracle:8gaussians', {});
    const x = tf.tensor2d([
      [0.5, -1],
      [3, 2],
      [-4, 0.25],
    ]);
    try {
      expect(m).toMatchObject({
        kind: 'oracle',
        label: 'oracle 8gaussians (condot)',
        shape: [2],
        numClasses: 0,
        timeRange: { lo: 0, hi: 1 },
      });
      expect(m.oracle).toBeDefined();
      const v0 = m.field()(x, 0);
      const got = Array.from(v0.dataSync());
      Array.from(x.dataSync()).forEach((xi, i) => expect(got[i]).toBeCloseTo(-xi, 5));
      // Near t = 1 the flow points from x towards the nearest of the 8 modes (radius 5 circle).
      const v1 = m.field()(tf.tensor2d([[4.9, 0]]), 0.999);
      expect(v1.dataSync()[0]!).toBeGreaterThan(0);
      tf.dispose([v0, v1]);
    } finally {
      x.dispose();
      m.dispose();
    }
    expect(() => resolveModel('oracle:moons', {})).toThrow(ConfigError);
    expect(() => resolveModel('oracle:moons', {})).toThrow(
      /'moons' is not a built-in Gaussian mixture; mixtures with an exact oracle: 8gaussians/,
    );
    expect(() => resolveModel('oracle', {})).toThrow(/needs --gmm FILE/);
  });

  it('a checkpoint of another width: CheckpointError naming the variable and both shapes (trainer, worker and resolveModel)', async () => {
    const h = new Harness();
    harnesses.push(h);
    const narrow = await trainedRun(h); // width 32, input 2 + timeEmbedDim 8
    const ckpt = h.store.latestCheckpoint(narrow)!;

    // The trainer refuses it and keeps its own weights.
    const p = parseExperiment(tinyMoons({ model: { width: 48 } }));
    if (!p.ok) throw new Error('bad config');
    const model = createModel(modelConfigFor(p.value.model, [2], 0), 1);
    const trainer = createTrainer({ spec: p.value, model, target: toy2dSource('moons') });
    const w0 = Array.from(model.variables[0]!.dataSync());
    const state = blobsToState(ckpt, 'test');
    try {
      let err: unknown;
      try {
        trainer.setState(state);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CheckpointError);
      expect(err).toMatchObject({ variable: 'mlp/0/W', expected: [10, 48], got: [10, 32] });
      expect((err as Error).message).toBe('mlp/0/W: expected shape [10, 48], got [10, 32]');
      expect(Array.from(model.variables[0]!.dataSync())).toEqual(w0);
      expect(trainer.stepCount).toBe(0);
    } finally {
      free(state);
      trainer.dispose();
      model.dispose();
    }

    // The worker: a run of width 48 holding that checkpoint fails with the same message, and keeps
    // its checkpoint (nothing is rewound before the state fits).
    const wide = h.run(tinyMoons({ model: { width: 48 } }));
    h.store.saveCheckpoint(wide, { step: 60, model: ckpt.model, ema: ckpt.ema, optimizer: ckpt.optimizer, meta: ckpt.meta });
    const events: { type: string; error?: string }[] = [];
    const status = await runTrainJob(
      { kind: 'train', runId: wide, dbPath: h.dbPath, backend: 'wasm' },
      (e) => events.push(e),
      new ControlState(),
    );
    expect(status).toBe('failed');
    expect(events.at(-1)!.error).toBe('mlp/0/W: expected shape [10, 48], got [10, 32]');
    expect(h.store.getRun(wide)).toMatchObject({ status: 'failed', error: 'mlp/0/W: expected shape [10, 48], got [10, 32]' });
    expect(h.store.listCheckpoints(wide).map((c) => c.step)).toEqual([60]);

    // resolveModel: the checkpoint's recorded model config says width 48, its weights are 32 wide.
    const meta = { ...ckpt.meta, modelConfig: { ...(ckpt.meta.modelConfig as object), width: 48 } };
    const liar = h.run(tinyMoons());
    h.store.saveCheckpoint(liar, { step: 60, model: ckpt.model, ema: ckpt.ema, optimizer: ckpt.optimizer, meta });
    expect(() => resolveModel(liar, { store: h.store })).toThrow(
      new CheckpointError('mlp/0/W', 'expected shape [10, 48], got [10, 32]', [10, 48], [10, 32]),
    );
  });
});
