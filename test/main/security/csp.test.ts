/**
 * The one Content Security Policy (main/security/csp.ts): the build injects it as the page's meta
 * tag (electron.vite.config.ts), the hosts send it as a header; a header only ever narrows the meta
 * policy (a page enforces both); connect-src names no scheme-wide source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cspMetaTag, headerPolicy, metaPolicy, parsePolicy, type CspHost } from '../../../main/security/csp';

const ROOT = join(import.meta.dirname, '../../..');

describe('one source', () => {
  it('renderer/index.html carries no policy of its own; the build config injects cspMetaTag first in <head>', async () => {
    const html = readFileSync(join(ROOT, 'renderer/index.html'), 'utf8');
    expect(html).not.toMatch(/<meta[^>]+Content-Security-Policy/i);
    const config = (await import('../../../electron.vite.config')).default as {
      renderer: { plugins: { name?: string; transformIndexHtml?: unknown }[] };
    };
    const plugin = config.renderer.plugins.find((p) => p && p.name === 'flow-studio-csp');
    expect(plugin, 'the CSP plugin of the renderer build').toBeDefined();
    const tags = (plugin!.transformIndexHtml as () => unknown)();
    expect(tags).toEqual([cspMetaTag()]);
    expect(cspMetaTag()).toEqual({
      tag: 'meta',
      attrs: { 'http-equiv': 'Content-Security-Policy', content: metaPolicy('web') },
      injectTo: 'head-prepend',
    });
  });
});

describe('headers narrow the meta policy', () => {
  const meta = parsePolicy(metaPolicy('web'));

  it.each<CspHost>(['web', 'electron', 'electron-dev'])('%s: every directive of the header allows no more than the meta tag', (host) => {
    const header = parsePolicy(headerPolicy(host));
    for (const [name, sources] of header) {
      if (name === 'frame-ancestors') continue; // header-only
      const allowed = meta.get(name);
      expect(allowed, name).toBeDefined();
      for (const s of sources) if (s !== "'none'") expect(allowed, `${host} ${name} ${s}`).toContain(s);
    }
    expect(header.get('frame-ancestors')).toEqual(["'none'"]);
    // Every directive of the meta tag is in the header too (the header drops nothing).
    for (const name of meta.keys()) expect(header.has(name), name).toBe(true);
  });

  it("connect-src: the web page's own origin; Electron none (IPC), its dev server's own origin", () => {
    expect(parsePolicy(headerPolicy('web')).get('connect-src')).toEqual(["'self'"]);
    expect(parsePolicy(headerPolicy('electron')).get('connect-src')).toEqual(["'none'"]);
    expect(parsePolicy(headerPolicy('electron-dev')).get('connect-src')).toEqual(["'self'"]);
    // No scheme-wide or wildcard source (a bare ws: allows a socket to any host).
    for (const host of ['web', 'electron', 'electron-dev'] as const)
      for (const s of parsePolicy(headerPolicy(host)).get('connect-src')!)
        expect(s, host).not.toMatch(/^(\*|ws:|wss:|http:|https:|data:|blob:)$/);
  });

  it('the meta tag has no frame-ancestors (browsers ignore it there and complain on the console)', () => {
    expect(meta.has('frame-ancestors')).toBe(false);
    expect(meta.get('object-src')).toEqual(["'none'"]);
    expect(meta.get('base-uri')).toEqual(["'none'"]);
  });
});
