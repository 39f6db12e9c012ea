// The safetensors reader/writer (main/models/safetensors.ts): round trips, the layout the spec asks
// for, malformed files refused by name, and files crossing to and from Python: the reference
// library's files (spawned Python with `safetensors`) are read here and written byte for byte the
// same, and Python reads ours. Python is found as the studio finds it (main/runtime/python.ts); the
// cross-language cases skip, with the reason printed, where no such Python exists.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, type Tensor } from '../../../core/tf';
import {
  decodeSafetensors,
  encodeSafetensors,
  float32Tensor,
  fromTfTensors,
  int32Tensor,
  readSafetensorsFile,
  SafetensorsError,
  toFloat32,
  toInt32,
  toTfTensors,
  writeSafetensorsFile,
  type SafeTensor,
} from '../../../main/models/safetensors';
import { engineEnv, findTorchPython, type TorchPython } from '../../../main/runtime/python';

const dir = mkdtempSync(join(tmpdir(), 'fs-safetensors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Tensors defined by formulas both languages can evaluate exactly (see PY_TENSORS). */
function sampleTensors(): Map<string, SafeTensor> {
  const f64 = new Float64Array([0.5, -1.25, 3, 1e-300]);
  const i64 = new BigInt64Array([1n, -2n, 3n]);
  return new Map<string, SafeTensor>([
    [
      'model/mlp/0/W',
      float32Tensor(
        [3, 5],
        Array.from({ length: 15 }, (_, i) => i / 8 - 1),
      ),
    ],
    ['optim/step', int32Tensor([], [7])],
    ['trainer/rng', int32Tensor([2], [-5, 12])],
    ['a/f64', { dtype: 'F64', shape: [4], bytes: new Uint8Array(f64.buffer) }],
    ['b/u8', { dtype: 'U8', shape: [3], bytes: Uint8Array.of(0, 1, 2) }],
    ['c/i64', { dtype: 'I64', shape: [3], bytes: new Uint8Array(i64.buffer) }],
    ['e/bool', { dtype: 'BOOL', shape: [3], bytes: Uint8Array.of(1, 0, 1) }],
    ['empty', float32Tensor([0, 3], [])],
    ['zeta/ünïcode', { dtype: 'I16', shape: [2], bytes: new Uint8Array(new Int16Array([1, -1]).buffer) }],
  ]);
}

const PY_TENSORS = `
import numpy as np
t = {
  'model/mlp/0/W': (np.arange(15) / 8 - 1).astype(np.float32).reshape(3, 5),
  'optim/step': np.array(7, dtype=np.int32),
  'trainer/rng': np.array([-5, 12], dtype=np.int32),
  'a/f64': np.array([0.5, -1.25, 3, 1e-300]),
  'b/u8': np.arange(3, dtype=np.uint8),
  'c/i64': np.array([1, -2, 3], dtype=np.int64),
  'e/bool': np.array([True, False, True]),
  'empty': np.zeros((0, 3), dtype=np.float32),
  'zeta/ünïcode': np.array([1, -1], dtype=np.int16),
}
`;

const META = { flow_studio: JSON.stringify({ format: 'x', é: '\n', step: 3 }) };

function expectSame(a: Map<string, SafeTensor>, b: Map<string, SafeTensor>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, t] of a) {
    const u = b.get(k)!;
    expect({ k, dtype: u.dtype, shape: u.shape }).toEqual({ k, dtype: t.dtype, shape: t.shape });
    expect(Buffer.from(u.bytes).equals(Buffer.from(t.bytes))).toBe(true);
  }
}

