/**
 * Files in and out of the command line: points and latents as JSON arrays of vectors (from a file
 * or `-` for stdin), experiment configs, and result files. Every error names the file and, for
 * arrays, the offending item, e.g. "points.json: item 3 has 3 numbers, the model expects 2".
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { DataError } from '../../core/errors';
import { InputError } from './errors';

/** The name a file goes by in messages: as the user typed it ('-' is stdin). */
export function displayName(file: string): string {
  return file === '-' ? 'stdin' : file;
}

/** Reads a whole file, or all of stdin for '-'. @throws DataError naming the file */
export async function readInput(file: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    return Buffer.concat(chunks);
  }
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a folder, not a file'
          : code === 'EACCES'
            ? 'permission denied'
            : (e as Error).message;
    throw new DataError(`${file}: ${why}`);
  }
}

/** Parses JSON text, naming the file and the position of a syntax error. @throws DataError */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const detail = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new DataError(`${displayName(file)}: not valid JSON (${detail})`);
  }
}

/** What a vector file must hold. */
export interface VectorSpec {
  /** Numbers per vector the model expects. */
  dim: number;
  /** What the items are called in messages ('points', 'latents'). */
  what: string;
}

/**
 * Validates a JSON value as a non-empty array of vectors of `dim` finite numbers. A single vector
 * ([x, y]) is accepted as one item, since that is what people type for one point.
 * @throws DataError naming the file and the first bad item
 */
export function toVectors(value: unknown, file: string, spec: VectorSpec): number[][] {
  const name = displayName(file);
  if (!Array.isArray(value)) {
    throw new DataError(`${name}: expected a JSON array of ${spec.what} (each an array of ${spec.dim} numbers), got ${jsonKind(value)}`);
  }
  if (value.length === 0) throw new DataError(`${name}: the array of ${spec.what} is empty`);
  const rows: unknown[] = value.every((v) => typeof v === 'number') ? [value] : value;
  return rows.map((row, i) => {
    if (!Array.isArray(row)) throw new DataError(`${name}: item ${i} is ${jsonKind(row)}, not an array of ${spec.dim} numbers`);
    if (row.length !== spec.dim) {
      throw new DataError(`${name}: item ${i} has ${row.length} number${row.length === 1 ? '' : 's'}, the model expects ${spec.dim}`);
    }
    row.forEach((x, j) => {
      if (typeof x !== 'number' || !Number.isFinite(x))
        throw new DataError(`${name}: item ${i}, entry ${j} is ${JSON.stringify(x)}, not a finite number`);
    });
    return row as number[];
  });
}

/** Reads and validates a vector file (or stdin). */
export async function readVectors(file: string, spec: VectorSpec, stdin?: NodeJS.ReadableStream): Promise<number[][]> {
  const bytes = await readInput(file, stdin);
  return toVectors(parseJsonText(bytes.toString('utf8'), file), file, spec);
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * Writes a result file atomically (temp file, then rename), creating its folder: a reader never sees
 * half a PNG, and an existing file is replaced only by a complete one.
 */
export function writeOutput(file: string, data: string | Uint8Array): string {
  const abs = resolve(file);
  try {
    mkdirSync(dirname(abs), { recursive: true });
    const tmp = `${dirname(abs)}/.${basename(abs)}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, abs);
  } catch (e) {
    throw new InputError(`--out ${file}: cannot write (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
  return abs;
}

/** True for file names that are images (by extension). */
export function isImageFile(file: string): boolean {
  return /\.(png|jpe?g)$/i.test(file);
}
