import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { bytes, newRun, openTemp } from './helpers';

describe('markInterruptedRuns', () => {
  it('pauses orphaned runs with a checkpoint, fails those without, and leaves live or remote ones', () => {
    const { store } = openTemp();
    const host = hostname();
    const make = (name: string, owner: { host: string; pid: number }, checkpoint: boolean) => {
      const { id } = store.createRun(newRun(name));
      store.setStatus(id, 'running', { owner });
      if (checkpoint) store.saveCheckpoint(id, { step: 40, model: bytes(8) });
      return id;
    };
    const dead = make('dead owner, checkpoint', { host, pid: 111 }, true);
    const deadNoCkpt = make('dead owner, no checkpoint', { host, pid: 112 }, false);
    const live = make('live owner', { host, pid: 113 }, true);
    const remote = make('other host', { host: 'elsewhere', pid: 114 }, true);
    const reused = make('owned by our own pid', { host, pid: 500 }, true);
    const queued = store.createRun(newRun('queued')).id;

    const result = store.markInterruptedRuns({ pid: 500, isAlive: (pid) => pid === 113 || pid === 500 });
    expect(result).toEqual({ paused: [dead, reused].sort(), failed: [deadNoCkpt], skipped: [live, remote].sort() });

    expect(store.getRun(dead)).toMatchObject({
      status: 'paused',
      ownerPid: null,
      finishedAt: null,
      error: `interrupted: process 111 on ${host} stopped while the run was running; resumable from the checkpoint at step 40`,
    });
    expect(store.getRun(deadNoCkpt)).toMatchObject({ status: 'failed', finishedAt: expect.any(Number) });
    expect(store.getRun(deadNoCkpt).error).toMatch(/before its first checkpoint/);
    expect(store.getRun(live).status).toBe('running');
    expect(store.getRun(remote).status).toBe('running');
    expect(store.getRun(queued).status).toBe('queued');

    // A paused run resumes; the note is cleared.
    expect(store.setStatus(dead, 'running')).toMatchObject({ status: 'running', error: null });
  });

  it("uses the real process table by default: a pid that does not exist is not alive", () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    store.setStatus(id, 'running', { owner: { host: hostname(), pid: 2 ** 22 + 12345 } }); // above Linux pid_max default
    store.saveCheckpoint(id, { step: 1, model: bytes(1) });
    const still = store.createRun(newRun('mine')).id;
    store.setStatus(still, 'running', { owner: { host: hostname(), pid: process.ppid } }); // our parent: alive
    expect(store.markInterruptedRuns()).toEqual({ paused: [id], failed: [], skipped: [still] });
  });

  it('can force every orphan to failed', () => {
    const { store } = openTemp();
    const { id } = store.createRun(newRun());
    store.setStatus(id, 'running', { owner: { host: hostname(), pid: 999_999_999 } });
    store.saveCheckpoint(id, { step: 1, model: bytes(1) });
    expect(store.markInterruptedRuns({ to: 'failed' }).failed).toEqual([id]);
  });
});