describe('safetensors in TypeScript', () => {
  it('round-trips every dtype, scalars, empty tensors and metadata', () => {
    const t = sampleTensors();
    const bytes = encodeSafetensors(t, META);
    const back = decodeSafetensors(bytes, 'x');
    expectSame(t, back.tensors);
    expect(back.metadata).toEqual(META);
    expect(toInt32(back.tensors.get('optim/step')!)).toEqual(Int32Array.of(7));
    expect(back.tensors.get('optim/step')!.shape).toEqual([]);
    expect(Array.from(toFloat32(back.tensors.get('model/mlp/0/W')!)).slice(0, 3)).toEqual([-1, -0.875, -0.75]);
  });

  it('writes the layout the spec asks for', () => {
    const bytes = encodeSafetensors(sampleTensors(), META);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(String.fromCharCode(bytes[8]!)).toBe('{');
    const head = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
    expect(Object.keys(head)[0]).toBe('__metadata__');
    const spans = Object.entries(head)
      .filter(([k]) => k !== '__metadata__')
      .map(([, v]) => v.data_offsets)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(spans[0]![0]).toBe(0);
    spans.slice(1).forEach((s, i) => expect(s[0]).toBe(spans[i]![1]));
    expect(spans.at(-1)![1]).toBe(bytes.byteLength - 8 - n);
    // tensors sorted by dtype alignment, largest first (the reference library's order)
    expect(Object.keys(head).slice(1, 4)).toEqual(['c/i64', 'a/f64', 'empty']);
  });

  const good = (): Uint8Array =>
    encodeSafetensors(
      new Map([
        ['a', float32Tensor([4], [1, 2, 3, 4])],
        ['b', int32Tensor([2], [1, 2])],
      ]),
    );
  const withHeader = (head: unknown, data: number, pad = true): Uint8Array => {
    let text = Buffer.from(JSON.stringify(head), 'utf8');
    if (pad) text = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, 0x20)]);
    const out = new Uint8Array(8 + text.length + data);
    new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
    out.set(text, 8);
    return out;
  };
  const rawHeader = (text: string): Uint8Array => {
    const t = Buffer.from(text, 'utf8');
    const out = new Uint8Array(8 + t.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(t.length), true);
    out.set(t, 8);
    return out;
  };
  const cases: [string, () => Uint8Array, string][] = [
    ['too short for the length', () => Uint8Array.of(1, 2), 'truncated: a safetensors file starts with an 8-byte header length'],
    ['header longer than the file', () => rawHeader('{}').subarray(0, 9), 'truncated: the header length is 2 bytes but only 1 follow'],
    ['data cut short', () => good().subarray(0, good().byteLength - 3), 'truncated: the tensors need'],
    ['trailing bytes', () => Uint8Array.from([...good(), 1, 2]), 'bytes after the last tensor belong to no tensor'],
    [
      'overlapping offsets',
      () =>
        withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12),
      "overlaps tensor 'a'",
    ],
    [
      'a hole',
      () => withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8),
      'bytes [0, 4) of the buffer belong to no tensor',
    ],
    ['bad dtype', () => withHeader({ a: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, 4), 'unknown dtype "Q7"'],
    [
      'unsupported dtype',
      () => withHeader({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1),
      'dtype F8_E4M3 is valid safetensors but not supported',
    ],
    ['shape against offsets', () => withHeader({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), 'needs 12 bytes'],
    ['negative size', () => withHeader({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), 'shape must be a list of integers'],
    ['not an object', () => rawHeader('[1,2,3] '), "the header must begin with '{'"],
    ['not JSON', () => rawHeader('{"a":1  '), 'the header is not valid JSON'],
    ['metadata not strings', () => withHeader({ __metadata__: { k: 1 } }, 0), '__metadata__ must be an object of string values'],
    ['header too large', () => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1, 0x7b]), 'exceeds the limit'],
  ];
  it.each(cases)('refuses a malformed file: %s', (_name, make, message) => {
    expect(() => decodeSafetensors(make(), 'bad.safetensors')).toThrow(SafetensorsError);
    expect(() => decodeSafetensors(make(), 'bad.safetensors')).toThrow(/^bad\.safetensors: /);
    expect(() => decodeSafetensors(make(), 'bad.safetensors')).toThrow(message);
  });

  it('refuses to write tensors whose bytes do not fit their shape', () => {
    expect(() => encodeSafetensors(new Map([['a', { dtype: 'F32', shape: [3], bytes: new Uint8Array(8) } as SafeTensor]]))).toThrow(
      "tensor 'a': dtype F32 shape [3] needs 12 bytes, got 8",
    );
  });

  it('converts tfjs tensors both ways', () => {
    const src = new Map<string, Tensor>([
      [
        'w',
        tf.tensor2d([
          [1, 2],
          [3, 4.5],
        ]),
      ],
      ['k', tf.tensor1d([3, -4], 'int32')],
    ]);
    const back = toTfTensors(decodeSafetensors(encodeSafetensors(fromTfTensors(src))).tensors);
    expect(back.get('w')!.dtype).toBe('float32');
    expect(back.get('w')!.arraySync()).toEqual([
      [1, 2],
      [3, 4.5],
    ]);
    expect(back.get('k')!.dtype).toBe('int32');
    expect(Array.from(back.get('k')!.dataSync())).toEqual([3, -4]);
    tf.dispose([...src.values(), ...back.values()]);
    expect(() => toTfTensors(sampleTensors())).toThrow("tensor 'a/f64' has dtype F64; tfjs takes F32, I32 or BOOL");
  });

  it('writes files atomically and reads them back', async () => {
    const p = join(dir, 'sub', 'w.safetensors');
    await writeSafetensorsFile(p, sampleTensors(), META);
    const before = readFileSync(p);
    await expect(
      writeSafetensorsFile(p, new Map([['a', { dtype: 'F32', shape: [3], bytes: new Uint8Array(2) } as SafeTensor]])),
    ).rejects.toThrow(SafetensorsError);
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['w.safetensors']);
    expectSame(sampleTensors(), (await readSafetensorsFile(p)).tensors);
    await expect(readSafetensorsFile(join(dir, 'none.safetensors'))).rejects.toThrow('none.safetensors: cannot read');
  });
});

