import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tf } from '../../../core/tf';
import { createModel, getWeights } from '../../../core/model';
import { modelConfigFor } from '../../../core/train/config';
import { encodeTensors } from '../../../main/models/serialize';
import { RunStore } from '../../../main/store';
import { Supervisor, type SupervisorOptions } from '../../../main/training/supervisor';
import type { WorkerEvent } from '../../../main/training/protocol';
import { parseExperiment, type ExperimentInput } from '../../../common/config';

/** A fresh data folder with an empty run store. */
export function freshStore(): { dir: string; dbPath: string; store: RunStore } {
  const dir = mkdtempSync(join(tmpdir(), 'fs-engine-'));
  const dbPath = join(dir, 'flow-studio.db');
  return { dir, dbPath, store: RunStore.open(dbPath) };
}

export function preset(name: string): ExperimentInput {
  return JSON.parse(readFileSync(join(import.meta.dirname, '../../../resources/presets', `${name}.json`), 'utf8')) as ExperimentInput;
}

/** Creates a run from a (possibly partial) config, validated as the CLI does. */
export function createRun(store: RunStore, input: ExperimentInput, name = 'test'): string {
  const p = parseExperiment(input);
  if (!p.ok) throw new Error(JSON.stringify(p.issues));
  return store.createRun({ name, config: p.value, backend: 'wasm', seed: p.value.seed }).id;
}

/** Top-level config fields to replace; object values are merged into the preset's (one level deep). */
export type Patch = Partial<Record<keyof ExperimentInput, unknown>>;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The moons preset made cheap for tests: a narrow MLP, no periodic samples and a short final
 * evaluation (Euler, 4 steps), so a run costs about a second of training plus the worker start.
 * `patch` replaces fields one level deep (e.g. { train: { steps: 300 } } keeps the other train fields).
 */
export function tinyMoons(patch: Patch = {}): ExperimentInput {
  const base = preset('moons');
  const small: Patch = {
    model: { kind: 'mlp', width: 32, depth: 2, activation: 'silu', timeEmbedDim: 8 },
    optim: { warmupSteps: 10 },
    train: { steps: 200, batchSize: 128, checkpointEvery: 50, logEvery: 5, sampleEvery: 0, sampleCount: 64 },
    sampling: { solver: 'euler', steps: 4 },
  };
  const out: Record<string, unknown> = { ...base };
  for (const p of [small, patch]) {
    for (const [k, v] of Object.entries(p)) {
      const prev = out[k];
      // A different `kind` is a different shape of object: replace it instead of merging fields.
      const merge = isPlainObject(v) && isPlainObject(prev) && (v.kind === undefined || v.kind === prev.kind);
      out[k] = merge ? { ...prev, ...v } : v;
    }
  }
  // The small intervals and warmup above are tinyMoons' own: they shrink to fit a shorter run the
  // patch asks for (the schema requires them to fit in train.steps); values the patch gives stay.
  const train = out.train as Record<string, number>;
  const given = (obj: unknown, key: string): boolean => isPlainObject(obj) && key in obj;
  for (const key of ['checkpointEvery', 'logEvery', 'sampleEvery']) {
    if (!given(patch.train, key)) train[key] = Math.min(train[key]!, train.steps!);
  }
  const optim = out.optim as Record<string, number>;
  if (!given(patch.optim, 'warmupSteps')) optim.warmupSteps = Math.min(optim.warmupSteps!, train.steps! - 1);
  return out as ExperimentInput;
}

/**
 * A supervisor on a fresh store that records every event, with helpers to await one. Call
 * `dispose()` in afterEach/afterAll: it shuts the workers down, closes the store and removes the folder.
 */
export class Harness {
  readonly dir: string;
  readonly dbPath: string;
  readonly store: RunStore;
  readonly sup: Supervisor;
  readonly events: WorkerEvent[] = [];
  private readonly waiters: { pred: (e: WorkerEvent) => boolean; resolve: (e: WorkerEvent) => void }[] = [];

