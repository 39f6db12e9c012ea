// Golden text dumps of every generated WebAssembly module (core/kernels/register.ts FLOW_MODULES),
// disassembled from the module bytes by core/kernels/wasm-text.ts: a change to a kernel builder shows
// in review as a diff of test/core/kernels/golden/<module>.wat. When the change is meant, regenerate:
//   FLOW_STUDIO_UPDATE_GOLDENS=1 npx vitest run test/core/kernels/golden.test.ts
// (docs/testing.md, docs/kernels.md).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLOW_MODULES, type FlowModuleName } from '../../../core/kernels/register';
import { wasmApi, hasRelaxedSimd } from '../../../core/kernels/wasm-asm';
import { wasmToText } from '../../../core/kernels/wasm-text';

const DIR = join(import.meta.dirname, 'golden');
const UPDATE = process.env.FLOW_STUDIO_UPDATE_GOLDENS === '1';
const REGENERATE = 'FLOW_STUDIO_UPDATE_GOLDENS=1 npx vitest run test/core/kernels/golden.test.ts';

function dump(name: FlowModuleName): string {
  const bytes = FLOW_MODULES[name]();
  return [
    `;; ${name}: core/kernels/register.ts FLOW_MODULES['${name}'], ${bytes.length} bytes, disassembled by core/kernels/wasm-text.ts.`,
    `;; Generated: do not edit. Regenerate with ${REGENERATE}`,
    wasmToText(bytes),
  ].join('\n');
}

describe('golden module dumps (test/core/kernels/golden)', () => {
  for (const name of Object.keys(FLOW_MODULES) as FlowModuleName[]) {
    it(`${name}.wat is the text of the module the builder generates`, () => {
      const bytes = FLOW_MODULES[name]();
      if (!name.endsWith('-fma') || hasRelaxedSimd()) expect(wasmApi.validate(bytes), `${name} does not validate`).toBe(true);
      const text = dump(name);
      const file = join(DIR, `${name}.wat`);
      if (UPDATE) {
        mkdirSync(DIR, { recursive: true });
        writeFileSync(file, text);
        return;
      }
      if (!existsSync(file)) throw new Error(`${file} is missing: a new module? Regenerate with ${REGENERATE}`);
      expect(text, `${name} differs from its golden dump: if the change is meant, regenerate with ${REGENERATE} and review the diff`).toBe(
        readFileSync(file, 'utf8'),
      );
    });
  }

  it('holds no dump of a module that is no longer generated', () => {
    if (UPDATE) return;
    const stale = readdirSync(DIR).filter((f) => f.endsWith('.wat') && !(f.slice(0, -4) in FLOW_MODULES));
    expect(stale, `delete these dumps (their modules are gone from FLOW_MODULES)`).toEqual([]);
  });
});
