/**
 * Export of a run as files the user keeps: the config (JSON, loadable by `flow-studio train --config`),
 * all metrics (CSV), the latest sample (PNG: the image grid, or a scatter plot of 2D points), sampled
 * trajectories (CSV, 2D) and the model (JSON with the checkpoint's EMA weights, base64); or all of
 * it as one zip archive (exportArchive), which the app and `flow-studio runs export ID --archive`
 * both write.
 */
import { zipSync, type Zippable } from 'fflate';
import type { EXPORT_KINDS, ExportFile, SampleResult } from '../../common/contract';
import { encodePng } from '../data';
import type { RunStore } from '../store';
import type { RunRecord } from '../store/types';
import { sampleView } from './views';
import { checkpointModelFile } from '../models/model-file';
import { FLOW_STUDIO_METADATA_KEY } from '../models/safetensors';

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

// ---- The archive ----------------------------------------------------------------------------------

/**
 * Glyphs of a 3 x 5 pixel font for tick labels (rows top to bottom, 3 bits each, left bit first):
 * only what numbers need. Hand-drawn because the host has no font rasteriser.
 */
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 2, 2, 2],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  '-': [0, 0, 7, 0, 0],
  '.': [0, 0, 0, 0, 2],
  e: [7, 5, 7, 4, 7],
  x: [0, 5, 2, 5, 0],
  y: [5, 5, 2, 2, 2],
};

/** Tick positions: multiples of 1, 2 or 5 times a power of ten, about `count` of them across [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [lo];
  const raw = span / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function tickText(v: number): string {
  const s = String(Number(v.toPrecision(4)));
  return s.length <= 7 ? s : v.toExponential(1).replace('+', '');
}

/**
 * A scatter plot of 2D points as an RGB PNG with axes: a square plot area with the same scale on both
 * axes (shapes are not distorted), grid lines and numbered ticks on x and y, the points drawn as
 * 3 x 3 dots. The window is the points' bounding box, padded by 5%, widened to a square.
 */
export function scatterPlotPng(points: number[][], opts: { size?: number } = {}): Uint8Array {
  const area = opts.size ?? 500;
  const left = 52;
  const top = 14;
  const bottom = 40;
  const right = 16;
  const W = left + area + right;
  const H = top + area + bottom;
  const pix = new Uint8Array(W * H * 3).fill(255);
  const put = (x: number, y: number, [r, g, b]: readonly [number, number, number]) => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const i = (y * W + x) * 3;
    pix[i] = r;
    pix[i + 1] = g;
    pix[i + 2] = b;
  };
  const text = (s: string, x: number, y: number, scale = 2) => {
    let cx = x;
    for (const ch of s) {
      const g = GLYPHS[ch];
      if (g)
        g.forEach((row, ry) => {
          for (let rx = 0; rx < 3; rx++)
            if (row & (4 >> rx))
              for (let sy = 0; sy < scale; sy++)
                for (let sx = 0; sx < scale; sx++) put(cx + rx * scale + sx, y + ry * scale + sy, [40, 40, 40]);
        });
      cx += 4 * scale;
    }
  };
  const textWidth = (s: string, scale = 2) => s.length * 4 * scale - scale;

  const fin = points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  const xs = fin.map((p) => p[0]!);
  const ys = fin.map((p) => p[1]!);
  const [x0, x1, y0, y1] = fin.length ? [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)] : [-1, 1, -1, 1];
  const half = (Math.max(x1 - x0, y1 - y0, 1e-6) / 2) * 1.05;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const [bx0, bx1, by0, by1] = [cx - half, cx + half, cy - half, cy + half];
  const px = (x: number) => Math.round(left + ((x - bx0) / (bx1 - bx0)) * (area - 1));
  const py = (y: number) => Math.round(top + (1 - (y - by0) / (by1 - by0)) * (area - 1));

  // Grid and ticks.
  for (const v of niceTicks(bx0, bx1)) {
    const X = px(v);
    for (let y = top; y < top + area; y++) put(X, y, [230, 232, 236]);
    for (let y = top + area; y < top + area + 5; y++) put(X, y, [40, 40, 40]);
    const s = tickText(v);
    text(s, X - Math.floor(textWidth(s) / 2), top + area + 9);
  }
  for (const v of niceTicks(by0, by1)) {
    const Y = py(v);
    for (let x = left; x < left + area; x++) put(x, Y, [230, 232, 236]);
    for (let x = left - 5; x < left; x++) put(x, Y, [40, 40, 40]);
    const s = tickText(v);
    text(s, left - 8 - textWidth(s), Y - 5);
  }
  // Axis names.
  text('x', left + area - 8, top + area + 24);
  text('y', 6, top);
  // Frame.
  for (let x = left; x < left + area; x++) {
    put(x, top, [40, 40, 40]);
    put(x, top + area - 1, [40, 40, 40]);
  }
  for (let y = top; y < top + area; y++) {
    put(left, y, [40, 40, 40]);
    put(left + area - 1, y, [40, 40, 40]);
  }
  for (const [x, y] of fin) {
    const X = px(x!);
    const Y = py(y!);
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) put(X + dx, Y + dy, [59, 111, 224]);
  }
  return encodePng(pix, W, H, 3);
}

