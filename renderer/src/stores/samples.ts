/**
 * "Sample now" results of each run, kept side by side so solvers and budgets can be compared: the
 * full results while the page lives (view switches keep them), and their numbers (solver, steps,
 * NFE, time, energy distance, the model step) across reloads. A result is stale when the run has
 * trained past the step it was drawn at.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { SampleResult } from '../../../common/contract';
import { isRecord, loadStored, persistWatch } from '../lib/persist';

export interface SampleEntry {
  key: number;
  runId: string;
  /** Absent for entries restored from storage (only their numbers are kept). */
  result?: SampleResult;
  solver: string;
  steps: number;
  nfe: number;
  seconds: number;
  n: number;
  /** Model step the samples came from. */
  step: number;
  /** Energy distance (squared, unbiased) to fresh target data; null where there is no 2D target. */
  ed: number | null;
  straightness: number | null;
  at: number;
}

const KEY = 'sample-history';
const VERSION = 1;
/** Entries kept per run. */
const KEEP = 24;

const isEntries = (v: unknown): v is SampleEntry[] =>
  Array.isArray(v) &&
  v.every((e) => isRecord(e) && typeof e.runId === 'string' && typeof e.nfe === 'number' && typeof e.solver === 'string');

export const useSamples = defineStore('samples', () => {
  const entries = ref<SampleEntry[]>(loadStored(KEY, VERSION, isEntries)?.value ?? []);
  let next = entries.value.reduce((m, e) => Math.max(m, e.key), 0) + 1;

  function add(e: Omit<SampleEntry, 'key'>): SampleEntry {
    const entry = { ...e, key: next++ };
    const mine = entries.value.filter((x) => x.runId === e.runId);
    const drop = new Set(mine.slice(0, Math.max(0, mine.length + 1 - KEEP)).map((x) => x.key));
    entries.value = [...entries.value.filter((x) => !drop.has(x.key)), entry];
    return entry;
  }
  function remove(key: number): void {
    entries.value = entries.value.filter((e) => e.key !== key);
  }
  function clear(runId: string): void {
    entries.value = entries.value.filter((e) => e.runId !== runId);
  }
  const of = (runId: string) => entries.value.filter((e) => e.runId === runId);

  // Only the numbers are stored: the points of many results would fill the browser's storage.
  persistWatch(KEY, VERSION, () => entries.value.map(({ result: _r, ...numbers }) => numbers));

  return { entries, add, remove, clear, of };
});
