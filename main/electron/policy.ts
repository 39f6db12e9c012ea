/**
 * The Electron shell's security decisions as plain functions, which main/index.ts wires to
 * Electron's events. They import nothing from Electron, so they are unit-tested in Node: the
 * Electron binary cannot be downloaded on the machines this project is built and tested on, and
 * what matters is what each function decides, not the wiring.
 *
 * The rules:
 * - the renderer is loaded from app://renderer/ (a privileged standard, secure scheme served from
 *   the built renderer folder), never file://; ELECTRON_RENDERER_URL (electron-vite's dev server)
 *   only when the app is not packaged, and only on loopback;
 * - every permission is denied unless allow-listed (the list is empty: the studio uses no
 *   permission-gated web API);
 * - no contents navigates, redirects or frames anything outside the app's own origin; no window
 *   opens; no <webview> attaches;
 * - a link opens in the user's browser only when it is https on a documentation host.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { headerPolicy } from '../security/csp';
import { BadPathError, contentTypeOf, resolveStatic } from '../host/static';

/** The renderer's custom scheme and host: pages are app://renderer/index.html and its assets. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'renderer';
export const APP_ENTRY = `${APP_SCHEME}://${APP_HOST}/index.html`;

/**
 * How the scheme is registered (before the app is ready): standard (relative URLs, an origin of its
 * own, localStorage), secure (like https: no mixed-content downgrade), fetch-able (module scripts).
 * Not bypassCSP, not service workers, not CORS-enabled for other origins.
 */
export const APP_SCHEME_PRIVILEGES = { standard: true, secure: true, supportFetchAPI: true, codeCache: true } as const;

/** Hosts whose https pages a link may open in the user's browser: the studio's documentation and papers. */
export const DOC_HOSTS: readonly string[] = ['github.com', 'arxiv.org'];

/** Permissions the renderer may have. None: every request and check is denied. */
export const ALLOWED_PERMISSIONS: readonly string[] = [];

/** Where the window loads the renderer from, and whether that is the development server. */
export interface RendererEntry {
  url: string;
  dev: boolean;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The renderer's URL: ELECTRON_RENDERER_URL in development (the app is not packaged, and the URL is
 * http(s) on loopback, where electron-vite serves it), else app://renderer/index.html. A packaged
 * app ignores the variable, so nobody can point an installed studio at another page.
 */
export function rendererEntry(opts: { isPackaged: boolean; devUrl?: string | undefined }): RendererEntry {
  if (!opts.isPackaged && opts.devUrl) {
    const u = parseUrl(opts.devUrl);
    if (u && (u.protocol === 'http:' || u.protocol === 'https:') && LOOPBACK_HOSTS.has(u.hostname)) return { url: u.href, dev: true };
  }
  return { url: APP_ENTRY, dev: false };
}

function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * True when `url` is in the same app as `entry`: same scheme and host (with port). Compared by
 * scheme and host rather than URL.origin, which Node gives as "null" for custom schemes.
 */
export function sameApp(url: string, entry: string): boolean {
  const a = parseUrl(url);
  const b = parseUrl(entry);
  return !!a && !!b && a.protocol === b.protocol && a.host === b.host && a.host !== '';
}

/** will-navigate, will-frame-navigate, will-redirect: only within the app (a reload, its own pages). */
export function navigationAllowed(url: string, entry: string): boolean {
  return sameApp(url, entry);
}

/**
 * Whether a link may be handed to the user's browser (shell.openExternal): https, a host of
 * DOC_HOSTS, no user name or password in the URL (they could disguise where it goes).
 */
export function externalUrlAllowed(url: string, hosts: readonly string[] = DOC_HOSTS): boolean {
  const u = parseUrl(url);
  if (!u || u.protocol !== 'https:' || u.username !== '' || u.password !== '') return false;
  return hosts.includes(u.hostname.toLowerCase());
}

/** A window.open or target=_blank link: never a new window; allowed documentation opens outside. */
export function windowOpenDecision(url: string): { action: 'deny'; openExternal: boolean } {
  return { action: 'deny', openExternal: externalUrlAllowed(url) };
}

/**
 * A permission request or check: only allow-listed permissions, and only for the app's own pages
 * (a frame from anywhere else never gets one).
 */
export function permissionAllowed(
  permission: string,
  requestingUrl: string,
  entry: string,
  allowed: readonly string[] = ALLOWED_PERMISSIONS,
): boolean {
  return allowed.includes(permission) && sameApp(requestingUrl, entry);
}

/**
 * The app:// protocol handler: the built renderer's file a request names, with its content type and,
 * for pages, the Electron CSP header. 404 for another host or a path that leaves the folder
 * (resolveStatic refuses traversal), 400 for malformed percent-encoding, 405 for anything but GET
 * and HEAD. Uses only the web-standard Request and Response, so it runs under Node as in Electron.
 */
export async function serveAppRequest(rendererDir: string, request: Request): Promise<Response> {
  const text = (status: number, message: string) =>
    new Response(message, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'use GET');
  const url = parseUrl(request.url);
  if (!url || url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return text(404, 'not found');
  let file: string | null;
  try {
    file = resolveStatic(rendererDir, url.pathname);
  } catch (e) {
    if (e instanceof BadPathError) return text(400, e.message);
    throw e;
  }
  if (!file) return text(404, 'not found');
  const headers: Record<string, string> = { 'content-type': contentTypeOf(file), 'x-content-type-options': 'nosniff' };
  if (extname(file) === '.html') headers['content-security-policy'] = headerPolicy('electron');
  return new Response(request.method === 'HEAD' ? null : new Uint8Array(await readFile(file)), { status: 200, headers });
}
