/**
 * The web host: serves the built renderer and the studio contract over HTTP + WebSocket, for
 * machines without an Electron binary and for a headless GPU box opened from a browser.
 *
 * - POST /api/<method> with a JSON body -> the method's envelope (common/contract.ts), status 200;
 * - GET /events (WebSocket) -> events, one JSON { channel: 'run' | 'task', event } per message;
 * - anything else -> a file of the renderer (index.html for unknown paths).
 *
 * Access: a random token (32 bytes, hex) is required on every request and socket: as the
 * x-studio-token header, the ?token= query, or the HttpOnly SameSite=Strict cookie set when the page
 * is opened with ?token= (the browser then sends it with the page's scripts, its API calls and its
 * socket, so the page itself never holds the token). Bound to 127.0.0.1 by default; `host` exposes it
 * deliberately. The Host header must name this server when it is bound to loopback (a page on
 * another site cannot reach it by DNS rebinding), and a browser's POST or socket must come from this
 * origin (see `checkOrigin`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Envelope, ErrorInfo } from '../../common/contract';
import { headerPolicy } from '../security/csp';
import { BadPathError, contentTypeOf, decodePath, resolveStatic } from './static';

export const TOKEN_HEADER = 'x-studio-token';
/** Largest request body by default (a drawn point set or an image config is far smaller). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
/**
 * After refusing an oversized body the host goes on reading and discarding it for this long, so a
 * client that sends its whole body before it reads (most do) still gets the 413 instead of a reset
 * connection; a body still arriving after that has its socket closed.
 */
export const DRAIN_MS = 10_000;

/**
 * The token cookie's name for a host on `port`. Several hosts (one per port) can then run side by
 * side without overwriting each other's cookie. Browsers scope cookies by host name, not port, so
 * the cookie is still sent to other services on the same host name (127.0.0.1); it is HttpOnly (no
 * script reads it) and its token opens only this host, which checks it in constant time.
 */
export function tokenCookieName(port: number): string {
  return `flow_studio_token_${port}`;
}

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
  /** Largest request body in bytes (default MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** How long an oversized body is drained after its 413 (default DRAIN_MS). */
  drainMs?: number;
}

export interface WebHost {
  url: string;
  /** The URL with the token, the one to open. */
  openUrl: string;
  port: number;
  token: string;
  /** Name of the cookie that carries the token (tokenCookieName(port)). */
  cookieName: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * The host could not listen: the port is taken, the address is not this machine's, the name does not
 * resolve. `field` names the option at fault ('host' or 'port'), the message names its value.
 */
export class BindError extends Error {
  constructor(
    readonly field: 'host' | 'port',
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'BindError';
  }
}

/** A listen error as a BindError naming the value at fault; other errors are returned unchanged. */
export function bindError(e: unknown, host: string, port: number): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return new BindError('port', `port ${port} on ${host} is already in use (by another program or another flow-studio host)`, code);
    case 'EACCES':
      return new BindError('port', `port ${port} on ${host}: permission denied (ports below 1024 need privileges)`, code);
    case 'EADDRNOTAVAIL':
      return new BindError(
        'host',
        `'${host}' is not an address of this machine (127.0.0.1 is this machine only, 0.0.0.0 every interface)`,
        code,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return new BindError('host', `'${host}' is not a known host name or address`, code);
    default:
      return e;
  }
}

