/**
 * The benchmark suite: prints ONE JSON document on stdout (progress goes to stderr).
 *
 *   node --experimental-transform-types --disable-warning=ExperimentalWarning --import ./scripts/ts-hooks.mjs \
 *     bench/run.ts [--only NAME[,NAME]] [--out FILE] [--rounds N] [--python PATH | --no-torch]
 *   npm run bench -- [same flags]
 *
 * Benchmarks (NAME): mlp-step, sampling, moons-quality, unet-step, unet-eval, invert-image, engine-step, sample-quality (see each
 * module's comment).
 * Without --out the document is written to bench/results/latest.json (tracked in git, so a change
 * in speed shows in review); with --only, the other benchmarks' entries already in that file are
 * kept, each entry carrying its own date. Runs on the backend the engine would pick
 * (FLOW_STUDIO_BACKEND or auto).
 *
 * These are measurements, not tests: nothing here passes or fails on a number. The machine may be
 * shared; the document records the load average before and after each benchmark.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, arch } from 'node:os';
import { dirname, join } from 'node:path';
import { selectBackend } from '../main/runtime/backend';
import { log, round } from './lib';
import { benchMlpStep } from './mlp';
import { benchSampling } from './sampling';
import { benchSampleQuality } from './sample-quality';
import { benchMoonsQuality } from './moons';
import { benchUnetStep } from './unet';
import { benchInvert } from './invert';
import { benchUnetEval } from './unet-eval';
import { benchEngines } from './engines';

const NAMES = ['mlp-step', 'sampling', 'moons-quality', 'unet-step', 'unet-eval', 'invert-image', 'engine-step', 'sample-quality'] as const;
type Name = (typeof NAMES)[number];

interface Args {
  only: Name[];
  out: string | null;
  rounds: number;
  python: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { only: [...NAMES], out: null, rounds: 5, python: '/usr/bin/python3' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only') {
      const names = value().split(',');
      for (const n of names)
        if (!(NAMES as readonly string[]).includes(n)) throw new Error(`--only: unknown benchmark '${n}'; allowed: ${NAMES.join(', ')}`);
      args.only = names as Name[];
    } else if (a === '--out') args.out = value();
    else if (a === '--rounds') {
      args.rounds = Number(value());
      if (!(Number.isInteger(args.rounds) && args.rounds >= 1)) throw new Error('--rounds must be an integer >= 1');
    } else if (a === '--python') args.python = value();
    else if (a === '--no-torch') args.python = null;
    else
      throw new Error(
        `unknown argument '${a}'; usage: bench/run.ts [--only ${NAMES.join('|')}[,...]] [--out FILE] [--rounds N] [--python PATH | --no-torch]`,
      );
  }
  return args;
}

const LATEST = join(import.meta.dirname, 'results', 'latest.json');

const load = (): number[] => loadavg().map((x) => round(x, 2));

/**
 * What the CPU offers for the peer's kernels: PyTorch's BLAS uses AVX-512 where present and our wasm
 * kernels never can (128-bit SIMD), so a ratio means little without it. Machines of one pool share a
 * model name ("AMD EPYC") but not always their vector units, hence the flags, per benchmark entry.
 */
function machine(): Record<string, unknown> {
  let simd: string[] = [];
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
    simd = flags.filter((f) => /^(sse4_2|avx|avx2|fma|avx512f|avx512_bf16|avx512_vnni)$/.test(f));
  } catch {
    // /proc is Linux only; elsewhere the model name has to do.
  }
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', simd, platform: `${platform()} ${arch()}`, node: process.version };
}

async function runOne(name: Name, args: Args): Promise<Record<string, unknown>> {
  switch (name) {
    case 'mlp-step':
      return benchMlpStep({ batches: [256, 2048], rounds: args.rounds, python: args.python });
    case 'sampling':
      return benchSampling({ points: [1000, 10_000], steps: 100, repeats: 2, python: args.python });
    case 'moons-quality':
      return benchMoonsQuality({ target: 0.01, evalEvery: 50, evalPoints: 1000, goalSec: 10, confirmEvals: 2 });
    case 'unet-step':
      return benchUnetStep({ batches: [32, 64], rounds: args.rounds, roundMs: 3000, python: args.python, threads: 2 });
    case 'unet-eval':
      return benchUnetEval({ batches: [1, 16, 64], rounds: args.rounds, roundMs: 1500, python: args.python, threads: 2 });
    case 'invert-image':
      return benchInvert({ repeats: args.rounds });
    case 'engine-step':
      return benchEngines({ steps: { mlp: 30, unet: 5 } });
    case 'sample-quality':
      return benchSampleQuality({
        samplers: ['euler', 'heun', 'ddim', 'dpm++2m'],
        nfes: [5, 10, 20],
        oracleNfes: [5, 10, 20, 50],
        images: 200,
        points: 1000,
      });
  }
}

