/** Reads a bundled preset (resources/presets/NAME.json) as the raw experiment input. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentInput } from '../common/config';

export function readPreset(name: string): ExperimentInput {
  return JSON.parse(readFileSync(join(import.meta.dirname, '..', 'resources', 'presets', `${name}.json`), 'utf8')) as ExperimentInput;
}
