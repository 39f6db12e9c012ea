/**
 * The `flow-studio` command line: everything the app does, headless.
 *
 *   flow-studio train --preset moons --steps 300
 *   flow-studio sample --model RUN_ID --n 1000 --solver rk4 --steps 20 > samples.json
 *   flow-studio likelihood --model oracle:8gaussians --points pts.json --exact
 *   flow-studio invert --model RUN_ID --points pts.json | flow-studio decode --model RUN_ID --latents -
 *   flow-studio runs list --json
 *
 * Started by bin/flow-studio.mjs (which picks a Node >= 22.12 and the TypeScript flags), or as
 * out/main/cli.js in a build. `main` is the whole program and returns the exit code; see errors.ts
 * for what each code means and help.ts for the usage texts.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommand, type Args, type OptionSpecs } from './args';
import { Context, type Env } from './context';
import { EXIT, exitCodeFor, isEnvironmentFailure, kindOf, messageOf, UsageError } from './errors';
import { COMMAND_NAMES, OVERVIEW, USAGE, type CommandName } from './help';
import { Output, type Streams } from './output';
import { packageRoot } from '../runtime/resources';

/** A command's module: its options and what runs it. */
interface CommandModule {
  options: OptionSpecs;
  run(ctx: Context, passThrough: readonly string[]): Promise<number> | number;
}

interface CommandSpec {
  /** Allowed number of positionals [min, max]. */
  positionals: [number, number];
  /**
   * Loaded on use: `runs list` or `--help` should not pay for starting TensorFlow.js, and `train`
   * does its math in a worker thread anyway.
   */
  load(): Promise<CommandModule>;
}

const MANY = Number.MAX_SAFE_INTEGER;

/** Every command, by name. */
const COMMANDS: Record<CommandName, CommandSpec> = {
  train: {
    positionals: [0, 0],
    load: async () => import('./commands/train').then((m) => ({ options: m.TRAIN_OPTIONS, run: m.trainCommand })),
  },
  sample: {
    positionals: [0, 0],
    load: async () => import('./commands/sample').then((m) => ({ options: m.SAMPLE_OPTIONS, run: m.sampleCommand })),
  },
  // Positionals after --images / --image are more image files (shell globs).
  likelihood: {
    positionals: [0, MANY],
    load: async () => import('./commands/likelihood').then((m) => ({ options: m.LIKELIHOOD_OPTIONS, run: m.likelihoodCommand })),
  },
  invert: {
    positionals: [0, MANY],
    load: async () => import('./commands/latent').then((m) => ({ options: m.INVERT_OPTIONS, run: m.invertCommand })),
  },
  decode: {
    positionals: [0, 0],
    load: async () => import('./commands/latent').then((m) => ({ options: m.DECODE_OPTIONS, run: m.decodeCommand })),
  },
  interpolate: {
    positionals: [0, 0],
    load: async () => import('./commands/latent').then((m) => ({ options: m.INTERPOLATE_OPTIONS, run: m.interpolateCommand })),
  },
  edit: {
    positionals: [1, 1000],
    load: async () => import('./commands/edit').then((m) => ({ options: m.EDIT_OPTIONS, run: m.editCommand })),
  },
  runs: { positionals: [0, 3], load: async () => import('./commands/runs').then((m) => ({ options: m.RUNS_OPTIONS, run: m.runsCommand })) },
  export: {
    positionals: [0, 0],
    load: async () => import('./commands/launch').then((m) => ({ options: m.EXPORT_OPTIONS, run: m.exportCommand })),
  },
  import: {
    positionals: [1, 1],
    load: async () => import('./commands/launch').then((m) => ({ options: m.IMPORT_OPTIONS, run: m.importCommand })),
  },
  bench: {
    positionals: [0, 1],
    load: async () => import('./commands/bench').then((m) => ({ options: m.BENCH_OPTIONS, run: m.benchCommand })),
  },
  doctor: {
    positionals: [0, 0],
    load: async () => import('./commands/doctor').then((m) => ({ options: m.DOCTOR_OPTIONS, run: m.doctorCommand })),
  },
  serve: {
    positionals: [0, 0],
    load: async () => import('./commands/serve').then((m) => ({ options: m.SERVE_OPTIONS, run: m.serveCommand })),
  },
};

/** Global flags that take a value: skipped when looking for the command name. */
const GLOBAL_WITH_VALUE = new Set(['--db', '--backend']);

