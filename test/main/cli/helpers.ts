// Helpers of the CLI tests: every test drives the REAL command (node bin/flow-studio.mjs ...) in a
// child process with its own FLOW_STUDIO_HOME, and reads results the way a script would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export const ROOT = join(import.meta.dirname, '../../..');
export const BIN = join(ROOT, 'bin', 'flow-studio.mjs');

const homes: string[] = [];
afterAll(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

/** A fresh, empty data folder, removed after the file's tests. */
export function freshHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fs-cli-'));
  homes.push(dir);
  return dir;
}

/** Writes `value` as JSON into `dir/name` and returns the path. */
export function writeJson(dir: string, name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  home: string;
  /** Written to stdin (then closed); stdin is closed at once otherwise. */
  input?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Run the CLI as this user (needs root); see unprivilegedUser. */
  user?: { uid: number; gid: number };
}

/** The environment of a CLI child: ours, minus settings that would change what it does. */
function childEnv(opts: CliOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FLOW_STUDIO_HOME: opts.home };
  delete env.FLOW_STUDIO_BACKEND;
  delete env.FLOW_STUDIO_DEBUG;
  delete env.NODE_OPTIONS; // vitest's own loader flags must not leak into the child
  return { ...env, ...opts.env };
}

/**
 * Starts `flow-studio ARGS` in its own process group (so a test can kill the CLI with whatever it
 * spawned). The caller collects output with `collect`.
 */
export function startCli(args: readonly string[], opts: CliOptions): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: childEnv(opts),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    ...(opts.user ?? {}),
  });
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();
  return child;
}

/** Output and exit of a started CLI. */
export function collect(child: ChildProcess, timeoutMs = 120_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`flow-studio timed out after ${timeoutMs} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `flow-studio ARGS` to the end. */
export function cli(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  return collect(startCli(args, opts), opts.timeoutMs);
}

/** Signals the CLI's whole process group (the CLI and anything it started). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/**
 * The one JSON document a --json command printed. JSON.parse of the WHOLE stdout fails if there is
 * anything else (a second document, a stray log line), which is what --json promises.
 */
export function jsonOf<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch (e) {
    throw new Error(
      `stdout is not one JSON document (${(e as Error).message})\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(-2000)}`,
      { cause: e },
    );
  }
}

/** A readable description of a result, for assertion messages. */
export function show(r: CliResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout: ${r.stdout.slice(0, 1500)}\nstderr: ${r.stderr.slice(-1500)}`;
}

/**
 * Who runs the CLI in tests where file permissions must bite. Root ignores file modes, so as root the
 * CLI runs as nobody (uid/gid 65534; spawn drops root's groups), after checking that nobody can run
 * this Node and read the project and better-sqlite3; `skip` says why when it cannot. Any other user
 * runs it as themselves (`user` undefined), and modes apply to them already.
 */
export function unprivilegedUser(): { user?: { uid: number; gid: number }; skip?: string } {
  if (process.getuid?.() !== 0) return {};
  const user = { uid: 65534, gid: 65534 };
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `const fs = require('fs'); fs.accessSync(${JSON.stringify(BIN)}, fs.constants.R_OK); require(${JSON.stringify(sqlite)}); if (process.getuid() !== ${user.uid}) process.exit(3);`,
    ],
    { ...user, cwd: '/', encoding: 'utf8' },
  );
  if (probe.status !== 0)
    return {
      skip: `the unprivileged user (uid ${user.uid}) cannot run ${process.execPath} or read ${ROOT}: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim().split('\n')[0]}`,
    };
  return { user };
}
