// `flow-studio export` and `flow-studio import` through the real command line: what they print and
// their exit codes for bad input. (Training a launch folder with one process and with torchrun, and
// importing it, is test/main/training/launch.test.ts.)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, freshHome, jsonOf, show } from './helpers';

describe('flow-studio export / import', () => {
  const home = freshHome();
  let runId = '';

  beforeAll(async () => {
    const r = await cli(['train', '--preset', 'moons', '--steps', '5', '--json'], { home, timeoutMs: 120_000 });
    expect(r.code, show(r)).toBe(0);
    runId = String(jsonOf<{ runId: string }>(r).runId);
  }, 130_000);

  it('export writes a launch folder continuing from the run, with the README and the engine package', async () => {
    const dir = join(home, 'launch');
    const r = await cli(['export', '--run', runId, '--to', dir, '--json'], { home });
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{ runId: string; dir: string; startStep: number; files: string[] }>(r);
    expect(doc).toMatchObject({ runId, dir, startStep: 5 });
    for (const f of doc.files) expect(existsSync(join(dir, f)), f).toBe(true);
    const job = JSON.parse(readFileSync(join(dir, 'job.json'), 'utf8')) as { config: { train: { engine: string } }; resume: string };
    expect(job.config.train.engine).toBe('pytorch');
    expect(job.resume).toBe('resume.safetensors');
    // Not trained yet: nothing to import, exit 2 naming the folder, no run stored.
    const imp = await cli(['import', dir], { home });
    expect(imp.code, show(imp)).toBe(2);
    expect(imp.stderr).toMatch(/out: nothing to import/);
    const runs = await cli(['runs', 'list', '--json'], { home });
    expect(JSON.stringify(jsonOf(runs)).match(/"id"/g)).toHaveLength(1);
  });

  it('bad input: an unknown run, a non-empty folder, a folder that is not a launch folder (exit 2, named)', async () => {
    const a = await cli(['export', '--run', 'no-such-run', '--to', join(home, 'x')], { home });
    expect(a.code, show(a)).toBe(2);
    expect(a.stderr).toMatch(/no-such-run/);
    const busy = join(home, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'keep.txt'), 'mine');
    const b = await cli(['export', '--run', runId, '--to', busy], { home });
    expect(b.code, show(b)).toBe(2);
    expect(b.stderr).toMatch(/busy: the folder exists and is not empty/);
    expect(readFileSync(join(busy, 'keep.txt'), 'utf8')).toBe('mine');
    const c = await cli(['import', home], { home });
    expect(c.code, show(c)).toBe(2);
    expect(c.stderr).toMatch(/launch\.json: cannot be read \(ENOENT\); is this a launch folder\?/);
    const d = await cli(['export', '--to', join(home, 'y')], { home });
    expect(d.code, show(d)).toBe(2);
    expect(d.stderr).toMatch(/--run/);
  });
});
