// The daily backup the studio service starts (main/store/backup.ts through StudioService): made in
// the background at start, skipped the same day, cancelled cleanly by close(), and never fatal.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunStore } from '../../../main/store';
import { listBackups } from '../../../main/store/backup';
import { StudioService } from '../../../main/studio/service';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A data folder whose store holds `runs` runs with `blob`-byte checkpoints. */
function dataDir(runs: number, blob: number): { dir: string; dbPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fs-studio-backup-'));
  dirs.push(dir);
  const dbPath = join(dir, 'flow-studio.db');
  const store = RunStore.open(dbPath);
  for (let r = 0; r < runs; r++) {
    const { id } = store.createRun({ name: `run ${r}`, config: { r }, backend: 'wasm' });
    for (const step of [1, 2, 3]) store.saveCheckpoint(id, { step, model: new Uint8Array(blob).fill(r + step) });
  }
  store.close();
  return { dir, dbPath };
}

const open = (dbPath: string, dir: string) => new StudioService({ dbPath, dataDir: dir, host: 'web', version: 'test', backend: 'wasm' });

describe('StudioService backups', () => {
  it('backs the store up once a day in the background, while the service answers', async () => {
    const { dir, dbPath } = dataDir(3, 100_000);
    const service = open(dbPath, dir);
    const runs = await service.call('listRuns', {}); // served while the backup runs in its thread
    expect(runs).toMatchObject({ ok: true });
    const outcome = await service.backup;
    expect(outcome?.status).toBe('created');
    await service.close();
    expect(listBackups(dbPath)).toHaveLength(1);
    const again = open(dbPath, dir);
    expect((await again.backup)?.status).toBe('skipped');
    await again.close();
    expect(listBackups(dbPath)).toHaveLength(1);
  });

  it('close() during a backup cancels it cleanly: no partial file is left', async () => {
    const { dir, dbPath } = dataDir(20, 2_000_000);
    const service = open(dbPath, dir);
    await service.close();
    const outcome = await service.backup;
    expect(['cancelled', 'created']).toContain(outcome?.status);
    expect(readdirSync(join(dir, 'backups')).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(listBackups(dbPath)).toHaveLength(outcome?.status === 'created' ? 1 : 0);
  });

  it('a backup that cannot be made is reported and the service works on', async () => {
    const { dir, dbPath } = dataDir(1, 1000);
    writeFileSync(join(dir, 'backups'), 'a file where the backups folder should be');
    const service = open(dbPath, dir);
    const outcome = await service.backup;
    expect(outcome).toMatchObject({ status: 'failed', error: expect.stringContaining(join(dir, 'backups')) });
    const runs = await service.call('listRuns', {});
    expect(runs.ok && (runs.value as unknown[]).length).toBe(1);
    await service.close();
  });
});
