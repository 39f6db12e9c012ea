import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  canTransition,
  NotFoundError,
  RUN_STATUSES,
  RunStore,
  runIdTime,
  StoreInputError,
  summariseConfig,
  TRANSITIONS,
  TransitionError,
  newRunId,
} from '../../../main/store';
import { bytes, newRun, openAt, openTemp } from './helpers';

/** A clock the test advances by hand. */
function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, tick: (ms = 1000) => (t += ms) };
}

describe('run ids', () => {
  it('are 16 Crockford base32 characters that sort by creation time', () => {
    const ids = Array.from({ length: 500 }, (_, i) => newRunId(1_700_000_000_000 + Math.floor(i / 50)));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids); // same-millisecond ids increase too
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{16}$/);
    expect(runIdTime(ids[0]!)).toBe(1_700_000_000_000);
    expect(runIdTime('not an id')).toBeNaN();
  });
});

describe('createRun / getRun / renameRun', () => {
  it('creates a queued run and reads it back field for field', () => {
    const clock = fakeClock();
    const { store } = openTemp({ now: clock.now });
    const run = store.createRun(newRun('  moons  '));
    expect(run).toEqual({
      id: expect.stringMatching(/^[0-9A-Z]{16}$/),
      name: 'moons',
      config: { dataset: { name: 'moons', n: 2000 }, path: { kind: 'affine', scheduler: { kind: 'condot' } }, lr: 1e-3 },
      status: 'queued',
      backend: 'wasm',
      backendVersion: '4.22.0',
      seed: 42,
      createdAt: clock.now(),
      startedAt: null,
      finishedAt: null,
      updatedAt: clock.now(),
      parentRunId: null,
      step: 0,
      error: null,
      summary: null,
      ownerHost: null,
      ownerPid: null,
      owner: null,
      interrupted: false,
    });
    expect(store.getRun(run.id)).toEqual(run);
  });

  it('links a reflow child to its parent, and refuses an unknown parent', () => {
    const { store } = openTemp();
    const parent = store.createRun(newRun('teacher'));
    expect(store.createRun(newRun('student', { parentRunId: parent.id })).parentRunId).toBe(parent.id);
    expect(() => store.createRun(newRun('orphan', { parentRunId: 'NOPE' }))).toThrow(new NotFoundError('run', 'NOPE', 'parentRunId'));
    expect(store.listRuns().map((r) => r.name)).toEqual(['student', 'teacher']);
  });

  it('validates input, names the field, and writes nothing', () => {
    const { store } = openTemp();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ name: '  ' }, 'name', /non-empty string/],
      [{ name: 'x'.repeat(201) }, 'name', /at most 200/],
      [{ backend: '' }, 'backend', /non-empty/],
      [{ config: [1, 2] }, 'config', /plain object; got an array/],
      [{ config: { lr: NaN } }, 'config.lr', /finite number/],
      [{ config: { sched: { betas: [0.1, Infinity] } } }, 'config.sched.betas[1]', /finite number/],
      [{ config: { when: new Date(0) } }, 'config.when', /plain object, array or primitive; got a Date/],
      [{ config: { w: new Float32Array(2) } }, 'config.w', /got a Float32Array/],
      [{ seed: 1.5 }, 'seed', /integer or null/],
    ];
    for (const [patch, field, message] of cases) {
      let error: unknown;
      try {
        store.createRun(newRun('x', patch));
      } catch (err) {
        error = err;
      }
      expect(error, field).toBeInstanceOf(StoreInputError);
      expect((error as StoreInputError).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => store.createRun(newRun('x', { config: cyclic }))).toThrow(/config.self: refers back to itself/);
    expect(store.listRuns()).toEqual([]);
  });

  it('unknown ids raise NotFoundError naming the id', () => {
    const { store } = openTemp();
    const err = (() => {
      try {
        store.getRun('01ABSENT');
      } catch (e) {
        return e as NotFoundError;
      }
    })();
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err?.kind).toBe('run');
    expect(err?.id).toBe('01ABSENT');
    expect(err?.message).toBe('run "01ABSENT" not found');
    for (const call of [
      () => store.renameRun('01ABSENT', 'x'),
      () => store.deleteRun('01ABSENT'),
      () => store.setStatus('01ABSENT', 'running'),
      () => store.appendMetrics('01ABSENT', []),
      () => store.getMetrics('01ABSENT'),
      () => store.latestCheckpoint('01ABSENT'),
      () => store.listSamples('01ABSENT'),
      () => store.exportRun('01ABSENT'),
    ]) {
      expect(call).toThrow(/run "01ABSENT" not found/);
    }
  });

  it('renames, trimming and validating the name', () => {
    const clock = fakeClock();
    const { store } = openTemp({ now: clock.now });
    const run = store.createRun(newRun());
    clock.tick();
    expect(store.renameRun(run.id, ' better name ')).toMatchObject({ name: 'better name', updatedAt: clock.now() });
    expect(() => store.renameRun(run.id, '')).toThrow(StoreInputError);
    expect(store.getRun(run.id).name).toBe('better name');
  });
});

