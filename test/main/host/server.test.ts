/**
 * The web host (main/host/server.ts) over real sockets: the token is required on every request and
 * socket (header, query or the cookie set by the page), loopback hosts only, same-origin POSTs, the
 * contract's envelopes, events over the WebSocket, and the renderer's files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startWebHost, tokenMatches, type ContractTarget, type WebHost } from '../../../main/host/server';
import type { Envelope } from '../../../preload/contract';

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

function http(host: WebHost, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
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
    const wrong = await http(host, '/api/listRuns', { method: 'POST', headers: { 'x-studio-token': host.token.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, body: '{}' });
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
    expect(cookie).toContain(`flow_studio_token=${host.token}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const asset = await http(host, '/assets/app.js', { headers: { cookie: `flow_studio_token=${host.token}` } });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
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
    expect((await http(host, '/api/listRuns', { method: 'POST', headers: { ...auth(), host: 'evil.example:80' }, body: '{}' })).status).toBe(403);
    expect((await http(host, '/api/listRuns', { method: 'POST', headers: { ...auth(), origin: 'http://evil.example' }, body: '{}' })).status).toBe(403);
    expect((await http(host, '/api/listRuns', { method: 'POST', headers: { ...auth(), origin: `http://127.0.0.1:${host.port}` }, body: '{}' })).status).toBe(200);
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
