// One trainer per run: a run another live process is training is refused (their checkpoints and
// metrics would interleave); once that process is gone, the run resumes as after a crash.
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
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
      const refused = await h.sup.start(id);
      expect(refused.status).toBe('failed');
      expect(refused.error).toMatch(new RegExp(`being trained by process ${other.pid}`));
      const run = h.store.getRun(id);
      expect(run.status).toBe('running'); // untouched: still the other process's run
      expect(h.store.listCheckpoints(id)).toEqual([]);
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    const r = await h.sup.start(id);
    expect(r).toMatchObject({ status: 'completed', step: 60 });
  });
});