/** The process's own streams. */
export function processStreams(): Streams {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

/**
 * Runs the command line `argv` (without node and script) and returns the exit code. Never throws:
 * every error becomes a message on stderr (and an {"error": ...} document with --json).
 */
export async function main(argv: readonly string[], streams: Streams = processStreams(), env: Env = process.env): Promise<number> {
  // --json is honoured even when the rest of the line does not parse, so scripts always get JSON.
  const dashAt = argv.indexOf('--');
  const json = (dashAt >= 0 ? argv.slice(0, dashAt) : argv).includes('--json');
  const out = new Output(json, streams);
  const debug = env.FLOW_STUDIO_DEBUG === '1';
  let command: string | undefined;
  let ctx: Context | null = null;
  try {
    const at = commandIndex(argv);
    command = at >= 0 ? argv[at] : undefined;
    const rest = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 1)] : [...argv];
    if (command === undefined) {
      if (rest.includes('--version') || rest.includes('-v')) {
        out.result({ version: ownVersion() }, () => ownVersion());
        return EXIT.ok;
      }
      if (rest.includes('--help') || rest.includes('-h')) {
        out.result({ usage: OVERVIEW }, () => OVERVIEW);
        return EXIT.ok;
      }
      if (rest.length > 0) throw new UsageError(`no command given (got ${rest.join(' ')})`);
      throw new UsageError('no command given');
    }
    if (command === 'help') {
      const topic = rest.find((a) => !a.startsWith('-'));
      const text = topic && isCommand(topic) ? USAGE[topic] : OVERVIEW;
      out.result({ usage: text }, () => text);
      return EXIT.ok;
    }
    if (!isCommand(command)) {
      throw new UsageError(`unknown command '${command}'; commands: ${COMMAND_NAMES.join(', ')}`);
    }
    const spec = COMMANDS[command];
    // Everything after a bare `--` belongs to the bench script.
    const dash = rest.indexOf('--');
    const own = dash >= 0 && command === 'bench' ? rest.slice(0, dash) : rest;
    const passThrough = dash >= 0 && command === 'bench' ? rest.slice(dash + 1) : [];
    if (own.includes('--help') || own.includes('-h')) {
      out.result({ command, usage: USAGE[command] }, () => USAGE[command as CommandName]);
      return EXIT.ok;
    }
    const mod = await spec.load();
    const args: Args = parseCommand(command, own, mod.options, spec.positionals);
    ctx = new Context(args, out, streams, env);
    return await mod.run(ctx, passThrough);
  } catch (e) {
    const code = exitCodeFor(e);
    const where = command && isCommand(command) ? `flow-studio ${command}` : 'flow-studio';
    const helpFor = e instanceof UsageError ? (e.command ?? (command && isCommand(command) ? command : undefined)) : undefined;
    const hint = e instanceof UsageError ? `\n(see 'flow-studio${helpFor ? ` ${helpFor}` : ''} --help')` : '';
    // Not bad input: a bug or a broken environment, where the stack is what a report needs.
    const debugHint =
      code === EXIT.failed && !debug && !isEnvironmentFailure(e) ? '\n(unexpected; run with FLOW_STUDIO_DEBUG=1 for the stack trace)' : '';
    streams.stderr.write(`${where}: error: ${messageOf(e)}${hint}${debugHint}\n`);
    if (debug && e instanceof Error) streams.stderr.write(`${stackOf(e)}\n`);
    out.errorResult(kindOf(e), messageOf(e), code);
    return code;
  } finally {
    try {
      ctx?.close();
    } catch {
      // closing cannot change the outcome; the result is already written
    }
  }
}

function isCommand(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

/** Index of the command name: the first argument that is neither a flag nor a global flag's value. */
function commandIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return -1;
    if (GLOBAL_WITH_VALUE.has(a)) {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      i++;
      continue;
    }
    if (!a.startsWith('-')) return i;
  }
  return -1;
}

function stackOf(e: Error): string {
  let text = e.stack ?? String(e);
  let cause = e.cause;
  while (cause instanceof Error) {
    text += `\ncaused by: ${cause.stack ?? cause.message}`;
    cause = cause.cause;
  }
  return text;
}

function ownVersion(): string {
  const root = packageRoot();
  try {
    return root ? ((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown') : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** True when this module is the program Node was started with (not imported by a test). */
function isEntry(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) {
  const code = await main(process.argv.slice(2));
  // Exit explicitly: worker threads or tfjs handles must not keep a finished command alive. Wait for
  // stdout to drain first (pipes are asynchronous on some platforms) so no output is cut off.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}
