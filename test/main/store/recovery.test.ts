// Run ownership in the store (main/store/owner.ts): who holds a run, whether that owner is gone,
// and what a dead owner's runs become. Liveness rules are checked against an injected process table
// here; test/main/training/ownership.test.ts and test/main/cli/ownership.test.ts use real processes.
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { OwnershipError, thisProcess, type OwnerIdentity, type OwnerProbe } from '../../../main/store';
import { leaseLiveness, processStartTicks } from '../../../main/store/owner';
import { bytes, newRun, openAt, openTemp } from './helpers';

const host = hostname();

/** A probe where `alive` pids exist with the given start times; `self` is this process. */
function fakeProbe(alive: Record<number, number | null>, now = 1_000_000): OwnerProbe {
  return {
    self: thisProcess(),
    isAlive: (pid) => pid in alive || pid === process.pid,
    startedOf: (pid) => (pid === process.pid ? thisProcess().started : (alive[pid] ?? null)),
    now: () => now,
    staleAfterMs: 60_000,
  };
}

const other = (o: Partial<OwnerIdentity>): OwnerIdentity => ({ host, boot: thisProcess().boot, pid: 4242, started: 77, nonce: 'x', ...o });

describe('lease liveness rules', () => {
  const probe = fakeProbe({ 4242: 77 });
  it('this process (any thread) is alive and itself', () => {
    expect(leaseLiveness({ owner: thisProcess(), heartbeatAt: 0 }, probe)).toEqual({ alive: true, self: true });
  });
  it('a live pid on this host with the recorded start time is alive, however old its heartbeat', () => {
    expect(leaseLiveness({ owner: other({}), heartbeatAt: -1e9 }, probe)).toEqual({ alive: true, self: false });
  });
  it('a dead pid, a reused pid, another boot, or our own pid under another nonce are gone', () => {
    expect(leaseLiveness({ owner: other({ pid: 5555 }), heartbeatAt: 999_999 }, probe)).toMatchObject({
      alive: false,
      why: expect.stringMatching(/process 5555 .* is gone/),
    });
    expect(leaseLiveness({ owner: other({ started: 78 }), heartbeatAt: 999_999 }, probe)).toMatchObject({
      alive: false,
      why: expect.stringMatching(/pid now belongs to another process/),
    });
    if (thisProcess().boot !== null) {
      expect(leaseLiveness({ owner: other({ boot: 'another-boot' }), heartbeatAt: 999_999 }, probe)).toMatchObject({
        alive: false,
        why: expect.stringMatching(/restarted/),
      });
    }
    expect(leaseLiveness({ owner: { ...thisProcess(), nonce: 'earlier' }, heartbeatAt: 999_999 }, probe)).toMatchObject({ alive: false });
  });
  it('another host, or no start time to compare, is judged by its heartbeat', () => {
    const remote = other({ host: 'elsewhere', boot: 'b' });
    expect(leaseLiveness({ owner: remote, heartbeatAt: 1_000_000 - 59_000 }, probe).alive).toBe(true);
    expect(leaseLiveness({ owner: remote, heartbeatAt: 1_000_000 - 61_000 }, probe)).toMatchObject({
      alive: false,
      why: expect.stringMatching(/has not reported for 61 s/),
    });
    const unknownStart = other({ started: null });
    expect(leaseLiveness({ owner: unknownStart, heartbeatAt: 1_000_000 - 1000 }, probe).alive).toBe(true);
    expect(leaseLiveness({ owner: unknownStart, heartbeatAt: 1_000_000 - 61_000 }, probe).alive).toBe(false);
  });
  it('reads the real start time of a process from /proc (Linux)', () => {
    if (process.platform !== 'linux') return console.info('skipped: /proc is Linux only');
    expect(processStartTicks(process.pid)).toBe(thisProcess().started);
    expect(processStartTicks(2 ** 22 + 12345)).toBeNull();
  });
});

describe('leases in the store', () => {
  it('claim, heartbeat and release; a finished status drops the lease, a pause keeps it', () => {
    let now = 1_000_000;
    const { store } = openTemp({ now: () => now });
    const { id } = store.createRun(newRun());
    expect(store.getRun(id)).toMatchObject({ owner: null, interrupted: false });
    store.claimRun(id);
    expect(store.getRun(id).owner).toEqual({ host, pid: process.pid, heartbeatAt: now, alive: true, self: true, gone: null });
    now += 5000;
    expect(store.heartbeat([id, 'missing'])).toEqual(['missing']);
    expect(store.getRun(id).owner?.heartbeatAt).toBe(now);
    store.setStatus(id, 'running');
    store.setStatus(id, 'paused');
    expect(store.getRun(id).owner?.self).toBe(true); // paused in its worker: still ours
    store.setStatus(id, 'running');
    store.setStatus(id, 'completed');
    expect(store.getRun(id).owner).toBeNull();
    const second = store.createRun(newRun('b')).id;
    store.claimRun(second);
    store.releaseRun(second);
    expect(store.getRun(second).owner).toBeNull();
    expect(store.heartbeat([second])).toEqual([second]); // released: no longer ours
  });

  it("refuses every write of a run held by another live process, from this process's connection", async () => {
    const path = openTemp().path;
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const store = openAt(path);
      const { id } = store.createRun(newRun());
      store.setStatus(id, 'running', { owner: { host, pid: holder.pid! } });
      expect(store.getRun(id)).toMatchObject({
        status: 'running',
        interrupted: false,
        owner: { pid: holder.pid, alive: true, self: false },
      });
      const refused: [string, () => unknown][] = [
        ['rename', () => store.renameRun(id, 'x')],
        ['delete', () => store.deleteRun(id)],
        ['claim', () => store.claimRun(id)],
        ['status', () => store.setStatus(id, 'cancelled')],
        ['metrics', () => store.appendMetrics(id, [{ step: 1, name: 'loss', value: 1 }])],
        ['checkpoint', () => store.saveCheckpoint(id, { step: 1, model: bytes(4) })],
        ['sample', () => store.addSample(id, { step: 1, kind: 'points', data: [[0, 0]] })],
        ['rewind', () => store.rewindRun(id, 0)],
      ];
      for (const [what, fn] of refused) {
        expect(fn, what).toThrow(OwnershipError);
        expect(fn, what).toThrow(new RegExp(`run ${id} is being trained by process ${holder.pid} on ${host}`));
      }
      expect(store.getRun(id)).toMatchObject({ name: 'moons-condot', status: 'running', step: 0 });
      expect(store.markInterruptedRuns()).toEqual({ paused: [], failed: [], cancelled: [], skipped: [id] });
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
    // The holder is gone: the run reads as interrupted at once, and any process may take it over.
    const store = openAt(path);
    const id = store.listRuns()[0]!.id;
    expect(store.listRuns()[0]).toMatchObject({
      status: 'running',
      interrupted: true,
      owner: { alive: false, gone: expect.stringMatching(/is gone/) },
    });
    expect(store.claimRun(id).owner).toMatchObject({ self: true });
  });
});

