/**
 * The renderer's Content Security Policy, in one place: the built index.html's meta tag
 * (electron.vite.config.ts injects it), the web host's response header (main/host/server.ts) and the
 * Electron session's header (main/index.ts) are all made here, so they cannot drift apart.
 *
 * A page enforces every policy it is given (the meta tag's and the header's), so the effective
 * policy is their intersection: the meta tag carries the widest policy any host needs (the web
 * build's), and each host's header may only narrow it.
 *
 * connect-src is what each host uses and nothing more:
 * - web: the page's own origin, for POST /api/<method> and the /events WebSocket. CSP Level 3 lets
 *   'self' match ws: (and wss:) on the page's own host and port when the page is http: (https:), so
 *   no ws: or wss: source is listed (a bare `ws:` would allow a socket to any host);
 * - electron: none at all, the contract goes over IPC; in development (`electron-dev`) the Vite
 *   dev server's hot-reload socket, which is again the page's own origin ('self').
 */

/** Which host's policy. */
export type CspHost = 'web' | 'electron' | 'electron-dev';

type Directives = Record<string, readonly string[]>;

/** Directives every host shares (everything but connect-src and the header-only ones). */
const COMMON: Directives = {
  'default-src': ["'self'"],
  'script-src': ["'self'", "'wasm-unsafe-eval'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'worker-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
};

const CONNECT: Record<CspHost, readonly string[]> = {
  web: ["'self'"],
  electron: ["'none'"],
  'electron-dev': ["'self'"],
};

function render(d: Directives): string {
  return Object.entries(d)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}

/**
 * The policy as a meta tag may carry it (no frame-ancestors: browsers ignore that directive in a
 * meta tag and say so on the console).
 */
export function metaPolicy(host: CspHost = 'web'): string {
  return render({ ...COMMON, 'connect-src': CONNECT[host] });
}

/**
 * The policy as a response header: the meta policy plus frame-ancestors 'none' (no other page may
 * frame the studio, clickjacking), which only a header can set.
 */
export function headerPolicy(host: CspHost): string {
  return render({ ...COMMON, 'connect-src': CONNECT[host], 'frame-ancestors': ["'none'"] });
}

/** Parses a policy string into directive -> sources (for tests and comparisons). */
export function parsePolicy(policy: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), values);
  }
  return out;
}

/**
 * The meta tag electron.vite.config.ts puts first in the built index.html's head (before any script,
 * so it applies to all of them), in the shape of Vite's transformIndexHtml tag descriptors.
 */
export function cspMetaTag(): { tag: 'meta'; attrs: Record<string, string>; injectTo: 'head-prepend' } {
  return { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: metaPolicy('web') }, injectTo: 'head-prepend' };
}
