// Opening a run store safely (main/store/open.ts): what the file is, before anything writes to it;
// readers that create and change nothing; SQLite errors that name the file. Real files throughout,
// damaged by overwriting real pages; processes where another process is what matters.
import { spawnSync } from 'node:child_process';
import { chownSync, closeSync, existsSync, openSync, readdirSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { RunStore, StoreError, StoreFileError, StoreRuntimeError } from '../../../main/store';
import { backupStore } from '../../../main/store/backup';
import { bytes, IS_ROOT, listing, makeNotOurs, newRun, NOBODY, openAt, overwritePages, pagesOf, sha256File, tempDir } from './helpers';

/** The error `fn` throws (failing the test when it throws nothing). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}

/** This process's snapshot copies (open.ts) in the temporary folder. */
const snapshotCopies = () => readdirSync(tmpdir()).filter((f) => f.startsWith(`flow-studio-snapshot-${process.pid}-`));

/** A closed store with `runs` runs, each with metrics, a 40 kB checkpoint and a sample. */
function seeded(runs = 3): { path: string; dir: string; ids: string[] } {
  const dir = tempDir();
  const path = join(dir, 'runs.db');
  const store = RunStore.open(path);
  const ids: string[] = [];
  for (let r = 0; r < runs; r++) {
    const { id } = store.createRun(newRun(`run ${r}`));
    store.appendMetrics(
      id,
      Array.from({ length: 2000 }, (_, s) => ({ step: s, name: 'loss', value: 1 / (s + 1) })),
    );
    store.saveCheckpoint(id, { step: 2000, model: bytes(40_000, r) });
    store.addSample(id, { step: 2000, kind: 'points', data: [[r, r]] });
    ids.push(id);
  }
  store.close();
  return { path, dir, ids };
}

describe('RunStore.open refuses what is not a usable store, before writing anything', () => {
  it('a folder given as the file', () => {
    const dir = tempDir();
    for (const access of ['write', 'read'] as const) {
      const e = thrown(() => RunStore.open(dir, { access }));
      expect(e).toBeInstanceOf(StoreFileError);
      expect(e).toMatchObject({ reason: 'folder', path: dir });
      expect(e.message).toContain(`${dir} is a folder`);
      expect(e.message).toContain(join(dir, 'flow-studio.db')); // what to give instead
    }
    expect(listing(dir)).toEqual([]);
  });

  it('a file that is not SQLite (text, short, random bytes) is left byte-for-byte as it was', () => {
    const dir = tempDir();
    const files = {
      text: Buffer.from('id,loss\n1,0.5\n'.repeat(500)),
      short: Buffer.from('SQLite'),
      random: Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 2654435761) >>> 24)),
    };
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, `${name}.db`);
      writeFileSync(path, content);
      const before = sha256File(path);
      for (const access of ['write', 'read'] as const) {
        const e = thrown(() => RunStore.open(path, { access }));
        expect(e, `${name} ${access}`).toMatchObject({ reason: 'not-a-database', path });
        expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a Flow Studio run store`));
      }
      expect(sha256File(path)).toBe(before);
    }
    expect(listing(dir)).toEqual(['random.db', 'short.db', 'text.db']);
  });

  it('a SQLite header over an unreadable rest (SQLITE_NOTADB) is refused as not a database', () => {
    const { path, dir } = seeded(1);
    // Page size field (bytes 16-17) set to 3: not a power of two, so SQLite cannot read the file.
    const buf = Buffer.alloc(2);
    buf.writeUInt16BE(3);
    const fd = openSync(path, 'r+');
    writeSync(fd, buf, 0, 2, 16);
    closeSync(fd);
    const before = sha256File(path);
    const e = thrown(() => RunStore.open(path));
    expect(e).toMatchObject({ reason: 'not-a-database', path });
    expect(e.message).toMatch(/SQLITE_NOTADB/);
    expect(sha256File(path)).toBe(before);
    expect(listing(dir)).toEqual(['runs.db']);
  });

  it('a damaged file: writers are refused with its problems and the file is untouched; readers meet the damage as "damaged"', () => {
    const { path, dir, ids } = seeded(3);
    const metricLeaves = pagesOf(path, 'metrics')
      .filter((p) => p.pagetype === 'leaf')
      .map((p) => p.pageno);
    expect(metricLeaves.length).toBeGreaterThan(3);
    overwritePages(path, metricLeaves);
    const before = sha256File(path);

    const e = thrown(() => RunStore.open(path));
    expect(e).toBeInstanceOf(StoreFileError);
    expect(e).toMatchObject({ reason: 'damaged', path });
    expect((e as StoreFileError).problems.length).toBeGreaterThan(0);
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged: Tree \\d+ \\(metrics\\)`));
    expect(e.message).toContain(`flow-studio doctor --recover --db ${path}`);
    expect(sha256File(path)).toBe(before);
    expect(listing(dir)).toEqual(['runs.db']);

    // A reader checks only the runs table at open (see open.ts); it reads runs fine and is told of
    // the damage, by file, when it reaches it.
    const reader = openAt(path, { access: 'read' });
    expect(reader.getRun(ids[0]!).name).toBe('run 0');
    const onRead = thrown(() => reader.getMetrics(ids[0]!));
    expect(onRead).toBeInstanceOf(StoreFileError);
    expect(onRead).toMatchObject({ reason: 'damaged', path });
    expect(onRead.message).toMatch(/SQLITE_CORRUPT/);
    reader.close();
    expect(sha256File(path)).toBe(before);
  });

  it('a damaged runs table is refused to readers too', () => {
    const dir = tempDir();
    const path = join(dir, 'runs.db');
    const store = RunStore.open(path);
    for (let r = 0; r < 60; r++) store.createRun(newRun(`run ${r}`, { config: { note: 'x'.repeat(300) } }));
    store.close();
    const leaves = pagesOf(path, 'runs').filter((p) => p.pagetype === 'leaf');
    expect(leaves.length).toBeGreaterThan(2);
    overwritePages(path, [leaves[1]!.pageno]);
    const before = sha256File(path);
    expect(thrown(() => RunStore.open(path, { access: 'read' }))).toMatchObject({ reason: 'damaged', path });
    expect(sha256File(path)).toBe(before);
  });

  it('verify: false skips the page check (workers of a host that checked) but not the header checks', () => {
    const { path, ids } = seeded(1);
    overwritePages(
      path,
      pagesOf(path, 'metrics')
        .filter((p) => p.pagetype === 'leaf')
        .map((p) => p.pageno),
    );
    for (const access of ['read', 'write'] as const) {
      const store = openAt(path, { verify: false, access });
      expect(store.getRun(ids[0]!).name).toBe('run 0');
      store.close();
    }
    writeFileSync(path, 'not a database');
    expect(thrown(() => RunStore.open(path, { verify: false }))).toMatchObject({ reason: 'not-a-database' });
  });
});

