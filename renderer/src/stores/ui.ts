/** Navigation (kept in the URL hash) and the theme (kept in localStorage). */
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { formatHash, parseHash, type Route, type View } from '../lib/route';

const THEME_KEY = 'flow-studio-theme';
const COMPARE_KEY = 'flow-studio-compare';

function readIds(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(COMPARE_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
export type Theme = 'light' | 'dark';

function initialTheme(): Theme {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export const useUi = defineStore('ui', () => {
  const route = ref<Route>(parseHash(window.location.hash));
  const theme = ref<Theme>(initialTheme());
  /** The run the live view showed last, so the Live nav entry returns to it. */
  const lastRunId = ref<string | undefined>(route.value.runId);
  /** The runs Compare showed last, so the Compare nav entry returns to them (across reloads too). */
  const lastCompareIds = ref<string[]>(route.value.ids ?? readIds());
  watch(route, (r) => {
    if (r.runId) lastRunId.value = r.runId;
    if (r.view === 'compare' && r.ids?.length) {
      lastCompareIds.value = r.ids;
      localStorage.setItem(COMPARE_KEY, JSON.stringify(r.ids));
    }
  });

  const apply = () => {
    document.documentElement.dataset.theme = theme.value;
  };
  apply();
  watch(theme, (t) => {
    localStorage.setItem(THEME_KEY, t);
    apply();
  });

  window.addEventListener('hashchange', () => {
    route.value = parseHash(window.location.hash);
  });

  function go(r: Route): void {
    route.value = r;
    const h = formatHash(r);
    if (window.location.hash !== h) window.history.pushState(null, '', h);
  }

  return {
    route,
    theme,
    lastRunId,
    lastCompareIds,
    go,
    show: (view: View) => go({ view }),
    openRun: (runId: string) => go({ view: 'live', runId }),
    compare: (ids: string[]) => go({ view: 'compare', ids }),
  };
});
