/**
 * Work that must survive a reload (the experiment draft, the latent studio's images and results, the
 * sample-now history) kept in localStorage: read once when a store starts, written shortly after
 * every change. Each key holds { version, savedAt, value }; a value of another version, or one the
 * caller's check refuses, is ignored (the store starts fresh instead of crashing on an old shape).
 * A full storage quota never loses the in-memory state: the write is skipped and reported.
 */
import { watch, type WatchSource } from 'vue';

const PREFIX = 'flow-studio:';

export interface Stored<T> {
  value: T;
  savedAt: number;
}

/** The stored value of `key`, or null when there is none, it is of another version or `check` refuses it. */
export function loadStored<T>(key: string, version: number, check: (v: unknown) => v is T): Stored<T> | null {
  try {
    const raw = localStorage.getItem(PREFIX + key);
    if (!raw) return null;
    const doc = JSON.parse(raw) as { version?: unknown; savedAt?: unknown; value?: unknown };
    if (doc.version !== version || !check(doc.value)) return null;
    return { value: doc.value, savedAt: typeof doc.savedAt === 'number' ? doc.savedAt : 0 };
  } catch {
    return null;
  }
}

/** Writes `value` under `key`; false when storage refused it (quota, private mode). */
export function saveStored(key: string, version: number, value: unknown): boolean {
  try {
    localStorage.setItem(PREFIX + key, JSON.stringify({ version, savedAt: Date.now(), value }));
    return true;
  } catch {
    return false;
  }
}

export function removeStored(key: string): void {
  try {
    localStorage.removeItem(PREFIX + key);
  } catch {
    // nothing stored, nothing to remove
  }
}

/**
 * Saves what `source` returns under `key` at most every `delayMs` after it changes (deep watch).
 * `onResult` hears whether each write went through (a quota error is a false).
 */
export function persistWatch(
  key: string,
  version: number,
  source: WatchSource<unknown>,
  opts: { delayMs?: number; onResult?: (ok: boolean) => void } = {},
): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let latest: unknown;
  const flush = () => {
    timer = null;
    const ok = saveStored(key, version, latest);
    opts.onResult?.(ok);
  };
  const stop = watch(
    source,
    (v) => {
      latest = v;
      if (!timer) timer = setTimeout(flush, opts.delayMs ?? 300);
    },
    { deep: true },
  );
  // A reload right after an edit must not lose it: write what is pending before the page goes.
  const beforeUnload = () => {
    if (timer) {
      clearTimeout(timer);
      flush();
    }
  };
  if (typeof window !== 'undefined') window.addEventListener('pagehide', beforeUnload);
  return () => {
    stop();
    if (typeof window !== 'undefined') window.removeEventListener('pagehide', beforeUnload);
  };
}

/** Plain-object check for stored values. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