describe("access 'read' creates and changes nothing", () => {
  it('a missing store is "missing" for readers and for writers told not to create; the folder stays empty', () => {
    const dir = tempDir();
    const path = join(dir, 'sub', 'runs.db');
    expect(thrown(() => RunStore.open(path, { access: 'read' }))).toMatchObject({ reason: 'missing', path });
    expect(thrown(() => RunStore.open(path, { create: false }))).toMatchObject({ reason: 'missing', path });
    expect(listing(dir)).toEqual([]);
  });

  it('an empty file is a new store: a reader sees no runs and leaves it empty; a writer creates the schema', () => {
    const dir = tempDir();
    const path = join(dir, 'runs.db');
    writeFileSync(path, '');
    const reader = openAt(path, { access: 'read' });
    expect(reader.connection).toBe('snapshot');
    expect(reader.listRuns()).toEqual([]);
    reader.close();
    expect(statSync(path).size).toBe(0);
    expect(listing(dir)).toEqual(['runs.db']);
    const writer = openAt(path);
    expect(writer.createRun(newRun()).status).toBe('queued');
  });

  it('on a store this process may write: a normal connection that writes nothing and leaves no -wal/-shm', () => {
    const { path, dir, ids } = seeded(2);
    const before = sha256File(path);
    const reader = openAt(path, { access: 'read' });
    expect(reader.connection).toBe('read-write');
    expect(
      reader
        .listRuns()
        .map((r) => r.id)
        .sort(),
    ).toEqual([...ids].sort());
    expect(reader.getMetrics(ids[1]!, ['loss'])[0]!.steps).toHaveLength(2000);
    // Its writing methods refuse: a reader calling a writer is a bug, not a silent write.
    expect(() => reader.createRun(newRun())).toThrow(/opened for reading/);
    expect(() => reader.deleteRun(ids[0]!)).toThrow(/opened for reading/);
    reader.close();
    expect(sha256File(path)).toBe(before);
    expect(listing(dir)).toEqual(['runs.db']);
  });

  it('on a store that is not ours, with no -wal: a private snapshot copy, removed on close; nothing appears beside the file', () => {
    const { path, dir, ids } = seeded(2);
    makeNotOurs(path);
    const before = sha256File(path);
    const reader = openAt(path, { access: 'read' });
    expect(reader.connection).toBe('snapshot');
    expect(reader.path).toBe(path);
    expect(reader.listRuns()).toHaveLength(2);
    expect(Buffer.from(reader.latestCheckpoint(ids[0]!)!.model).equals(Buffer.from(bytes(40_000, 0)))).toBe(true);
    expect(listing(dir)).toEqual(['runs.db']);
    expect(snapshotCopies()).toHaveLength(1); // the private copy it reads, in the temporary folder
    reader.close();
    expect(snapshotCopies()).toEqual([]);
    expect(listing(dir)).toEqual(['runs.db']);
    expect(sha256File(path)).toBe(before);
  });

  it('on a store that is not ours while its owner has it open: a readonly connection that sees new commits and adds no file', () => {
    const { path, dir } = seeded(1);
    const owner = openAt(path); // -wal and -shm exist while the owner has it open
    makeNotOurs(path);
    const files = listing(dir);
    expect(files).toEqual(['runs.db', 'runs.db-shm', 'runs.db-wal']);
    const reader = openAt(path, { access: 'read' });
    expect(reader.connection).toBe('read-only');
    expect(reader.listRuns()).toHaveLength(1);
    owner.createRun(newRun('written while the reader is open'));
    expect(reader.listRuns().map((r) => r.name)).toContain('written while the reader is open');
    reader.close();
    expect(listing(dir)).toEqual(files);
    owner.createRun(newRun('the owner still writes after the reader left'));
  });

  it('a snapshot replays committed WAL content when only the -wal file was left (a crash in a read-only place)', () => {
    const { path, dir } = seeded(1);
    // Another process commits a run into the WAL and dies without checkpointing.
    const script = `const D = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
      const db = new D(${JSON.stringify(path)}); db.pragma('wal_autocheckpoint = 0');
      db.prepare("INSERT INTO runs (id, name, config, status, backend, created_at, updated_at) VALUES ('01CRASHEDWRITER1', 'only in the WAL', '{}', 'queued', 'wasm', 1, 1)").run();
      process.exit(0);`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    unlinkSync(`${path}-shm`);
    makeNotOurs(path);
    makeNotOurs(`${path}-wal`);
    const db = sha256File(path);
    const wal = sha256File(`${path}-wal`);
    const reader = openAt(path, { access: 'read' });
    expect(reader.connection).toBe('snapshot');
    expect(reader.getRun('01CRASHEDWRITER1').name).toBe('only in the WAL');
    reader.close();
    expect(listing(dir)).toEqual(['runs.db', 'runs.db-wal']);
    expect([sha256File(path), sha256File(`${path}-wal`)]).toEqual([db, wal]);
  });
});

