/**
 * `flow-studio serve` (and `npm run serve`, and `npm start` where no Electron binary exists): the
 * studio service plus the web host in this process, training and sampling in worker threads.
 * Prints one line `flow-studio: open http://HOST:PORT/?token=TOKEN` (the e2e tests parse it), then
 * runs until SIGINT/SIGTERM, when running trainings checkpoint and stop (they resume later).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OptionSpecs } from '../args';
import type { Context } from '../context';
import { UsageError } from '../errors';
import { StudioService } from '../../studio/service';
import { BindError, startWebHost } from '../../host/server';
import { packageVersion, rendererDir } from '../../runtime/resources';

export const SERVE_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  renderer: { type: 'string' },
} as const satisfies OptionSpecs;

export async function serveCommand(ctx: Context): Promise<number> {
  const { args } = ctx;
  const host = args.string('host') ?? '127.0.0.1';
  const port = args.int('port', { min: 0, max: 65535 }) ?? 0;
  const dir = args.string('renderer') ?? rendererDir();
  if (!existsSync(join(dir, 'index.html'))) {
    throw new UsageError(`no built renderer at ${dir}; build it first (npm run build, or npm start which builds and serves)`, 'serve');
  }
  const dbPath = ctx.dbPath;
  mkdirSync(dirname(dbPath), { recursive: true });
  const service = new StudioService({
    dbPath,
    dataDir: dirname(dbPath),
    host: 'web',
    version: packageVersion(),
    ...(ctx.backendRequest ? { backend: ctx.backendRequest } : {}),
  });
  let web;
  try {
    web = await startWebHost({ target: service, rendererDir: dir, host, port });
  } catch (e) {
    await service.close();
    // A port in use, an unknown host name, an address this machine does not have: bad input (exit 2).
    if (e instanceof BindError) throw new UsageError(`--${e.field}: ${e.message}`, 'serve');
    throw e;
  }
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    process.stderr.write(
      `flow-studio: warning: listening on ${host}; anyone who can reach it and has the token can train and delete runs\n`,
    );
  }
  process.stdout.write(`flow-studio: open ${web.openUrl}\n`);
  process.stderr.write(`flow-studio: data in ${dbPath}; Ctrl+C stops (running trainings checkpoint first)\n`);
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stderr.write('flow-studio: stopping\n');
  await web.close();
  await service.close();
  return 0;
}
