/**
 * `flow-studio runs list | show ID | export ID | rename ID NAME | delete ID`: the run store from the
 * command line. Reading never creates a database; deleting asks first (or needs --yes when nobody can
 * answer). Renaming and deleting a run that another live process trains is refused (OwnershipError).
 * `runs export ID --archive FILE.zip` writes the archive the app's Export button downloads
 * (main/studio/export.ts exportArchive), with its trajectories sampled in this process.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { RunListItem, RunStore } from '../../store';
import { NotFoundError } from '../../store';
import { Runs } from '../../app/runs';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { EXIT, InputError, UsageError } from '../errors';
import { writeOutput } from '../io';
import { checkpointModelFile } from '../../models/model-file';
import { short, table, toJsonText } from '../output';

/** Options of the runs subcommands (each checks it only gets its own). */
export const RUNS_OPTIONS = {
  out: { type: 'string' },
  archive: { type: 'string' },
  model: { type: 'string' },
  dir: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  limit: { type: 'string' },
} as const satisfies OptionSpecs;

/** What `flow-studio runs` can do. */
export const RUNS_SUBCOMMANDS = ['list', 'show', 'export', 'rename', 'delete'] as const;

/** Dispatches `runs list | show ID | export ID | rename ID NAME | delete ID`. */
export async function runsCommand(ctx: Context): Promise<number> {
  const { args } = ctx;
  const [sub, id, ...rest] = args.positionals;
  if (sub === undefined) throw new UsageError(`runs needs a subcommand: ${RUNS_SUBCOMMANDS.join(', ')}`, 'runs');
  if (!(RUNS_SUBCOMMANDS as readonly string[]).includes(sub))
    throw new UsageError(`unknown runs subcommand '${sub}'; allowed: ${RUNS_SUBCOMMANDS.join(', ')}`, 'runs');
  const name = sub === 'rename' ? rest.shift() : undefined;
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, 'runs');
  if (sub === 'list') {
    if (id !== undefined) throw new UsageError(`unexpected argument '${id}'`, 'runs');
    args.forbid(['out', 'model', 'dir', 'yes', 'archive'], 'do not apply to runs list');
    return list(ctx);
  }
  if (id === undefined) throw new UsageError(`runs ${sub} needs a RUN_ID`, 'runs');
  if (sub === 'rename' && (name === undefined || name.trim() === '')) throw new UsageError('runs rename needs a RUN_ID and a NAME', 'runs');
  if (sub !== 'export') args.forbid(['out', 'model', 'archive', 'dir'], `apply only to runs export`);
  if (sub !== 'delete') args.forbid(['yes'], 'applies only to runs delete');
  args.forbid(['limit'], 'applies only to runs list');
  const store = ctx.openStore({ create: false });
  if (!store) throw new NotFoundError('run', id, `there is no run store at ${ctx.dbPath}`);
  if (sub === 'show') return show(ctx, store, id);
  if (sub === 'export')
    return args.has('archive')
      ? exportRunArchive(ctx, store, id)
      : args.has('dir')
        ? exportBundle(ctx, store, id)
        : exportRun(ctx, store, id);
  if (sub === 'rename') {
    const run = new Runs(store).rename(id, name!.trim());
    ctx.out.result({ renamed: id, name: run.name }, () => `renamed run ${id} to ${run.name}`);
    return EXIT.ok;
  }
  return remove(ctx, store, id);
}

function list(ctx: Context): number {
  const store = ctx.openStore({ create: false });
  const limit = ctx.args.int('limit', { min: 1 });
  const runs: RunListItem[] = store ? store.listRuns(limit !== undefined ? { limit } : {}) : [];
  ctx.out.result({ dbPath: ctx.dbPath, runs }, () => {
    if (runs.length === 0) return `no runs in ${ctx.dbPath}`;
    return table(
      ['ID', 'NAME', 'DATA', 'PATH', 'STATUS', 'STEP', 'LOSS', 'BACKEND', 'CREATED'],
      runs.map((r) => [
        r.id,
        r.name,
        r.dataset ?? '-',
        r.path ?? '-',
        statusText(r),
        String(r.step),
        short(r.finalLoss),
        r.backend,
        new Date(r.createdAt).toISOString().slice(0, 16).replace('T', ' '),
      ]),
    );
  });
  return EXIT.ok;
}