// ---- across the language boundary ------------------------------------------------------------

let python: TorchPython | null = null;
let skipReason = '';
beforeAll(async () => {
  const found = await findTorchPython();
  if (found.ok) python = found.python;
  else skipReason = found.reason;
  if (!python) console.log(`[skip] safetensors against Python: ${skipReason}`);
  else if (!python.safetensors)
    console.log(`[skip] the reference library: ${python.executable} cannot import safetensors (set FLOW_STUDIO_PYTHON to one that can)`);
}, 120_000);

function py(script: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(python!.command, ['-c', script], { env: { ...engineEnv(), ...env }, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('safetensors across TypeScript and Python', () => {
  it('reads the reference library’s files and writes the same bytes', async (ctx) => {
    if (!python?.safetensors) return ctx.skip();
    const p = join(dir, 'lib.safetensors');
    await py(
      `${PY_TENSORS}\nimport safetensors.numpy as s, json\ns.save_file(t, ${JSON.stringify(p)}, metadata=json.loads(${JSON.stringify(JSON.stringify(META))}))`,
    );
    const bytes = new Uint8Array(readFileSync(p));
    const file = decodeSafetensors(bytes, p);
    expectSame(sampleTensors(), file.tensors);
    expect(file.metadata).toEqual(META);
    expect(Buffer.from(encodeSafetensors(sampleTensors(), META)).equals(Buffer.from(bytes))).toBe(true);
  });

  it.for(['library', 'builtin'])('Python (%s) reads what TypeScript writes', async (impl, ctx) => {
    if (!python || (impl === 'library' && !python.safetensors)) return ctx.skip();
    const p = join(dir, `ts-${impl}.safetensors`);
    writeFileSync(p, encodeSafetensors(sampleTensors(), META));
    const out = await py(
      `${PY_TENSORS}
import json, numpy as np
from flow_studio_torch import safetensors_io as st
got, meta = st.load(${JSON.stringify(p)})
ok = set(got) == set(t) and all(got[k].dtype == t[k].dtype and got[k].shape == t[k].shape and np.array_equal(got[k], t[k]) for k in t)
print(json.dumps({'ok': bool(ok), 'meta': meta, 'impl': st.implementation()}))`,
      impl === 'builtin' ? { FLOW_STUDIO_SAFETENSORS: 'builtin' } : {},
    );
    const r = JSON.parse(out.trim().split('\n').pop()!) as { ok: boolean; meta: unknown; impl: string };
    expect(r).toMatchObject({ ok: true, meta: META });
    expect(r.impl.startsWith(impl === 'builtin' ? 'builtin' : 'safetensors ')).toBe(true);
  });
});
