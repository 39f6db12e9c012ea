/**
 * Where the command line writes. Two modes:
 * - text (default): results on stdout in a form a human reads or a pipe consumes (a JSON array of
 *   points, a table); notes and progress on stderr, so `flow-studio sample > pts.json` stays clean.
 * - --json: exactly ONE JSON document on stdout, also on failure ({"error": ...}); notes go to
 *   stderr only when it is a terminal, so a script capturing both streams sees nothing unexpected.
 */
import type { Writable } from 'node:stream';

/** The process streams, injectable for tests. */
export interface Streams {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** The one writer of a command's output; see the file comment for the two modes. */
export class Output {
  private resultWritten = false;

  constructor(
    readonly json: boolean,
    readonly streams: Streams,
  ) {}

  /** True when notes and progress are shown: always in text mode, on a terminal in JSON mode. */
  get chatty(): boolean {
    return !this.json || this.streams.stderr.isTTY === true;
  }

  /** A note for a human (stderr). */
  note(line: string): void {
    if (this.chatty) this.streams.stderr.write(`${line}\n`);
  }

  /** A warning: shown in every mode (stderr), since it may change how a result is read. */
  warn(line: string): void {
    this.streams.stderr.write(`warning: ${line}\n`);
  }

  /**
   * The command's result: `doc` as the JSON document in --json mode, else `text()` on stdout (nothing
   * when it returns undefined). Called once per command.
   */
  result(doc: unknown, text?: () => string | undefined): void {
    if (this.resultWritten) throw new Error('internal: a command wrote two results');
    this.resultWritten = true;
    if (this.json) {
      this.streams.stdout.write(`${toJsonText(doc)}\n`);
      return;
    }
    const t = text?.();
    if (t !== undefined) this.streams.stdout.write(t.endsWith('\n') ? t : `${t}\n`);
  }

  /** Whether a result (or error document) was written already. */
  get wroteResult(): boolean {
    return this.resultWritten;
  }

  /** The error document of --json mode (the human line goes to stderr separately). */
  errorResult(kind: string, message: string, exitCode: number): void {
    if (!this.json || this.resultWritten) return;
    this.resultWritten = true;
    this.streams.stdout.write(`${toJsonText({ error: { kind, message, exitCode } })}\n`);
  }
}

/**
 * JSON text of a result: typed arrays become arrays, NaN and infinities become null (JSON has
 * neither; a null loss means "not a number", as in the run store's exports).
 */
export function toJsonText(value: unknown, indent = 2): string {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) return null;
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      return v;
    },
    indent,
  );
  // Arrays of numbers on one line each: 1000 points stay 1000 lines, not 4000. Only arrays the
  // indenter broke over lines match (JSON strings never hold a raw newline), so strings are untouched.
  return text.replace(
    /\[\n\s*((?:-?[\d.eE+-]+|null)(?:,\n\s*(?:-?[\d.eE+-]+|null))*)\n\s*\]/g,
    (_m, inner: string) => `[${inner.split(/,\n\s*/).join(', ')}]`,
  );
}

/**
 * A JSON array of vectors with one vector per line: readable, diffable, and what --points and
 * --latents read back.
 */
export function vectorsText(rows: readonly (readonly number[])[]): string {
  if (rows.length === 0) return '[]';
  return `[\n${rows.map((r) => `  [${r.map(numberText).join(', ')}]`).join(',\n')}\n]`;
}

function numberText(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/** A plain text table with a header row; columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** 0:42, 12:05, 1:02:03. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A number with 4 significant digits, 'NaN'/'-' for the rest. */
export function short(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}
