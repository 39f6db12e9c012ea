// The run store file as the command line meets it, with real processes on real files: a damaged store
// (refused, untouched, recovered by doctor --recover), a folder or another file as --db, read-only and
// unreadable data folders, and -wal/-shm files nobody asked for. File modes do not stop root, so as
// root the CLI runs as an unprivileged user (helpers.ts unprivilegedUser); when that user cannot run
// the project, those tests are skipped with the reason printed.
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { RunStore } from '../../../main/store';
import { overwritePages, pagesOf, readPage, sha256File } from '../store/helpers';
import { cli, freshHome, jsonOf, show, type CliResult } from './helpers';
import { unprivilegedUser } from './helpers';

const IS_ROOT = process.getuid?.() === 0;
const template = join(freshHome(), 'trained.db');
let trained = '';

beforeAll(async () => {
  const home = freshHome();
  const r = await cli(['train', '--preset', 'moons', '--steps', '40', '--json'], { home });
  expect(r.code, show(r)).toBe(0);
  trained = jsonOf<{ runId: string }>(r).runId;
  copyFileSync(join(home, 'flow-studio.db'), template);
}, 180_000);

/** A data folder holding a copy of the trained store. */
function homeWithStore(): { home: string; db: string } {
  const home = freshHome();
  const db = join(home, 'flow-studio.db');
  copyFileSync(template, db);
  return { home, db };
}

const quoted = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Exit 2 with the file named on stderr (and matching `why`). */
function refused(r: CliResult, file: string, why: RegExp): void {
  expect(r.code, show(r)).toBe(2);
  expect(r.stderr).toMatch(new RegExp(quoted(file)));
  expect(r.stderr).toMatch(why);
  expect(r.stderr).not.toMatch(/unexpected/);
}

/** The runner of the permission tests, or a skip with its reason. */
function asOtherUser(ctx: TestContext): { uid: number; gid: number } | undefined {
  const who = unprivilegedUser();
  if (who.skip) {
    console.warn(`skipped: ${who.skip}`);
    ctx.skip();
  }
  return who.user;
}

describe('a damaged store', () => {
  it('is refused with exit 2 naming it and left untouched; doctor --recover saves the intact runs and lists the lost ones', async () => {
    const { home, db } = homeWithStore();
    // More runs, so the runs table spans several pages and one of them can be lost alone.
    const store = RunStore.open(db);
    const fillers = Array.from(
      { length: 40 },
      (_, i) => store.createRun({ name: `filler ${i}`, config: { note: 'x'.repeat(300) }, backend: 'wasm' }).id,
    );
    store.close();
    const leaves = pagesOf(db, 'runs').filter((p) => p.pagetype === 'leaf');
    expect(leaves.length).toBeGreaterThan(2);
    // The trained run was created first, so it sits on the first leaf; break the second one. The
    // runs whose records are on it (their id followed by their name) are the ones to lose.
    const page = leaves[1]!.pageno;
    const text = readPage(db, page).toString('latin1');
    const lost = fillers.filter((id) => text.includes(`${id}filler`));
    expect(lost.length).toBeGreaterThan(0);
    expect(text.includes(`${trained}moons`)).toBe(false);
    overwritePages(db, [page]);
    const hash = sha256File(db);
    const files = readdirSync(home).sort();

    refused(await cli(['runs', 'list'], { home }), db, /is damaged: .*doctor --recover --db/);
    refused(await cli(['train', '--preset', 'moons', '--steps', '10'], { home }), db, /is damaged/);
    refused(await cli(['runs', 'delete', trained, '--yes'], { home }), db, /is damaged/);
    refused(await cli(['sample', '--model', trained, '--n', '4'], { home }), db, /is damaged/);
    const json = await cli(['runs', 'list', '--json'], { home });
    expect(jsonOf<{ error: { kind: string; exitCode: number } }>(json).error).toMatchObject({ kind: 'StoreFileError', exitCode: 2 });
    expect(sha256File(db)).toBe(hash);
    expect(readdirSync(home).sort()).toEqual(files); // no backups, no -wal, nothing

    const doctor = await cli(['doctor', '--json'], { home });
    expect(doctor.code, show(doctor)).toBe(1);
    const health = jsonOf<{ db: { health: string; problems: string[] } }>(doctor).db;
    expect(health.health).toBe('damaged');
    expect(health.problems.join('\n')).toMatch(/runs/);

    const text1 = await cli(['doctor', '--recover'], { home });
    expect(text1.code, show(text1)).toBe(0);
    for (const id of lost) expect(text1.stdout).toMatch(new RegExp(`lost +${id}`));
    expect(text1.stdout).toMatch(new RegExp(`complete +${trained} moons`));
    expect(text1.stdout).toMatch(/The damaged file was not changed/);
    expect(text1.stdout).toMatch(/use it: +flow-studio runs list --db .*flow-studio\.recovered-.*\.db/);
    expect(text1.stdout).toMatch(/mv .*flow-studio\.db .*flow-studio\.db\.damaged && mv .*recovered.*\.db .*flow-studio\.db/);

    const out = join(home, 'saved.db');
    const r = await cli(['doctor', '--recover', '--out', out, '--json'], { home });
    expect(r.code, show(r)).toBe(0);
    const report = jsonOf<{ target: string; runs: { id: string; status: string }[] }>(r);
    expect(report.target).toBe(out);
    expect(
      report.runs
        .filter((x) => x.status === 'lost')
        .map((x) => x.id)
        .sort(),
    ).toEqual([...lost].sort());
    expect(
      report.runs
        .filter((x) => x.status !== 'lost')
        .map((x) => x.id)
        .sort(),
    ).toEqual([trained, ...fillers.filter((id) => !lost.includes(id))].sort());
    expect(sha256File(db)).toBe(hash);

    // The recovered store works as a store: listed, and the trained model samples from it.
    const listed = jsonOf<{ runs: { id: string }[] }>(await cli(['runs', 'list', '--json', '--db', out], { home }));
    expect(listed.runs).toHaveLength(1 + fillers.length - lost.length);
    const sample = await cli(['sample', '--model', trained, '--n', '4', '--json', '--db', out], { home });
    expect(sample.code, show(sample)).toBe(0);
  });
});

