/**
 * Recovery of a damaged run store: copies every row that can still be read into a fresh store beside
 * it (`<name>.recovered-<UTC date-time>.db`), run by run and table by table, and reports per run what
 * was copied and what was lost. The damaged file is only read, never written: it is opened through a
 * readonly connection when its -wal/-shm files exist, else through a private snapshot copy (open.ts).
 *
 * Why row by row rather than VACUUM INTO or the backup API: those stop at the first unreadable page
 * (or copy the damage as it is), while a damaged store usually has a few bad pages among many good
 * ones. Here every read is isolated:
 * - rowid tables (runs, checkpoints, samples, artifacts) are scanned in rowid order, a batch at a
 *   time; when a read fails, the scan probes rowids further on (doubling the distance, then bisecting
 *   back) for the first one it can read again, so only the rows on unreadable pages are skipped;
 * - each row is then read alone, so one checkpoint whose blob crosses a bad page loses only itself;
 * - metrics (WITHOUT ROWID, keyed by run, name, step) are read per run and per metric name in step
 *   order with the same skipping; names are found by skip-scan and, where that fails, by trying every
 *   name seen in any run;
 * - each table's index on run_id, when readable, names rows the table scan could not reach, so a run
 *   that lost rows is reported as partial rather than complete.
 * A run whose own record cannot be read is reported as lost (its rows need it: foreign keys).
 *
 * The new store is created through RunStore.open (current schema); rows keep their ids and values.
 * It is written under a `.partial` name and renamed when complete.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, parse } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from './errors';
import { adoptOwner, openSnapshot, quickCheck, type Released } from './open';
import { backupStamp } from './backup';
import { RunStore } from './store';
import { notADatabaseError } from './sqlite-errors';
import { APPLICATION_ID, SCHEMA_VERSION } from './schema';

/** The tables that hang off a run, copied after it. */
export const RUN_TABLES = ['metrics', 'checkpoints', 'samples', 'artifacts'] as const;
type RunTable = (typeof RUN_TABLES)[number];
type BlobTable = Exclude<RunTable, 'metrics'>;
const BLOB_TABLES: readonly BlobTable[] = ['checkpoints', 'samples', 'artifacts'];

/** What recovery made of one run. */
export interface RecoveredRun {
  id: string;
  /** The run's name, when its record could be read. */
  name: string | null;
  /** complete: every row read; partial: the record and some rows; lost: the record is unreadable. */
  status: 'complete' | 'partial' | 'lost';
  /** Rows copied per table. */
  copied: Record<RunTable, number>;
  /** What could not be read, in words (e.g. "checkpoint 12 (step 2000): unreadable"). */
  problems: string[];
}

/** What recoverStore did. */
export interface RecoverReport {
  source: string;
  /** The recovered store. */
  target: string;
  runs: RecoveredRun[];
  /** Unreadable stretches of a table whose rows could not be tied to a run. */
  unattributed: string[];
  ms: number;
}

/** `<dir>/<name>.recovered-<stamp>.db` for a store at `<dir>/<name>.db`. */
export function recoveredPath(source: string, at: number): string {
  return join(dirname(source), `${parse(source).name}.recovered-${backupStamp(at)}.db`);
}

type Row = Record<string, unknown>;

function errText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && !m.includes(code) ? `${code}: ${m}` : m;
}

/** Runs `fn`, returning its value or the error's text. */
function attempt<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: string } {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return { ok: false, error: errText(e) };
  }
}

/** Upper bound of integer keys (rowids, steps) the scans probe. */
const MAX_KEY = Number.MAX_SAFE_INTEGER;

/**
 * Reads every readable row with an integer key >= `from`, in key order. `read(k, limit)` returns up to
 * `limit` rows with key >= k (it may throw after yielding some: it pushes rows into `into` as it goes).
 * When a read fails, the first readable key after the last good one is found by probing k + 1, 2, 4
 * ... and bisecting back; the stretch in between is reported to `skipped`.
 */
