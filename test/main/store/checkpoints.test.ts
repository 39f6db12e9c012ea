import { describe, expect, it } from 'vitest';
import { NotFoundError, StoreInputError } from '../../../main/store';
import { bytes, newRun, openTemp } from './helpers';

describe('checkpoints', () => {
  it('saves blobs byte for byte and reads them by latest, by step, and as a list without blobs', () => {
    const { store } = openTemp({ now: () => 42 });
    const { id } = store.createRun(newRun());
    expect(store.latestCheckpoint(id)).toBeNull();
    // A view into a larger buffer: only the viewed bytes may be stored.
    const backing = bytes(1000);
    const model = backing.subarray(100, 400);
    const info = store.saveCheckpoint(id, { step: 10, model, optimizer: bytes(50, 7), ema: bytes(300, 3), meta: { lr: 0.001 } });
    expect(info).toEqual({
      id: expect.any(Number),
      runId: id,
      step: 10,
      createdAt: 42,
      isEmaIncluded: true,
      modelBytes: 300,
      optimizerBytes: 50,
      emaBytes: 300,
      meta: { lr: 0.001 },
    });
    store.saveCheckpoint(id, { step: 20, model: bytes(10) });

    const at10 = store.checkpointAt(id, 10);
    expect(Buffer.from(at10.model).equals(Buffer.from(model))).toBe(true);
    expect(Buffer.from(at10.optimizer!).equals(Buffer.from(bytes(50, 7)))).toBe(true);
    expect(Buffer.from(at10.ema!).equals(Buffer.from(bytes(300, 3)))).toBe(true);

    const latest = store.latestCheckpoint(id);
    expect(latest).toMatchObject({ step: 20, isEmaIncluded: false, optimizer: null, ema: null, optimizerBytes: null, emaBytes: null });
    expect(store.listCheckpoints(id).map((c) => [c.step, 'model' in c])).toEqual([
      [10, false],
      [20, false],
    ]);
    expect(store.getRun(id).step).toBe(20);
    expect(() => store.checkpointAt(id, 15)).toThrow(NotFoundError);
    expect(() => store.checkpointAt(id, 15)).toThrow(`has no checkpoint at step 15`);
  });

  it('keeps the newest K per run (store default, or per call); never the newest one', () => {
    const { store } = openTemp({ keepCheckpoints: 3 });
    const a = store.createRun(newRun('a'));
    const b = store.createRun(newRun('b'));
    for (let step = 100; step <= 1000; step += 100) {
      store.saveCheckpoint(a.id, { step, model: bytes(64, step) });
      store.saveCheckpoint(b.id, { step, model: bytes(64, step) });
    }
    expect(store.listCheckpoints(a.id).map((c) => c.step)).toEqual([800, 900, 1000]);
    store.saveCheckpoint(b.id, { step: 1100, model: bytes(64) }, { keepLast: 1 });
    expect(store.listCheckpoints(b.id).map((c) => c.step)).toEqual([1100]);
    expect(store.listCheckpoints(a.id).map((c) => c.step)).toEqual([800, 900, 1000]); // other runs untouched
    expect(() => store.saveCheckpoint(b.id, { step: 1200, model: bytes(1) }, { keepLast: 0 })).toThrow(/keepLast: must be an integer >= 1/);
  });

  it('replaces a checkpoint saved again at the same step; refuses a step below the latest', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    const first = store.saveCheckpoint(id, { step: 5, model: bytes(8) });
    const again = store.saveCheckpoint(id, { step: 5, model: bytes(8, 1) });
    expect(again.id).not.toBe(first.id);
    expect(store.listCheckpoints(id).map((c) => c.id)).toEqual([again.id]);
    expect(() => store.saveCheckpoint(id, { step: 4, model: bytes(8) })).toThrow(
      /checkpoint.step: 4 is below run .*'s latest checkpoint \(step 5\); call rewindRun/,
    );
    expect(store.listCheckpoints(id).map((c) => c.id)).toEqual([again.id]);
  });

  it('rejects bad input and unknown runs without writing', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    expect(() => store.saveCheckpoint(id, { step: 1, model: [1, 2] as never })).toThrow(
      new StoreInputError('checkpoint.model', 'must be a Uint8Array of bytes; got object'),
    );
    expect(() => store.saveCheckpoint(id, { step: 1, model: bytes(1), meta: { loss: NaN } })).toThrow(/checkpoint.meta.loss/);
    expect(() => store.saveCheckpoint('GONE', { step: 1, model: bytes(1) })).toThrow(/run "GONE" not found/);
    expect(store.listCheckpoints(id)).toEqual([]);
    expect(store.getRun(id).step).toBe(0);
  });

  it('rewindRun drops everything after the step, ready for a resume', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    store.appendMetrics(
      id,
      Array.from({ length: 30 }, (_, i) => ({ step: i + 1, name: 'loss', value: 1 })),
    );
    for (const step of [10, 20, 30]) {
      store.saveCheckpoint(id, { step, model: bytes(4) });
      store.addSample(id, { step, kind: 'points', data: [[step, 0]] });
    }
    expect(store.rewindRun(id, 20)).toEqual({ metrics: 10, samples: 1, checkpoints: 1 });
    expect(store.getRun(id).step).toBe(20);
    expect(store.latestCheckpoint(id)?.step).toBe(20);
    expect(store.getMetrics(id, ['loss'])[0]?.steps.at(-1)).toBe(20);
    expect(store.listSamples(id).map((s) => s.step)).toEqual([10, 20]);
  });
});