describe('setStatus', () => {
  it('walks the lifecycle with its timestamps, owner, error and summary', () => {
    const clock = fakeClock();
    const { store } = openTemp({ now: clock.now });
    const { id } = store.createRun(newRun());
    const t0 = clock.tick();
    // Another process's lease (test/main/store/recovery.test.ts has the ownership rules), then ours.
    expect(store.setStatus(id, 'running', { owner: { host: 'box', pid: 77 } })).toMatchObject({
      status: 'running',
      startedAt: t0,
      finishedAt: null,
      ownerHost: 'box',
      ownerPid: 77,
      owner: { host: 'box', pid: 77, heartbeatAt: t0, alive: true, self: false },
    });
    expect(() => store.setStatus(id, 'paused')).toThrow(/being trained by process 77 on box/);
    store.markInterruptedRuns({ to: 'paused' }); // not yet: box's heartbeat is fresh
    expect(store.getRun(id).status).toBe('running');
    clock.tick(61_000); // box has not reported for over a minute: gone
    expect(store.getRun(id)).toMatchObject({ interrupted: true, owner: { alive: false } });
    expect(store.claimRun(id).owner).toMatchObject({ self: true, pid: process.pid });
    clock.tick();
    // Paused in its worker, the run stays ours (no other process may resume it meanwhile).
    expect(store.setStatus(id, 'paused')).toMatchObject({ status: 'paused', ownerPid: process.pid, finishedAt: null });
    clock.tick();
    expect(store.setStatus(id, 'running').startedAt).toBe(t0); // a resume keeps the first start
    const t3 = clock.tick();
    const done = store.setStatus(id, 'completed', { summary: { loss: 0.01, nfe: 12 } });
    expect(done).toMatchObject({
      status: 'completed',
      finishedAt: t3,
      summary: { loss: 0.01, nfe: 12 },
      error: null,
      owner: null,
      ownerPid: null,
    });
  });

  it('keeps the error on failure and clears it on retry', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    store.setStatus(id, 'running');
    expect(store.setStatus(id, 'failed', { error: 'out of memory' })).toMatchObject({ error: 'out of memory' });
    expect(store.getRun(id).finishedAt).not.toBeNull();
    expect(store.setStatus(id, 'queued')).toMatchObject({ status: 'queued', error: null, finishedAt: null });
  });

  it('refuses transitions the lifecycle forbids, naming both states, and changes nothing', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    const before = store.getRun(id);
    expect(() => store.setStatus(id, 'completed')).toThrow(new TransitionError(id, 'queued', 'completed', TRANSITIONS.queued));
    expect(() => store.setStatus(id, 'completed')).toThrow(
      `run ${id}: cannot change status from 'queued' to 'completed' (allowed from 'queued': running, cancelled, failed)`,
    );
    expect(store.getRun(id)).toEqual(before);
    store.setStatus(id, 'running');
    store.setStatus(id, 'diverged', { error: 'loss is NaN at step 812' });
    expect(() => store.setStatus(id, 'running')).toThrow(/from 'diverged' to 'running' \('diverged' is final\)/);
    expect(() => store.setStatus(id, 'bogus' as never)).toThrow(StoreInputError);
  });

  it('every allowed transition works through the store and every other one throws', () => {
    const { store } = openTemp();
    // Reach each status from 'queued' along allowed edges, then try every target.
    const pathTo: Record<string, string[]> = {
      queued: [],
      running: ['running'],
      paused: ['running', 'paused'],
      completed: ['running', 'completed'],
      cancelled: ['cancelled'],
      failed: ['failed'],
      diverged: ['running', 'diverged'],
    };
    for (const from of RUN_STATUSES) {
      for (const to of RUN_STATUSES) {
        const { id } = store.createRun(newRun(`${from}->${to}`));
        for (const s of pathTo[from]!) store.setStatus(id, s as never);
        if (canTransition(from, to)) expect(store.setStatus(id, to).status).toBe(to);
        else expect(() => store.setStatus(id, to)).toThrow(TransitionError);
      }
    }
  });
});

