/**
 * `flow-studio doctor`: what a bug report needs and what usually goes wrong on a new machine: the
 * Node version, which tfjs backend is used and why the faster ones are not, package versions, a
 * native-module load check (better-sqlite3 built for another ABI is the classic), whether the
 * Electron binary was downloaded, whether the data folder is writable, and the run store's health
 * (a full integrity check) with its size and backups, and the training engines: the PyTorch engine
 * (Python, torch, devices) and what tfjs-node-gpu needs here (main/runtime/engines.ts).
 *
 * `doctor --recover` copies what can be read of a damaged store into a new one beside it
 * (main/store/recover.ts); `doctor --restore BACKUP` puts a backup in place, keeping the current
 * file (main/store/restore.ts). Neither writes to the damaged file.
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { RunStore, SCHEMA_VERSION, SchemaError, StoreFileError } from '../../store';
import { listBackups, readBackupStatus } from '../../store/backup';
import { canWrite } from '../../store/open';
import { recoverStore, type RecoverReport } from '../../store/recover';
import { restoreBackup } from '../../store/restore';
import { shellQuote } from '../../store/sqlite-errors';
import type { BackendInfo } from '../../runtime/backend';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { messageOf, UsageError } from '../errors';
import { packageRoot, runningFromSources } from '../../runtime/resources';
import { engineDiagnostics, engineLines } from '../../runtime/engines';

/** doctor's options besides the global ones (--backend changes what it tries). */
export const DOCTOR_OPTIONS = {
  recover: { type: 'boolean' },
  out: { type: 'string' },
  restore: { type: 'string' },
} as const satisfies OptionSpecs;

/** Node versions the project supports (package.json engines). */
export const MIN_NODE = [22, 12] as const;

// Not named `require`: electron-vite adds its own `const require` shim to ESM chunks that use CommonJS require calls.
const requireHere = createRequire(import.meta.url);

