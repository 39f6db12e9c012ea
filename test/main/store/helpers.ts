// Shared test helpers: every test gets a fresh folder under the OS temp dir with a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { RunStore, type RunStoreOptions } from '../../../main/store';

const dirs: string[] = [];
const stores: RunStore[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A new empty folder, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flow-studio-store-'));
  dirs.push(dir);
  return dir;
}

/** A run store on a new file in a new folder, closed after the test. */
export function openTemp(options?: RunStoreOptions): { store: RunStore; path: string } {
  const path = join(tempDir(), 'runs.db');
  const store = RunStore.open(path, options);
  stores.push(store);
  return { store, path };
}

/** Opens `path` and closes it after the test. */
export function openAt(path: string, options?: RunStoreOptions): RunStore {
  const store = RunStore.open(path, options);
  stores.push(store);
  return store;
}

/** A minimal valid createRun input. */
export function newRun(name = 'moons-condot', extra: Record<string, unknown> = {}) {
  return {
    name,
    config: { dataset: { name: 'moons', n: 2000 }, path: { kind: 'affine', scheduler: { kind: 'condot' } }, lr: 1e-3 },
    backend: 'wasm',
    backendVersion: '4.22.0',
    seed: 42,
    ...extra,
  };
}

/** Bytes 0, 1, 2 ... (mod 256) of length n. */
export function bytes(n: number, offset = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i + offset) % 256);
}
