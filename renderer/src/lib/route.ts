/**
 * The renderer's navigation state in the URL hash (#/live/ID, #/compare/A,B), so a reload keeps the
 * view and the web host's ?token=... query stays untouched.
 */

export const VIEWS = ['experiment', 'live', 'runs', 'compare', 'latent', 'settings'] as const;
export type View = (typeof VIEWS)[number];

export interface Route {
  view: View;
  /** The run of the live view. */
  runId?: string;
  /** The runs of the compare view. */
  ids?: string[];
}

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const view = (VIEWS as readonly string[]).includes(parts[0] ?? '') ? (parts[0] as View) : 'experiment';
  if (view === 'live' && parts[1]) return { view, runId: decodeURIComponent(parts[1]) };
  if (view === 'compare' && parts[1]) return { view, ids: parts[1].split(',').filter(Boolean).map(decodeURIComponent) };
  return { view };
}

export function formatHash(r: Route): string {
  if (r.view === 'live' && r.runId) return `#/live/${encodeURIComponent(r.runId)}`;
  if (r.view === 'compare' && r.ids?.length) return `#/compare/${r.ids.map(encodeURIComponent).join(',')}`;
  return `#/${r.view}`;
}
