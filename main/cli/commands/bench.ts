/**
 * `flow-studio bench [NAME] [-- ARGS]`: runs a benchmark script from bench/ with Node's TypeScript
 * support and passes its output and exit code through. Benchmarks live in a source checkout only.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { InputError } from '../errors';
import { packageRoot, tsNodeFlags } from '../../runtime/resources';

/** bench takes no options of its own; script arguments follow `--`. */
export const BENCH_OPTIONS = {} as const satisfies OptionSpecs;

/** Runs bench/run.ts (or bench/NAME.ts); returns the script's exit code. */
export async function benchCommand(ctx: Context, passThrough: readonly string[]): Promise<number> {
  const { args, out } = ctx;
  const root = packageRoot();
  const dir = root ? join(root, 'bench') : null;
  if (!root || !dir || !existsSync(dir)) {
    throw new InputError('no bench/ folder here; benchmarks run from a source checkout of Flow Studio');
  }
  const available = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
  const name = args.positionals[0] ?? 'run';
  const script = join(dir, `${name}.ts`);
  if (!existsSync(script)) {
    const list = available.length ? available.join(', ') : 'none';
    throw new InputError(
      name === 'run'
        ? `bench/run.ts (the benchmark driver) is missing; scripts in bench/: ${list}. Run one with: flow-studio bench NAME`
        : `no bench/${name}.ts; scripts in bench/: ${list}`,
    );
  }
  const scriptArgs = [...passThrough];
  out.note(`running bench/${name}.ts ${scriptArgs.join(' ')}`.trimEnd());
  // In --json mode the script's stdout is captured, so that stdout still carries exactly one JSON
  // document: the script's own when it printed one, else a wrapper holding its text.
  const child = spawn(process.execPath, [...tsNodeFlags(root), script, ...scriptArgs], {
    cwd: root,
    stdio: ['inherit', out.json ? 'pipe' : 'inherit', 'inherit'],
    env: process.env,
  });
  let captured = '';
  child.stdout?.on('data', (d: Buffer) => (captured += d.toString()));
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, signal) => resolve(c ?? (signal === 'SIGINT' ? 130 : 1)));
    });
    if (out.json) {
      let doc: unknown;
      try {
        doc = JSON.parse(captured);
      } catch {
        doc = { script: `bench/${name}.ts`, exitCode: code, output: captured };
      }
      out.result(doc);
    }
    return code;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}
