// Machine-readable output and the environment report.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, freshHome, jsonOf, show } from './helpers';

describe('doctor, help and --json', () => {
  it('doctor --json reports the wasm backend chosen automatically, with both TensorFlow backends skipped', async () => {
    const home = freshHome();
    const r = await cli(['doctor', '--json'], { home });
    expect(r.code, show(r)).toBe(0);
    const doc = jsonOf<{
      ok: boolean;
      node: { version: string; ok: boolean };
      backend: { name: string; reason: string; skipped: { name: string; error: string }[] };
      versions: Record<string, string | null>;
      sqlite: { ok: boolean };
      electron: { version: string | null; binary: string | null };
      dataDir: string;
      dbPath: string;
      dbFrom: string;
      write: { ok: boolean };
      db: { exists: boolean };
    }>(r);
    expect(doc.ok).toBe(true);
    expect(doc.node.ok).toBe(true);
    // This machine has no @tensorflow/tfjs-node(-gpu) (their install needs internet): auto falls to wasm.
    expect(doc.backend).toMatchObject({ name: 'wasm', reason: 'auto' });
    expect(doc.backend.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(doc.backend.skipped.every((s) => s.error.length > 0)).toBe(true);
    expect(doc.versions['@tensorflow/tfjs-core']).toBe('4.22.0');
    expect(doc.versions['better-sqlite3']).toMatch(/^\d+\./);
    expect(doc.sqlite.ok).toBe(true);
    expect(doc.electron.version).toMatch(/^\d+\./);
    expect(doc.dataDir).toBe(home);
    expect(doc.dbPath).toBe(join(home, 'flow-studio.db'));
    expect(doc.dbFrom).toBe('FLOW_STUDIO_HOME');
    expect(doc.write.ok).toBe(true);
    expect(doc.db.exists).toBe(false);
    expect(existsSync(doc.dbPath)).toBe(false); // doctor does not create the run store

    // --backend cpu is honoured and reported as requested.
    const cpu = jsonOf<{ backend: { name: string; reason: string } }>(await cli(['doctor', '--json', '--backend', 'cpu'], { home }));
    expect(cpu.backend).toMatchObject({ name: 'cpu', reason: 'requested' });
  });

  it('--db points every command at another file', async () => {
    const home = freshHome();
    const db = join(home, 'elsewhere', 'runs.db');
    const r = await cli(['runs', 'list', '--json', '--db', db], { home });
    expect(jsonOf(r)).toEqual({ dbPath: db, runs: [] });
    expect(existsSync(db)).toBe(false); // listing does not create a database
    const d = jsonOf<{ dbPath: string; dbFrom: string }>(await cli(['--db', db, 'doctor', '--json'], { home }));
    expect(d).toMatchObject({ dbPath: db, dbFrom: '--db' });
  });

  it('every command has --help; --help and --version work without a command; no command is a usage error', async () => {
    const home = freshHome();
    for (const command of [
      'train',
      'sample',
      'likelihood',
      'invert',
      'decode',
      'interpolate',
      'runs',
      'export',
      'import',
      'bench',
      'doctor',
    ]) {
      const r = await cli([command, '--help'], { home });
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`flow-studio ${command}`));
    }
    const top = await cli(['--help'], { home });
    expect(top.stdout).toMatch(/Commands:/);
    expect(jsonOf<{ version: string }>(await cli(['--version', '--json'], { home })).version).toMatch(/^\d+\.\d+\.\d+/);
    const none = await cli([], { home });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no command/);
  }, 60_000);

  it('sample --json is one document with the numbers a script needs, reproducible from --seed', async () => {
    const home = freshHome();
    const s = await cli(
      ['sample', '--model', 'oracle:8gaussians', '--n', '8', '--solver', 'heun', '--steps', '10', '--seed', '3', '--json'],
      { home },
    );
    const doc = jsonOf<{ samples: number[][]; nfe: number; steps: number; model: { kind: string } }>(s);
    expect(doc.samples).toHaveLength(8);
    expect(doc).toMatchObject({ nfe: 20, steps: 10, model: { kind: 'oracle' } }); // Heun: 2 evaluations per step
    // Same seed, same samples: sampling is reproducible from the command line.
    expect(
      jsonOf<{ samples: number[][] }>(
        await cli(['sample', '--model', 'oracle:8gaussians', '--n', '8', '--solver', 'heun', '--steps', '10', '--seed', '3', '--json'], {
          home,
        }),
      ).samples,
    ).toEqual(doc.samples);
  });
});