describe('SQLite errors at run time name the file', () => {
  it('a write lock held by another connection past the busy timeout: "busy", with the wait', () => {
    const { path } = seeded(1);
    const store = openAt(path, { busyTimeoutMs: 150 });
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      const e = thrown(() => store.createRun(newRun()));
      expect(e).toBeInstanceOf(StoreRuntimeError);
      expect(e).toMatchObject({ failure: 'busy', path, code: 'SQLITE_BUSY' });
      expect(e.message).toMatch(
        new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the database is locked by another process \\(waited 150 ms`),
      );
      expect((e.cause as Error).constructor.name).toBe('SqliteError');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(store.createRun(newRun()).status).toBe('queued'); // nothing stuck
  });

  it('a full disk: "disk-full", and nothing of the change is kept', () => {
    const { path, ids } = seeded(1);
    const store = openAt(path);
    // A real SQLITE_FULL without filling a disk: SQLite reports it the same way when a database
    // reaches max_page_count. The connection is private to RunStore, hence the cast.
    const db = (store as unknown as { db: Database.Database }).db;
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const e = thrown(() => store.saveCheckpoint(ids[0]!, { step: 3000, model: bytes(1_000_000) }));
    expect(e).toMatchObject({ failure: 'disk-full', path, code: 'SQLITE_FULL' });
    expect(e.message).toMatch(/^.*runs\.db: the disk is full/);
    expect(store.listCheckpoints(ids[0]!).map((c) => c.step)).toEqual([2000]);
  });

  it('a reader asked to write is a StoreError (a bug), not a SQLite error', () => {
    const { path, ids } = seeded(1);
    const e = thrown(() => openAt(path, { access: 'read' }).saveCheckpoint(ids[0]!, { step: 9, model: bytes(3) }));
    expect(e).toBeInstanceOf(StoreError);
    expect(e).not.toBeInstanceOf(StoreFileError);
  });
});

describe("root writing another user's store", () => {
  it('gives every file it creates (store, folders, -wal/-shm, backups) to that user', async (ctx) => {
    if (!IS_ROOT) {
      console.warn("skipped: needs root (this process is not root, so it cannot write another user's folder)");
      ctx.skip();
    }
    const home = tempDir();
    chownSync(home, NOBODY.uid, NOBODY.gid);
    const path = join(home, 'data', 'runs.db');
    const store = RunStore.open(path); // creates data/ and the store
    store.createRun(newRun());
    for (const f of [join(home, 'data'), path, `${path}-wal`, `${path}-shm`]) {
      expect(existsSync(f), f).toBe(true);
      expect(statSync(f).uid, f).toBe(NOBODY.uid);
    }
    const r = await backupStore(path);
    expect(r.status).toBe('created');
    if (r.status !== 'created') return;
    expect(statSync(r.backup.path).uid).toBe(NOBODY.uid);
    expect(statSync(join(home, 'data', 'backups')).uid).toBe(NOBODY.uid);
    store.close();
    expect(listing(join(home, 'data'))).toEqual(['backups', 'runs.db']);
  });
});