  constructor(opts: Partial<SupervisorOptions> = {}) {
    const s = freshStore();
    this.dir = s.dir;
    this.dbPath = s.dbPath;
    this.store = s.store;
    this.sup = new Supervisor({ dbPath: s.dbPath, ...opts });
    this.sup.on((e) => {
      this.events.push(e);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.pred(e)) {
          this.waiters.splice(i, 1);
          w.resolve(e);
        }
      }
    });
  }

  run(input: ExperimentInput, name = 'test'): string {
    return createRun(this.store, input, name);
  }

  /** The first event (already seen or future) that matches; rejects after `timeoutMs`. */
  waitFor<T extends WorkerEvent>(pred: (e: WorkerEvent) => e is T, timeoutMs?: number): Promise<T>;
  waitFor(pred: (e: WorkerEvent) => boolean, timeoutMs?: number): Promise<WorkerEvent>;
  waitFor(pred: (e: WorkerEvent) => boolean, timeoutMs = 60_000): Promise<WorkerEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching event within ${timeoutMs} ms; last: ${JSON.stringify(this.events.at(-1))}`)),
        timeoutMs,
      );
      this.waiters.push({ pred, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  /** Events of one run, optionally of one type. */
  of<K extends WorkerEvent['type']>(runId: string, type?: K): Extract<WorkerEvent, { type: K }>[] {
    return this.events.filter((e) => e.runId === runId && (type === undefined || e.type === type)) as Extract<WorkerEvent, { type: K }>[];
  }

  /** Loss values by step, as stored. */
  losses(runId: string): { steps: number[]; values: number[] } {
    const s = this.store.getMetrics(runId, ['loss'])[0]!;
    return { steps: s.steps, values: s.values };
  }

  async dispose(): Promise<void> {
    await this.sup.shutdown();
    this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Bit patterns of float32 values (so NaN payloads, -0 and equal floats compare exactly). */
export function float32Bits(values: readonly number[] | Float32Array): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values).buffer));
}

/**
 * Damages a stored checkpoint blob the way bit rot or a torn copy would: its first 16 bytes (the
 * tensor file's magic and header) are zeroed, the length kept. Written with a connection of its
 * own, as another process would.
 */
export function corruptCheckpoint(dbPath: string, runId: string, step: number, part: 'model' | 'ema' | 'optimizer'): void {
  const db = new Database(dbPath);
  try {
    const row = db.prepare(`SELECT ${part} AS blob FROM checkpoints WHERE run_id = ? AND step = ?`).get(runId, step) as
      { blob: Buffer | null } | undefined;
    if (!row?.blob) throw new Error(`run ${runId} has no ${part} blob at step ${step}`);
    const damaged = Buffer.from(row.blob);
    damaged.fill(0, 0, 16);
    db.prepare(`UPDATE checkpoints SET ${part} = ? WHERE run_id = ? AND step = ?`).run(damaged, runId, step);
  } finally {
    db.close();
  }
}

/**
 * Stores a checkpoint at `step` for a run whose config is an MLP on 2D data: freshly initialised
 * weights (seed 1) as both the model and the EMA weights, with `value` (NaN by default) written
 * into `tensor` at `index` of the EMA copy, and the meta sampling needs. Returns the damaged name.
 */
export function forgeCheckpoint(
  store: RunStore,
  runId: string,
  step: number,
  opts: { tensor?: number; index?: number; value?: number } = {},
): string {
  const p = parseExperiment(store.getRun(runId).config);
  if (!p.ok) throw new Error(JSON.stringify(p.issues));
  const cfg = modelConfigFor(p.value.model, [2], 0);
  const model = createModel(cfg, 1);
  const weights = getWeights(model);
  try {
    const names = [...weights.keys()];
    const bad = names[opts.tensor ?? 0]!;
    const prefixed = (prefix: string, poison: boolean) =>
      new Map(
        [...weights].map(([k, t]) => {
          if (!poison || k !== bad) return [`${prefix}${k}`, t] as const;
          const v = t.dataSync().slice();
          v[opts.index ?? 0] = opts.value ?? NaN;
          return [`${prefix}${k}`, tf.tensor(v, t.shape, 'float32')] as const;
        }),
      );
    const ema = prefixed('optim/ema/', true);
    store.saveCheckpoint(runId, {
      step,
      model: encodeTensors(prefixed('model/', false)),
      ema: encodeTensors(ema),
      meta: { modelConfig: cfg, shape: [2], numClasses: 0 },
    });
    tf.dispose(ema.get(`optim/ema/${bad}`)!);
    return `optim/ema/${bad}`;
  } finally {
    tf.dispose([...weights.values()]);
    model.dispose();
  }
}
