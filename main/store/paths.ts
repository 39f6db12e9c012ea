/**
 * Where the run store lives by default. Electron passes app.getPath('userData') instead; the CLI and
 * tests use this (or an explicit path).
 */
import { homedir } from 'node:os';
import { join as joinNative, posix, win32 } from 'node:path';

/** File name of the run store inside a data directory. */
export const DB_FILE_NAME = 'flow-studio.db';

/**
 * The per-user data directory: $FLOW_STUDIO_HOME if set; else
 * Linux (and other Unix) $XDG_DATA_HOME/flow-studio or ~/.local/share/flow-studio,
 * macOS ~/Library/Application Support/Flow Studio,
 * Windows %APPDATA%\Flow Studio (falling back to ~\AppData\Roaming).
 *
 * The arguments default to the current process; tests pass their own. Relative XDG_DATA_HOME values
 * are ignored, as the XDG spec requires.
 */
export function defaultDataDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  const explicit = env.FLOW_STUDIO_HOME?.trim();
  if (explicit) return explicit;
  // Join with the target platform's separator, so the answer is right even when computed elsewhere.
  const join = platform === 'win32' ? win32.join : posix.join;
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Flow Studio');
  if (platform === 'win32') {
    const appData = env.APPDATA?.trim();
    return join(appData ? appData : join(home, 'AppData', 'Roaming'), 'Flow Studio');
  }
  const xdg = env.XDG_DATA_HOME?.trim();
  const base = xdg && xdg.startsWith('/') ? xdg : join(home, '.local', 'share');
  return join(base, 'flow-studio');
}

/** The run store file inside a data directory (default: defaultDataDir()). */
export function defaultDbPath(dataDir: string = defaultDataDir()): string {
  return joinNative(dataDir, DB_FILE_NAME);
}
