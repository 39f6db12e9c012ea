/**
 * Keeping results: every result becomes a list of files (PNGs, an APNG and a GIF for
 * interpolations, a JSON of the numbers), which go to the run store as artifacts or to a folder.
 *
 * Where artifacts go: results of a trained run's model (`--model RUN_ID`) are stored with that run.
 * Shipped models and oracles have no run, and the store keeps artifacts per run only, so their
 * results go to one dedicated run per model, "Latent studio: shipped:mnist" (config
 * { kind: 'latent-studio', model: 'shipped:mnist' }), created on the first save and marked
 * completed at once: it shows in the runs list with its artifacts, never trains, and deleting it
 * deletes those results only.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, DataError } from '../../core/errors';
import { tf } from '../../core/tf';
import type { RunStore } from '../store/store';
import type { ArtifactInfo } from '../store/types';
import type { LoadedModel } from '../models/load';
import { interpolationAnimation } from './interpolate';
import type { LatentFile, LatentResult } from '../../common/latent';

export type { LatentResult };

const PNG = 'image/png';

/** The result as JSON without its base64 pictures (those are files of their own). */
function numbersOnly(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(numbersOnly);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!/Png$/.test(k)) out[k] = numbersOnly(v);
    return out;
  }
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value; // JSON has no Infinity (an exact PSNR)
}

function jsonFile(name: string, kind: string, result: unknown): LatentFile {
  return {
    name,
    mime: 'application/json',
    base64: Buffer.from(JSON.stringify({ kind, ...(numbersOnly(result) as object) })).toString('base64'),
    meta: { kind },
  };
}

const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'image';

/**
 * The files of a result, named `base-...` (base defaults to the kind): PNGs of what a user looks at,
 * plus `base.json` with every number (latents, statistics, errors; no base64).
 */
export function resultFiles(r: LatentResult, base: string = r.kind): LatentFile[] {
  const b = safe(base);
  const files: LatentFile[] = [];
  switch (r.kind) {
    case 'invert':
      r.result.items.forEach((it, i) => {
        const meta = { kind: 'invert', source: it.source, psnr: Number.isFinite(it.error.psnr) ? it.error.psnr : null, ks: it.stats.ks };
        files.push({ name: `${b}-${i}-reconstruction.png`, mime: PNG, base64: it.reconstructionPng, meta });
        files.push({ name: `${b}-${i}-latent.png`, mime: PNG, base64: it.latentPng, meta });
      });
      break;
    case 'nfe-sweep': {
      const rows = r.result.series.flatMap((s) =>
        s.points.map((p) => [p.method, p.steps ?? '', p.tol ?? '', p.nfe, p.psnr, p.mse, p.maxAbsError].join(',')),
      );
      const csv = ['method,steps,tol,nfe,psnr,mse,maxAbsError', ...rows].join('\n') + '\n';
      files.push({ name: `${b}.csv`, mime: 'text/csv', base64: Buffer.from(csv).toString('base64'), meta: { kind: 'nfe-sweep' } });
      break;
    }
    case 'interpolate':
      for (const p of r.result.paths) {
        files.push({
          name: `${b}-${p.mode}.png`,
          mime: PNG,
          base64: p.stripPng,
          meta: { kind: 'interpolate', mode: p.mode, frames: p.frames.length },
        });
        for (const format of ['apng', 'gif'] as const) {
          const bytes = interpolationAnimation(r.result, { mode: p.mode, format, delayMs: r.delayMs ?? 150, bounce: true });
          files.push({
            name: `${b}-${p.mode}.${format === 'apng' ? 'apng' : 'gif'}`,
            mime: format === 'apng' ? 'image/apng' : 'image/gif',
            base64: Buffer.from(bytes).toString('base64'),
            meta: { kind: 'interpolate', mode: p.mode, format },
          });
        }
      }
      break;
    case 'class-swap':
    case 'sdedit':
    case 'inpaint':
      r.result.items.forEach((it, i) => {
        files.push({ name: `${b}-${i}-${safe(it.source)}.png`, mime: PNG, base64: it.pairPng, meta: { kind: r.kind, source: it.source } });
      });
      break;
    case 'arithmetic':
      files.push({ name: `${b}.png`, mime: PNG, base64: r.result.stripPng, meta: { kind: 'arithmetic', scale: r.result.scale } });
      break;
  }
  files.push(jsonFile(`${b}.json`, r.kind, r.result));
  return files;
}

/** Name of the dedicated run of a model without a run of its own. */
export function latentRunName(modelKey: string): string {
  return `Latent studio: ${modelKey}`;
}

/**
 * The run whose artifacts hold this model's results: the model's own run when it is a trained run
 * in `store`, else the dedicated latent-studio run of `modelKey` (e.g. 'shipped:mnist'; default the
 * model's label), created if needed. @returns its id
 */
export function latentRunFor(store: RunStore, model: LoadedModel, modelKey?: string): string {
  if (model.runId) {
    store.getRun(model.runId); // NotFoundError when the model's run is not in this store
    return model.runId;
  }
  const key = modelKey ?? model.label;
  const name = latentRunName(key);
  for (const item of store.listRuns({ order: 'oldest' })) {
    if (item.name !== name) continue;
    const cfg = store.getRun(item.id).config;
    if (cfg.kind === 'latent-studio' && cfg.model === key) return item.id;
  }
  const run = store.createRun({
    name,
    config: {
      kind: 'latent-studio',
      model: key,
      label: model.label,
      note: 'results of the latent studio for a model without a run of its own',
    },
    backend: tf.getBackend() || 'none',
  });
  store.setStatus(run.id, 'running');
  store.setStatus(run.id, 'completed', { summary: { kind: 'latent-studio', model: key } });
  return run.id;
}

/**
 * Stores files as artifacts of the model's run (see the module comment). Files are checked before
 * the first write, so a bad file stores nothing.
 */
export function saveArtifacts(
  store: RunStore,
  model: LoadedModel,
  files: readonly LatentFile[],
  opts: { modelKey?: string } = {},
): { runId: string; artifacts: ArtifactInfo[] } {
  if (files.length === 0) throw new ConfigError('files', 'nothing to save');
  const decoded = files.map((f, i) => {
    if (!f || typeof f.name !== 'string' || f.name === '' || typeof f.mime !== 'string' || typeof f.base64 !== 'string') {
      throw new ConfigError(`files[${i}]`, 'must be { name, mime, base64 }');
    }
    return { name: f.name, mime: f.mime, data: new Uint8Array(Buffer.from(f.base64, 'base64')), meta: f.meta ?? {} };
  });
  const runId = latentRunFor(store, model, opts.modelKey);
  return { runId, artifacts: decoded.map((a) => store.addArtifact(runId, a)) };
}

/**
 * Writes files into `dir` (created if needed), each atomically (temp file, then rename).
 * @returns the absolute paths written. @throws DataError naming the file that could not be written
 */
export function exportFiles(dir: string, files: readonly LatentFile[]): string[] {
  const root = resolve(dir);
  return files.map((f) => {
    const path = join(root, basename(f.name));
    try {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
      writeFileSync(tmp, Buffer.from(f.base64, 'base64'));
      renameSync(tmp, path);
    } catch (e) {
      throw new DataError(`${path}: cannot write (${(e as Error).message.split('\n')[0]})`);
    }
    return path;
  });
}