function packageVersion(name: string): string | null {
  try {
    return (requireHere(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** The Electron binary, found the way scripts/start.mjs finds it (path.txt), without downloading. */
function electronBinary(): { version: string | null; binary: string | null } {
  const version = packageVersion('electron');
  try {
    const dir = dirname(requireHere.resolve('electron/package.json'));
    const rel = readFileSync(join(dir, 'path.txt'), 'utf8').trim();
    const bin = join(dir, 'dist', rel);
    return { version, binary: existsSync(bin) ? bin : null };
  } catch {
    return { version, binary: null };
  }
}

function sqliteCheck(): { ok: boolean; error?: string } {
  try {
    const Database = requireHere('better-sqlite3') as new (path: string) => { close(): void };
    new Database(':memory:').close();
    return { ok: true };
  } catch (e) {
    return { ok: false, error: messageOf(e).split('\n')[0]! };
  }
}

/** Tries a real write in the data folder (or, when it does not exist yet, checks its nearest parent). */
function writeCheck(dir: string): { ok: boolean; detail: string } {
  try {
    if (existsSync(dir)) {
      const probe = mkdtempSync(join(dir, '.doctor-'));
      writeFileSync(join(probe, 'probe'), 'ok');
      rmSync(probe, { recursive: true, force: true });
      return { ok: true, detail: 'wrote and removed a file' };
    }
    let parent = dirname(dir);
    while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
    accessSync(parent, constants.W_OK);
    return { ok: true, detail: `does not exist yet; ${parent} is writable, so it can be created` };
  } catch (e) {
    return { ok: false, detail: messageOf(e).split('\n')[0]! };
  }
}

/** The store's health as doctor reports it. */
export type StoreHealth =
  'ok' | 'missing' | 'damaged' | 'read-only' | 'permission' | 'folder' | 'not-a-database' | 'foreign' | 'too-new' | 'error';

/**
 * The run store's health: opened for reading (nothing is written or created), then PRAGMA
 * integrity_check and foreign_key_check on every page. 'read-only' is a sound store this user cannot
 * change.
 */
function dbCheck(path: string): Record<string, unknown> & { health: StoreHealth; exists: boolean } {
  let bytes: number | undefined;
  try {
    const st = statSync(path);
    bytes = st.isFile() ? st.size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0) : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, health: 'missing' };
  }
  let store: RunStore | null = null;
  try {
    store = RunStore.open(path, { access: 'read', verify: false });
    const integrity = store.integrityCheck();
    const problems = integrity.integrity.filter((l) => l !== 'ok').concat(integrity.foreignKeyProblems);
    const runs = integrity.ok ? store.listRuns().length : undefined;
    const writable = canWrite(path) && canWrite(dirname(path));
    const health: StoreHealth = !integrity.ok ? 'damaged' : writable ? 'ok' : 'read-only';
    return {
      exists: true,
      health,
      bytes,
      schemaVersion: store.schemaVersion,
      journalMode: store.journalMode,
      ...(runs !== undefined ? { runs } : {}),
      integrity: integrity.ok ? 'ok' : problems,
      ...(problems.length ? { problems } : {}),
    };
  } catch (e) {
    const health: StoreHealth =
      e instanceof StoreFileError ? (e.reason === 'missing' ? 'missing' : e.reason) : e instanceof SchemaError ? e.reason : 'error';
    return {
      exists: health !== 'missing' && health !== 'permission',
      health,
      ...(bytes !== undefined ? { bytes } : {}),
      error: messageOf(e),
      ...(e instanceof StoreFileError && e.problems.length ? { problems: e.problems } : {}),
    };
  } finally {
    store?.close();
  }
}

/** The store's backups and the last attempt, for the report. */
function backupsCheck(path: string): {
  dir: string;
  files: { file: string; date: string; bytes: number }[];
  last: ReturnType<typeof readBackupStatus>;
  error?: string;
} {
  const dir = join(dirname(path), 'backups');
  try {
    const files = listBackups(path).map((b) => ({ file: b.path, date: new Date(b.createdAt).toISOString(), bytes: b.bytes }));
    return { dir, files, last: readBackupStatus(path) };
  } catch (e) {
    return { dir, files: [], last: null, error: messageOf(e) };
  }
}

/** "1.2 GB", "340 kB": sizes for people (powers of 1000, as file managers show them). */
function size(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/**
 * Prints the report; exit 0 when Node, a backend, SQLite, the data folder and the run store all work,
 * else 1. With --recover or --restore, does that instead (see the file comment).
 */
export async function doctorCommand(ctx: Context): Promise<number> {
  const { out, args } = ctx;
  args.exclusive('recover', 'restore');
  if (!args.flag('recover')) args.forbid(['out'], 'applies only to --recover');
  if (args.flag('recover')) return recover(ctx);
  if (args.has('restore')) return restore(ctx, args.required('restore', 'needs a backup file (see flow-studio doctor for the list)'));
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const nodeOk = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  let backend: BackendInfo | null = null;
  let backendError: string | null = null;
  try {
    backend = await ctx.backend();
  } catch (e) {
    backendError = messageOf(e);
  }
  const sqlite = sqliteCheck();
  const electron = electronBinary();
  const write = writeCheck(ctx.dataDir);
  const db = dbCheck(ctx.dbPath);
  const versions: Record<string, string | null> = {
    'flow-studio': packageVersion('flow-studio') ?? readOwnVersion(),
    '@tensorflow/tfjs-core': packageVersion('@tensorflow/tfjs-core'),
    '@tensorflow/tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
    '@tensorflow/tfjs-backend-cpu': packageVersion('@tensorflow/tfjs-backend-cpu'),
    '@tensorflow/tfjs-node': packageVersion('@tensorflow/tfjs-node'),
    '@tensorflow/tfjs-node-gpu': packageVersion('@tensorflow/tfjs-node-gpu'),
    'better-sqlite3': packageVersion('better-sqlite3'),
    electron: electron.version,
  };
  const backups = backupsCheck(ctx.dbPath);
  // Optional engines: reported, never a reason for exit 1 (tfjs on wasm or the CPU always works).
  const engines = await engineDiagnostics({ refresh: true });
  const dbOk = db.health === 'ok' || db.health === 'missing';
  const ok = nodeOk && backend !== null && sqlite.ok && write.ok && dbOk;
  const doc = {
    ok,
    node: { version: process.versions.node, required: `>=${MIN_NODE.join('.')}`, ok: nodeOk, execPath: process.execPath },
    platform: `${process.platform} ${process.arch}`,
    running: runningFromSources() ? 'sources' : 'bundle',
    root: packageRoot(),
    backend: backend
      ? {
          name: backend.name,
          tfName: backend.tfName,
          reason: backend.reason,
          requested: ctx.backendRequest ?? 'auto',
          version: backend.version,
          coreVersion: backend.coreVersion,
          skipped: backend.skipped,
        }
      : { error: backendError, requested: ctx.backendRequest ?? 'auto' },
    versions,
    sqlite,
    electron: { version: electron.version, binary: electron.binary },
    dataDir: ctx.dataDir,
    dbPath: ctx.dbPath,
    dbFrom: ctx.dbSource,
    db: { ...db, schemaSupported: SCHEMA_VERSION },
    backups,
    write: { dir: ctx.dataDir, ...write },
    engines,
  };
  out.result(doc, () => {
    const mark = (good: boolean) => (good ? 'ok ' : 'ERR');
    const lines = [
      `${mark(nodeOk)} node ${process.versions.node} (needs >= ${MIN_NODE.join('.')}) ${process.execPath}`,
      backend
        ? `ok  backend ${backend.name} (${backend.reason === 'auto' ? 'first that works of tensorflow-gpu, tensorflow, wasm, cpu' : `requested`}; tfjs-core ${backend.coreVersion}, ${backend.version})`
        : `ERR backend: ${backendError}`,
      ...(backend?.skipped ?? []).map((s) => `    skipped ${s.name}: ${s.error}`),
      `${mark(sqlite.ok)} better-sqlite3 ${versions['better-sqlite3'] ?? 'missing'}${sqlite.ok ? ' (native module loads)' : `: ${sqlite.error}`}`,
      `    electron ${electron.version ?? 'not installed'}; binary ${electron.binary ?? 'not downloaded (the web host is used instead; needs internet to fetch)'}`,
      `    packages ${Object.entries(versions)
        .filter(([k]) => k !== 'electron' && k !== 'better-sqlite3')
        .map(([k, v]) => `${k} ${v ?? '-'}`)
        .join(', ')}`,
      `    data folder ${ctx.dataDir} (from ${ctx.dbSource})`,
      `${mark(dbOk)} run store ${ctx.dbPath}: ${storeLine(db)}`,
      ...(Array.isArray(db.problems) ? (db.problems as string[]).slice(0, 10).map((p) => `    ${p}`) : []),
      ...(db.health === 'damaged' ? [`    recover what can be read: flow-studio doctor --recover --db ${shellQuote(ctx.dbPath)}`] : []),
      `    backups in ${backups.dir}: ${backups.error ? `cannot be listed: ${backups.error}` : backups.files.length === 0 ? 'none yet (one is made each day the app or a training starts)' : backups.files.map((b) => `${b.date.slice(0, 19).replace('T', ' ')} UTC ${size(b.bytes)}`).join(', ')}`,
      ...(db.health === 'damaged' && backups.files[0]
        ? [
            `    or restore the newest backup: flow-studio doctor --restore ${shellQuote(backups.files[0].file)} --db ${shellQuote(ctx.dbPath)}`,
          ]
        : []),
      ...(backups.last && !backups.last.ok
        ? [
            `WARN last backup failed (${new Date(backups.last.at).toISOString().slice(0, 19).replace('T', ' ')} UTC): ${backups.last.error ?? 'unknown error'}`,
          ]
        : []),
      `${mark(write.ok)} write check: ${write.detail}`,
      ...engineLines(engines),
    ];
    return lines.join('\n');
  });
  return ok ? 0 : 1;
}

function readOwnVersion(): string | null {
  const root = packageRoot();
  if (!root) return null;
  try {
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

function storeLine(db: ReturnType<typeof dbCheck>): string {
  const bytes = typeof db.bytes === 'number' ? `, ${size(db.bytes)}` : '';
  switch (db.health) {
    case 'missing':
      return 'not created yet';
    case 'ok':
    case 'read-only':
      return `${db.health === 'ok' ? 'ok' : 'READ-ONLY for this user'}: schema v${String(db.schemaVersion)}, ${String(db.runs)} runs${bytes}, integrity ok`;
    case 'damaged':
      return `DAMAGED${bytes}: the integrity check reports${db.error ? `: ${String(db.error)}` : ''}`;
    default:
      return `${db.health.toUpperCase()}: ${String(db.error)}`;
  }
}

/** doctor --recover [--out FILE]: see main/store/recover.ts. Exit 0 when a store was written. */
function recover(ctx: Context): number {
  const { out, args } = ctx;
  const source = ctx.dbPath;
  if (!existsSync(source)) throw new StoreFileError('missing', source, `there is no run store at ${source} to recover`);
  const target = args.string('out');
  out.note(`reading ${source} (never written) ...`);
  const report = recoverStore(source, target ? { target: resolve(target) } : {});
  out.result(report, () => recoverText(report));
  return 0;
}

function recoverText(r: RecoverReport): string {
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const lines = [`recovered ${r.source} into ${r.target} (${(r.ms / 1000).toFixed(1)} s):`];
  for (const run of r.runs) {
    const what = `${count(run.copied.checkpoints, 'checkpoint', 'checkpoints')}, ${count(run.copied.samples, 'sample', 'samples')}, ${count(run.copied.artifacts, 'artifact', 'artifacts')}, ${count(run.copied.metrics, 'metric value', 'metric values')}`;
    lines.push(`  ${run.status.padEnd(8)} ${run.id}${run.name !== null ? ` ${run.name}` : ''}${run.status === 'lost' ? '' : `: ${what}`}`);
    for (const p of run.problems.slice(0, 6)) lines.push(`           ${p}`);
    if (run.problems.length > 6) lines.push(`           ... and ${run.problems.length - 6} more`);
  }
  for (const u of r.unattributed) lines.push(`  unreadable: ${u}`);
  const complete = r.runs.filter((x) => x.status === 'complete').length;
  const partial = r.runs.filter((x) => x.status === 'partial').length;
  const lost = r.runs.filter((x) => x.status === 'lost').length;
  lines.push(`${complete} complete, ${partial} partly read, ${lost} lost. The damaged file was not changed.`);
  lines.push(`use it:        flow-studio runs list --db ${shellQuote(r.target)}`);
  lines.push(`make it the store (with the app and trainings closed):`);
  lines.push(
    `               mv ${shellQuote(r.source)} ${shellQuote(`${r.source}.damaged`)} && mv ${shellQuote(r.target)} ${shellQuote(r.source)}`,
  );
  return lines.join('\n');
}

/** doctor --restore BACKUP: see main/store/restore.ts. */
async function restore(ctx: Context, backup: string): Promise<number> {
  const file = resolve(backup);
  if (!existsSync(file))
    throw new UsageError(`--restore ${backup}: no such file; the backups are listed by 'flow-studio doctor'`, 'doctor');
  const r = await restoreBackup(ctx.dbPath, file);
  ctx.out.result(r, () =>
    [
      `restored ${r.backup} into ${r.store} (${r.runs} runs)`,
      ...(r.keptAs.length ? [`the previous store was kept as ${r.keptAs.join(' and ')}`] : []),
    ].join('\n'),
  );
  return 0;
}
