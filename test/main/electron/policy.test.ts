/**
 * The Electron shell's decisions (main/electron/policy.ts). No Electron binary can be installed on
 * the machines these tests run on, so the decisions are plain functions tested here; the app://
 * handler runs on real files with the web-standard Request/Response that Electron's protocol.handle
 * passes it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALLOWED_PERMISSIONS,
  APP_ENTRY,
  APP_SCHEME_PRIVILEGES,
  externalUrlAllowed,
  navigationAllowed,
  permissionAllowed,
  rendererEntry,
  serveAppRequest,
  windowOpenDecision,
} from '../../../main/electron/policy';
import { headerPolicy } from '../../../main/security/csp';

describe('where the renderer loads from', () => {
  it('app://renderer/index.html when packaged, whatever ELECTRON_RENDERER_URL says', () => {
    expect(APP_ENTRY).toBe('app://renderer/index.html');
    expect(rendererEntry({ isPackaged: true, devUrl: 'http://localhost:5173/' })).toEqual({ url: APP_ENTRY, dev: false });
    expect(rendererEntry({ isPackaged: true })).toEqual({ url: APP_ENTRY, dev: false });
  });

  it('the dev server in development, only over http(s) on loopback', () => {
    expect(rendererEntry({ isPackaged: false, devUrl: 'http://localhost:5173' })).toEqual({ url: 'http://localhost:5173/', dev: true });
    expect(rendererEntry({ isPackaged: false, devUrl: 'http://127.0.0.1:5173/' })).toEqual({ url: 'http://127.0.0.1:5173/', dev: true });
    for (const devUrl of ['https://evil.example/', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', ''])
      expect(rendererEntry({ isPackaged: false, devUrl }), devUrl).toEqual({ url: APP_ENTRY, dev: false });
    expect(rendererEntry({ isPackaged: false })).toEqual({ url: APP_ENTRY, dev: false });
  });

  it('the scheme is standard and secure, and does not bypass the CSP', () => {
    expect(APP_SCHEME_PRIVILEGES).toMatchObject({ standard: true, secure: true, supportFetchAPI: true });
    expect(APP_SCHEME_PRIVILEGES).not.toHaveProperty('bypassCSP');
    expect(APP_SCHEME_PRIVILEGES).not.toHaveProperty('allowServiceWorkers');
  });
});

describe('navigation, redirects, frames', () => {
  it('stay inside the app', () => {
    expect(navigationAllowed('app://renderer/index.html#/runs', APP_ENTRY)).toBe(true);
    expect(navigationAllowed('app://renderer/', APP_ENTRY)).toBe(true);
    for (const url of [
      'app://other/index.html',
      'https://github.com/',
      'http://localhost:5173/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'data:text/html,<p>x',
      'about:blank',
      'nonsense',
    ])
      expect(navigationAllowed(url, APP_ENTRY), url).toBe(false);
  });

  it('in development, the dev server is the app', () => {
    const dev = 'http://localhost:5173/';
    expect(navigationAllowed('http://localhost:5173/index.html', dev)).toBe(true);
    expect(navigationAllowed('http://localhost:5174/', dev)).toBe(false);
    expect(navigationAllowed(APP_ENTRY, dev)).toBe(false);
  });
});

describe('links to the outside', () => {
  it('only https documentation hosts open in the browser; no window ever opens', () => {
    expect(externalUrlAllowed('https://github.com/some/repo#readme')).toBe(true);
    expect(externalUrlAllowed('https://arxiv.org/abs/2210.02747')).toBe(true);
    expect(externalUrlAllowed('https://GitHub.com/x')).toBe(true);
    for (const url of [
      'http://github.com/x', // not https
      'https://github.com.evil.example/x', // a look-alike host
      'https://evil.example/github.com',
      'https://user:pass@github.com/x', // credentials can disguise the target
      'file:///etc/passwd',
      'smb://server/share',
      'javascript:alert(1)',
      'not a url',
    ])
      expect(externalUrlAllowed(url), url).toBe(false);
    expect(windowOpenDecision('https://github.com/x')).toEqual({ action: 'deny', openExternal: true });
    expect(windowOpenDecision('https://evil.example/')).toEqual({ action: 'deny', openExternal: false });
    expect(windowOpenDecision('app://renderer/index.html')).toEqual({ action: 'deny', openExternal: false });
  });
});

describe('permissions', () => {
  it('are all denied by default, for the app itself too', () => {
    expect(ALLOWED_PERMISSIONS).toEqual([]);
    for (const p of [
      'media',
      'geolocation',
      'notifications',
      'clipboard-read',
      'clipboard-sanitized-write',
      'hid',
      'usb',
      'serial',
      'openExternal',
      'fullscreen',
      'unknown',
    ])
      expect(permissionAllowed(p, 'app://renderer', APP_ENTRY), p).toBe(false);
  });

  it('an allow-listed permission is still refused to any other origin', () => {
    expect(permissionAllowed('fullscreen', 'app://renderer/index.html', APP_ENTRY, ['fullscreen'])).toBe(true);
    expect(permissionAllowed('fullscreen', 'https://evil.example/', APP_ENTRY, ['fullscreen'])).toBe(false);
    expect(permissionAllowed('media', 'app://renderer/', APP_ENTRY, ['fullscreen'])).toBe(false);
  });
});

describe('the app:// protocol handler', () => {
  let root: string;
  let dir: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'fs-app-'));
    dir = join(root, 'renderer');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>studio</title>');
    writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'assets', 'm.wasm'), new Uint8Array([0, 97, 115, 109]));
    writeFileSync(join(root, 'secret.txt'), 'outside the renderer');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const get = (url: string, method = 'GET') => serveAppRequest(dir, new Request(url, { method }));

  it('serves the page with the Electron CSP, and assets with their types', async () => {
    const page = await get('app://renderer/index.html');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>studio</title>');
    expect(page.headers.get('content-security-policy')).toBe(headerPolicy('electron'));
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'none'");
    expect((await get('app://renderer/')).status).toBe(200);
    const js = await get('app://renderer/assets/app.js');
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(js.headers.get('content-security-policy')).toBeNull();
    expect((await get('app://renderer/assets/m.wasm')).headers.get('content-type')).toBe('application/wasm');
    const head = await get('app://renderer/assets/app.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('refuses paths that leave the folder, other hosts, bad escapes and other methods', async () => {
    for (const url of [
      'app://renderer/../secret.txt',
      'app://renderer/%2e%2e/secret.txt',
      'app://renderer/assets/%2e%2e/%2e%2e/secret.txt',
      'app://renderer/..%2fsecret.txt',
      'app://renderer/..%5csecret.txt',
      'app://renderer/assets/app.js%00.html',
      'app://renderer/missing.js',
      'app://renderer/assets',
      'app://other/index.html',
    ]) {
      const r = await get(url);
      expect(r.status, url).toBe(404);
      expect(await r.text(), url).not.toContain('outside the renderer');
    }
    expect((await get('app://renderer/%E0%A4%A')).status).toBe(400);
    expect((await get('app://renderer/index.html', 'POST')).status).toBe(405);
  });
});