function resilientScan<R>(
  read: (k: number, limit: number, into: R[]) => void,
  keyOf: (r: R) => number,
  skipped: (from: number, to: number, error: string) => void,
): R[] {
  const rows: R[] = [];
  let next = Number.MIN_SAFE_INTEGER; // smallest key not yet read
  const probe = (k: number): boolean => attempt(() => read(k, 1, [])).ok;
  for (;;) {
    const batch: R[] = [];
    const r = attempt(() => read(next, 512, batch));
    rows.push(...batch);
    if (batch.length > 0) next = keyOf(batch[batch.length - 1]!) + 1;
    if (r.ok) {
      if (batch.length < 512) return rows;
      continue;
    }
    // `next` is unreadable: find the first readable key after it.
    const base = next;
    let bad = base;
    let good: number | null = null;
    for (let d = 1; base + d <= MAX_KEY && d > 0; d *= 2) {
      if (probe(base + d)) {
        good = base + d;
        break;
      }
      bad = base + d;
    }
    if (good === null) {
      skipped(base, MAX_KEY, r.error);
      return rows;
    }
    let first: number = good;
    while (first - bad > 1) {
      const mid: number = bad + Math.floor((first - bad) / 2);
      if (probe(mid)) first = mid;
      else bad = mid;
    }
    skipped(base, first - 1, r.error);
    next = first;
  }
}

/** Opens `path` for reading without writing or creating anything beside it (see the file comment). */
function openUntouched(path: string): Released {
  if (existsSync(`${path}-wal`) && existsSync(`${path}-shm`)) {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    return { db, release: () => db.close() };
  }
  return openSnapshot(path, 5000);
}

/**
 * Copies what can be read of the store at `source` into a new store (`target`, default
 * recoveredPath). Never writes to `source`.
 * @throws StoreFileError when `source` is not a SQLite database; StoreError when it is another
 *   application's or a newer release's, or when nothing at all can be read (its schema is unreadable).
 */
export function recoverStore(source: string, options: { target?: string; now?: () => number } = {}): RecoverReport {
  const now = options.now ?? Date.now;
  const started = now();
  const target = options.target ?? recoveredPath(source, started);
  if (existsSync(target)) throw new StoreError(`${target} already exists; move it away or choose another --out`);
  let opened: Released;
  try {
    opened = openUntouched(source);
  } catch (e) {
    throw notADatabaseError(source, `SQLite cannot open it (${errText(e)})`, e);
  }
  const src = opened.db;
  const partial = join(dirname(target), `.${basename(target)}.partial`);
  try {
    const header = attempt(() => ({
      appId: src.pragma('application_id', { simple: true }) as number,
      version: src.pragma('user_version', { simple: true }) as number,
    }));
    if (!header.ok) throw notADatabaseError(source, `its header cannot be read (${header.error}); only a backup can bring it back`);
    if (header.value.appId !== 0 && header.value.appId !== APPLICATION_ID)
      throw new StoreError(
        `${source} is not a Flow Studio run store (application_id 0x${(header.value.appId >>> 0).toString(16)}); nothing to recover`,
      );
    if (header.value.version > SCHEMA_VERSION)
      throw new StoreError(
        `${source} has schema version ${header.value.version}, newer than this Flow Studio (${SCHEMA_VERSION}); recover it with the release that wrote it`,
      );
    const srcColumns = new Map<string, string[]>();
    for (const t of ['runs', ...RUN_TABLES]) {
      const cols = attempt(() =>
        src
          .prepare<unknown[], { name: string }>(`PRAGMA table_info("${t}")`)
          .all()
          .map((c) => c.name),
      );
      if (!cols.ok)
        throw new StoreError(
          `${source}: its schema cannot be read (${cols.error}); nothing can be recovered from it: restore a backup (see 'flow-studio doctor')`,
        );
      srcColumns.set(t, cols.value);
    }

    rmSync(partial, { force: true });
    RunStore.open(partial, { verify: false }).close();
    adoptOwner(partial, source);
    const dst = new Database(partial);
    try {
      dst.pragma('foreign_keys = ON');
      const report = copyAll(src, dst, srcColumns);
      const problems = quickCheck(dst);
      if (problems.length > 0) throw new StoreError(`the recovered store ${partial} fails its check: ${problems.join('; ')}`);
      dst.pragma('wal_checkpoint(TRUNCATE)');
      dst.close();
      renameSync(partial, target);
      adoptOwner(target, source);
      return { source, target, ...report, ms: now() - started };
    } finally {
      if (dst.open) dst.close();
    }
  } catch (e) {
    rmSync(partial, { force: true });
    rmSync(`${partial}-wal`, { force: true });
    rmSync(`${partial}-shm`, { force: true });
    throw e;
  } finally {
    opened.release();
  }
}