describe('--db naming something that is not a run store', () => {
  it('a folder, a text file, a PNG: exit 2 naming it; nothing is written', async () => {
    const home = freshHome();
    const folder = join(home, 'runs');
    mkdirSync(folder);
    const textFile = join(home, 'notes.txt');
    writeFileSync(textFile, 'step,loss\n1,0.5\n');
    const png = join(home, 'grid.db');
    writeFileSync(png, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 7)]));
    const hashes = [sha256File(textFile), sha256File(png)];
    for (const [file, why] of [
      [folder, /is a folder, not a run store file/],
      [textFile, /is not a Flow Studio run store/],
      [png, /its first bytes are not the SQLite header/],
    ] as const) {
      const commands = [
        ['runs', 'list'],
        ['runs', 'delete', 'X', '--yes'],
        ['train', '--preset', 'moons', '--steps', '5'],
      ];
      if (file === folder) commands.push(['sample', '--model', '01ABC', '--n', '2']); // slower: starts the backend first
      for (const args of commands) {
        refused(await cli([...args, '--db', file], { home }), file, why);
      }
      const doctor = await cli(['doctor', '--json', '--db', file], { home });
      expect(doctor.code, show(doctor)).toBe(1);
      expect(jsonOf<{ db: { health: string } }>(doctor).db.health).toBe(file === folder ? 'folder' : 'not-a-database');
    }
    expect([sha256File(textFile), sha256File(png)]).toEqual(hashes);
    expect(readdirSync(home).sort()).toEqual(['grid.db', 'notes.txt', 'runs']);
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe('permissions', () => {
  it('a read-only data folder and store: read commands work, writers exit 2 naming the path, no file appears', async (ctx) => {
    const user = asOtherUser(ctx);
    const { home, db } = homeWithStore();
    // As root the files stay root's, read-only to the CLI's user; otherwise the modes say so.
    chmodSync(db, 0o444);
    chmodSync(home, 0o555);
    const files = readdirSync(home).sort();
    const hash = sha256File(db);
    try {
      const list = await cli(['runs', 'list', '--json'], { home, user });
      expect(list.code, show(list)).toBe(0);
      expect(jsonOf<{ runs: { id: string }[] }>(list).runs.map((r) => r.id)).toEqual([trained]);
      for (const args of [
        ['runs', 'show', trained],
        ['runs', 'export', trained],
        ['sample', '--model', trained, '--n', '4'],
      ]) {
        const r = await cli(args, { home, user });
        expect(r.code, `${args.join(' ')}: ${show(r)}`).toBe(0);
      }
      refused(await cli(['train', '--preset', 'moons', '--steps', '10'], { home, user }), db, /read-only for this user/);
      refused(await cli(['runs', 'delete', trained, '--yes'], { home, user }), db, /read-only for this user/);
      const doctor = jsonOf<{ db: { health: string; runs: number } }>(await cli(['doctor', '--json'], { home, user }));
      expect(doctor.db).toMatchObject({ health: 'read-only', runs: 1 });
      expect(readdirSync(home).sort()).toEqual(files);
      expect(sha256File(db)).toBe(hash);
    } finally {
      chmodSync(home, 0o755);
    }
  });

  it('a read-only store file in a folder anybody may write: readers add no -wal/-shm, writers exit 2', async (ctx) => {
    const user = asOtherUser(ctx);
    const { home, db } = homeWithStore();
    chmodSync(db, 0o444);
    chmodSync(home, 0o777);
    const hash = sha256File(db);
    const list = await cli(['runs', 'list'], { home, user });
    expect(list.code, show(list)).toBe(0);
    expect(list.stdout).toContain(trained);
    const sample = await cli(['sample', '--model', trained, '--n', '3'], { home, user });
    expect(sample.code, show(sample)).toBe(0);
    refused(await cli(['train', '--preset', 'moons', '--steps', '10'], { home, user }), db, /the file is read-only for this user/);
    expect(readdirSync(home)).toEqual(['flow-studio.db']);
    expect(sha256File(db)).toBe(hash);
  });

  it('an unreadable data folder: "permission denied" naming it, never "no runs"', async (ctx) => {
    const user = asOtherUser(ctx);
    const { home, db } = homeWithStore();
    chmodSync(home, 0o700);
    if (!user) chmodSync(home, 0o000); // not root: take our own access away
    try {
      const r = await cli(['runs', 'list'], { home, user });
      refused(r, db, new RegExp(`permission denied: .*cannot open the folder ${quoted(home)}`));
      expect(r.stdout).not.toMatch(/no runs/);
      expect(jsonOf<{ error: { kind: string } }>(await cli(['runs', 'list', '--json'], { home, user })).error.kind).toBe('StoreFileError');
      refused(await cli(['train', '--preset', 'moons', '--steps', '5'], { home, user }), db, /permission denied/);
    } finally {
      chmodSync(home, 0o755);
    }
  });
});

describe('-wal and -shm files nobody asked for', () => {
  it('another user reading a store its owner has open adds nothing and the owner keeps writing', async (ctx) => {
    const user = asOtherUser(ctx);
    const { home, db } = homeWithStore();
    chmodSync(home, 0o755);
    chmodSync(db, 0o644);
    const owner = RunStore.open(db); // -wal/-shm exist while the owner has it open
    try {
      if (!user) {
        // Not root: the "other user" is ourselves without write access to the folder and file.
        chmodSync(home, 0o555);
        chmodSync(db, 0o444);
      }
      owner.createRun({ name: 'written by the owner', config: {}, backend: 'wasm' });
      const files = readdirSync(home).sort();
      expect(files).toEqual(['flow-studio.db', 'flow-studio.db-shm', 'flow-studio.db-wal']);
      const r = await cli(['runs', 'list'], { home, user });
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toContain('written by the owner'); // read through the owner's WAL
      expect(readdirSync(home).sort()).toEqual(files);
      owner.createRun({ name: 'the owner is not blocked', config: {}, backend: 'wasm' });
    } finally {
      chmodSync(home, 0o755);
      chmodSync(db, 0o644);
      owner.close();
    }
    expect(readdirSync(home)).toEqual(['flow-studio.db']); // the owner's close removed its own files
  });

  it("root reading a user's store creates nothing; root training into it leaves only files owned by that user", async (ctx) => {
    if (!IS_ROOT) {
      console.warn("skipped: needs root (it is about what root leaves in another user's folder)");
      ctx.skip();
    }
    const { home, db } = homeWithStore();
    chownSync(home, 65534, 65534);
    chownSync(db, 65534, 65534);
    const list = await cli(['runs', 'list'], { home });
    expect(list.code, show(list)).toBe(0);
    expect(readdirSync(home)).toEqual(['flow-studio.db']);
    const train = await cli(['train', '--preset', 'moons', '--steps', '10'], { home });
    expect(train.code, show(train)).toBe(0);
    const left = [home, ...readdirSync(home).map((f) => join(home, f))];
    if (existsSync(join(home, 'backups'))) left.push(...readdirSync(join(home, 'backups')).map((f) => join(home, 'backups', f)));
    expect(left.length).toBeGreaterThan(2); // the store and at least the backups folder
    for (const f of left) expect(statSync(f).uid, f).toBe(65534);
  });
});
