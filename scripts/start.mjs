// `npm start`: build the app, then launch Electron; where no Electron binary is installed (machines
// without internet cannot download it), serve the same renderer over HTTP on 127.0.0.1 instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const argValue = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};

const build = spawnSync(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
  cwd: root,
  stdio: 'inherit',
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

const electron = args.includes('--web') ? null : electronBinary();
if (electron) {
  const child = spawn(electron, [root], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  if (!args.includes('--web')) {
    console.log('flow-studio: no Electron binary is installed here; starting the web host instead.');
  }
  serveRenderer(join(root, 'out/renderer'), argValue('--host', '127.0.0.1'), Number(argValue('--port', '0')));
}

function serveRenderer(dir, host, port) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.png': 'image/png', '.svg': 'image/svg+xml', '.json': 'application/json' };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
    let file = join(dir, rel || 'index.html');
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) file = join(dir, 'index.html');
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'x-content-type-options': 'nosniff' });
    res.end(readFileSync(file));
  });
  server.listen(port, host, () => {
    const addr = server.address();
    console.log(`flow-studio: open http://${host}:${addr.port}/  (Ctrl+C to stop)`);
  });
}
