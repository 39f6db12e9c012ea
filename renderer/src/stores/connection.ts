/** The host connection (bridge.ts `connection`) as reactive state for the banner and the views. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { connection, type ConnectionInfo } from '../bridge';

export const useConnection = defineStore('connection', () => {
  const info = ref<ConnectionInfo>({ ...connection.info });
  /** Set for a few seconds after a lost connection came back. */
  const restored = ref(false);
  let timer: ReturnType<typeof setTimeout> | null = null;
  connection.onChange((c) => {
    const was = info.value.state;
    info.value = { ...c };
    if (was === 'lost' && c.state === 'open') {
      restored.value = true;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => (restored.value = false), 4000);
    }
  });
  return {
    info,
    restored,
    retry: () => connection.retryNow(),
    /** Registers a reload for when a lost connection comes back; returns the unsubscribe. */
    onReconnect: (fn: () => void) => connection.onReconnect(fn),
  };
});
