/**
 * The web host (main/host/server.ts) over real sockets: the token is required on every request and
 * socket (header, query or the cookie set by the page), loopback hosts only, same-origin POSTs and
 * sockets, 400 for malformed input, 413 that the client reads for oversized bodies, bind errors that
 * name the value, the contract's envelopes, events over the WebSocket, and the renderer's files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { BindError, startWebHost, tokenMatches, type ContractTarget, type WebHost } from '../../../main/host/server';
import type { Envelope } from '../../../common/contract';

/** A contract target that records calls: the transport is under test here, not the handlers. */
function recordingTarget() {
  const calls: { method: string; payload: unknown }[] = [];
  const listeners = new Set<(c: 'run' | 'task', e: unknown) => void>();
  const target: ContractTarget = {
    call: async (method, payload) => {
      calls.push({ method, payload });
      return { ok: true, value: { echo: payload, method } } satisfies Envelope<unknown>;
    },
    onEvent: (l) => (listeners.add(l), () => listeners.delete(l)),
  };
  return { target, calls, emit: (c: 'run' | 'task', e: unknown) => listeners.forEach((l) => l(c, e)) };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(
  host: WebHost,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

let dir: string;
let host: WebHost;
let rec: ReturnType<typeof recordingTarget>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fs-host-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>studio</title>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  rec = recordingTarget();
  host = await startWebHost({ target: rec.target, rendererDir: dir });
});
afterAll(async () => {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('token', () => {
  it('is 64 hex characters of randomness, different per host', async () => {
    expect(host.token).toMatch(/^[0-9a-f]{64}$/);
    const other = await startWebHost({ target: rec.target, rendererDir: dir });
    expect(other.token).not.toBe(host.token);
    await other.close();
    expect(host.openUrl).toBe(`http://127.0.0.1:${host.port}/?token=${host.token}`);
  });

  it('a request without the token, or with a wrong one, is refused and reaches no handler', async () => {
    const n = rec.calls.length;
    const none = await http(host, '/api/listRuns', { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    const wrong = await http(host, '/api/listRuns', {
      method: 'POST',
      headers: { 'x-studio-token': host.token.replace(/.$/, (c) => (c === '0' ? '1' : '0')) },
      body: '{}',
    });
    expect(wrong.status).toBe(401);
    const short = await http(host, '/api/listRuns', { method: 'POST', headers: { 'x-studio-token': host.token.slice(0, 10) }, body: '{}' });
    expect(short.status).toBe(401);
    expect((await http(host, '/')).status).toBe(401);
    expect((await http(host, '/assets/app.js')).status).toBe(401);
    expect(rec.calls.length).toBe(n);
  });

  it('the header or the query authorises; the page opened with ?token= sets an HttpOnly SameSite cookie that then works', async () => {
    const ok = await http(host, '/api/getRun', { method: 'POST', headers: { 'x-studio-token': host.token }, body: '{"id":"abc"}' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ ok: true, value: { echo: { id: 'abc' }, method: 'getRun' } });
    const page = await http(host, `/?token=${host.token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>studio</title>');
    const cookie = String(page.headers['set-cookie']);
    // The cookie's name carries the port: hosts on other ports of 127.0.0.1 keep their own cookies.
    expect(host.cookieName).toBe(`flow_studio_token_${host.port}`);
    expect(cookie).toContain(`${host.cookieName}=${host.token}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const asset = await http(host, '/assets/app.js', { headers: { cookie: `${host.cookieName}=${host.token}` } });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
    // The cookie alone authorises the API (the page sends no header) and the page reloaded without ?token=.
    const api = await http(host, '/api/listRuns', {
      method: 'POST',
      headers: { cookie: `${host.cookieName}=${host.token}`, origin: `http://127.0.0.1:${host.port}` },
      body: '{}',
    });
    expect(api.status).toBe(200);
    const reload = await http(host, '/', { headers: { cookie: `${host.cookieName}=${host.token}` } });
    expect(reload.status).toBe(200);
    expect(reload.headers['set-cookie']).toBeUndefined();
    // A cookie under another port's name (another host's) opens nothing here.
    const other = await http(host, '/api/listRuns', {
      method: 'POST',
      headers: { cookie: `flow_studio_token_${host.port + 1}=${host.token}` },
      body: '{}',
    });
    expect(other.status).toBe(401);
  });

  it('tokenMatches compares whole strings', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abd', 'abc')).toBe(false);
    expect(tokenMatches('ab', 'abc')).toBe(false);
    expect(tokenMatches(undefined, 'abc')).toBe(false);
  });
});

describe('requests', () => {
  const auth = () => ({ 'x-studio-token': host.token });

  it('a foreign Host header (DNS rebinding) or a cross-origin POST is refused', async () => {
    expect(
      (await http(host, '/api/listRuns', { method: 'POST', headers: { ...auth(), host: 'evil.example:80' }, body: '{}' })).status,
    ).toBe(403);
    expect(
      (await http(host, '/api/listRuns', { method: 'POST', headers: { ...auth(), origin: 'http://evil.example' }, body: '{}' })).status,
    ).toBe(403);
    expect(
      (await http(host, '/api/listRuns', { method: 'POST', headers: { ...auth(), origin: `http://127.0.0.1:${host.port}` }, body: '{}' }))
        .status,
    ).toBe(200);
  });

  it('bad JSON is a 400 envelope; GET on the API is refused; path traversal serves index.html', async () => {
    const bad = await http(host, '/api/listRuns', { method: 'POST', headers: auth(), body: '{nope' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect((await http(host, '/api/listRuns', { headers: auth() })).status).toBe(405);
    const trav = await http(host, '/../../../../etc/passwd', { headers: auth() });
    expect(trav.body).toContain('<title>studio</title>');
  });
});

describe('events socket', () => {
  it('refuses a socket without the token and streams events to one with it', async () => {
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}/events`);
      ws.on('open', () => resolve('open'));
      ws.on('error', (e) => resolve(e.message));
    });
    expect(refused).toContain('401');
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/events?token=${host.token}`);
    await new Promise((r) => ws.on('open', r));
    const got = new Promise<unknown>((r) => ws.on('message', (m) => r(JSON.parse(String(m)))));
    rec.emit('run', { type: 'progress', runId: 'r1', step: 7 });
    expect(await got).toEqual({ channel: 'run', event: { type: 'progress', runId: 'r1', step: 7 } });
    ws.close();
  });
});

describe('origins and malformed input', () => {
  const own = () => `http://127.0.0.1:${host.port}`;
  const cookie = () => `${host.cookieName}=${host.token}`;

  it("a POST authenticated by the cookie alone is refused from Origin 'null'; with the token in a header it is allowed", async () => {
    const n = rec.calls.length;
    const byCookie = await http(host, '/api/listRuns', { method: 'POST', headers: { cookie: cookie(), origin: 'null' }, body: '{}' });
    expect(byCookie.status).toBe(403);
    expect(JSON.parse(byCookie.body)).toMatchObject({
      ok: false,
      error: { code: 'unauthorized', message: expect.stringContaining("'null'") },
    });
    expect(rec.calls.length).toBe(n);
    expect(
      (await http(host, '/api/listRuns', { method: 'POST', headers: { 'x-studio-token': host.token, origin: 'null' }, body: '{}' })).status,
    ).toBe(200);
    expect(
      (await http(host, '/api/listRuns', { method: 'POST', headers: { cookie: cookie(), origin: 'http://evil.example' }, body: '{}' }))
        .status,
    ).toBe(403);
    expect((await http(host, '/api/listRuns', { method: 'POST', headers: { cookie: cookie(), origin: own() }, body: '{}' })).status).toBe(
      200,
    );
  });

  it('a malformed Origin, a malformed percent-escape or an unparsable path is a 400 envelope, not a 500', async () => {
    for (const origin of ['http://[', 'not a url']) {
      const r = await http(host, '/api/listRuns', { method: 'POST', headers: { cookie: cookie(), origin }, body: '{}' });
      expect(r.status, origin).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringContaining('Origin') } });
    }
    const api = await http(host, '/api/list%E0%A4%A', { method: 'POST', headers: { 'x-studio-token': host.token }, body: '{}' });
    expect(api.status).toBe(400);
    expect(JSON.parse(api.body)).toMatchObject({
      ok: false,
      error: { code: 'invalid', message: expect.stringContaining('percent-encoding') },
    });
    expect((await http(host, '/assets/%E0%A4%A.js', { headers: { 'x-studio-token': host.token } })).status).toBe(400);
    expect((await http(host, '//', { headers: { 'x-studio-token': host.token } })).status).toBe(400);
    // A cookie header with a stray '%' is just a wrong token.
    expect(
      (await http(host, '/api/listRuns', { method: 'POST', headers: { cookie: `${host.cookieName}=%E0%A4%A` }, body: '{}' })).status,
    ).toBe(401);
    // The host still serves after all of these.
    expect((await http(host, '/api/listRuns', { method: 'POST', headers: { 'x-studio-token': host.token }, body: '{}' })).status).toBe(200);
  });

  it('the page is served with a Content-Security-Policy header that frames nothing and connects only to its own origin', async () => {
    const page = await http(host, '/', { headers: { cookie: cookie() } });
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/connect-src 'self'(;|$)/);
  });

  /** 'open', or the HTTP status the upgrade was refused with. */
  const upgrade = (path: string, options: WebSocket.ClientOptions = {}) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host.port}${path}`, options);
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('unexpected-response', (req, res) => {
        resolve(String(res.statusCode));
        req.destroy();
      });
      ws.on('error', (e) => resolve(e.message));
    });

  it('a socket upgrade checks Origin like a POST does', async () => {
    const q = `/events?token=${host.token}`;
    expect(await upgrade(q, { origin: 'http://evil.example' })).toBe('403');
    expect(await upgrade(q, { origin: 'http://[' })).toBe('400');
    expect(await upgrade(q, { origin: own() })).toBe('open');
    expect(await upgrade(q, { origin: 'null' })).toBe('open'); // the token was given explicitly
    expect(await upgrade('/events', { headers: { cookie: cookie() }, origin: 'null' })).toBe('403');
    expect(await upgrade('/events', { headers: { cookie: cookie() }, origin: 'http://evil.example' })).toBe('403');
    expect(await upgrade('/events', { headers: { cookie: cookie() }, origin: own() })).toBe('open');
    expect(await upgrade('/events', { headers: { cookie: cookie() } })).toBe('open'); // not a browser: no Origin
    expect(await upgrade('/events', { origin: own() })).toBe('401');
  });
});

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses the first HTTP/1.1 response from raw bytes (ASCII bodies); null until it is complete (by Content-Length). */
function parseRaw(raw: string): RawReply | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  // The first response only (whatever follows it, e.g. Node's own 400 for a body the client cut
  // short after reading the answer, is not the host's reply).
  const length = Number(headers['content-length'] ?? 0);
  const body = raw.slice(end + 4, end + 4 + length);
  if (body.length < length) return null;
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}

interface StreamResult {
  reply: RawReply | null;
  /** Body bytes written before the reply came. */
  sent: number;
  /** A socket error the client saw, if any (after the reply it does not matter). */
  error: string | null;
}

/**
 * A client over a plain TCP socket that sends `head`, then body chunks (framed by `frame`) up to
 * `total` bytes while reading, as a browser or curl does; it stops sending when the reply is in.
 */
function streamBody(port: number, head: string, total: number, frame: (chunk: Buffer) => (Buffer | string)[]): Promise<StreamResult> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let raw = '';
    let reply: RawReply | null = null;
    let sent = 0;
    let error: string | null = null;
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      raw += d;
      reply = parseRaw(raw);
      if (reply) s.end();
    });
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on('close', () => resolve({ reply, sent, error }));
    s.write(head);
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const pump = () => {
      while (!reply && sent < total && !s.destroyed) {
        let ok = true;
        for (const part of frame(chunk)) ok = s.write(part) && ok;
        sent += chunk.length;
        if (!ok) return void s.once('drain', pump);
      }
    };
    pump();
  });
}

describe('oversized bodies get a 413 envelope the client reads', () => {
  const LIMIT = 64 * 1024;
  let small: WebHost;
  let recSmall: ReturnType<typeof recordingTarget>;
  beforeAll(async () => {
    recSmall = recordingTarget();
    small = await startWebHost({ target: recSmall.target, rendererDir: dir, maxBodyBytes: LIMIT, drainMs: 1500 });
  });
  afterAll(async () => {
    await small.close();
  });
  const head = (extra: string) =>
    `POST /api/listRuns HTTP/1.1\r\nhost: 127.0.0.1:${small.port}\r\nx-studio-token: ${small.token}\r\ncontent-type: application/json\r\n${extra}\r\n`;
  const expect413 = (reply: RawReply | null) => {
    expect(reply, 'the client received a reply').not.toBeNull();
    expect(reply!.status).toBe(413);
    expect(JSON.parse(reply!.body)).toMatchObject({
      ok: false,
      error: { code: 'invalid', message: expect.stringContaining(`${LIMIT} bytes`) },
    });
  };

  it('a declared Content-Length over the limit is answered at once, before the body is read', async () => {
    const declared = 256 * 1024 * 1024;
    const r = await streamBody(small.port, head(`content-length: ${declared}\r\n`), declared, (c) => [c]);
    expect413(r.reply);
    expect(r.reply!.body).toContain(String(declared));
    // The client stopped long before it had sent the declared length (the answer came first).
    expect(r.sent).toBeLessThan(declared / 4);
  });

  it('a chunked body is refused as soon as it grows past the limit', async () => {
    const r = await streamBody(small.port, head('transfer-encoding: chunked\r\n'), 64 * 1024 * 1024, (c) => [
      `${c.length.toString(16)}\r\n`,
      c,
      '\r\n',
    ]);
    expect413(r.reply);
    expect(r.reply!.body).toContain(`more than ${LIMIT} bytes`);
    expect(r.sent).toBeGreaterThan(LIMIT);
  });

  it('a client that sends its whole body before reading (node http, fetch) still gets the 413', async () => {
    const body = Buffer.alloc(128 * LIMIT, 0x20);
    const viaHttp = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: small.port, path: '/api/listRuns', method: 'POST', headers: { 'x-studio-token': small.token } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(viaHttp.status).toBe(413);
    expect(JSON.parse(viaHttp.body)).toMatchObject({ ok: false, error: { code: 'invalid' } });
    const viaFetch = await fetch(`http://127.0.0.1:${small.port}/api/listRuns`, {
      method: 'POST',
      headers: { 'x-studio-token': small.token },
      body,
    });
    expect(viaFetch.status).toBe(413);
    expect(await viaFetch.json()).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });

  it("'Expect: 100-continue' with an oversized length is answered 413 before any body is sent", async () => {
    const r = await streamBody(small.port, head(`content-length: ${10 * LIMIT}\r\nexpect: 100-continue\r\n`), 0, (c) => [c]);
    expect413(r.reply);
    expect(r.sent).toBe(0);
  });

  it('a body at the limit is served; refused bodies never reached the handler', async () => {
    const payload = JSON.stringify({ pad: 'x'.repeat(LIMIT - 20) });
    expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(LIMIT);
    const ok = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: small.port, path: '/api/listRuns', method: 'POST', headers: { 'x-studio-token': small.token } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    expect(ok).toBe(200);
    expect(recSmall.calls.map((c) => c.method)).toEqual(['listRuns']);
  });

  it('a client that stops sending after the 413 has its socket closed once the drain time is up', async () => {
    const started = Date.now();
    const closed = await new Promise<{ reply: RawReply | null; ms: number }>((resolve) => {
      const s = connect(small.port, '127.0.0.1');
      let raw = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (raw += d));
      s.on('error', () => undefined);
      s.on('close', () => resolve({ reply: parseRaw(raw), ms: Date.now() - started }));
      s.write(head(`content-length: ${2 * LIMIT}\r\n`));
      s.write(Buffer.alloc(1024, 0x20)); // then nothing: the rest of the body never comes
    });
    expect413(closed.reply);
    expect(closed.ms).toBeGreaterThanOrEqual(1400);
    expect(closed.ms).toBeLessThan(10_000);
  });
});