describe('markInterruptedRuns', () => {
  it('settles the runs of dead owners and leaves live ones, this process included', () => {
    const probe = fakeProbe({ 113: 5 });
    const { path } = openTemp();
    const store = openAt(path, { ownerProbe: probe, now: probe.now });
    const make = (name: string, owner: { host: string; pid: number } | 'self', checkpoint: boolean) => {
      const { id } = store.createRun(newRun(name));
      if (checkpoint) store.saveCheckpoint(id, { step: 40, model: bytes(8) });
      store.setStatus(id, 'running', owner === 'self' ? {} : { owner });
      return id;
    };
    const dead = make('dead owner, checkpoint', { host, pid: 111 }, true);
    const deadNoCkpt = make('dead owner, no checkpoint', { host, pid: 112 }, false);
    const live = make('live owner', { host, pid: 113 }, true);
    const mine = make('this process (the web host training in a worker thread)', 'self', true);
    const queued = store.createRun(newRun('created, never started')).id;
    const ghost = store.createRun(newRun('queued by a process that died')).id;
    const remote = make('another host, silent', { host: 'elsewhere', pid: 114 }, true);
    // Leases another process wrote (its pid, our view of its host): written with the raw columns.
    const raw = (store as unknown as { db: { prepare(sql: string): { run(...a: unknown[]): void } } }).db;
    raw
      .prepare(
        `UPDATE runs SET owner_host = ?, owner_pid = 115, owner_boot = NULL, owner_started = NULL, owner_nonce = 'n', heartbeat_at = 0 WHERE id = ?`,
      )
      .run(host, ghost);
    raw.prepare(`UPDATE runs SET heartbeat_at = ? WHERE id = ?`).run(1_000_000 - 120_000, remote);

    expect(
      store
        .listRuns()
        .filter((r) => r.interrupted)
        .map((r) => r.id)
        .sort(),
    ).toEqual([dead, deadNoCkpt, ghost, remote].sort());
    const result = store.markInterruptedRuns();
    expect(result).toEqual({ paused: [dead, remote].sort(), failed: [deadNoCkpt], cancelled: [ghost], skipped: [live, mine].sort() });

    expect(store.getRun(dead)).toMatchObject({
      status: 'paused',
      owner: null,
      finishedAt: null,
      error: `interrupted: process 111 on ${host} is gone while the run was running; resumable from the checkpoint at step 40`,
    });
    expect(store.getRun(deadNoCkpt)).toMatchObject({ status: 'failed', finishedAt: expect.any(Number), owner: null });
    expect(store.getRun(deadNoCkpt).error).toMatch(/before its first checkpoint/);
    expect(store.getRun(ghost)).toMatchObject({ status: 'cancelled', owner: null });
    expect(store.getRun(ghost).error).toMatch(/before this queued run started; start it again/);
    expect(store.getRun(remote).error).toMatch(/process 114 on elsewhere has not reported for 120 s/);
    expect(store.getRun(live)).toMatchObject({ status: 'running', owner: { alive: true, self: false } });
    expect(store.getRun(mine)).toMatchObject({ status: 'running', owner: { alive: true, self: true } });
    expect(store.getRun(queued)).toMatchObject({ status: 'queued', owner: null, interrupted: false });

    // A paused run resumes; the note is cleared.
    expect(store.setStatus(dead, 'running')).toMatchObject({ status: 'running', error: null, owner: { self: true } });
  });

  it('uses the real process table by default', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    store.setStatus(id, 'running', { owner: { host, pid: 2 ** 22 + 12345 } }); // above Linux pid_max default
    store.saveCheckpoint(id, { step: 1, model: bytes(1) }); // allowed: its owner is gone
    const still = store.createRun(newRun('mine')).id;
    store.setStatus(still, 'running', { owner: { host, pid: process.ppid } }); // our parent: alive
    expect(store.markInterruptedRuns()).toEqual({ paused: [id], failed: [], cancelled: [], skipped: [still] });
  });

  it('can force every orphan to failed', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    store.setStatus(id, 'running', { owner: { host, pid: 999_999_999 } });
    store.saveCheckpoint(id, { step: 1, model: bytes(1) });
    expect(store.markInterruptedRuns({ to: 'failed' }).failed).toEqual([id]);
  });
});
