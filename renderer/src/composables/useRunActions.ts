/**
 * What any view can do with a run besides training it: open its config in Experiment (as a draft of
 * its own, the preset selector says where it came from), duplicate it (the same config as a new run,
 * started at once, opened live) and export it as one zip archive (main/studio/export.ts). `pending`
 * names the action under way so its button shows it and the others wait.
 */
import { ref } from 'vue';
import { studio } from '../bridge';
import { downloadFile } from '../lib/download';
import { describeError } from '../lib/errors';
import { useExperiment } from '../stores/experiment';
import { useRuns } from '../stores/runs';
import { useUi } from '../stores/ui';

export interface RunRef {
  id: string;
  name: string;
}

export function useRunActions() {
  const ui = useUi();
  const exp = useExperiment();
  const runs = useRuns();
  /** `${action}:${runId}` while an action runs. */
  const pending = ref<string | null>(null);
  const message = ref<string | null>(null);
  const error = ref<string | null>(null);

  async function openConfig(r: RunRef, config?: Record<string, unknown>): Promise<void> {
    try {
      const c = config ?? (await studio.getRun({ id: r.id })).config;
      exp.useConfig(c, `run ${r.name}`);
      ui.show('experiment');
    } catch (err) {
      error.value = `Could not open the config of ${r.name}: ${describeError(err)}`;
    }
  }

  async function duplicate(r: RunRef, config?: Record<string, unknown>): Promise<void> {
    pending.value = `duplicate:${r.id}`;
    error.value = null;
    try {
      const c = config ?? (await studio.getRun({ id: r.id })).config;
      const copy = await studio.createRun({ config: c, name: `${r.name} (copy)`, start: true });
      void runs.refresh();
      ui.openRun(copy.id);
    } catch (err) {
      error.value = `Could not duplicate ${r.name}: ${describeError(err)}`;
    } finally {
      pending.value = null;
    }
  }

  async function archive(r: RunRef): Promise<void> {
    pending.value = `archive:${r.id}`;
    error.value = null;
    try {
      const f = await studio.exportArchive({ id: r.id });
      downloadFile(f);
      message.value = `Exported ${r.name} as ${f.name} (config, weights, metrics, samples, trajectories).`;
    } catch (err) {
      error.value = `Could not export ${r.name}: ${describeError(err)}`;
    } finally {
      pending.value = null;
    }
  }

  const busy = (action: string, id: string) => pending.value === `${action}:${id}`;
  return { pending, message, error, busy, openConfig, duplicate, archive };
}
