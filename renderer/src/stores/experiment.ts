/**
 * The experiment being set up: the config exactly as written (the JSON view shows it verbatim), its
 * client-side validation by the same schema the host and CLI use, and issues the host reported for
 * the last submission (cleared by the next edit).
 *
 * The draft survives a reload (lib/persist.ts): the config, the preset it started from and the
 * JSON view's text while it does not parse. `presetState` says what the preset selector shows: the
 * preset as loaded, the preset with changes, or a config of its own (opened from a run, say).
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { Preset } from '../../../common/contract';
import { parseExperiment, type FieldIssue } from '../../../common/config';
import { clone, setField, starterConfig, toJson, type ConfigObject } from '../lib/config';
import { isRecord, loadStored, persistWatch, removeStored } from '../lib/persist';

const KEY = 'experiment-draft';
const VERSION = 1;

interface Draft {
  config: ConfigObject;
  preset: string;
  /** Where the config came from when not a preset ("run 01ABC…"). */
  origin: string;
  /** The JSON view's text when it does not parse (else null). */
  jsonText: string | null;
}
const isDraft = (v: unknown): v is Draft =>
  isRecord(v) &&
  isRecord(v.config) &&
  typeof v.preset === 'string' &&
  typeof v.origin === 'string' &&
  (v.jsonText === null || typeof v.jsonText === 'string');

export const useExperiment = defineStore('experiment', () => {
  const stored = loadStored(KEY, VERSION, isDraft);
  const config = shallowRef<ConfigObject>(stored?.value.config ?? starterConfig());
  const preset = ref<string>(stored?.value.preset ?? '');
  const origin = ref<string>(stored?.value.origin ?? '');
  const presets = ref<Preset[]>([]);
  const hostIssues = ref<FieldIssue[]>([]);
  /** The JSON view's text while it does not parse, kept with the draft. */
  const brokenJson = ref<string | null>(stored?.value.jsonText ?? null);
  /** When a draft of the user's was restored from storage (0: none; the untouched starter config is not one). */
  const restoredAt = ref(
    stored &&
      (stored.value.preset ||
        stored.value.origin ||
        stored.value.jsonText !== null ||
        toJson(stored.value.config) !== toJson(starterConfig()))
      ? stored.savedAt
      : 0,
  );
  /** Bumped when the config is replaced from outside the JSON view (preset, form edit). */
  const revision = ref(0);

  const parsed = computed(() => parseExperiment(config.value));
  const clientIssues = computed<FieldIssue[]>(() => (parsed.value.ok ? [] : parsed.value.issues));
  const issues = computed<FieldIssue[]>(() => {
    const seen = new Set(clientIssues.value.map((i) => `${i.field}\u0000${i.message}`));
    return [...clientIssues.value, ...hostIssues.value.filter((i) => !seen.has(`${i.field}\u0000${i.message}`))];
  });

  /** 'preset': exactly the preset; 'modified': the preset with edits; 'custom': no preset. */
  const presetState = computed<'preset' | 'modified' | 'custom'>(() => {
    const p = presets.value.find((x) => x.name === preset.value);
    if (!preset.value) return 'custom';
    if (!p) return 'modified'; // presets not loaded yet: say no more than that it came from one
    return toJson(p.config) === toJson(config.value) ? 'preset' : 'modified';
  });

  function replace(c: ConfigObject, fromJson = false): void {
    config.value = c;
    hostIssues.value = [];
    if (!fromJson) {
      revision.value++;
      brokenJson.value = null;
    }
  }

  function set(path: string, value: unknown): void {
    replace(setField(config.value, path, value));
  }

  function usePreset(name: string): void {
    const p = presets.value.find((x) => x.name === name);
    if (!p) return;
    preset.value = name;
    origin.value = '';
    replace(clone(p.config));
  }

  /** Loads a config from elsewhere (a run: "Open config in Experiment"). */
  function useConfig(c: ConfigObject, from: string): void {
    preset.value = '';
    origin.value = from;
    replace(clone(c));
  }

  /** Forgets the draft: the starter config, nothing stored. */
  function reset(): void {
    preset.value = '';
    origin.value = '';
    restoredAt.value = 0;
    replace(starterConfig());
    removeStored(KEY);
  }

  const storageFull = ref(false);
  persistWatch(
    KEY,
    VERSION,
    () => ({ config: config.value, preset: preset.value, origin: origin.value, jsonText: brokenJson.value }) satisfies Draft,
    { onResult: (ok) => (storageFull.value = !ok) },
  );

  return {
    config,
    preset,
    origin,
    presets,
    hostIssues,
    brokenJson,
    restoredAt,
    revision,
    parsed,
    clientIssues,
    issues,
    presetState,
    storageFull,
    replace,
    set,
    usePreset,
    useConfig,
    reset,
  };
});
