/** Which explanation the learn panel shows (common/explain.ts), and the element to return focus to. */
import { defineStore } from 'pinia';
import { shallowRef } from 'vue';

export type HelpTopic = { kind: 'option'; key: string; value?: string } | { kind: 'metric'; key: string } | { kind: 'preset'; key: string };

export const useHelp = defineStore('help', () => {
  const topic = shallowRef<HelpTopic | null>(null);
  let opener: HTMLElement | null = null;
  function open(t: HelpTopic): void {
    opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    topic.value = t;
  }
  function close(): void {
    topic.value = null;
    const back = opener;
    opener = null;
    if (back?.isConnected) back.focus();
  }
  return { topic, open, close };
});
