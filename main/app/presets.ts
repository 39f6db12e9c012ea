/** The bundled experiment presets (resources/presets/*.json), for the app and the CLI alike. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Preset } from '../../common/contract';
import { presetsDir } from '../runtime/resources';

/** Names of the bundled presets, sorted. */
export function presetNames(dir = presetsDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Every preset, sorted by name; an unreadable file is skipped (a broken preset must not hide the others). */
export function listPresets(dir = presetsDir()): Preset[] {
  if (!existsSync(dir)) return [];
  const out: Preset[] = [];
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    try {
      out.push({ name: f.slice(0, -5), config: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown> });
    } catch {
      // skipped: see the comment above
    }
  }
  return out;
}
