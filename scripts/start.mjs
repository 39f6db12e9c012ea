// `npm start`: build the app, then launch Electron; where no Electron binary is installed (machines
// without internet cannot download it), start the web host instead (the same studio in a browser,
// `flow-studio serve`), which prints the URL to open. `npm run serve` (= `--web`) always does that.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const web = args.includes('--web');
const passOn = args.filter((a) => a !== '--web');

const build = spawnSync(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (build.status !== 0) process.exit(build.status ?? 1);

function electronBinary() {
  // The electron package records its binary in path.txt after its download. Requiring the package
  // would try to download it on the spot, which fails (slowly) without internet, so read the file.
  try {
    const dir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
    const rel = readFileSync(join(dir, 'path.txt'), 'utf8').trim();
    const bin = join(dir, 'dist', rel);
    return existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

const electron = web ? null : electronBinary();
let child;
if (electron) {
  child = spawn(electron, [root, ...passOn], { stdio: 'inherit' });
} else {
  if (!web) console.log('flow-studio: no Electron binary is installed here (it could not be downloaded); starting the web host instead.');
  child = spawn(process.execPath, [join(root, 'out/main/cli.js'), 'serve', ...passOn], { stdio: 'inherit' });
}
// Ctrl+C reaches the child through the terminal's process group; pass on TERM too, then its code.
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGINT', () => {});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 0)));