/** Columns to copy: those the source has and the new store knows, quoted for SQL. */
function commonColumns(dst: Database.Database, srcColumns: Map<string, string[]>, table: string): string[] {
  const want = dst
    .prepare<unknown[], { name: string }>(`PRAGMA table_info("${table}")`)
    .all()
    .map((c) => c.name);
  const have = new Set(srcColumns.get(table) ?? []);
  return want.filter((c) => have.has(c));
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

function copyAll(
  src: Database.Database,
  dst: Database.Database,
  srcColumns: Map<string, string[]>,
): { runs: RecoveredRun[]; unattributed: string[] } {
  const unattributed: string[] = [];
  const cols = (t: string) => commonColumns(dst, srcColumns, t);

  // 1. Run ids: the runs table by rowid, its primary-key index, and the run_id of every child row.
  const runRowid = new Map<string, number>();
  resilientScan<{ rowid: number; id: string }>(
    (k, limit, into) => {
      for (const r of src
        .prepare<unknown[], { rowid: number; id: string }>('SELECT rowid, id FROM runs WHERE rowid >= ? ORDER BY rowid LIMIT ?')
        .iterate(k, limit))
        into.push(r);
    },
    (r) => r.rowid,
    (from, to, error) => unattributed.push(`runs: rows ${describeRange(from, to)} unreadable (${error})`),
  ).forEach((r) => runRowid.set(r.id, r.rowid));
  const ids = new Set(runRowid.keys());
  attempt(() => {
    for (const id of src.prepare<unknown[], string>('SELECT id FROM runs ORDER BY id').pluck().iterate()) ids.add(id);
  });

  const childIds = new Map<BlobTable, Map<string, Set<number>>>();
  const gaps: { table: BlobTable; from: number; to: number; error: string }[] = [];
  for (const t of BLOB_TABLES) {
    const byRun = new Map<string, Set<number>>();
    childIds.set(t, byRun);
    resilientScan<{ id: number; run_id: string }>(
      (k, limit, into) => {
        for (const r of src
          .prepare<unknown[], { id: number; run_id: string }>(`SELECT id, run_id FROM ${t} WHERE id >= ? ORDER BY id LIMIT ?`)
          .iterate(k, limit))
          into.push(r);
      },
      (r) => r.id,
      (from, to, error) => gaps.push({ table: t, from, to, error }),
    ).forEach((r) => {
      ids.add(r.run_id);
      if (!byRun.has(r.run_id)) byRun.set(r.run_id, new Set());
      byRun.get(r.run_id)!.add(r.id);
    });
  }
  // Metric run ids by skip-scan (one index seek per run).
  attempt(() => {
    let last = '';
    for (;;) {
      const id = src.prepare<unknown[], string | null>('SELECT min(run_id) FROM metrics WHERE run_id > ?').pluck().get(last);
      if (id === null || id === undefined) break;
      ids.add(id);
      last = id;
    }
  });

  // 2. Every metric name seen anywhere: tried for runs whose own skip-scan of names fails.
  const allNames = new Set<string>();

  const runCols = cols('runs');
  const insertRun = dst.prepare(`INSERT INTO runs (${runCols.map(q).join(', ')}) VALUES (${runCols.map(() => '?').join(', ')})`);
  const readRunByRowid = src.prepare(`SELECT ${runCols.map(q).join(', ')} FROM runs WHERE rowid = ?`).safeIntegers(true);
  const readRunById = src.prepare(`SELECT ${runCols.map(q).join(', ')} FROM runs WHERE id = ?`).safeIntegers(true);
  const parents = new Map<string, string>();
  const runs: RecoveredRun[] = [];
  /** Rows the run_id indexes tied to a run (reported with that run even when unreadable). */
  const attributed = new Map<BlobTable, Set<number>>(BLOB_TABLES.map((t) => [t, new Set<number>()]));

  for (const id of [...ids].sort()) {
    const report: RecoveredRun = {
      id,
      name: null,
      status: 'complete',
      copied: { metrics: 0, checkpoints: 0, samples: 0, artifacts: 0 },
      problems: [],
    };
    runs.push(report);
    const rowid = runRowid.get(id);
    let row = rowid !== undefined ? attempt(() => readRunByRowid.get(BigInt(rowid)) as Row | undefined) : null;
    if (!row || !row.ok || !row.value) row = attempt(() => readRunById.get(id) as Row | undefined);
    if (!row.ok || !row.value) {
      report.status = 'lost';
      report.name = null;
      report.problems.push(
        row.ok ? 'its record is missing (only rows that belong to it were found)' : `its record is unreadable (${row.error})`,
      );
      const orphans = BLOB_TABLES.map((t) => [t, childIds.get(t)!.get(id)?.size ?? 0] as const).filter(([, n]) => n > 0);
      if (orphans.length > 0)
        report.problems.push(
          `${orphans.map(([t, n]) => `${n} ${n === 1 ? SINGULAR[t] : t}`).join(', ')} of it could be read but need its record`,
        );
      continue;
    }
    const run = row.value;
    report.name = typeof run.name === 'string' ? run.name : null;
    if (typeof run.parent_run_id === 'string') parents.set(id, run.parent_run_id);
    dst.transaction(() => {
      const inserted = attempt(() => insertRun.run(...runCols.map((c) => (c === 'parent_run_id' ? null : run[c]))));
      if (!inserted.ok) {
        report.status = 'lost';
        report.problems.push(`its record is damaged (${inserted.error})`);
        return;
      }
      for (const t of BLOB_TABLES) {
        for (const known of copyBlobRows(src, dst, t, cols(t), id, childIds.get(t)!.get(id) ?? new Set(), report))
          attributed.get(t)!.add(known);
      }
      copyMetrics(src, dst, cols('metrics'), id, allNames, report);
    })();
  }
  // Runs copied before the names of later runs were known: retry those names where metrics were lost.
  for (const report of runs) {
    if (report.status !== 'partial' || !report.problems.some((p) => p.startsWith('metrics'))) continue;
    dst.transaction(() => copyMetrics(src, dst, cols('metrics'), report.id, allNames, report, true))();
  }

  // Unreadable stretches of the blob tables whose every row an index tied to a run are reported
  // with those runs already; the rest belong to no known run.
  for (const g of gaps) {
    const from = Math.max(g.from, 1);
    const known = attributed.get(g.table)!;
    let covered = g.to < MAX_KEY && g.to - from < 1_000_000;
    for (let id = from; covered && id <= g.to; id++) covered = known.has(id);
    if (!covered) unattributed.push(`${g.table}: rows ${describeRange(g.from, g.to)} unreadable and not tied to a run (${g.error})`);
  }

  // 3. Reflow parents that were recovered too.
  const setParent = dst.prepare('UPDATE runs SET parent_run_id = ? WHERE id = ?');
  const copied = new Set(runs.filter((r) => r.status !== 'lost').map((r) => r.id));
  for (const [child, parent] of parents) {
    if (!copied.has(child)) continue;
    if (copied.has(parent)) setParent.run(parent, child);
    else runs.find((r) => r.id === child)!.problems.push(`its parent run ${parent} was not recovered; the link was dropped`);
  }
  return { runs, unattributed };
}

function describeRange(from: number, to: number): string {
  if (to >= MAX_KEY) return `from id ${Math.max(from, 1)} on`;
  return from === to ? `id ${from}` : `ids ${Math.max(from, 1)}-${to}`;
}

const SINGULAR: Record<BlobTable, string> = { checkpoints: 'checkpoint', samples: 'sample', artifacts: 'artifact' };

/**
 * Copies one run's rows of a rowid table, each read alone; notes the ones that cannot be read.
 * Returns the ids the table's run_id index knows for the run.
 */
function copyBlobRows(
  src: Database.Database,
  dst: Database.Database,
  table: BlobTable,
  columns: string[],
  runId: string,
  scanned: Set<number>,
  report: RecoveredRun,
): number[] {
  // The run_id index names rows the table scan may have missed (their pages are unreadable).
  const indexed = attempt(() =>
    src
      .prepare<unknown[], { id: number; step: number | null }>(
        `SELECT id, ${table === 'artifacts' ? 'NULL AS step' : 'step'} FROM ${table} WHERE run_id = ? ORDER BY id`,
      )
      .all(runId),
  );
  const steps = new Map<number, number | null>();
  if (indexed.ok) for (const r of indexed.value) steps.set(r.id, r.step);
  const all = [...new Set([...scanned, ...steps.keys()])].sort((a, b) => a - b);
  const read = src.prepare(`SELECT ${columns.map(q).join(', ')} FROM ${table} WHERE id = ?`).safeIntegers(true);
  const insert = dst.prepare(`INSERT INTO ${table} (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  for (const id of all) {
    const what = `${SINGULAR[table]} ${id}${steps.get(id) !== undefined && steps.get(id) !== null ? ` (step ${steps.get(id)})` : ''}`;
    const row = attempt(() => read.get(BigInt(id)) as Row | undefined);
    if (!row.ok || !row.value) {
      report.status = 'partial';
      report.problems.push(`${what}: ${row.ok ? 'missing from the table' : `unreadable (${row.error})`}`);
      continue;
    }
    const value = row.value;
    const done = attempt(() => insert.run(...columns.map((c) => value[c])));
    if (done.ok) report.copied[table]++;
    else {
      report.status = 'partial';
      report.problems.push(`${what}: damaged (${done.error})`);
    }
  }
  return [...steps.keys()];
}

/**
 * Copies one run's metrics, name by name in step order, skipping unreadable stretches. With `retry`,
 * only names not copied yet are tried (after other runs revealed more names).
 */
function copyMetrics(
  src: Database.Database,
  dst: Database.Database,
  columns: string[],
  runId: string,
  allNames: Set<string>,
  report: RecoveredRun,
  retry = false,
): void {
  const names = new Set<string>();
  const scan = attempt(() => {
    let last = '';
    for (;;) {
      const name = src
        .prepare<unknown[], string | null>('SELECT min(name) FROM metrics WHERE run_id = ? AND name > ?')
        .pluck()
        .get(runId, last);
      if (name === null || name === undefined) break;
      names.add(name);
      last = name;
    }
  });
  if (!scan.ok && !retry) {
    report.status = 'partial';
    report.problems.push(
      `metrics: the list of metric names is unreadable after ${names.size} names (${scan.error}); names seen in other runs were tried`,
    );
  }
  for (const n of names) allNames.add(n);
  const tryNames = retry ? [...allNames] : [...new Set([...names, ...(scan.ok ? [] : allNames)])];
  const done = new Set(
    retry ? dst.prepare<unknown[], string>('SELECT DISTINCT name FROM metrics WHERE run_id = ?').pluck().all(runId) : [],
  );
  const read = src
    .prepare(`SELECT ${columns.map(q).join(', ')} FROM metrics WHERE run_id = ? AND name = ? AND step >= ? ORDER BY step LIMIT ?`)
    .safeIntegers(true);
  const insert = dst.prepare(`INSERT OR IGNORE INTO metrics (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  for (const name of tryNames.sort()) {
    if (done.has(name)) continue;
    const rows = resilientScan<Row>(
      (k, limit, into) => {
        for (const r of read.iterate(runId, name, BigInt(Math.max(k, 0)), limit) as IterableIterator<Row>) into.push(r);
      },
      (r) => Number(r.step as bigint),
      (from, to, error) => {
        report.status = 'partial';
        report.problems.push(
          `metrics '${name}': steps ${to >= MAX_KEY ? `from ${Math.max(from, 0)} on` : `${Math.max(from, 0)}-${to}`} unreadable (${error})`,
        );
      },
    );
    for (const r of rows) {
      if (attempt(() => insert.run(...columns.map((c) => r[c]))).ok) report.copied.metrics++;
    }
  }
}