/**
 * The status column: 'interrupted' for a run whose owner died (resumable with train --resume), and
 * the owner for a run another process trains.
 */
function statusText(r: Pick<RunListItem, 'status' | 'interrupted' | 'owner'>): string {
  if (r.interrupted) return `interrupted (was ${r.status})`;
  if (r.owner?.alive && !r.owner.self) return `${r.status} (pid ${r.owner.pid}${r.owner.host === hostname() ? '' : ` on ${r.owner.host}`})`;
  return r.status;
}

function show(ctx: Context, store: RunStore, id: string): number {
  const run = store.getRun(id);
  const checkpoints = store.listCheckpoints(id);
  const metrics = store
    .getMetrics(id, null, { maxPoints: 2 })
    .map((m) => ({ name: m.name, lastStep: m.steps.at(-1) ?? null, last: m.values.at(-1) ?? null }));
  const samples = store.listSamples(id);
  const doc = { run, checkpoints, metrics, samples: samples.length };
  ctx.out.result(doc, () => {
    const lines = [
      `run ${run.id}  ${run.name}`,
      `status    ${statusText(run)}${run.error ? ` (${run.error})` : ''}`,
      ...(run.owner
        ? [`owner     process ${run.owner.pid} on ${run.owner.host}${run.owner.alive ? '' : ` (gone: ${run.owner.gone})`}`]
        : []),
      `step      ${run.step}`,
      `backend   ${run.backend}${run.backendVersion ? ` ${run.backendVersion}` : ''}`,
      `created   ${new Date(run.createdAt).toISOString()}${run.finishedAt ? `, finished ${new Date(run.finishedAt).toISOString()}` : ''}`,
      ...(run.parentRunId ? [`parent    ${run.parentRunId}`] : []),
      `summary   ${
        run.summary
          ? Object.entries(run.summary)
              .map(([k, v]) => `${k} ${typeof v === 'number' ? short(v) : String(v)}`)
              .join(', ')
          : '-'
      }`,
      `metrics   ${metrics.map((m) => `${m.name} ${short(m.last)} @${m.lastStep}`).join(', ') || '-'}`,
      `checkpts  ${checkpoints.map((c) => `${c.step}${c.isEmaIncluded ? ' (EMA)' : ''}`).join(', ') || '-'}`,
      `samples   ${samples.length}`,
      'config',
      toJsonText(run.config).replace(/^/gm, '  '),
    ];
    return lines.join('\n');
  });
  return EXIT.ok;
}

function exportRun(ctx: Context, store: RunStore, id: string): number {
  const { args, out } = ctx;
  const data = store.exportRun(id);
  const modelFile = args.string('model');
  let model: { file: string; step: number; weights: 'ema' | 'raw'; bytes: number } | undefined;
  if (modelFile) {
    const ckpt = store.latestCheckpoint(id);
    if (!ckpt) throw new InputError(`--model: run ${id} has no checkpoint yet (status ${data.run.status})`);
    // The EMA weights are what sampling uses; a checkpoint without them has only the raw ones. The
    // file is a safetensors model file (main/models/model-file.ts) any safetensors reader loads.
    const { bytes, ema } = checkpointModelFile(ckpt, data.run);
    model = { file: writeOutput(modelFile, bytes), step: ckpt.step, weights: ema ? 'ema' : 'raw', bytes: bytes.byteLength };
    out.note(
      `wrote the ${model.weights === 'ema' ? 'EMA' : 'raw'} weights of step ${ckpt.step} (${bytes.byteLength} bytes, safetensors) to ${model.file}`,
    );
  }
  const outFile = args.string('out');
  if (outFile) {
    const file = writeOutput(outFile, `${toJsonText(data)}\n`);
    out.note(`wrote run ${id} (config, ${data.metrics.length} metric series, ${data.checkpoints.length} checkpoints) to ${file}`);
    out.result({ runId: id, out: file, ...(model ? { model } : {}) });
  } else {
    out.result(model ? { ...data, model } : data, () => toJsonText(data));
  }
  return EXIT.ok;
}

