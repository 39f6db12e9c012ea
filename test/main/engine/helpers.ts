import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../../../main/store';
import { Supervisor, type SupervisorOptions } from '../../../main/engine/supervisor';
import type { WorkerEvent } from '../../../main/engine/protocol';
import { parseExperiment, type ExperimentInput } from '../../../preload/schema';

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
      const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; last: ${JSON.stringify(this.events.at(-1))}`)), timeoutMs);
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
