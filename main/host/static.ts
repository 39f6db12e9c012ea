/**
 * The built renderer's files by URL path, for both hosts that serve them: the web host (HTTP) and
 * the Electron app's app:// protocol. One resolver, so both refuse the same paths.
 */
import { existsSync, statSync } from 'node:fs';
import { extname, normalize, resolve, sep } from 'node:path';

/** Content types of the renderer's files; anything else is served as application/octet-stream. */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** The Content-Type header of a file, by its extension. */
export function contentTypeOf(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** A URL path whose percent-encoding is malformed (e.g. "/%E0%A4%A"): the request is bad, not missing. */
export class BadPathError extends Error {
  constructor(readonly path: string) {
    super(`malformed percent-encoding in path ${JSON.stringify(path.slice(0, 200))}`);
    this.name = 'BadPathError';
  }
}

/** A URL path with its percent-escapes decoded; BadPathError when an escape is malformed. */
export function decodePath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    throw new BadPathError(pathname);
  }
}

/**
 * The file under `root` that a URL path names, or null when it names nothing there: a missing file,
 * a folder, or a path that would leave `root` ("/../x", "/a/%2e%2e/%2e%2e/x", a NUL byte). "/" names
 * index.html.
 *
 * @param root absolute folder (resolved)
 * @param pathname the URL's path, still percent-encoded
 * @throws BadPathError for malformed percent-encoding
 */
export function resolveStatic(root: string, pathname: string): string | null {
  const decoded = decodePath(pathname);
  if (decoded.includes('\0')) return null;
  const rel = normalize(decoded).replace(/^([/\\])+/, '');
  const file = resolve(root, rel || 'index.html');
  if (!file.startsWith(root + sep)) return null;
  if (!existsSync(file) || statSync(file).isDirectory()) return null;
  return file;
}
