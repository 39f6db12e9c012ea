/**
 * The experiment being set up: the config exactly as written (the JSON view shows it verbatim), its
 * client-side validation by the same schema the host and CLI use, and issues the host reported for
 * the last submission (cleared by the next edit).
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { Preset } from '../../../common/contract';
import { parseExperiment, type FieldIssue } from '../../../common/config';
import { clone, setField, starterConfig, type ConfigObject } from '../lib/config';

export const useExperiment = defineStore('experiment', () => {
  const config = shallowRef<ConfigObject>(starterConfig());
  const preset = ref<string>('');
  const presets = ref<Preset[]>([]);
  const hostIssues = ref<FieldIssue[]>([]);
  /** Bumped when the config is replaced from outside the JSON view (preset, form edit). */
  const revision = ref(0);

  const parsed = computed(() => parseExperiment(config.value));
  const clientIssues = computed<FieldIssue[]>(() => (parsed.value.ok ? [] : parsed.value.issues));
  const issues = computed<FieldIssue[]>(() => {
    const seen = new Set(clientIssues.value.map((i) => `${i.field}\u0000${i.message}`));
    return [...clientIssues.value, ...hostIssues.value.filter((i) => !seen.has(`${i.field}\u0000${i.message}`))];
  });

  function replace(c: ConfigObject, fromJson = false): void {
    config.value = c;
    hostIssues.value = [];
    if (!fromJson) revision.value++;
  }

  function set(path: string, value: unknown): void {
    replace(setField(config.value, path, value));
  }

  function usePreset(name: string): void {
    const p = presets.value.find((x) => x.name === name);
    if (!p) return;
    preset.value = name;
    replace(clone(p.config));
  }

  return { config, preset, presets, hostIssues, revision, parsed, clientIssues, issues, replace, set, usePreset };
});