/** The headline numbers, pulled out of the results for a quick read. */
function summarise(results: Record<string, Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const mlp = results['mlp-step'] as
    | {
        results?: {
          batch: number;
          stepsPerSec: Record<string, { best: number; median: number } | null>;
          ratioOursOverTorch: Record<string, { best: number; median: number } | null>;
        }[];
      }
    | undefined;
  for (const r of mlp?.results ?? []) {
    out[`mlp-step batch ${r.batch} (steps/s, best)`] = {
      engine: r.stepsPerSec['engine trainer.step']?.best ?? null,
      'engine 2 threads': r.stepsPerSec['engine 2 threads']?.best ?? null,
      bare: r.stepsPerSec['bare model step']?.best ?? null,
      torch: r.stepsPerSec.torch?.best ?? null,
      'engine/torch': r.ratioOursOverTorch['engine trainer.step']?.best ?? null,
      'engine 2 threads/torch': r.ratioOursOverTorch['engine 2 threads']?.best ?? null,
      'bare/torch': r.ratioOursOverTorch['bare model step']?.best ?? null,
    };
  }
  const s = results.sampling as
    | {
        mlp?: {
          runs: {
            points: number;
            ours: { pointStepsPerSec: { best: number } };
            ours2?: { pointStepsPerSec: { best: number } };
            torch1: { pointStepsPerSec: { best: number } } | null;
            torch2?: { pointStepsPerSec: { best: number } } | null;
            ratioOursOverTorch1: number | null;
            ratioOurs2OverTorch2?: number | null;
            ratioBestOverBest?: number | null;
          }[];
        };
        oracle8gaussians?: { pointStepsPerSec: { best: number } };
      }
    | undefined;
  if (s)
    out['sampling (point-steps/s, best)'] = {
      ...Object.fromEntries(
        (s.mlp?.runs ?? []).map((r) => [
          `mlp ${r.points} points`,
          {
            ours: r.ours.pointStepsPerSec.best,
            ours2: r.ours2?.pointStepsPerSec.best ?? null,
            torch1: r.torch1?.pointStepsPerSec.best ?? null,
            torch2: r.torch2?.pointStepsPerSec.best ?? null,
            ratio1: r.ratioOursOverTorch1,
            ratio2: r.ratioOurs2OverTorch2 ?? null,
            bestOverBest: r.ratioBestOverBest ?? null,
          },
        ]),
      ),
      oracle8gaussians: s.oracle8gaussians?.pointStepsPerSec.best,
    };
  const m = results['moons-quality'] as { reached?: boolean; steps?: number; trainSec?: number; wallSec?: number } | undefined;
  if (m) out['moons to ED < 0.01'] = m.reached ? { steps: m.steps, trainSec: m.trainSec, wallSecWithEvals: m.wallSec } : 'not reached';
  const u = results['unet-step'] as
    | { results?: { batch: number; msPerStep: Record<string, { best: number } | null>; ratioOursOverTorch: Record<string, unknown> }[] }
    | undefined;
  for (const r of u?.results ?? [])
    out[`unet-step batch ${r.batch} (ms/step, best)`] = {
      ...Object.fromEntries(Object.entries(r.msPerStep ?? {}).map(([k, v]) => [k, v?.best ?? null])),
      ratios: r.ratioOursOverTorch,
    };
  const ev = results['unet-eval'] as
    { results?: { batch: number; msPerEval: Record<string, { best: number } | null>; ratioOursOverTorch1: unknown }[] } | undefined;
  for (const r of ev?.results ?? [])
    out[`unet-eval batch ${r.batch} (ms/eval, best)`] = {
      ...Object.fromEntries(Object.entries(r.msPerEval ?? {}).map(([k, v]) => [k, v?.best ?? null])),
      'engine/torch1': r.ratioOursOverTorch1,
    };
  const inv = results['invert-image'] as { results?: { solver: string; nfe: number; ms: { best: number; median: number } }[] } | undefined;
  for (const r of inv?.results ?? [])
    out[`invert one 28x28 image, ${r.solver} (ms)`] = { best: r.ms.best, median: r.ms.median, nfe: r.nfe };
  const q = results['sample-quality'] as { mnist?: { rows: { sampler: string; nfe: number; fid: number }[] } } | undefined;
  for (const r of q?.mnist?.rows ?? []) if (r.nfe === 10 || r.nfe === 20) out[`mnist FID, ${r.sampler} at ${r.nfe} NFE`] = r.fid;
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const backend = await selectBackend();
  log(`backend ${backend.name} (${backend.version}); running ${args.only.join(', ')}`);

  // With --only and no --out, keep the other benchmarks' entries of the tracked file.
  let previous: Record<string, Record<string, unknown>> = {};
  if (!args.out && args.only.length < NAMES.length && existsSync(LATEST)) {
    try {
      previous = (JSON.parse(readFileSync(LATEST, 'utf8')) as { results?: Record<string, Record<string, unknown>> }).results ?? {};
    } catch {
      previous = {};
    }
  }
  const results: Record<string, Record<string, unknown>> = { ...previous };
  for (const name of args.only) {
    const loadBefore = load();
    const t0 = performance.now();
    log(`${name} ...`);
    const r = await runOne(name, args);
    results[name] = {
      date: new Date().toISOString(),
      durationSec: round((performance.now() - t0) / 1000, 1),
      loadavgBefore: loadBefore,
      loadavgAfter: load(),
      machine: machine(),
      ...r,
    };
  }
  const ordered = Object.fromEntries(NAMES.filter((n) => results[n]).map((n) => [n, results[n]!]));
  const doc = {
    suite: 'flow-studio bench',
    date: new Date().toISOString(),
    machine: { ...machine(), loadavg: load() },
    backend: { name: backend.name, version: backend.version, tfjsCore: backend.coreVersion },
    note: 'Rates are the best and the median of rounds interleaved between variants (the machine may be shared); loadavg [1, 5, 15 min] and the machine are recorded per benchmark (entries kept from earlier runs may come from another machine).',
    summary: summarise(ordered),
    results: ordered,
  };
  const json = JSON.stringify(doc, null, 2);
  const file = args.out ?? LATEST;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${json}\n`);
  process.stdout.write(`${json}\n`);
  log(`written to ${file}`);
}

try {
  await main();
} catch (e) {
  // Bad flags and failed benchmarks: one line, not a stack, and a non-zero exit for scripts.
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
