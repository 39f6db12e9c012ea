import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NotFoundError, StoreInputError, type RunExport } from '../../../main/store';
import { bytes, newRun, openTemp } from './helpers';

describe('samples', () => {
  it('stores bytes and JSON, lists without data, returns data by id', () => {
    const { store } = openTemp({ now: () => 7 });
    const { id } = store.createRun(newRun());
    const points = new Float32Array([0.5, -1, 2, 3]);
    const a = store.addSample(id, { step: 100, kind: 'points', data: new Uint8Array(points.buffer), meta: { shape: [2, 2] } });
    const b = store.addSample(id, {
      step: 100,
      kind: 'trajectory',
      data: {
        t: [0, 1],
        x: [
          [0, 0],
          [1, 1],
        ],
      },
    });
    const c = store.addSample(id, { step: 50, kind: 'image-grid', data: bytes(64) });
    expect(a).toEqual({
      id: a.id,
      runId: id,
      step: 100,
      kind: 'points',
      encoding: 'bytes',
      bytes: 16,
      meta: { shape: [2, 2] },
      createdAt: 7,
    });
    expect(b).toMatchObject({
      encoding: 'json',
      bytes: JSON.stringify({
        t: [0, 1],
        x: [
          [0, 0],
          [1, 1],
        ],
      }).length,
    });
    expect(store.listSamples(id).map((s) => s.id)).toEqual([c.id, a.id, b.id]);
    expect(store.listSamples(id, { kind: 'trajectory' }).map((s) => s.id)).toEqual([b.id]);
    expect('data' in store.listSamples(id)[0]!).toBe(false);

    const back = store.getSample(a.id).data as Uint8Array;
    expect(Array.from(new Float32Array(back.buffer, back.byteOffset, back.byteLength / 4))).toEqual([0.5, -1, 2, 3]);
    expect(store.getSample(b.id).data).toEqual({
      t: [0, 1],
      x: [
        [0, 0],
        [1, 1],
      ],
    });
    expect(() => store.getSample(9999)).toThrow(new NotFoundError('sample', 9999));
  });

  it('rejects an unknown kind and non-JSON data', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    expect(() => store.addSample(id, { step: 1, kind: 'video' as never, data: [] })).toThrow(
      /sample.kind: must be one of points, image-grid, trajectory/,
    );
    expect(() => store.addSample(id, { step: 1, kind: 'points', data: [[NaN, 1]] })).toThrow(
      new StoreInputError('sample.data[0][0]', 'must be a finite number (JSON has no NaN or Infinity); got NaN'),
    );
    expect(store.listSamples(id)).toEqual([]);
  });
});

describe('artifacts', () => {
  it('stores named blobs with a MIME type and returns them byte for byte', () => {
    const { store } = openTemp({ now: () => 9 });
    const { id } = store.createRun(newRun());
    const png = store.addArtifact(id, { name: 'samples.png', mime: 'image/png', data: bytes(2048), meta: { width: 32 } });
    const csv = store.addArtifact(id, { name: 'loss.csv', mime: 'text/csv', data: new TextEncoder().encode('step,loss\n1,0.5\n') });
    expect(png).toEqual({ id: png.id, runId: id, name: 'samples.png', mime: 'image/png', bytes: 2048, meta: { width: 32 }, createdAt: 9 });
    expect(store.listArtifacts(id).map((a) => a.name)).toEqual(['samples.png', 'loss.csv']);
    expect(new TextDecoder().decode(store.getArtifact(csv.id).data)).toBe('step,loss\n1,0.5\n');
    expect(Buffer.from(store.getArtifact(png.id).data).equals(Buffer.from(bytes(2048)))).toBe(true);
    expect(() => store.getArtifact(12345)).toThrow(/artifact 12345 not found/);
    expect(() => store.addArtifact(id, { name: 'x', mime: '', data: bytes(1) })).toThrow(/artifact.mime/);
  });
});

describe('exportRun', () => {
  it('gives run, metrics and blob-free checkpoint/sample/artifact metadata that survive JSON', () => {
    const { store } = openTemp({ now: () => 1 });
    const { id } = store.createRun(newRun());
    store.appendMetrics(id, [
      { step: 1, name: 'loss', value: 0.5 },
      { step: 2, name: 'loss', value: NaN },
    ]);
    store.saveCheckpoint(id, { step: 2, model: bytes(100_000), meta: { note: 'x' } });
    store.addSample(id, { step: 2, kind: 'points', data: bytes(1000) });
    store.addArtifact(id, { name: 'model.bin', mime: 'application/octet-stream', data: bytes(50_000) });

    const exported = store.exportRun(id);
    const json = JSON.stringify(exported);
    expect(json.length).toBeLessThan(5000); // no blob bytes
    const parsed = JSON.parse(json) as RunExport;
    expect(parsed.format).toBe('flow-studio-run');
    expect(parsed.run).toEqual(store.getRun(id));
    expect(parsed.metrics).toEqual([{ name: 'loss', steps: [1, 2], values: [0.5, null], wallTimes: [1, 1] }]);
    expect(parsed.checkpoints).toEqual([expect.objectContaining({ step: 2, modelBytes: 100_000, meta: { note: 'x' } })]);
    expect(parsed.samples).toHaveLength(1);
    expect(parsed.artifacts).toEqual([expect.objectContaining({ name: 'model.bin', bytes: 50_000 })]);
  });
});

describe('integrityCheck and compact', () => {
  it('reports ok on a sound file, and compact returns the space of deleted blobs', () => {
    const { store, path } = openTemp();
    const { id } = store.createRun(newRun());
    for (let step = 1; step <= 3; step++) store.saveCheckpoint(id, { step, model: bytes(1_000_000, step) });
    expect(store.integrityCheck()).toEqual({ ok: true, integrity: ['ok'], foreignKeyProblems: [] });
    store.compact();
    const full = statSync(path).size;
    expect(full).toBeGreaterThan(3_000_000);
    store.deleteRun(id);
    expect(statSync(path).size).toBe(full); // freed pages are kept for reuse ...
    store.compact();
    expect(statSync(path).size).toBeLessThan(200_000); // ... until compact gives them back
    expect(store.integrityCheck().ok).toBe(true);
  });
});