describe('bind errors name the value at fault', () => {
  it('a port in use', async () => {
    const e = await startWebHost({ target: rec.target, rendererDir: dir, port: host.port }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BindError);
    expect(e).toMatchObject({ field: 'port', code: 'EADDRINUSE', message: expect.stringContaining(String(host.port)) });
  });

  it('an address this machine does not have, a name that does not resolve, an empty host', async () => {
    // 203.0.113.0/24 is reserved for documentation (RFC 5737): never an address of this machine.
    // Binding sends nothing on the network.
    const notOurs = await startWebHost({ target: rec.target, rendererDir: dir, host: '203.0.113.7' }).catch((err: unknown) => err);
    expect(notOurs).toMatchObject({
      name: 'BindError',
      field: 'host',
      code: 'EADDRNOTAVAIL',
      message: expect.stringContaining('203.0.113.7'),
    });
    // A 64-character label is longer than DNS allows (63), so the resolver refuses the name without
    // sending a query off this machine.
    const name = `${'a'.repeat(64)}.invalid`;
    const unknown = await startWebHost({ target: rec.target, rendererDir: dir, host: name }).catch((err: unknown) => err);
    expect(unknown).toMatchObject({ name: 'BindError', field: 'host', message: expect.stringContaining(name) });
    const empty = await startWebHost({ target: rec.target, rendererDir: dir, host: '' }).catch((err: unknown) => err);
    expect(empty).toMatchObject({ name: 'BindError', field: 'host' });
  });

  it('a port taken by another kind of server', async () => {
    const other: TcpServer = createTcpServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const port = (other.address() as { port: number }).port;
    try {
      const e = await startWebHost({ target: rec.target, rendererDir: dir, port }).catch((err: unknown) => err);
      expect(e).toMatchObject({ name: 'BindError', field: 'port', message: expect.stringContaining(`port ${port}`) });
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});
