// One trainer per run: a run another live process holds is refused (their checkpoints and metrics
// would interleave); once that process is gone, the run resumes as after a crash. The worker writes
// as the supervising process, whose lease it shares (main/store/owner.ts).
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { OwnershipError } from '../../../main/store';
import { Harness, tinyMoons } from './helpers';

let h: Harness | null = null;
afterEach(async () => {
  await h?.dispose();
  h = null;
});

describe('run ownership', () => {
  it('refuses a run owned by a live process and resumes it after that process dies', async () => {
    h = new Harness();
    const id = h.run(tinyMoons({ train: { steps: 60, checkpointEvery: 20 } }));
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      h.store.setStatus(id, 'running', { owner: { host: hostname(), pid: other.pid! } });
      expect(() => h!.sup.start(id)).toThrow(OwnershipError);
      expect(() => h!.sup.start(id)).toThrow(new RegExp(`being trained by process ${other.pid}`));
      const run = h.store.getRun(id);
      expect(run).toMatchObject({ status: 'running', owner: { pid: other.pid, alive: true } }); // untouched: still the other process's run
      expect(h.store.listCheckpoints(id)).toEqual([]);
      expect(h.sup.status()).toEqual({ running: [], queued: [] });
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    expect(h.store.getRun(id).interrupted).toBe(true);
    const r = await h.sup.start(id);
    expect(r).toMatchObject({ status: 'completed', step: 60 });
    expect(h.store.getRun(id)).toMatchObject({ status: 'completed', owner: null });
  });

  it('holds the lease while queued, training and paused in its worker, refreshes it, and gives it up when the worker ends', async () => {
    h = new Harness();
    const id = h.run(tinyMoons({ train: { steps: 100_000, checkpointEvery: 50_000 } }));
    const done = h.sup.start(id);
    expect(h.store.getRun(id).owner).toMatchObject({ pid: process.pid, self: true, alive: true });
    await h.waitFor((e) => e.runId === id && e.type === 'progress');
    h.sup.pause(id);
    await h.waitFor((e) => e.runId === id && e.type === 'paused');
    const paused = h.store.getRun(id);
    expect(paused).toMatchObject({ status: 'paused', interrupted: false, owner: { pid: process.pid, self: true } });
    // The paused worker checkpointed: its heartbeat was refreshed after the claim.
    expect(paused.owner!.heartbeatAt).toBeGreaterThanOrEqual(paused.startedAt!);
    h.sup.cancel(id);
    expect((await done).status).toBe('cancelled');
    expect(h.store.getRun(id)).toMatchObject({ status: 'cancelled', owner: null });
  });
});