/** An archive's bytes and the name to save it under. */
export interface RunArchive {
  name: string;
  bytes: Uint8Array;
  /** Paths inside the archive, in order. */
  entries: string[];
}

/**
 * The run as one zip archive, in a folder named after the run:
 * - config.json: the run's config (train it again with `flow-studio train --config`);
 * - model.json and model.safetensors: the latest checkpoint's sampling weights (EMA when kept) as a
 *   safetensors model file (main/models/model-file.ts), with what they belong to;
 * - metrics.csv: every logged metric (step, name, value);
 * - samples.png and samples.csv: the latest stored sample (2D: a scatter plot with axes and its
 *   points; images: the grid);
 * - trajectories.csv: 256 particle paths from noise to data, sampled with seed 0 (2D);
 * - README.txt: what each file is.
 * Files a run does not have yet (no checkpoint, no sample) are left out and README.txt says so.
 */
export async function exportArchive(
  store: RunStore,
  run: RunRecord,
  sample: (args: { n: number; trajectories: number; seed: number }) => Promise<SampleResult>,
  now: Date = new Date(),
): Promise<RunArchive> {
  const base = slug(run.name);
  const files: [string, Uint8Array, boolean][] = [];
  const text = (s: string) => new TextEncoder().encode(s);
  const notes: string[] = [];
  files.push(['config.json', text(`${JSON.stringify(run.config, null, 2)}\n`), true]);

  const ckpt = store.latestCheckpoint(run.id);
  if (ckpt) {
    // The same self-describing file as `runs export --model`: safetensors with the model's names and
    // its config in the metadata, which the PyTorch engine and any safetensors reader load.
    const { bytes, ema } = checkpointModelFile(ckpt, run);
    const model = {
      format: 'flow-studio-model',
      formatVersion: 2,
      runId: run.id,
      name: run.name,
      step: ckpt.step,
      weights: ema ? 'ema' : 'model',
      weightsFile: 'model.safetensors',
      tensorFormat: `safetensors (its "__metadata__"."${FLOW_STUDIO_METADATA_KEY}" holds the model config, shape and path)`,
      meta: ckpt.meta,
    };
    files.push(['model.json', text(`${JSON.stringify(model, null, 2)}\n`), true]);
    files.push(['model.safetensors', bytes, true]);
  } else notes.push('No checkpoint yet: model.json, model.safetensors and trajectories.csv are left out.');

  const rows = store.getMetrics(run.id).flatMap((s) => s.steps.map((step, i) => [step, s.name, s.values[i]!]));
  files.push(['metrics.csv', text(csv(['step', 'name', 'value'], rows)), true]);

  const info = store
    .listSamples(run.id)
    .filter((s) => s.kind !== 'trajectory')
    .at(-1);
  if (info) {
    const view = sampleView(store, info.id);
    if (view.kind === 'image-grid') {
      files.push(['samples.png', new Uint8Array(Buffer.from(view.png, 'base64')), false]);
    } else {
      files.push(['samples.png', scatterPlotPng(view.points), false]);
      files.push([
        'samples.csv',
        text(
          csv(
            ['x', 'y'],
            view.points.map((p) => [p[0]!, p[1]!]),
          ),
        ),
        true,
      ]);
    }
    notes.push(`samples: the latest stored sample, step ${view.step}.`);
  } else notes.push('No sample stored yet: samples.png and samples.csv are left out.');

  if (ckpt) {
    const r = await sample({ n: 256, trajectories: 256, seed: 0 });
    if (r.trajectories) {
      const { paths, times } = r.trajectories;
      const trows = paths.flatMap((path, p) => path.map((xy, k) => [p, k, times[k]!, xy[0]!, xy[1]!]));
      files.push(['trajectories.csv', text(csv(['particle', 'k', 't', 'x', 'y'], trows)), true]);
      notes.push(
        `trajectories: ${paths.length} paths from noise (t = 0) to data (t = 1), ${r.solver} x ${r.steps}, seed 0, step ${r.step}.`,
      );
    }
  }

  const readme = [
    `Flow Studio run ${run.id}: ${run.name}`,
    `status ${run.status}, step ${run.step}, exported ${now.toISOString()}`,
    '',
    'config.json       the experiment config (flow-studio train --config config.json trains it again)',
    'model.json        what model.safetensors holds: the step, EMA or raw weights, the model meta',
    'model.safetensors the sampling weights (safetensors; the model config in its metadata)',
    'metrics.csv       every logged metric: step, name, value',
    'samples.png       the latest sample: 2D points plotted with axes, or the image grid',
    'samples.csv       the same 2D points: x, y',
    'trajectories.csv  particle paths: particle, k, t, x, y (noise at t = 0, data at t = 1)',
    '',
    ...notes,
    '',
  ].join('\n');
  files.push(['README.txt', text(readme), true]);

  const mtime = now;
  const zippable: Zippable = {};
  const entries: string[] = [];
  for (const [name, bytes, compress] of files) {
    const path = `${base}/${name}`;
    zippable[path] = [bytes, { level: compress ? 6 : 0, mtime }];
    entries.push(path);
  }
  return { name: `${base}.zip`, bytes: zipSync(zippable), entries };
}
