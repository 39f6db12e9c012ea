// The public surface: every value core/index.ts exports resolves to a defined value, and every one is
// exercised by name in some test file (so nothing public is untested).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as core from '../../core/index';

const root = join(import.meta.dirname, '../..');
const indexSource = readFileSync(join(root, 'core/index.ts'), 'utf8');

/** Names of `export { a, b } from` statements (value exports, not `export type`). */
function valueExports(src: string): string[] {
  const names: string[] = [];
  for (const m of src.matchAll(/^export\s+\{([^}]*)\}\s+from/gm)) {
    for (const part of m[1]!.split(',')) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop()!
        .trim();
      if (name) names.push(name);
    }
  }
  return names;
}

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (/\.(test\.ts|ts)$/.test(e) && !p.endsWith('index.test.ts')) out.push(p);
  }
  return out;
}

describe('core/index.ts', () => {
  const names = valueExports(indexSource);

  it('exports a substantial surface', () => {
    expect(names.length).toBeGreaterThan(60);
  });

  it('every value export resolves', () => {
    const missing = names.filter((n) => (core as Record<string, unknown>)[n] === undefined);
    expect(missing).toEqual([]);
  });

  it('every value export is used by some test', () => {
    const corpus = testFiles(join(root, 'test'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const untested = names.filter((n) => n !== 'tf' && !new RegExp(`\\b${n}\\b`).test(corpus));
    expect(untested).toEqual([]);
  });

  it('core imports nothing but tfjs-core and itself', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir)) {
        const p = join(dir, e);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          for (const m of readFileSync(p, 'utf8').matchAll(
            /^\s*(?:import|export)\b[^;]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm,
          )) {
            const spec = (m[1] ?? m[2])!;
            if (!spec.startsWith('.') && !spec.startsWith('@tensorflow/tfjs-core')) offenders.push(`${p}: ${spec}`);
          }
        }
      }
    };
    walk(join(root, 'core'));
    expect(offenders).toEqual([]);
  });
});
