/**
 * The latent studio's work: the model and solver chosen, the open tool, the picked images (slots A,
 * B, C), each tool's options and its last result. A store, so switching views keeps it, persisted
 * (lib/persist.ts) so a reload does too. A result remembers the inputs it was computed from (model,
 * solver, the images it read); when they change it is marked stale rather than dropped.
 */
import { defineStore } from 'pinia';
import { reactive, ref } from 'vue';
import type { InterpolationMode, LatentImage, LatentResultOp, LatentTaskResults, SolverSpec } from '../../../common/latent';
import { SDEDIT_SAMPLERS } from '../../../common/latent';
import { isRecord, loadStored, persistWatch } from '../lib/persist';

export type Slot = 'a' | 'b' | 'c';
export interface Picker {
  kind: 'dataset' | 'file' | 'sample';
  classId: number;
  index: number;
  seed: number;
}
type Results = { [O in LatentResultOp]: LatentTaskResults[O] | null };

const KEY = 'latent-studio';
const VERSION = 1;

/** The images each tool reads (the inputs besides model and solver). */
export const TOOL_SLOTS: Record<LatentResultOp, Slot[]> = {
  invert: ['a'],
  'nfe-sweep': ['a'],
  interpolate: ['a', 'b'],
  'class-swap': ['a'],
  sdedit: ['a'],
  inpaint: ['a'],
  arithmetic: ['a', 'b', 'c'],
};

interface Saved {
  modelSpec: string;
  tab: LatentResultOp;
  solver: { method: SolverSpec['method']; steps: number; tol: number };
  images: Record<Slot, LatentImage | null>;
  pickers: Record<Slot, Picker>;
  results: Results;
  inputsOf: Partial<Record<LatentResultOp, string>>;
  durations?: Record<string, number>;
  opts: Record<string, unknown>;
}
const isSaved = (v: unknown): v is Saved =>
  isRecord(v) && typeof v.modelSpec === 'string' && isRecord(v.images) && isRecord(v.results) && isRecord(v.solver) && isRecord(v.pickers);

export const useLatent = defineStore('latent', () => {
  const stored = loadStored(KEY, VERSION, isSaved)?.value;
  const modelSpec = ref(stored?.modelSpec ?? 'shipped:mnist');
  const tab = ref<LatentResultOp>(stored?.tab ?? 'invert');
  const solver = reactive({ method: 'dopri5' as SolverSpec['method'], steps: 20, tol: 1e-5, ...(stored?.solver ?? {}) });
  const images = reactive<Record<Slot, LatentImage | null>>({ a: null, b: null, c: null, ...(stored?.images ?? {}) });
  const pickers = reactive<Record<Slot, Picker>>({
    a: { kind: 'dataset', classId: 3, index: 0, seed: 0 },
    b: { kind: 'dataset', classId: 8, index: 0, seed: 1 },
    c: { kind: 'dataset', classId: 3, index: 1, seed: 2 },
    ...(stored?.pickers ?? {}),
  });
  const results = reactive<Results>({
    invert: null,
    'nfe-sweep': null,
    interpolate: null,
    'class-swap': null,
    sdedit: null,
    inpaint: null,
    arithmetic: null,
    ...(stored?.results ?? {}),
  });
  /** Seconds the last run of each tool took with each solver: the estimate shown before the next one. */
  const durations = reactive<Record<string, number>>({ ...(stored?.durations ?? {}) });
  /** The inputs key (inputsKey) each result was computed from. */
  const inputsOf = reactive<Partial<Record<LatentResultOp, string>>>({ ...(stored?.inputsOf ?? {}) });
  const opts = reactive({
    invertClass: 'label' as 'label' | 'none' | number,
    bitsPerDim: false,
    frames: 8,
    frame: 0,
    frameMode: 'slerp' as InterpolationMode,
    toClass: 8,
    cfg: 1,
    t0: 0.5,
    sampler: 'ode' as (typeof SDEDIT_SAMPLERS)[number],
    sdeditClass: 'label' as 'label' | number,
    inpaintClass: 'label' as 'label' | 'none' | number,
    mask: [] as number[],
    scale: 1,
    ...((stored?.opts ?? {}) as object),
  });

  /** What a tool's result depends on besides its own options: the model, the solver, its images. */
  function inputsKey(op: LatentResultOp): string {
    return JSON.stringify([
      modelSpec.value,
      solver,
      TOOL_SLOTS[op].map((s) => {
        const img = images[s];
        return img ? [img.source, img.label ?? null, img.pixels.length, img.pixels.reduce((a, v, i) => a + v * ((i % 97) + 1), 0)] : null;
      }),
    ]);
  }
  /** Records a new result of `op` with the inputs it came from. */
  function setResult<O extends LatentResultOp>(op: O, r: LatentTaskResults[O] | null): void {
    (results as Record<LatentResultOp, unknown>)[op] = r;
    if (r) inputsOf[op] = inputsKey(op);
  }
  /** True when the result of `op` was computed from other inputs than the current ones. */
  function isStale(op: LatentResultOp): boolean {
    return results[op] !== null && inputsOf[op] !== undefined && inputsOf[op] !== inputsKey(op);
  }
  function clearAll(): void {
    for (const k of Object.keys(results) as LatentResultOp[]) (results as Record<LatentResultOp, unknown>)[k] = null;
    images.a = images.b = images.c = null;
  }

  /** False once the browser refused to store the studio's state (quota): it then lives until reload. */
  const saved = ref(true);
  persistWatch(
    KEY,
    VERSION,
    () => ({ modelSpec: modelSpec.value, tab: tab.value, solver, images, pickers, results, inputsOf, durations, opts }) satisfies Saved,
    { delayMs: 500, onResult: (ok) => (saved.value = ok) },
  );

  /** The key of a tool's duration: the tool, the model and the solver (what its cost depends on most). */
  const durationKey = (op: string) =>
    JSON.stringify([op, modelSpec.value, solver.method, solver.method === 'dopri5' ? solver.tol : solver.steps]);

  return {
    modelSpec,
    tab,
    solver,
    images,
    pickers,
    results,
    inputsOf,
    durations,
    opts,
    saved,
    inputsKey,
    durationKey,
    setResult,
    isStale,
    clearAll,
  };
});
