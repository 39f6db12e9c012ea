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
 *
 * Connection: the web client keeps its event socket open from the start, so a dropped connection
 * (the host stopped, a tunnel closed) is seen at once, as the socket's close or a request that gets
 * no answer; `connection` then says 'lost' and the client reconnects with backoff, saying 'open'
 * again (and telling onReconnect listeners, which reload what they show) when the socket is back.
 * A host that restarted with a new token refuses the old cookie: `connection.detail` says to open
 * the address it printed. Electron's IPC cannot drop: its connection is always 'open'.
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

/** The host connection as the page sees it. */
export type ConnectionState = 'open' | 'lost';

export interface ConnectionInfo {
  state: ConnectionState;
  /** When the state last changed (ms since the epoch). */
  since: number;
  /** Reconnection attempts since the connection was lost. */
  attempts: number;
  /** Why, when the reason is known (e.g. the host refuses this page's token). */
  detail: string | null;
}

type ConnectionListener = (c: ConnectionInfo) => void;

/** The connection state, its listeners and the reconnect hooks (shared by both bridges). */
class Connection {
  info: ConnectionInfo = { state: 'open', since: Date.now(), attempts: 0, detail: null };
  private readonly listeners = new Set<ConnectionListener>();
  private readonly reconnects = new Set<() => void>();
  /** Set by the web bridge: try to reconnect now. */
  retryNow: () => void = () => undefined;

  set(state: ConnectionState, patch: Partial<Omit<ConnectionInfo, 'state' | 'since'>> = {}): void {
    const was = this.info.state;
    this.info = {
      ...this.info,
      ...patch,
      state,
      since: state === was ? this.info.since : Date.now(),
      ...(state === 'open' ? { attempts: 0, detail: null } : {}),
    };
    for (const l of this.listeners) l(this.info);
    if (was === 'lost' && state === 'open') for (const r of this.reconnects) r();
  }

  onChange(l: ConnectionListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Called after a lost connection comes back (views reload what may have changed meanwhile). */
  onReconnect(l: () => void): () => void {
    this.reconnects.add(l);
    return () => this.reconnects.delete(l);
  }
}

export const connection = new Connection();

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
    } catch {
      lost();
      return { ok: false, error: { code: 'failed', message: 'Could not reach the Flow Studio host: is it still running?' } };
    }
    try {
      return (await res.json()) as Envelope<unknown>;
    } catch {
      if (res.status === 401) lost(TOKEN_REFUSED);
      return {
        ok: false,
        error: { code: res.status === 401 ? 'unauthorized' : 'failed', message: `host replied ${res.status} ${res.statusText}` },
      };
    }
  };

  // One socket carries every stream as { channel, event }. It stays open for the page's life: its
  // close is how a dropped connection shows at once, whether or not anyone listens to events.
  const listeners = { run: new Set<(e: RunEvent) => void>(), task: new Set<(e: TaskEvent) => void>() };
  let socket: WebSocket | null = null;
  let retry = 500;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const schedule = (ms: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      if (!socket) connect();
    }, ms);
  };
  function lost(detail: string | null = null): void {
    if (connection.info.state !== 'lost' || (detail && detail !== connection.info.detail)) connection.set('lost', { detail });
    if (!socket && !timer) schedule(retry);
  }
  connection.retryNow = () => {
    retry = 500;
    if (!socket) schedule(0);
  };
  /** After a failed socket: a host that answers 401 has a new token (it restarted); else it is away. */
  const probe = async () => {
    try {
      const res = await fetch('/api/appInfo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      if (res.status === 401) connection.set('lost', { detail: TOKEN_REFUSED });
    } catch {
      // still away
    }
  };
  const connect = () => {
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${window.location.host}/events`);
    socket = ws;
    ws.onopen = () => {
      retry = 500;
      if (connection.info.state !== 'open') connection.set('open');
    };
    ws.onmessage = (m) => {
      let msg: { channel: 'run' | 'task'; event: unknown };
      try {
        msg = JSON.parse(String(m.data)) as typeof msg;
      } catch {
        return;
      }
      const set = listeners[msg.channel] as Set<(e: unknown) => void> | undefined;
      for (const l of set ?? []) l(msg.event);
    };
    // Reconnect with backoff (the host may restart, a tunnel may come back).
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      connection.set('lost', { attempts: connection.info.state === 'lost' ? connection.info.attempts + 1 : 0 });
      if (connection.info.attempts > 0) void probe();
      schedule(retry);
      retry = Math.min(retry * 2, 4000);
    };
  };
  connect();
  const subscribe = <E>(set: Set<(e: E) => void>, listener: (e: E) => void): (() => void) => {
    set.add(listener);
    return () => void set.delete(listener);
  };

  const methods = Object.fromEntries(METHODS.map((m) => [m, (req?: unknown) => call(m, req)]));
  return {
    ...methods,
    onRunEvent: (listener) => subscribe(listeners.run, listener),
    onTaskEvent: (listener) => subscribe(listeners.task, listener),
  } as StudioBridge;
}

const TOKEN_REFUSED =
  'The host no longer accepts this page’s access token (it was restarted): open the address it printed, the one ending in ?token=…';

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
