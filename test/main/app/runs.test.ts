// The rules of which run may do what (main/app/runs.ts checkRunAction), case by case against the
// table in its file comment; the service and CLI tests drive the same rules through real processes.
import { describe, expect, it } from 'vitest';
import { checkRunAction, RunActionError, type RunAction } from '../../../main/app/runs';
import { OwnershipError, RUN_STATUSES, type RunRecord, type RunStatus } from '../../../main/store';

const record = (status: RunStatus, owner: RunRecord['owner'] = null): RunRecord => ({
  id: 'R1',
  name: 'r',
  config: {},
  status,
  backend: 'wasm',
  backendVersion: null,
  seed: 0,
  createdAt: 0,
  startedAt: null,
  finishedAt: null,
  updatedAt: 0,
  parentRunId: null,
  step: 10,
  error: null,
  summary: null,
  ownerHost: owner?.host ?? null,
  ownerPid: owner?.pid ?? null,
  owner,
  interrupted: status === 'running' && !owner?.alive,
});

const idle = { queued: false, training: false };
const training = { queued: false, training: true };
const queued = { queued: true, training: false };
const outcome = (status: RunStatus, action: RunAction, here = idle): string => {
  try {
    return checkRunAction(record(status), action, here);
  } catch (e) {
    if (e instanceof RunActionError) return 'refused';
    throw e;
  }
};

describe('checkRunAction', () => {
  it('start: every status but the final ones, when not already training or queued here', () => {
    for (const s of RUN_STATUSES) expect(outcome(s, 'start'), s).toBe(s === 'completed' || s === 'diverged' ? 'refused' : 'worker');
    expect(outcome('paused', 'start', training)).toBe('refused');
    expect(outcome('queued', 'start', queued)).toBe('refused');
  });

  it('pause only what trains here; resume a paused worker, or continue like start', () => {
    expect(outcome('running', 'pause', training)).toBe('worker');
    for (const s of RUN_STATUSES) expect(outcome(s, 'pause'), s).toBe('refused');
    expect(outcome('paused', 'resume', training)).toBe('worker');
    expect(outcome('paused', 'resume')).toBe('worker'); // a new worker from the checkpoint
    expect(outcome('completed', 'resume')).toBe('refused');
  });

  it('cancel: through the worker or queue here; otherwise queued, paused or interrupted runs in the store', () => {
    expect(outcome('running', 'cancel', training)).toBe('worker');
    expect(outcome('queued', 'cancel', queued)).toBe('worker');
    for (const s of RUN_STATUSES)
      expect(outcome(s, 'cancel'), s).toBe(s === 'paused' || s === 'queued' || s === 'running' ? 'store' : 'refused');
  });

  it('rename always; delete unless it trains or waits here', () => {
    for (const s of RUN_STATUSES) {
      expect(outcome(s, 'rename', training), s).toBe('store');
      expect(outcome(s, 'delete'), s).toBe('store');
      expect(outcome(s, 'delete', training), s).toBe('refused');
      expect(outcome(s, 'delete', queued), s).toBe('refused');
    }
  });

  it("any action on another live process's run names that process; a dead owner's run is anyone's", () => {
    const other = { host: 'box', pid: 7, heartbeatAt: 1, alive: true, self: false, gone: null };
    for (const a of ['start', 'pause', 'resume', 'cancel', 'rename', 'delete'] as const) {
      expect(() => checkRunAction(record('running', other), a, idle), a).toThrow(OwnershipError);
      expect(() => checkRunAction(record('running', other), a, idle), a).toThrow(/being trained by process 7 on box/);
    }
    const dead = { ...other, alive: false, gone: 'process 7 on box is gone' };
    expect(checkRunAction(record('running', dead), 'start', idle)).toBe('worker');
    expect(checkRunAction(record('running', dead), 'cancel', idle)).toBe('store');
  });
});
