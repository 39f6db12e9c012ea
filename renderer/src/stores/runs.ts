/**
 * The run list, shared by the Runs, Live and Compare views. Loaded from the host; kept current by
 * training events (a started/paused/finished run reloads the list, progress updates its row's step
 * in place at a bounded rate).
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { RunEvent, RunRow } from '../../../common/contract';
import { connection, studio } from '../bridge';
import { describeError } from '../lib/errors';
import { throttle } from '../lib/series';

export const useRuns = defineStore('runs', () => {
  const runs = ref<RunRow[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);

  async function refresh(): Promise<void> {
    try {
      runs.value = await studio.listRuns();
      error.value = null;
    } catch (err) {
      error.value = `Could not load the runs: ${describeError(err)}`;
    }
    loaded.value = true;
  }

  const steps = new Map<string, number>();
  const applySteps = throttle(() => {
    for (const r of runs.value) {
      const s = steps.get(r.id);
      if (s !== undefined && s > r.step) r.step = s;
    }
    steps.clear();
  }, 500);
  const reload = throttle(() => void refresh(), 300);

  studio.onRunEvent((e: RunEvent) => {
    if (e.type === 'progress') {
      steps.set(e.runId, e.step);
      applySteps();
    } else if (e.type !== 'checkpoint' && e.type !== 'sample') {
      reload();
    }
  });

  // Runs may have finished (or failed) while the connection was down.
  connection.onReconnect(() => void refresh());

  return { runs, loaded, error, refresh };
});
