// Restoring a backup (main/store/restore.ts) on real files: refused while another connection has the
// store open, the previous file kept byte for byte, the result equal to the backup.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../../main/store';
import { backupStore } from '../../../main/store/backup';
import { asidePath, restoreBackup } from '../../../main/store/restore';
import { bytes, newRun, overwritePages, pagesOf, sha256File, tempDir } from './helpers';

const T0 = Date.UTC(2026, 11, 1, 8, 0, 0);

/** A store with two runs and a backup of it; then a third run written after the backup. */
async function storeWithBackup(): Promise<{ dir: string; path: string; backup: string; names: string[] }> {
  const dir = tempDir();
  const path = join(dir, 'flow-studio.db');
  const store = RunStore.open(path);
  for (const name of ['first', 'second']) {
    const { id } = store.createRun(newRun(name));
    store.appendMetrics(
      id,
      Array.from({ length: 400 }, (_, s) => ({ step: s, name: 'loss', value: s })),
    );
    store.saveCheckpoint(id, { step: 400, model: bytes(20_000) });
  }
  store.close();
  const r = await backupStore(path, { now: () => T0 });
  if (r.status !== 'created') throw new Error('no backup');
  const later = RunStore.open(path);
  later.createRun(newRun('after the backup'));
  later.close();
  return { dir, path, backup: r.backup.path, names: ['first', 'second'] };
}

const names = (path: string) => {
  const s = RunStore.open(path, { access: 'read' });
  try {
    return s.listRuns({ order: 'oldest' }).map((r) => r.name);
  } finally {
    s.close();
  }
};

describe('restoreBackup', () => {
  it('puts a backup over a damaged store and keeps the damaged file, byte for byte', async () => {
    const { dir, path, backup, names: before } = await storeWithBackup();
    overwritePages(
      path,
      pagesOf(path, 'metrics')
        .filter((p) => p.pagetype === 'leaf')
        .map((p) => p.pageno),
    );
    const damaged = sha256File(path);
    const r = await restoreBackup(path, backup, { now: () => T0 + 1000 });
    const aside = asidePath(path, T0 + 1000);
    expect(r).toEqual({ store: path, backup, keptAs: [aside], runs: 2 });
    expect(sha256File(aside)).toBe(damaged);
    expect(names(path)).toEqual(before);
    const check = RunStore.open(path); // a writer: every page checked
    expect(check.integrityCheck().ok).toBe(true);
    check.close();
    expect(readdirSync(dir).sort()).toEqual(['backups', 'flow-studio.before-restore-2026-12-01T08-00-01Z.db', 'flow-studio.db']);
  });

  it('is refused while another connection has the store open; nothing changes', async () => {
    const { dir, path, backup } = await storeWithBackup();
    const other = RunStore.open(path, { access: 'read' });
    const hash = sha256File(path);
    const files = readdirSync(dir).sort();
    await expect(restoreBackup(path, backup)).rejects.toThrow(/is open in another process .* Nothing was changed/);
    expect(readdirSync(dir).sort()).toEqual(files);
    other.close();
    expect(sha256File(path)).toBe(hash);
    expect(names(path)).toEqual(['first', 'second', 'after the backup']);
  });

  it('refuses a damaged or foreign backup, naming it', async () => {
    const { path, backup } = await storeWithBackup();
    overwritePages(
      backup,
      pagesOf(backup, 'checkpoints')
        .filter((p) => p.pagetype === 'overflow')
        .slice(0, 2)
        .map((p) => p.pageno),
    );
    await expect(restoreBackup(path, backup)).rejects.toThrow(new RegExp(`${backup.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged`));
    const text = join(path, '..', 'notes.db');
    writeFileSync(text, 'hello');
    await expect(restoreBackup(path, text)).rejects.toThrow(/is not a Flow Studio run store/);
    expect(names(path)).toEqual(['first', 'second', 'after the backup']);
    expect(existsSync(asidePath(path, Date.now()))).toBe(false);
  });
});