describe('listRuns', () => {
  it('summarises each run: dataset and path from the config, steps, latest loss, backend, created', () => {
    const clock = fakeClock();
    const { store } = openTemp({ now: clock.now });
    const a = store.createRun(newRun('a'));
    clock.tick();
    const b = store.createRun({ name: 'b', config: { dataset: 'mnist', scheduler: { kind: 'cosine' } }, backend: 'tensorflow' });
    clock.tick();
    store.createRun({ name: 'c', config: {}, backend: 'cpu' });
    store.appendMetrics(a.id, [
      { step: 1, name: 'loss', value: 3 },
      { step: 3, name: 'loss', value: 1 }, // latest, though written before step 2
      { step: 2, name: 'loss', value: 0.5 },
      { step: 9, name: 'grad_norm', value: 4 },
    ]);
    store.appendMetrics(b.id, [
      { step: 1, name: 'loss', value: 2 },
      { step: 2, name: 'loss', value: NaN },
    ]);
    store.setStatus(b.id, 'running');

    const rows = store.listRuns();
    expect(rows.map((r) => r.name)).toEqual(['c', 'b', 'a']);
    const [rc, rb, ra] = rows;
    expect(ra).toEqual({
      id: a.id,
      name: 'a',
      dataset: 'moons',
      path: 'affine/condot',
      status: 'queued',
      step: 9,
      finalLoss: 1,
      backend: 'wasm',
      createdAt: a.createdAt,
      updatedAt: expect.any(Number),
      parentRunId: null,
      owner: null,
      interrupted: false,
    });
    expect(rb).toMatchObject({
      dataset: 'mnist',
      path: 'cosine',
      status: 'running',
      step: 2,
      backend: 'tensorflow',
      interrupted: false,
      owner: { self: true },
    });
    expect(rb!.finalLoss).toBeNaN(); // a diverged loss is shown as NaN, not hidden
    expect(rc).toMatchObject({ dataset: null, path: null, finalLoss: null, step: 0 });

    expect(store.listRuns({ status: 'running' }).map((r) => r.name)).toEqual(['b']);
    expect(store.listRuns({ status: ['queued', 'running'], order: 'oldest', limit: 2 }).map((r) => r.name)).toEqual(['a', 'b']);
    expect(store.listRuns({ lossMetric: 'grad_norm' }).map((r) => r.finalLoss)).toEqual([null, null, 4]);
    expect(() => store.listRuns({ status: 'done' as never })).toThrow(/status\[0\]: must be one of/);
  });

  it('summariseConfig reads the common shapes and never throws', () => {
    expect(summariseConfig({ dataset: 'moons', path: 'condot' })).toEqual({ dataset: 'moons', path: 'condot' });
    expect(summariseConfig({ data: { kind: '8gaussians' }, path: { kind: 'vp' } })).toEqual({ dataset: '8gaussians', path: 'vp' });
    expect(summariseConfig({ dataset: { id: 'cifar10' }, path: { scheduler: 'cosine' } })).toEqual({ dataset: 'cifar10', path: 'cosine' });
    expect(summariseConfig({ dataset: 3, path: [1] })).toEqual({ dataset: null, path: null });
    expect(summariseConfig(null)).toEqual({ dataset: null, path: null });
  });
});

describe('deleteRun', () => {
  it('cascades to metrics, checkpoints, samples and artifacts, and unlinks reflow children', () => {
    const { store, path } = openTemp();
    const doomed = store.createRun(newRun('doomed'));
    const other = store.createRun(newRun('other'));
    const child = store.createRun(newRun('child', { parentRunId: doomed.id }));
    for (const run of [doomed, other]) {
      store.appendMetrics(run.id, [{ step: 1, name: 'loss', value: 1 }]);
      store.saveCheckpoint(run.id, { step: 1, model: bytes(100) });
      store.addSample(run.id, { step: 1, kind: 'points', data: [[0, 1]] });
      store.addArtifact(run.id, { name: 'grid.png', mime: 'image/png', data: bytes(10) });
    }
    store.deleteRun(doomed.id);

    expect(() => store.getRun(doomed.id)).toThrow(NotFoundError);
    expect(store.getRun(child.id).parentRunId).toBeNull();
    // Count rows with a separate connection: nothing of the deleted run is left anywhere.
    const peek = openAt(path);
    const db = (peek as unknown as { db: Database.Database }).db;
    for (const table of ['metrics', 'checkpoints', 'samples', 'artifacts']) {
      const count = (id: string) => db.prepare<unknown[], number>(`SELECT count(*) FROM ${table} WHERE run_id = ?`).pluck().get(id);
      expect(count(doomed.id), table).toBe(0);
      expect(count(other.id), table).toBe(1);
    }
    expect(store.integrityCheck().ok).toBe(true);
  });
});

describe('connections', () => {
  it('a second connection (another thread or process) sees committed writes at once', () => {
    const { store, path } = openTemp();
    const reader = openAt(path);
    const run = store.createRun(newRun());
    store.appendMetrics(run.id, [{ step: 5, name: 'loss', value: 0.25 }]);
    expect(reader.getRun(run.id).step).toBe(5);
    expect(reader.getMetrics(run.id, ['loss'])[0]?.values).toEqual([0.25]);
  });

  it('close is idempotent and open rejects a bad option', () => {
    const { store } = openTemp();
    store.close();
    store.close();
    expect(() => RunStore.open(':memory:', { keepCheckpoints: 0 })).toThrow(/keepCheckpoints: must be an integer >= 1/);
  });
});
