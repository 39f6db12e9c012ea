/** The bundled experiment presets (resources/presets/*.json), found from sources or a built bundle. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Preset } from '../../preload/contract';

/** resources/, beside the sources, the bundle (out/main, out/main/chunks) or a packaged app. */
export function resourcesDir(): string {
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  const candidates = [
    process.env.FLOW_STUDIO_RESOURCES,
    ...['../../resources', '../resources', '../../../resources'].map((rel) => resolve(import.meta.dirname, rel)),
    packaged ? join(packaged, 'resources') : undefined,
  ];
  for (const c of candidates) if (c && existsSync(join(c, 'presets'))) return c;
  return resolve(import.meta.dirname, '../../resources');
}

/** Every preset, sorted by name; an unreadable file is skipped (a broken preset must not hide the others). */
export function listPresets(dir = join(resourcesDir(), 'presets')): Preset[] {
  if (!existsSync(dir)) return [];
  const out: Preset[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    try {
      out.push({ name: f.slice(0, -5), config: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown> });
    } catch {
      // skipped: see the comment above
    }
  }
  return out;
}
