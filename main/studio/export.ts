/**
 * Export of a run as files the user keeps: the config (JSON, loadable by `flow-studio train --config`),
 * all metrics (CSV), the latest sample (PNG: the image grid, or a scatter plot of 2D points), sampled
 * trajectories (CSV, 2D) and the model (JSON with the checkpoint's EMA weights, base64).
 */
import type { EXPORT_KINDS, ExportFile, SampleResult } from '../../common/contract';
import { encodePng } from '../data';
import type { RunStore } from '../store';
import type { RunRecord } from '../store/types';
import { sampleView } from './views';

type Kind = (typeof EXPORT_KINDS)[number];

const b64 = (data: Uint8Array | string) => Buffer.from(data).toString('base64');

/**
 * CSV lines (RFC 4180) with a header: a field holding a comma, a double quote or a line break goes in
 * double quotes, its quotes doubled (metric names are free text); numbers as JavaScript prints them
 * (NaN and Infinity included, which Python's float() reads). Hand-written because these are flat rows
 * of numbers and names and no CSV package is installed (csv-stringify would do).
 */
function csv(header: readonly string[], rows: Iterable<readonly (string | number)[]>): string {
  const field = (v: string | number): string => {
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [header.map(field).join(',')];
  for (const row of rows) lines.push(row.map(field).join(','));
  return `${lines.join('\n')}\n`;
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
}

/**
 * A white size x size greyscale PNG with the points drawn in black, on the box that holds them all
 * (2% margin, equal scale on both axes so shapes are not distorted).
 */
export function scatterPng(points: number[][], size = 512): Uint8Array {
  const pix = new Uint8Array(size * size).fill(255);
  const fin = points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  if (fin.length > 0) {
    const xs = fin.map((p) => p[0]!);
    const ys = fin.map((p) => p[1]!);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const span = Math.max(x1 - x0, y1 - y0, 1e-9) * 1.04;
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    for (const [x, y] of fin) {
      const i = Math.floor(((x! - cx) / span + 0.5) * (size - 1));
      const j = Math.floor((0.5 - (y! - cy) / span) * (size - 1)); // y up
      for (let dj = -1; dj <= 1; dj++) {
        for (let di = -1; di <= 1; di++) {
          const u = i + di;
          const v = j + dj;
          if (u >= 0 && u < size && v >= 0 && v < size) pix[v * size + u] = 0;
        }
      }
    }
  }
  return encodePng(pix, size, size, 1);
}

export async function exportFiles(
  store: RunStore,
  run: RunRecord,
  kinds: readonly Kind[],
  sample: (args: { n: number; trajectories: number; seed: number }) => Promise<SampleResult>,
): Promise<ExportFile[]> {
  const base = slug(run.name);
  const files: ExportFile[] = [];
  for (const kind of new Set(kinds)) {
    switch (kind) {
      case 'config':
        files.push({ name: `${base}-config.json`, mime: 'application/json', base64: b64(`${JSON.stringify(run.config, null, 2)}\n`) });
        break;
      case 'metrics': {
        const rows = store.getMetrics(run.id).flatMap((s) => s.steps.map((step, i) => [step, s.name, s.values[i]!]));
        files.push({ name: `${base}-metrics.csv`, mime: 'text/csv', base64: b64(csv(['step', 'name', 'value'], rows)) });
        break;
      }
      case 'samples': {
        const info = store
          .listSamples(run.id)
          .filter((s) => s.kind !== 'trajectory')
          .at(-1);
        if (!info) break;
        const view = sampleView(store, info.id);
        const png = view.kind === 'image-grid' ? view.png : b64(scatterPng(view.points));
        files.push({ name: `${base}-samples-step${view.step}.png`, mime: 'image/png', base64: png });
        break;
      }
      case 'trajectories': {
        if (!store.latestCheckpoint(run.id)) break;
        const r = await sample({ n: 256, trajectories: 256, seed: 0 });
        if (!r.trajectories) break; // images: no 2D paths
        const { paths, times } = r.trajectories;
        const rows = paths.flatMap((path, p) => path.map((xy, k) => [p, k, times[k]!, xy[0]!, xy[1]!]));
        const text = csv(['particle', 'k', 't', 'x', 'y'], rows);
        files.push({ name: `${base}-trajectories-step${r.step}.csv`, mime: 'text/csv', base64: b64(text) });
        break;
      }
      case 'model': {
        const ckpt = store.latestCheckpoint(run.id);
        if (!ckpt) break;
        const model = {
          format: 'flow-studio-model',
          formatVersion: 1,
          runId: run.id,
          name: run.name,
          step: ckpt.step,
          config: run.config,
          meta: ckpt.meta,
          weights: ckpt.ema ? 'ema' : 'model',
          // The serialised tensors (main/models/state.ts blob format), as stored in the checkpoint.
          blob: b64(ckpt.ema ?? ckpt.model),
        };
        files.push({ name: `${base}-model-step${ckpt.step}.json`, mime: 'application/json', base64: b64(JSON.stringify(model)) });
        break;
      }
    }
  }
  return files;
}
