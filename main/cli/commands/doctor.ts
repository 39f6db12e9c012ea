/**
 * `flow-studio doctor`: what a bug report needs and what usually goes wrong on a new machine: the
 * Node version, which tfjs backend is used and why the faster ones are not, package versions, a
 * native-module load check (better-sqlite3 built for another ABI is the classic), whether the
 * Electron binary was downloaded, and whether the data folder is writable.
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { RunStore, SCHEMA_VERSION } from '../../store';
import type { BackendInfo } from '../../engine/backend';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { messageOf } from '../errors';
import { projectRoot, runningFromSources } from '../paths';

/** doctor takes only the global options (--backend changes what it tries). */
export const DOCTOR_OPTIONS = {} as const satisfies OptionSpecs;

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

function dbCheck(path: string): Record<string, unknown> {
  if (!existsSync(path)) return { exists: false };
  let store: RunStore | null = null;
  try {
    store = RunStore.open(path);
    const integrity = store.integrityCheck();
    return { exists: true, schemaVersion: store.schemaVersion, journalMode: store.journalMode, runs: store.listRuns().length, integrity: integrity.ok ? 'ok' : integrity.integrity.concat(integrity.foreignKeyProblems) };
  } catch (e) {
    return { exists: true, error: messageOf(e) };
  } finally {
    store?.close();
  }
}

/** Prints the report; exit 0 when Node, a backend, SQLite and the data folder all work, else 1. */
export async function doctorCommand(ctx: Context): Promise<number> {
  const { out } = ctx;
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
  const ok = nodeOk && backend !== null && sqlite.ok && write.ok && !('error' in db);
  const doc = {
    ok,
    node: { version: process.versions.node, required: `>=${MIN_NODE.join('.')}`, ok: nodeOk, execPath: process.execPath },
    platform: `${process.platform} ${process.arch}`,
    running: runningFromSources() ? 'sources' : 'bundle',
    root: projectRoot(),
    backend: backend
      ? { name: backend.name, tfName: backend.tfName, reason: backend.reason, requested: ctx.backendRequest ?? 'auto', version: backend.version, coreVersion: backend.coreVersion, skipped: backend.skipped }
      : { error: backendError, requested: ctx.backendRequest ?? 'auto' },
    versions,
    sqlite,
    electron: { version: electron.version, binary: electron.binary },
    dataDir: ctx.dataDir,
    dbPath: ctx.dbPath,
    dbFrom: ctx.dbSource,
    db: { ...db, schemaSupported: SCHEMA_VERSION },
    write: { dir: ctx.dataDir, ...write },
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
      `${mark(!('error' in db))} run store ${ctx.dbPath}: ${'error' in db ? String(db.error) : db.exists ? `schema v${String(db.schemaVersion)}, ${String(db.runs)} runs, integrity ${typeof db.integrity === 'string' ? db.integrity : 'PROBLEMS'}` : 'not created yet'}`,
      `${mark(write.ok)} write check: ${write.detail}`,
    ];
    return lines.join('\n');
  });
  return ok ? 0 : 1;
}

function readOwnVersion(): string | null {
  const root = projectRoot();
  if (!root) return null;
  try {
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}
