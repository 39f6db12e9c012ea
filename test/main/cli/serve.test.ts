// `flow-studio serve` through the real CLI (bin/flow-studio.mjs in a child process): a port in use,
// an address this machine does not have and a host name that does not resolve exit 2 with a message
// naming the value; a good start prints the URL, answers with the token and stops on SIGTERM.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, collect, freshHome, show, startCli } from './helpers';

const home = freshHome();
/** A stand-in built renderer (serve needs only index.html to start). */
const renderer = join(home, 'renderer');
mkdirSync(join(renderer, 'assets'), { recursive: true });
writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>studio</title>');

const taken = createServer();
let takenPort = 0;
beforeAll(async () => {
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  takenPort = (taken.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => taken.close(() => r()));
});

describe('serve refuses what it cannot listen on, with exit 2', () => {
  it('a port in use names the port', async () => {
    const r = await cli(['serve', '--port', String(takenPort), '--renderer', renderer], { home });
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain(`--port: port ${takenPort} on 127.0.0.1 is already in use`);
    expect(r.stdout).not.toContain('flow-studio: open');
  });

  it('an address this machine does not have, and a name that does not resolve, name the host', async () => {
    // 203.0.113.0/24 is for documentation (RFC 5737); binding to it sends nothing on the network.
    const addr = await cli(['serve', '--host', '203.0.113.7', '--renderer', renderer], { home });
    expect(addr.code, show(addr)).toBe(2);
    expect(addr.stderr).toContain("--host: '203.0.113.7' is not an address of this machine");
    // A 64-character label is over DNS's 63: refused by the resolver without a query leaving this machine.
    const name = `${'a'.repeat(64)}.invalid`;
    const unknown = await cli(['serve', '--host', name, '--renderer', renderer], { home });
    expect(unknown.code, show(unknown)).toBe(2);
    expect(unknown.stderr).toContain(`--host: '${name}' is not a known host name or address`);
    const empty = await cli(['serve', '--host', '', '--renderer', renderer], { home });
    expect(empty.code, show(empty)).toBe(2);
    expect(empty.stderr).toContain('--host: empty host name');
  });

  it('a free port starts, answers with the token, and SIGTERM stops it with exit 0', async () => {
    const child = startCli(['serve', '--port', '0', '--renderer', renderer], { home });
    const done = collect(child);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /flow-studio: open (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code} before printing its URL`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>studio</title>');
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, show(r)).toBe(0);
  });
});
