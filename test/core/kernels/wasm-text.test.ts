// The disassembler (core/kernels/wasm-text.ts) on modules whose text is known: bytes written here by
// hand from the WebAssembly binary format (core spec 5.4-5.5, SIMD and relaxed-SIMD opcode tables),
// not by our assembler, and checked by the engine's own validator; then every instruction of the
// opcode table assembled and read back.
import { describe, expect, it } from 'vitest';
import { CORE_OPS, FuncBuilder, hasRelaxedSimd, I32, ModuleBuilder, SIMD_OPS, wasmApi } from '../../../core/kernels/wasm-asm';
import { f32Text, WasmTextError, wasmToText } from '../../../core/kernels/wasm-text';

/** Unsigned LEB128. */
function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    out.push((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>>= 7;
  } while (v);
  return out;
}
/** A section: id, byte size, contents. */
const sec = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const ascii = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
const f32le = (...v: number[]): number[] => Array.from(new Uint8Array(new Float32Array(v).buffer));

/** A module importing env.memory with one exported function of type `type`, body `body` (locals + code). */
function handModule(name: string, type: number[], body: number[]): Uint8Array {
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...sec(1, [1, 0x60, ...type]),
    ...sec(2, [1, ...ascii('env'), ...ascii('memory'), 0x02, 0x00, 0x01]),
    ...sec(3, [1, 0]),
    ...sec(7, [1, ...ascii(name), 0x00, 0]),
    ...sec(10, [1, ...uleb(body.length), ...body]),
  ]);
}

