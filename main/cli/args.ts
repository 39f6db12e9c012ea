/**
 * Command-line parsing on node:util parseArgs, with typed accessors whose errors name the flag.
 *
 * Every command declares its options; the global ones (--db, --json, --help, --backend) are
 * accepted anywhere. Unknown flags, missing values and extra positionals are UsageErrors (exit 2).
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors';

/** One option as parseArgs takes it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}
/** A command's options by long name (as parseArgs takes them). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Flags every command accepts. */
export const GLOBAL_OPTIONS = {
  db: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  backend: { type: 'string' },
} as const satisfies OptionSpecs;

type Value = string | boolean | (string | boolean)[] | undefined;

/** Parsed arguments of one command: typed getters that validate and name the flag on error. */
export class Args {
  constructor(
    readonly command: string,
    private readonly values: Readonly<Record<string, Value>>,
    readonly positionals: readonly string[],
  ) {}

  /** True when the flag was given at all. */
  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  string(name: string): string | undefined {
    const v = this.values[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new UsageError(`--${name}: expected a value`, this.command);
    return v;
  }

  /** A string flag that must be present. */
  required(name: string, why = 'is required'): string {
    const v = this.string(name);
    if (v === undefined || v === '') throw new UsageError(`--${name} ${why}`, this.command);
    return v;
  }

  /** All values of a `multiple` string flag (empty when absent). */
  strings(name: string): string[] {
    const v = this.values[name];
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).map(String);
  }

  /** An integer in [min, max]; rejects '1.5', '1e3x', ''. */
  int(name: string, range: { min?: number; max?: number } = {}): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const n = Number(text);
    const min = range.min ?? Number.MIN_SAFE_INTEGER;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (text.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
      const bounds = range.max !== undefined ? `in [${min}, ${max}]` : `>= ${min}`;
      throw new UsageError(`--${name}: must be an integer ${bounds}, got '${text}'`, this.command);
    }
    return n;
  }

  /** A finite number, optionally > 0 or >= min. */
  number(name: string, opts: { positive?: boolean; min?: number } = {}): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const n = Number(text);
    const ok = text.trim() !== '' && Number.isFinite(n) && (!opts.positive || n > 0) && (opts.min === undefined || n >= opts.min);
    if (!ok) {
      const want = opts.positive ? 'a number > 0' : opts.min !== undefined ? `a number >= ${opts.min}` : 'a finite number';
      throw new UsageError(`--${name}: must be ${want}, got '${text}'`, this.command);
    }
    return n;
  }

  /** One of the allowed values. */
  choice<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) {
      throw new UsageError(`--${name}: must be one of ${allowed.join(', ')}, got '${v}'`, this.command);
    }
    return v as T;
  }

  /** Refuses flags that make no sense together, e.g. --preset with --config. */
  exclusive(...names: string[]): void {
    const given = names.filter((n) => this.has(n));
    if (given.length > 1) throw new UsageError(`give only one of ${given.map((n) => `--${n}`).join(', ')}`, this.command);
  }

  /** Refuses flags that were given but do not apply in this mode. */
  forbid(names: readonly string[], why: string): void {
    const given = names.filter((n) => this.has(n));
    if (given.length > 0) throw new UsageError(`${given.map((n) => `--${n}`).join(', ')} ${why}`, this.command);
  }
}

/**
 * Parses a command's arguments (everything after the command name) against its options plus the
 * global ones. `positionals` is the number of positionals allowed ([min, max]).
 */
export function parseCommand(command: string, argv: readonly string[], options: OptionSpecs, positionals: [number, number] = [0, 0]): Args {
  let parsed: { values: Record<string, Value>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...GLOBAL_OPTIONS, ...options },
      strict: true,
      allowPositionals: positionals[1] > 0,
      allowNegative: false,
    }) as { values: Record<string, Value>; positionals: string[] };
  } catch (e) {
    throw new UsageError(usageText(e), command);
  }
  const args = new Args(command, parsed.values, parsed.positionals);
  if (args.flag('help')) return args; // the caller prints help before checking anything else
  const [min, max] = positionals;
  if (parsed.positionals.length > max) {
    throw new UsageError(`unexpected argument '${parsed.positionals[max]}'`, command);
  }
  if (parsed.positionals.length < min) throw new UsageError('missing argument', command);
  return args;
}

/** parseArgs' messages are long and mention its own API; keep the part a user needs. */
function usageText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string }).code;
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) return `unknown option '${unknown[1]}'`;
  const positional = /Unexpected argument '([^']+)'/.exec(msg);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && positional) return `unexpected argument '${positional[1]}'`;
  const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(msg);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && missing) return `${missing[1]} needs a value`;
  return msg.split('\n')[0]!;
}
