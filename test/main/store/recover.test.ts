// Recovery of a damaged store (main/store/recover.ts) against an independent reference: the data
// written before the damage, kept in memory, and the run ids stored in the damaged pages themselves
// (a table's leaf page holds its rows' keys as text), read before the pages are overwritten.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../../main/store';
import { recoverStore } from '../../../main/store/recover';
import { bytes, newRun, overwritePages, pagesOf, readPage, sha256File, tempDir } from './helpers';

interface RunData {
  name: string;
  parent: string | null;
  metrics: Map<string, Map<number, number>>;
  checkpoints: Map<number, string>;
  samples: string[];
  artifacts: string[];
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/** Everything the store holds per run, blobs as base64. */
function read(path: string): Map<string, RunData> {
  const store = RunStore.open(path, { access: 'read' });
  try {
    const out = new Map<string, RunData>();
    for (const r of store.listRuns({ order: 'oldest' })) {
      out.set(r.id, {
        name: r.name,
        parent: r.parentRunId,
        metrics: new Map(store.getMetrics(r.id).map((m) => [m.name, new Map(m.steps.map((s, i) => [s, m.values[i]!]))])),
        checkpoints: new Map(store.listCheckpoints(r.id).map((c) => [c.step, b64(store.checkpointAt(r.id, c.step).model)])),
        samples: store.listSamples(r.id).map((s) => JSON.stringify(store.getSample(s.id).data)),
        artifacts: store.listArtifacts(r.id).map((a) => b64(store.getArtifact(a.id).data)),
      });
    }
    return out;
  } finally {
    store.close();
  }
}

/** A closed store of `n` runs (each a reflow child of the one before) with all kinds of rows. */
function seeded(n: number): { path: string; dir: string } {
  const dir = tempDir();
  const path = join(dir, 'flow-studio.db');
  const store = RunStore.open(path);
  let previous: string | null = null;
  for (let r = 0; r < n; r++) {
    // A 300-byte note in the config spreads the runs table over several leaf pages.
    const { id } = store.createRun(
      newRun(`run ${r}`, { config: { r, note: 'x'.repeat(300) }, ...(previous ? { parentRunId: previous } : {}) }),
    );
    store.appendMetrics(
      id,
      Array.from({ length: 300 }, (_, s) => [
        { step: s, name: 'loss', value: r + 1 / (s + 1) },
        { step: s, name: 'lr', value: 1e-3 * r },
      ]).flat(),
    );
    for (const step of [100, 300]) store.saveCheckpoint(id, { step, model: bytes(30_000, r * 7 + step) });
    store.addSample(id, { step: 300, kind: 'points', data: [[r, r * 3]] });
    store.addArtifact(id, { name: 'grid.png', mime: 'image/png', data: bytes(2000, r) });
    previous = id;
  }
  store.close();
  return { path, dir };
}

/**
 * Run ids whose text appears in a page (followed by `next`: in a runs row the id is followed by the
 * name, which tells the row's own id from a parent_run_id that points at another run).
 */
function idsInPage(path: string, page: number, ids: Iterable<string>, next = ''): Set<string> {
  const text = readPage(path, page).toString('latin1');
  return new Set([...ids].filter((id) => text.includes(id + next)));
}

describe('recoverStore', () => {
  it('copies an undamaged store exactly: every run complete, every value and blob equal', () => {
    const { path } = seeded(6);
    const before = read(path);
    const report = recoverStore(path, { now: () => Date.UTC(2026, 0, 2, 3, 4, 5) });
    expect(report.target).toBe(join(path, '..', 'flow-studio.recovered-2026-01-02T03-04-05Z.db'));
    expect(report.runs.map((r) => r.status)).toEqual(Array(6).fill('complete'));
    expect(report.unattributed).toEqual([]);
    expect(read(report.target)).toEqual(before);
  });

  it('a damaged store: lost runs are those on the broken runs page; runs with broken rows are partial; everything copied is exact', () => {
    const { path, dir } = seeded(40);
    const original = read(path);
    const ids = [...original.keys()];

    // Damage a leaf of each of: runs (records lost), metrics, checkpoints (rows of some runs lost).
    const leaf = (table: string, which: number) => pagesOf(path, table).filter((p) => p.pagetype === 'leaf')[which]!.pageno;
    const runsLeaves = pagesOf(path, 'runs').filter((p) => p.pagetype === 'leaf');
    expect(runsLeaves.length).toBeGreaterThan(3);
    const broken = { runs: leaf('runs', 1), metrics: leaf('metrics', 5), checkpoints: leaf('checkpoints', 2) };
    const lostIds = idsInPage(path, broken.runs, ids, 'run ');
    const metricsHit = idsInPage(path, broken.metrics, ids);
    const checkpointsHit = idsInPage(path, broken.checkpoints, ids);
    expect(lostIds.size).toBeGreaterThan(0);
    expect(metricsHit.size).toBeGreaterThan(0);
    expect(checkpointsHit.size).toBeGreaterThan(0);
    console.log(
      `[store] damaged pages hold ${lostIds.size} run records, metrics of ${metricsHit.size} runs, checkpoints of ${checkpointsHit.size} runs`,
    );
    overwritePages(path, Object.values(broken));
    const hash = sha256File(path);

    const report = recoverStore(path);
    expect(sha256File(path)).toBe(hash); // the damaged file was only read
    expect(readdirSync(dir).sort()).toEqual(['flow-studio.db', report.target.slice(dir.length + 1)].sort());

    const byId = new Map(report.runs.map((r) => [r.id, r]));
    expect([...byId.keys()].sort()).toEqual([...ids].sort()); // every run is accounted for
    const lost = report.runs.filter((r) => r.status === 'lost').map((r) => r.id);
    expect(new Set(lost)).toEqual(lostIds);
    for (const id of lostIds) expect(byId.get(id)!.problems.join(' ')).toMatch(/its record is unreadable/);
    const expectedPartial = new Set([...metricsHit, ...checkpointsHit].filter((id) => !lostIds.has(id)));
    expect(new Set(report.runs.filter((r) => r.status === 'partial').map((r) => r.id))).toEqual(expectedPartial);
    for (const id of checkpointsHit)
      if (!lostIds.has(id)) expect(byId.get(id)!.problems.join(' ')).toMatch(/checkpoint \d+ \(step \d+\): unreadable/);
    for (const id of metricsHit)
      if (!lostIds.has(id)) expect(byId.get(id)!.problems.join(' ')).toMatch(/metrics '(loss|lr)': steps \d+-\d+ unreadable/);

    // The recovered store: a sound store of the current schema holding exactly the readable data.
    const check = RunStore.open(report.target); // a writer: full quick_check
    expect(check.integrityCheck().ok).toBe(true);
    check.close();
    const recovered = read(report.target);
    let droppedLinks = 0;
    expect(new Set(recovered.keys())).toEqual(new Set(ids.filter((id) => !lostIds.has(id))));
    for (const [id, got] of recovered) {
      const want = original.get(id)!;
      const status = byId.get(id)!.status;
      expect(got.name).toBe(want.name);
      expect(got.samples).toEqual(want.samples);
      expect(got.artifacts).toEqual(want.artifacts);
      // A parent link is kept when the parent was recovered too.
      expect(got.parent).toBe(want.parent && recovered.has(want.parent) ? want.parent : null);
      if (want.parent && !recovered.has(want.parent)) {
        expect(byId.get(id)!.problems.join(' ')).toMatch(/parent run .* was not recovered/);
        droppedLinks++;
      }
      if (status === 'complete') {
        expect(got.metrics).toEqual(want.metrics);
        expect(got.checkpoints).toEqual(want.checkpoints);
        expect(byId.get(id)!.copied).toEqual({ metrics: 600, checkpoints: 2, samples: 1, artifacts: 1 });
        continue;
      }
      // Partial: whatever was copied is exactly what was written, and something is missing.
      for (const [name, series] of got.metrics) for (const [step, v] of series) expect(want.metrics.get(name)!.get(step)).toBe(v);
      for (const [step, blob] of got.checkpoints) expect(want.checkpoints.get(step)).toBe(blob);
      const count = (d: RunData) => [...d.metrics.values()].reduce((n, s) => n + s.size, 0) + d.checkpoints.size;
      expect(count(got)).toBeLessThan(count(want));
    }
    expect(droppedLinks).toBe(1); // the run after the lost stretch: its parent is lost
  });
});