/** Constant-time comparison, so the token cannot be found byte by byte from response times. */
export function tokenMatches(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A cookie's raw value (the token is hex, so it is never percent-encoded). */
function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/** How a request carried its token. The cookie is the one a browser attaches by itself. */
export type TokenSource = 'header' | 'query' | 'cookie';

/** The token a request carries, and how: header first, then query, then the cookie. */
export function requestToken(req: IncomingMessage, url: URL, cookieName: string): { value: string; via: TokenSource } | null {
  const header = req.headers[TOKEN_HEADER];
  if (typeof header === 'string') return { value: header, via: 'header' };
  const query = url.searchParams.get('token');
  if (query !== null) return { value: query, via: 'query' };
  const cookie = cookieValue(req, cookieName);
  return cookie === null ? null : { value: cookie, via: 'cookie' };
}

/** A refusal: HTTP status and the message of its envelope. */
export interface Refusal {
  status: 400 | 403;
  message: string;
}

/**
 * The Origin rule for a POST or a socket (browsers send Origin with both):
 * - no Origin: not a browser (a script with the token), allowed;
 * - an Origin that is not a URL: 400;
 * - "null" (a sandboxed frame, a file: page, a redirect across origins): refused when the request is
 *   authenticated by the cookie alone, since such a page cannot prove where it comes from and the
 *   browser attached the cookie by itself; allowed with the token in a header or query, which the
 *   caller must have been given;
 * - any other Origin: its host[:port] must be the request's Host (this server's own page).
 */
export function checkOrigin(origin: string | undefined, hostHeader: string | undefined, via: TokenSource): Refusal | null {
  if (origin === undefined) return null;
  if (origin === 'null') return via === 'cookie' ? { status: 403, message: "origin 'null' may not use this host's cookie" } : null;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return { status: 400, message: `malformed Origin header ${JSON.stringify(origin.slice(0, 200))}` };
  }
  if (parsed.host !== (hostHeader ?? '').toLowerCase()) return { status: 403, message: `origin ${origin} may not call this host` };
  return null;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The request's URL, or null when its target is not a path this server can parse (e.g. "//"). */
function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://host.invalid');
  } catch {
    return null;
  }
}

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const token = opts.token ?? randomBytes(32).toString('hex');
  const bindHost = opts.host ?? '127.0.0.1';
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const drainMs = opts.drainMs ?? DRAIN_MS;
  // Node reads an empty host as "every interface": never expose the host by accident.
  if (bindHost.trim() === '')
    throw new BindError('host', 'empty host name (127.0.0.1 is this machine only, 0.0.0.0 every interface)', 'EINVAL');
  const rendererDir = resolve(opts.rendererDir);
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`${rendererDir}: no built renderer here (index.html is missing); run \`npx electron-vite build\` first`);
  }
  // Set once listening (the cookie's name carries the port).
  let cookieName = tokenCookieName(0);

  /** Host header check for a loopback-bound server (DNS rebinding); an exposed server accepts any. */
  const hostAllowed = (req: IncomingMessage): boolean => {
    if (!LOOPBACK.has(bindHost)) return true;
    const h = (req.headers.host ?? '').toLowerCase();
    const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0]!;
    return LOOPBACK.has(name);
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(text);
  };
  const sendError = (res: ServerResponse, status: number, error: ErrorInfo) =>
    sendJson(res, status, { ok: false, error } satisfies Envelope<never>);
  const refuse = (res: ServerResponse, status: number, message: string) => sendError(res, status, { code: 'unauthorized', message });

  /**
   * Answers 413 for a body over the limit and keeps reading (and dropping) the rest, so the client
   * reads the answer instead of a reset: a server that closes a socket with unread data makes the
   * kernel reset the connection, and the client loses the reply. Past `drainMs` the socket is closed.
   */
  const tooLarge = (req: IncomingMessage, res: ServerResponse, size: string) => {
    sendError(res, 413, { code: 'invalid', message: `request body is ${size}; the largest accepted is ${maxBody} bytes` });
    if (req.complete) return;
    req.on('data', () => undefined); // keeps the request flowing; the bytes are dropped
    const timer = setTimeout(() => req.socket.destroy(), drainMs);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, { code: 'failed', message: e instanceof Error ? e.message : String(e) });
      else res.destroy();
    });
  });
  // A client that asks before sending ("Expect: 100-continue") is told about an oversized body
  // before it sends any of it; others are invited to go on.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (declaredLength(req) > maxBody) {
      res.setHeader('connection', 'close'); // nothing was sent, so closing loses no reply
      return sendError(res, 413, {
        code: 'invalid',
        message: `request body is ${declaredLength(req)} bytes; the largest accepted is ${maxBody} bytes`,
      });
    }
    res.writeContinue();
    server.emit('request', req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    if (!url)
      return sendError(res, 400, { code: 'invalid', message: `malformed request path ${JSON.stringify((req.url ?? '').slice(0, 200))}` });
    if (!hostAllowed(req)) return refuse(res, 403, `host '${req.headers.host ?? ''}' is not this server`);
    const given = requestToken(req, url, cookieName);
    if (!given || !tokenMatches(given.value, token)) {
      if (url.pathname.startsWith('/api/'))
        return refuse(res, 401, 'missing or wrong token: open the URL the host printed (it ends with ?token=...)');
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('Flow Studio: this page needs its access token. Open the URL the host printed (it ends with ?token=...).\n');
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return sendError(res, 405, { code: 'invalid', message: 'use POST' });
      const bad = checkOrigin(req.headers.origin, req.headers.host, given.via);
      if (bad)
        return bad.status === 400 ? sendError(res, 400, { code: 'invalid', message: bad.message }) : refuse(res, bad.status, bad.message);
      let method: string;
      try {
        method = decodePath(url.pathname.slice('/api/'.length));
      } catch (e) {
        return sendError(res, 400, { code: 'invalid', message: (e as Error).message });
      }
      const declared = declaredLength(req);
      if (declared > maxBody) return tooLarge(req, res, `${declared} bytes`);
      const body = await readBody(req, maxBody);
      if (body === null) return tooLarge(req, res, `more than ${maxBody} bytes`);
      let payload: unknown;
      try {
        payload = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch (e) {
        return sendError(res, 400, { code: 'invalid', message: `request body: ${e instanceof Error ? e.message : String(e)}` });
      }
      return sendJson(res, 200, await opts.target.call(method, payload));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, { code: 'invalid', message: 'use GET' });
    let file: string | null;
    try {
      file = resolveStatic(rendererDir, url.pathname);
    } catch (e) {
      if (e instanceof BadPathError) return sendError(res, 400, { code: 'invalid', message: e.message });
      throw e;
    }
    serveFile(file ?? join(rendererDir, 'index.html'), res, given.via === 'query');
  }

  function serveFile(file: string, res: ServerResponse, setCookie: boolean): void {
    const html = extname(file) === '.html';
    const headers: Record<string, string> = {
      'content-type': contentTypeOf(file),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': html ? 'no-store' : 'private, max-age=3600',
    };
    if (html) headers['content-security-policy'] = headerPolicy('web');
    if (setCookie) headers['set-cookie'] = `${cookieName}=${token}; Path=/; HttpOnly; SameSite=Strict`;
    res.writeHead(200, headers);
    res.end(readFileSync(file));
  }

  // Training events: one socket per page; upgrades are authorised like requests.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  const refuseUpgrade = (socket: Duplex, status: number, reason: string) => {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = requestUrl(req);
    if (!url) return refuseUpgrade(socket, 400, 'Bad Request');
    if (url.pathname !== '/events') return refuseUpgrade(socket, 404, 'Not Found');
    if (!hostAllowed(req)) return refuseUpgrade(socket, 403, 'Forbidden');
    const given = requestToken(req, url, cookieName);
    if (!given || !tokenMatches(given.value, token)) return refuseUpgrade(socket, 401, 'Unauthorized');
    const bad = checkOrigin(req.headers.origin, req.headers.host, given.via);
    if (bad) return refuseUpgrade(socket, bad.status, bad.status === 400 ? 'Bad Request' : 'Forbidden');
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

  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, bindHost, () => {
        server.off('error', reject);
        resolveListen();
      });
    });
  } catch (e) {
    off();
    wss.close();
    throw bindError(e, bindHost, opts.port ?? 0);
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  cookieName = tokenCookieName(port);
  const shownHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost;
  const url = `http://${shownHost}:${port}/`;
  return {
    url,
    openUrl: `${url}?token=${token}`,
    port,
    token,
    cookieName,
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

/** The Content-Length a request declares, or -1 without one (chunked). */
function declaredLength(req: IncomingMessage): number {
  const v = req.headers['content-length'];
  return v === undefined ? -1 : Number(v);
}

/**
 * The whole body, or null as soon as it grows past `max` bytes (a chunked body declares no length);
 * the caller then answers 413 and the rest of the body is drained, not stored.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        chunks.length = 0;
        resolveBody(null);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
