/**
 * The web host: serves the built renderer and the studio contract over HTTP + WebSocket, for
 * machines without an Electron binary and for a headless GPU box opened from a browser.
 *
 * - POST /api/<method> with a JSON body -> the method's envelope (preload/contract.ts), status 200;
 * - GET /events (WebSocket) -> events, one JSON { channel: 'run' | 'task', event } per message;
 * - anything else -> a file of the renderer (index.html for unknown paths).
 *
 * Access: a random token (32 bytes, hex) is required on every request and socket: as the
 * x-studio-token header, the ?token= query, or the HttpOnly SameSite=Strict cookie set when the page
 * is opened with ?token= (so the browser's own requests for scripts and styles carry it). Bound to
 * 127.0.0.1 by default; `host` exposes it deliberately. The Host header must name this server when it
 * is bound to loopback (a page on another site cannot reach it by DNS rebinding), and a POST from a
 * browser must come from this origin.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Envelope } from '../../preload/contract';

export const TOKEN_HEADER = 'x-studio-token';
export const TOKEN_COOKIE = 'flow_studio_token';
/** Largest request body (a drawn point set or an image config is far smaller). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** What the host serves: the contract's `call` and the event streams (StudioService provides both). */
export interface ContractTarget {
  call(method: string, payload: unknown): Promise<Envelope<unknown>>;
  /** Every event of every stream, with its stream's name ('run', 'task'). */
  onEvent(listener: (channel: EventStream, e: unknown) => void): () => void;
}

export type EventStream = 'run' | 'task';

export interface WebHostOptions {
  target: ContractTarget;
  /** The built renderer (out/renderer). */
  rendererDir: string;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** Fixed token (tests, scripts); default 32 random bytes. */
  token?: string;
}

export interface WebHost {
  url: string;
  /** The URL with the token, the one to open. */
  openUrl: string;
  port: number;
  token: string;
  server: Server;
  close(): Promise<void>;
}

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

/** Constant-time comparison, so the token cannot be found byte by byte from response times. */
export function tokenMatches(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return null;
}

/** The token a request carries, by header, query or cookie. */
export function requestToken(req: IncomingMessage, url: URL): string | null {
  const header = req.headers[TOKEN_HEADER];
  if (typeof header === 'string') return header;
  return url.searchParams.get('token') ?? cookieValue(req, TOKEN_COOKIE);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const token = opts.token ?? randomBytes(32).toString('hex');
  const bindHost = opts.host ?? '127.0.0.1';
  const rendererDir = resolve(opts.rendererDir);
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`${rendererDir}: no built renderer here (index.html is missing); run \`npx electron-vite build\` first`);
  }
  let port = 0;

  /** Host header check for a loopback-bound server (DNS rebinding); an exposed server accepts any. */
  const hostAllowed = (req: IncomingMessage): boolean => {
    if (!LOOPBACK.has(bindHost)) return true;
    const h = (req.headers.host ?? '').toLowerCase();
    const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0]!;
    return LOOPBACK.has(name);
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(text);
  };
  const refuse = (res: ServerResponse, status: number, message: string) =>
    sendJson(res, status, { ok: false, error: { code: 'unauthorized', message } } satisfies Envelope<never>);

  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: { code: 'failed', message: e instanceof Error ? e.message : String(e) } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://host.invalid');
    if (!hostAllowed(req)) return refuse(res, 403, `host '${req.headers.host ?? ''}' is not this server`);
    const given = requestToken(req, url);
    if (!tokenMatches(given, token)) {
      if (url.pathname.startsWith('/api/')) return refuse(res, 401, 'missing or wrong token: open the URL the host printed (it ends with ?token=...)');
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('Flow Studio: this page needs its access token. Open the URL the host printed (it ends with ?token=...).\n');
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: { code: 'invalid', message: 'use POST' } });
      // A browser's cross-origin POST carries its Origin; only this server's own page may call.
      const origin = req.headers.origin;
      if (origin && origin !== 'null' && new URL(origin).host !== req.headers.host) return refuse(res, 403, `origin ${origin} may not call this host`);
      const method = decodeURIComponent(url.pathname.slice('/api/'.length));
      let payload: unknown;
      try {
        const body = await readBody(req);
        payload = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch (e) {
        return sendJson(res, 400, { ok: false, error: { code: 'invalid', message: `request body: ${e instanceof Error ? e.message : String(e)}` } });
      }
      return sendJson(res, 200, await opts.target.call(method, payload));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { ok: false, error: { code: 'invalid', message: 'use GET' } });
    serveFile(url, res, url.searchParams.get('token') !== null);
  }

  function serveFile(url: URL, res: ServerResponse, setCookie: boolean): void {
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
    let file = join(rendererDir, rel || 'index.html');
    if (!(file === rendererDir || file.startsWith(rendererDir + sep)) || !existsSync(file) || statSync(file).isDirectory()) file = join(rendererDir, 'index.html');
    const headers: Record<string, string> = {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': extname(file) === '.html' ? 'no-store' : 'private, max-age=3600',
    };
    if (setCookie) headers['set-cookie'] = `${TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`;
    res.writeHead(200, headers);
    res.end(readFileSync(file));
  }

  // Training events: one socket per page; upgrades are authorised like requests.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://host.invalid');
    const ok = url.pathname === '/events' && hostAllowed(req) && tokenMatches(requestToken(req, url), token);
    if (!ok) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
    });
  });
  const off = opts.target.onEvent((channel, event) => {
    const text = JSON.stringify({ channel, event });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, bindHost, () => resolveListen());
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
  const shownHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost;
  const url = `http://${shownHost}:${port}/`;
  return {
    url,
    openUrl: `${url}?token=${token}`,
    port,
    token,
    server,
    close: async () => {
      off();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
