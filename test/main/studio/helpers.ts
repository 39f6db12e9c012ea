import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StudioService } from '../../../main/studio/service';
import type { Method, Replies, Request, RunEvent } from '../../../common/contract';

/** A StudioService on a fresh data folder (real SQLite file, real worker threads), recording events. */
export function freshStudio() {
  const dir = mkdtempSync(join(tmpdir(), 'fs-studio-'));
  const service = new StudioService({ dbPath: join(dir, 'flow-studio.db'), dataDir: dir, host: 'web', version: 'test', backend: 'wasm' });
  const events: RunEvent[] = [];
  const waiters: { pred: (e: RunEvent) => boolean; resolve: (e: RunEvent) => void }[] = [];
  service.onRunEvent((e) => {
    events.push(e);
    for (const w of waiters.splice(0)) {
      if (w.pred(e)) w.resolve(e);
      else waiters.push(w);
    }
  });
  /** Calls a method and returns its value, failing the test with the error otherwise. */
  async function call<M extends Method>(m: M, req: Request<M>): Promise<Replies[M]> {
    const env = await service.call(m, req);
    if (!env.ok) throw new Error(`${m} failed: ${JSON.stringify(env.error)}`);
    return env.value as Replies[M];
  }
  function nextEvent(pred: (e: RunEvent) => boolean, timeoutMs = 60_000): Promise<RunEvent> {
    const seen = events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no matching event in ${timeoutMs} ms; got ${events.map((e) => e.type).join(',')}`)),
        timeoutMs,
      );
      waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
    });
  }
  return {
    dir,
    service,
    events,
    call,
    nextEvent,
    async dispose() {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
