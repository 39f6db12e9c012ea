/**
 * The one place the renderer picks its host: the Electron preload's window.studio when present,
 * otherwise the web client, which speaks the same contract over HTTP (POST /api/<method>) and a
 * WebSocket (/events) to the web host. Both return envelopes; this module unwraps them, so a failed
 * call throws a StudioError with the host's code and field either way.
 *
 * The web host requires its token on every request and socket. The page never holds it: the URL the
 * host prints carries it once (?token=...), the host answers that page with an HttpOnly cookie, and
 * the browser attaches the cookie to every same-origin fetch and to the WebSocket handshake, so a
 * reload of the bare URL keeps working and no script (nor an extension reading storage) sees it.
 */
import {
  METHODS,
  unwrap,
  type Envelope,
  type Method,
  type RunEvent,
  type StudioApi,
  type StudioBridge,
  type TaskEvent,
} from '../../common/contract';

declare global {
  interface Window {
    studio?: StudioBridge;
  }
}

/**
 * Drops ?token= from the address bar once the page has loaded (the cookie now carries it), so the
 * token is not copied along with the URL or kept in bookmarks; the path and the #route stay.
 */
function forgetUrlToken(): void {
  const url = new URL(window.location.href);
  if (!url.searchParams.has('token')) return;
  url.searchParams.delete('token');
  window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
}

/** The contract over HTTP + WebSocket. */
function webBridge(): StudioBridge {
  forgetUrlToken();
  const call = async (method: Method, req: unknown): Promise<Envelope<unknown>> => {
    let res: Response;
    try {
      res = await fetch(`/api/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify(req ?? {}),
      });
    } catch (err) {
      return { ok: false, error: { code: 'failed', message: `the host did not answer (${(err as Error).message})` } };
    }
    try {
      return (await res.json()) as Envelope<unknown>;
    } catch {
      return {
        ok: false,
        error: { code: res.status === 401 ? 'unauthorized' : 'failed', message: `host replied ${res.status} ${res.statusText}` },
      };
    }
  };

  // One socket carries every stream as { channel, event }; it is open while anyone listens.
  const listeners = { run: new Set<(e: RunEvent) => void>(), task: new Set<(e: TaskEvent) => void>() };
  const listening = () => listeners.run.size + listeners.task.size > 0;
  let socket: WebSocket | null = null;
  let retry = 500;
  const connect = () => {
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(`${proto}//${window.location.host}/events`);
    socket.onopen = () => (retry = 500);
    socket.onmessage = (m) => {
      let msg: { channel: 'run' | 'task'; event: unknown };
      try {
        msg = JSON.parse(String(m.data)) as typeof msg;
      } catch {
        return;
      }
      const set = listeners[msg.channel] as Set<(e: unknown) => void> | undefined;
      for (const l of set ?? []) l(msg.event);
    };
    // Reconnect with backoff while anyone listens (the host may restart).
    socket.onclose = () => {
      socket = null;
      if (listening()) setTimeout(() => listening() && !socket && connect(), (retry = Math.min(retry * 2, 8000)));
    };
  };
  const subscribe = <E>(set: Set<(e: E) => void>, listener: (e: E) => void) => {
    set.add(listener);
    if (!socket) connect();
    return () => {
      set.delete(listener);
      if (!listening()) socket?.close();
    };
  };

  const methods = Object.fromEntries(METHODS.map((m) => [m, (req?: unknown) => call(m, req)]));
  return {
    ...methods,
    onRunEvent: (listener) => subscribe(listeners.run, listener),
    onTaskEvent: (listener) => subscribe(listeners.task, listener),
  } as StudioBridge;
}

function makeApi(bridge: StudioBridge): StudioApi {
  const methods = Object.fromEntries(
    METHODS.map((m) => [m, async (req?: unknown) => unwrap(await (bridge[m] as (r?: unknown) => Promise<Envelope<unknown>>)(req))]),
  );
  return { ...methods, onRunEvent: (l) => bridge.onRunEvent(l), onTaskEvent: (l) => bridge.onTaskEvent(l) } as StudioApi;
}

/** 'electron' or 'web': which bridge this renderer uses. */
export const hostKind: 'electron' | 'web' = window.studio ? 'electron' : 'web';

/** The studio API, whichever host serves this renderer. */
export const studio: StudioApi = makeApi(window.studio ?? webBridge());