/** `runs export ID --archive FILE.zip`: the app's one-file export, written atomically. */
async function exportRunArchive(ctx: Context, store: RunStore, id: string): Promise<number> {
  const { args, out } = ctx;
  args.forbid(['out', 'model', 'dir'], 'do not combine with --archive (the archive holds the config, metrics and weights)');
  const file = args.required('archive', 'needs a file name, e.g. --archive run.zip');
  const run = store.getRun(id);
  // Sampling trajectories needs tfjs only when the run has a checkpoint to sample from.
  const sampling = store.latestCheckpoint(id) !== null;
  if (sampling) await ctx.backend();
  const { exportArchive } = await import('../../studio/export');
  const { sampleTask } = await import('../../compute/tasks');
  const zip = await exportArchive(store, run, async (a) => sampleTask(store, { runId: id, ...a }));
  const written = writeOutput(file, zip.bytes);
  out.note(`wrote run ${id} (${zip.entries.length} files) to ${written}`);
  out.result({ runId: id, archive: written, bytes: zip.bytes.byteLength, entries: zip.entries });
  return EXIT.ok;
}

/**
 * `runs export ID --dir DIR`: the files the app's export writes (main/studio/export.ts): config JSON,
 * metrics CSV, the latest samples as PNG (a scatter plot for 2D), trajectories CSV (2D; 256 particles
 * sampled now with the run's sampler), and the model JSON (latest checkpoint's weights).
 */
async function exportBundle(ctx: Context, store: RunStore, id: string): Promise<number> {
  const { args, out } = ctx;
  args.forbid(['out', 'model', 'archive'], 'cannot be combined with --dir (the folder gets every file)');
  const dir = args.string('dir')!;
  const run = store.getRun(id);
  await ctx.backend();
  const { exportFiles } = await import('../../studio/export');
  const { sampleTask } = await import('../../compute/tasks');
  const { EXPORT_KINDS } = await import('../../../common/contract');
  const files = await exportFiles(store, run, EXPORT_KINDS, async (a) => sampleTask(store, { runId: id, ...a }));
  const written = files.map((f) => ({ name: f.name, mime: f.mime, file: writeOutput(join(dir, f.name), Buffer.from(f.base64, 'base64')) }));
  out.note(`wrote ${written.length} files of run ${id} to ${dir}: ${written.map((w) => w.name).join(', ')}`);
  out.result({ runId: id, dir, files: written });
  return EXIT.ok;
}

async function remove(ctx: Context, store: RunStore, id: string): Promise<number> {
  const { args, out, streams } = ctx;
  const runs = new Runs(store);
  // Refused before asking (the store refuses it too, inside the delete itself: main/store/owner.ts).
  const { run } = runs.check(id, 'delete');
  if (!args.flag('yes')) {
    if (!(streams.stdin.isTTY && streams.stderr.isTTY) || out.json) {
      throw new UsageError(`runs delete ${id}: add --yes to delete without a prompt (nothing was deleted)`, 'runs');
    }
    const rl = createInterface({ input: streams.stdin, output: streams.stderr });
    const answer = await rl.question(`delete run ${id} (${run.name}, ${run.status}, step ${run.step}) and all its data? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      out.result({ deleted: null, runId: id }, () => 'nothing deleted');
      return EXIT.ok;
    }
  }
  runs.delete(id);
  out.result({ deleted: id }, () => `deleted run ${id} (${run.name})`);
  return EXIT.ok;
}