describe('wasmToText', () => {
  it('prints a hand-encoded add(i32, i32) -> i32', () => {
    const bytes = handModule('add', [2, 0x7f, 0x7f, 1, 0x7f], [0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b]);
    expect(wasmApi.validate(bytes)).toBe(true);
    expect(wasmToText(bytes)).toBe(
      [
        '(module',
        '  (import "env" "memory" (memory 1))',
        '  (func $add (export "add") (param $0 i32) (param $1 i32) (result i32)',
        '    local.get 0',
        '    local.get 1',
        '    i32.add',
        '  )',
        ')',
        '',
      ].join('\n'),
    );
  });

  it('prints locals, nested blocks, memargs, constants, shuffles, lanes and multi-byte SIMD opcodes', () => {
    // (func (param i32) (local f32 v128) ...): written byte by byte.
    const body = [
      0x02,
      0x01,
      0x7d,
      0x01,
      0x7b, // locals: 1 f32, 1 v128
      0x43,
      ...f32le(0.5),
      0x21,
      0x01, // f32.const 0.5; local.set 1
      0x03,
      0x40, // loop
      0x20,
      0x00,
      0x04,
      0x40, // local.get 0; if
      0x20,
      0x00,
      0x2a,
      0x00,
      0x10,
      0x21,
      0x01, // local.get 0; f32.load align=2^0 offset=16; local.set 1
      0x05, // else
      0x41,
      0x7c,
      0x21,
      0x00, // i32.const -4; local.set 0
      0x0b, // end (if)
      0x20,
      0x00,
      0x0d,
      0x00, // local.get 0; br_if 0
      0x0b, // end (loop)
      0xfd,
      0x0c,
      ...f32le(1, -2, 0.1, 3), // v128.const
      0xfd,
      0x0c,
      ...new Array<number>(16).fill(0), // v128.const 0
      0xfd,
      0x0d,
      0,
      1,
      2,
      3,
      16,
      17,
      18,
      19,
      4,
      5,
      6,
      7,
      20,
      21,
      22,
      23, // i8x16.shuffle
      0x22,
      0x02,
      0x20,
      0x02,
      0x20,
      0x02, // local.tee 2; local.get 2; local.get 2
      0xfd,
      0x85,
      0x02, // f32x4.relaxed_madd (0x105)
      0xfd,
      0x1f,
      0x03,
      0x21,
      0x01, // f32x4.extract_lane 3; local.set 1
      0x20,
      0x00,
      0x20,
      0x02,
      0xfd,
      0x0b,
      0x00,
      0x20, // local.get 0; local.get 2; v128.store align=2^0 offset=32
      0x20,
      0x00,
      0xfd,
      0x09,
      0x02,
      0x00,
      0x21,
      0x02, // local.get 0; v128.load32_splat align=2^2; local.set 2
      0x0b,
    ];
    const bytes = handModule('k', [1, 0x7f, 0], body);
    if (hasRelaxedSimd()) expect(wasmApi.validate(bytes)).toBe(true);
    expect(wasmToText(bytes)).toBe(
      [
        '(module',
        '  (import "env" "memory" (memory 1))',
        '  (func $k (export "k") (param $0 i32)',
        '    (local $1 f32)',
        '    (local $2 v128)',
        '    f32.const 0.5',
        '    local.set 1',
        '    loop',
        '      local.get 0',
        '      if',
        '        local.get 0',
        '        f32.load offset=16 align=1',
        '        local.set 1',
        '      else',
        '        i32.const -4',
        '        local.set 0',
        '      end',
        '      local.get 0',
        '      br_if 0',
        '    end',
        '    v128.const f32x4 1 -2 0.1 3',
        '    v128.const f32x4 0 0 0 0',
        '    i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23',
        '    local.tee 2',
        '    local.get 2',
        '    local.get 2',
        '    f32x4.relaxed_madd',
        '    f32x4.extract_lane 3',
        '    local.set 1',
        '    local.get 0',
        '    local.get 2',
        '    v128.store offset=32 align=1',
        '    local.get 0',
        '    v128.load32_splat',
        '    local.set 2',
        '  )',
        ')',
        '',
      ].join('\n'),
    );
  });

  it('reads back every instruction of the opcode table with its immediates, in one stream', () => {
    const m = new ModuleBuilder();
    const f = m.func('all', [I32]);
    const expected: string[] = [];
    const emit = (fb: FuncBuilder, simd: boolean, code: number, imm: string, align: number | undefined): string => {
      const put = (...b: number[]): void => void (simd ? fb.simd(code).op(...b) : fb.op(code, ...b));
      switch (imm) {
        case 'none':
          put();
          return '';
        case 'blocktype':
          put(0x7d);
          return ' (result f32)';
        case 'label':
          put(3);
          return ' 3';
        case 'local':
          put(0x85, 0x01);
          return ' 133'; // a two-byte LEB128 index
        case 'memarg':
          put(align === 0 ? 1 : 0, 0x80, 0x01);
          return ` offset=128 align=${align === 0 ? 2 : 1}`;
        case 'i32':
          put(0x80, 0x7f);
          return ' -128';
        case 'f32':
          put(...f32le(-1.25));
          return ' -1.25';
        case 'v128':
          put(...f32le(0.25, 8, -0, 1e-7));
          return ' f32x4 0.25 8 -0 1e-7';
        case 'shuffle':
          put(...Array.from({ length: 16 }, (_, i) => 31 - i));
          return ` ${Array.from({ length: 16 }, (_, i) => 31 - i).join(' ')}`;
        case 'lane':
          put(2);
          return ' 2';
      }
      throw new Error(`immediate ${imm} not covered by this test`);
    };
    let opened = 0;
    for (const [table, simd] of [
      [CORE_OPS, false],
      [SIMD_OPS, true],
    ] as const) {
      for (const [key, [code, imm, align]] of Object.entries(table)) {
        if (key === 'end' || key === 'else') continue; // structure: emitted below
        const text = emit(f, simd, code, imm, align);
        const name = /^(i32|f32|f64|v128|i8x16|i32x4|f32x4|f64x2|local)_/.test(key) ? key.replace('_', '.') : key;
        expected.push(`${'  '.repeat(opened)}${name}${text}`);
        if (imm === 'blocktype') opened++;
      }
    }
    f.op(CORE_OPS.else[0]);
    expected.push(`${'  '.repeat(opened - 1)}else`);
    while (opened > 0) {
      f.op(CORE_OPS.end[0]);
      opened--;
      expected.push(`${'  '.repeat(opened)}end`);
    }
    const lines = wasmToText(m.build()).split('\n');
    const first = lines.findIndex((l) => l.includes('(func $all'));
    expect(lines.slice(first + 1, first + 1 + expected.length).map((l) => l.slice(4))).toEqual(expected);
    expect(lines.slice(first + 1 + expected.length)).toEqual(['  )', ')', '']);
  });

  it('rejects what it does not know, naming the byte offset', () => {
    const bad = handModule('f', [0, 0], [0x00, 0xfc, 0x00, 0x0b]); // 0xfc: a prefix outside the table
    expect(() => wasmToText(bad)).toThrow(WasmTextError);
    expect(() => wasmToText(bad)).toThrow(/opcode 0xfc is not in the opcode table \(at byte \d+\)/);
    expect(() => wasmToText(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x02, 0, 0, 0]))).toThrow('not a WebAssembly 1.0 module');
    expect(() => wasmToText(handModule('f', [0, 0], [0x00, 0x01]))).toThrow(/opcode 0x1 is not in the opcode table|without its final end/);
  });

  it('prints float32 constants as the shortest decimal that reads back to the same float32', () => {
    for (const v of [0.1, 1 / 3, Math.LOG2E, 0.693359375, -2.1219444e-4, 1e-38, 3.4e38, 12582912]) {
      const f = Math.fround(v);
      const s = f32Text(f);
      expect(Math.fround(Number(s))).toBe(f);
      expect(s.replace(/^-|e.*$|\./g, '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
    }
    expect(f32Text(Math.fround(0.1))).toBe('0.1');
  });
});
