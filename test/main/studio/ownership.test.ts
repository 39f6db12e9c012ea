// Run ownership across the app and the CLI (main/store/owner.ts), with real processes on one store:
// - the host's own training is never mistaken for a crashed run (a startRun of anything, even an
//   unknown id, used to mark it interrupted, and the run then ended 'failed' although every step ran);
// - a run a CLI process trains cannot be deleted, renamed, started or cancelled from the host, nor
//   resumed, renamed or deleted by a second CLI; once that process is killed the run shows as
//   interrupted at once and resumes from its checkpoint.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StudioService } from '../../../main/studio/service';
import { cli, collect, freshHome, killGroup, show, startCli, writeJson } from '../cli/helpers';
import { tinyMoons } from '../training/helpers';
import { freshStudio } from './helpers';

let studio: ReturnType<typeof freshStudio> | null = null;
afterEach(async () => {
  await studio?.dispose();
  studio = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ownership in the studio service', () => {
  it("startRun never marks the host's own training interrupted; the run completes", async () => {
    studio = freshStudio();
    const { call, service, nextEvent } = studio;
    const run = await call('createRun', { config: tinyMoons({ train: { steps: 3000, checkpointEvery: 1000 } }) });
    await nextEvent((e) => e.runId === run.id && e.type === 'progress');
    const unknown = await service.call('startRun', { id: 'NOSUCHRUN' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'not-found' } });
    const again = await service.call('startRun', { id: run.id });
    expect(again).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const listed = (await call('listRuns', {})).find((r) => r.id === run.id)!;
    expect(listed).toMatchObject({ status: 'running', interrupted: false, owner: { self: true, alive: true } });
    const finished = await nextEvent((e) => e.runId === run.id && e.type === 'finished');
    expect(finished).toMatchObject({ status: 'completed', step: 3000 });
    expect(await call('getRun', { id: run.id })).toMatchObject({ status: 'completed', error: null, owner: null });
  });
});

describe('ownership between processes', () => {
  it('a CLI trains; the host and a second CLI are refused; after kill -9 the run is interrupted and resumes', async () => {
    const home = freshHome();
    const dbPath = join(home, 'flow-studio.db');
    const config = writeJson(home, 'long.json', tinyMoons({ train: { steps: 200_000, checkpointEvery: 500 } }));
    const child = startCli(['train', '--config', config, '--json'], { home });
    const output = collect(child, 180_000);
    const service = new StudioService({ dbPath, dataDir: home, host: 'web', version: 'test', backend: 'wasm' });
    type Listed = {
      id: string;
      status: string;
      step: number;
      name: string;
      interrupted: boolean;
      owner: { pid: number; self: boolean; alive: boolean } | null;
    };
    const get = async (id: string) => ((await service.call('getRun', { id })) as { ok: true; value: Listed }).value;
    try {
      let runId = '';
      let name = '';
      try {
        // Wait until the CLI's worker trains and has checkpointed.
        for (let i = 0; i < 600 && !runId; i++) {
          const r = service.store.listRuns()[0];
          if (r && r.status === 'running' && service.store.listCheckpoints(r.id).length > 0) runId = r.id;
          else await sleep(100);
        }
        expect(runId, 'the CLI run never reached its first checkpoint').not.toBe('');
        expect(await get(runId)).toMatchObject({
          status: 'running',
          interrupted: false,
          owner: { pid: child.pid, self: false, alive: true },
        });
        name = (await get(runId)).name;
        for (const [method, req] of [
          ['deleteRun', { id: runId }],
          ['renameRun', { id: runId, name: 'stolen' }],
          ['startRun', { id: runId }],
          ['resumeRun', { id: runId }],
          ['cancelRun', { id: runId }],
        ] as const) {
          const r = await service.call(method, req);
          expect(r, method).toMatchObject({
            ok: false,
            error: {
              code: 'conflict',
              message: expect.stringMatching(new RegExp(`run ${runId} is being trained by process ${child.pid}`)),
            },
          });
        }
        // A second CLI is refused too, with exit 2 and the owner named.
        for (const args of [
          ['runs', 'delete', runId, '--yes'],
          ['runs', 'rename', runId, 'x'],
          ['train', '--resume', runId],
        ]) {
          const r = await cli(args, { home });
          expect(r.code, `${args.join(' ')}\n${show(r)}`).toBe(2);
          expect(r.stderr).toMatch(new RegExp(`being trained by process ${child.pid}`));
        }
        const list = await cli(['runs', 'list'], { home });
        expect(list.stdout).toMatch(new RegExp(`running \\(pid ${child.pid}\\)`));
      } finally {
        killGroup(child, 'SIGKILL');
        await output.catch(() => null);
      }

      // The owner is gone: listed as interrupted right away, by the host and by the CLI.
      expect(await get(runId)).toMatchObject({ status: 'running', interrupted: true, name });
      const list = await cli(['runs', 'list'], { home });
      expect(list.stdout).toMatch(/interrupted \(was running\)/);
      // The host resumes it from its last checkpoint (nothing needs a restart), 500 steps further.
      const from = service.store.latestCheckpoint(runId)!.step;
      const resumed = await service.call('startRun', { id: runId, steps: from + 500 });
      expect(resumed, JSON.stringify(resumed)).toMatchObject({ ok: true });
      for (let i = 0; i < 600; i++) {
        const r = await get(runId);
        if (r.status !== 'running' && r.status !== 'queued') break;
        await sleep(100);
      }
      expect(await get(runId)).toMatchObject({ status: 'completed', step: from + 500, owner: null, interrupted: false });
    } finally {
      await service.close();
    }
  });
});
