/**
 * A tiny WebAssembly assembler: just enough of the binary format to emit the kernels of
 * core/kernels (one imported memory, functions over i32/f32/v128 locals, structured control flow,
 * the 128-bit SIMD and relaxed-SIMD instructions they use). No dependency: the bytes are built at
 * run time, so the generator is the source. Every instruction is named once, in the opcode table
 * below (CORE_OPS, SIMD_OPS); builders spell instructions only through Op and Simd. For review, a
 * text dump of each generated module (wasm-text.ts) is kept under test/core/kernels/golden (see
 * docs/kernels.md).
 *
 * Encoding reference: the WebAssembly core specification, "Binary Format" (sections, LEB128 integers,
 * instructions), and the SIMD (0xfd prefix) and relaxed-SIMD opcode tables.
 *
 * @example
 *   const m = new ModuleBuilder();
 *   const f = m.func('add', [I32, I32], [I32]);
 *   f.get(0).get(1).op(Op.i32_add);
 *   const bytes = m.build();
 */

/**
 * The part of the WebAssembly JavaScript API used by core/kernels, typed here because core compiles
 * without DOM or Node types (the global itself exists in Node, browsers and Electron alike).
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

/** Text-format names of the value types (the disassembler prints these). */
export const VALTYPE_NAMES: Readonly<Record<number, string>> = { [I32]: 'i32', [F32]: 'f32', [F64]: 'f64', [V128]: 'v128' };

/**
 * What follows an opcode in the instruction stream (core specification 5.4, SIMD 5.4.8):
 *   blocktype  0x40 (no result) or a value type          label   uleb32 relative depth
 *   local      uleb32 local index                          memarg  uleb32 align (log2), uleb32 offset
 *   i32        sleb32                                      f32     4 bytes little-endian IEEE 754
 *   v128       16 bytes                                    shuffle 16 lane indices (bytes, 0-31)
 *   lane       1 byte lane index                           none    nothing
 */
export type Immediate = 'none' | 'blocktype' | 'label' | 'local' | 'memarg' | 'i32' | 'f32' | 'v128' | 'shuffle' | 'lane';

/** One instruction: its opcode, its immediates, and for memory access the natural alignment (log2 bytes). */
export type OpSpec = readonly [code: number, imm: Immediate, naturalAlign?: number];

/**
 * THE opcode table of the assembler: every instruction any module builder emits, by name. The key
 * is the text-format name with its first '.' written as '_' (i32_add is i32.add, f32x4_relaxed_madd
 * is f32x4.relaxed_madd); the disassembler (wasm-text.ts) reads the same table, so an instruction
 * added here is both emitted and printed. One-byte opcodes:
 */
export const CORE_OPS = {
  block: [0x02, 'blocktype'],
  loop: [0x03, 'blocktype'],
  if: [0x04, 'blocktype'],
  else: [0x05, 'none'],
  end: [0x0b, 'none'],
  br: [0x0c, 'label'],
  br_if: [0x0d, 'label'],
  return: [0x0f, 'none'],
  select: [0x1b, 'none'],
  local_get: [0x20, 'local'],
  local_set: [0x21, 'local'],
  local_tee: [0x22, 'local'],
  f32_load: [0x2a, 'memarg', 2],
  f32_store: [0x38, 'memarg', 2],
  i32_const: [0x41, 'i32'],
  f32_const: [0x43, 'f32'],
  i32_eqz: [0x45, 'none'],
  i32_eq: [0x46, 'none'],
  i32_ne: [0x47, 'none'],
  i32_lt_s: [0x48, 'none'],
  i32_gt_s: [0x4a, 'none'],
  i32_le_s: [0x4c, 'none'],
  i32_ge_s: [0x4e, 'none'],
  i32_add: [0x6a, 'none'],
  i32_sub: [0x6b, 'none'],
  i32_mul: [0x6c, 'none'],
  i32_and: [0x71, 'none'],
  i32_shl: [0x74, 'none'],
  f32_sqrt: [0x91, 'none'],
  f32_add: [0x92, 'none'],
  f32_sub: [0x93, 'none'],
  f32_mul: [0x94, 'none'],
  f32_div: [0x95, 'none'],
  f32_max: [0x97, 'none'],
  f64_add: [0xa0, 'none'],
  f64_mul: [0xa2, 'none'],
  f32_demote_f64: [0xb6, 'none'],
  f64_promote_f32: [0xbb, 'none'],
} as const satisfies Record<string, OpSpec>;

/** The SIMD prefix byte: a SIMD instruction is 0xfd, then its opcode below as uleb32. */
export const SIMD_PREFIX = 0xfd;

/** SIMD and relaxed-SIMD opcodes (after SIMD_PREFIX). */
export const SIMD_OPS = {
  v128_load: [0x00, 'memarg', 4],
  v128_load32_splat: [0x09, 'memarg', 2],
  v128_store: [0x0b, 'memarg', 4],
  v128_const: [0x0c, 'v128'],
  i8x16_shuffle: [0x0d, 'shuffle'],
  i32x4_splat: [0x11, 'none'],
  f32x4_splat: [0x13, 'none'],
  f32x4_extract_lane: [0x1f, 'lane'],
  v128_load64_zero: [0x5d, 'memarg', 3],
  f64x2_promote_low_f32x4: [0x5f, 'none'],
  i32x4_shl: [0xab, 'none'],
  i32x4_add: [0xae, 'none'],
  f32x4_neg: [0xe1, 'none'],
  f32x4_sqrt: [0xe3, 'none'],
  f32x4_add: [0xe4, 'none'],
  f32x4_sub: [0xe5, 'none'],
  f32x4_mul: [0xe6, 'none'],
  f32x4_div: [0xe7, 'none'],
  f32x4_pmin: [0xea, 'none'],
  f32x4_pmax: [0xeb, 'none'],
  f64x2_add: [0xf0, 'none'],
  f64x2_sub: [0xf1, 'none'],
  f64x2_mul: [0xf2, 'none'],
  f32x4_relaxed_madd: [0x105, 'none'],
} as const satisfies Record<string, OpSpec>;

function codes<T extends Record<string, OpSpec>>(table: T): { readonly [K in keyof T]: number } {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v[0]])) as { readonly [K in keyof T]: number };
}

/** One-byte opcodes by name (from CORE_OPS). */
export const Op = codes(CORE_OPS);

/** SIMD opcodes by name (from SIMD_OPS; emitted after SIMD_PREFIX). */
export const Simd = codes(SIMD_OPS);

/** The bytes of the module structure (core specification 5.5), named for the builder and the disassembler. */
export const Enc = {
  /** "\0asm", then version 1. */
  magic: [0x00, 0x61, 0x73, 0x6d],
  version: [0x01, 0x00, 0x00, 0x00],
  section: { type: 1, import: 2, function: 3, export: 7, code: 10 },
  funcType: 0x60,
  /** Block type of a block, loop or if without a result. */
  emptyBlock: 0x40,
  importKind: { memory: 0x02 },
  exportKind: { func: 0x00 },
  /** Memory limits flag: a minimum, no maximum. */
  limitsMinOnly: 0x00,
} as const;

function uleb(out: number[], v: number): void {
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

function sleb(out: number[], v: number): void {
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

/** An import or export name (ASCII: the only names emitted here). */
function name(out: number[], s: string): void {
  uleb(out, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0x7f);
}

function vec(out: number[], items: number[][]): void {
  uleb(out, items.length);
  for (const it of items) out.push(...it);
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id);
  uleb(out, body.length);
  out.push(...body);
}

/** The body of one function: a chainable instruction writer. Parameters are locals 0..n-1. */
export class FuncBuilder {
  readonly code: number[] = [];
  private readonly extra: ValType[] = [];

  constructor(
    readonly exportName: string,
    readonly params: ValType[],
    readonly results: ValType[],
  ) {}

  /** Declares a new local of type t and returns its index. */
  local(t: ValType): number {
    this.extra.push(t);
    return this.params.length + this.extra.length - 1;
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  get(i: number): this {
    this.code.push(Op.local_get);
    uleb(this.code, i);
    return this;
  }

  set(i: number): this {
    this.code.push(Op.local_set);
    uleb(this.code, i);
    return this;
  }

  tee(i: number): this {
    this.code.push(Op.local_tee);
    uleb(this.code, i);
    return this;
  }

  i32(v: number): this {
    this.code.push(Op.i32_const);
    sleb(this.code, v | 0);
    return this;
  }

  f32(v: number): this {
    this.code.push(Op.f32_const, ...new Uint8Array(new Float32Array([v]).buffer));
    return this;
  }

  /** Memory access opcode with its memarg (alignment log2, constant byte offset). */
  mem(opcode: number, align: number, offset: number): this {
    this.code.push(opcode);
    uleb(this.code, align);
    uleb(this.code, offset);
    return this;
  }

  simd(opcode: number): this {
    this.code.push(SIMD_PREFIX);
    uleb(this.code, opcode);
    return this;
  }

  /** v128.const with the 16 bytes of `bytes` (e.g. a Float32Array of 4 lanes). */
  v128Const(bytes: Uint8Array): this {
    if (bytes.length !== 16) throw new Error(`v128.const: 16 bytes expected, got ${bytes.length}`);
    this.simd(Simd.v128_const);
    this.code.push(...bytes);
    return this;
  }

  /** i8x16.shuffle: byte j of the result is byte lanes[j] of the two operands (0-15 first, 16-31 second). */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !(l >= 0 && l < 32)))
      throw new Error(`i8x16.shuffle: 16 lane indices in 0..31 expected, got [${lanes}]`);
    this.simd(Simd.i8x16_shuffle);
    this.code.push(...lanes);
    return this;
  }

  simdMem(opcode: number, align: number, offset: number): this {
    this.simd(opcode);
    uleb(this.code, align);
    uleb(this.code, offset);
    return this;
  }

  lane(opcode: number, laneIndex: number): this {
    this.simd(opcode);
    this.code.push(laneIndex);
    return this;
  }

  /** local[i] = local[i] + v (i32). */
  addTo(i: number, v: number): this {
    return this.get(i).i32(v).op(Op.i32_add).set(i);
  }

  /** local[i] = local[i] + local[j] (i32). */
  addLocal(i: number, j: number): this {
    return this.get(i).get(j).op(Op.i32_add).set(i);
  }

  /** A do-while loop: `body` runs, then the loop repeats while `cond` leaves a non-zero i32. */
  doWhile(body: () => void, cond: () => void): this {
    this.op(Op.loop, Enc.emptyBlock);
    body();
    cond();
    this.op(Op.br_if, 0, Op.end);
    return this;
  }

  /** if (cond) then [else otherwise]. */
  ifElse(cond: () => void, then: () => void, otherwise?: () => void): this {
    cond();
    this.op(Op.if, Enc.emptyBlock);
    then();
    if (otherwise) {
      this.op(Op.else);
      otherwise();
    }
    this.op(Op.end);
    return this;
  }

  /** for (local[i] = 0; local[i] < local[n]; local[i] += step) body — nothing when local[n] <= 0. */
  forRange(i: number, n: number, step: number, body: () => void): this {
    this.i32(0).set(i);
    return this.ifElse(
      () => this.get(n).i32(0).op(Op.i32_gt_s),
      () => this.doWhile(body, () => this.addTo(i, step).get(i).get(n).op(Op.i32_lt_s)),
    );
  }

  /** The function's code entry (locals + body + end). */
  encode(): number[] {
    const body: number[] = [];
    // One local declaration per entry (count 1): simple and valid.
    vec(
      body,
      this.extra.map((t) => [1, t]),
    );
    body.push(...this.code, Op.end);
    const out: number[] = [];
    uleb(out, body.length);
    out.push(...body);
    return out;
  }
}

/** A module importing one memory as env.memory and exporting its functions by name. */
export class ModuleBuilder {
  private readonly funcs: FuncBuilder[] = [];

  func(exportName: string, params: ValType[], results: ValType[] = []): FuncBuilder {
    const f = new FuncBuilder(exportName, params, results);
    this.funcs.push(f);
    return f;
  }

  build(): Uint8Array {
    const out: number[] = [...Enc.magic, ...Enc.version];
    const types = this.funcs.map((f) => {
      const t: number[] = [Enc.funcType];
      vec(
        t,
        f.params.map((p) => [p]),
      );
      vec(
        t,
        f.results.map((r) => [r]),
      );
      return t;
    });
    const typeSec: number[] = [];
    vec(typeSec, types);
    section(out, Enc.section.type, typeSec);
    const importSec: number[] = [];
    const imp: number[] = [];
    name(imp, 'env');
    name(imp, 'memory');
    imp.push(Enc.importKind.memory, Enc.limitsMinOnly, 1); // memory, limits: min 1 page, no max
    vec(importSec, [imp]);
    section(out, Enc.section.import, importSec);
    const funcSec: number[] = [];
    vec(
      funcSec,
      this.funcs.map((_, i) => {
        const b: number[] = [];
        uleb(b, i);
        return b;
      }),
    );
    section(out, Enc.section.function, funcSec);
    const exportSec: number[] = [];
    vec(
      exportSec,
      this.funcs.map((f, i) => {
        const b: number[] = [];
        name(b, f.exportName);
        b.push(Enc.exportKind.func);
        uleb(b, i);
        return b;
      }),
    );
    section(out, Enc.section.export, exportSec);
    const codeSec: number[] = [];
    vec(
      codeSec,
      this.funcs.map((f) => f.encode()),
    );
    section(out, Enc.section.code, codeSec);
    return new Uint8Array(out);
  }
}

/** True when this engine validates f32x4.relaxed_madd (relaxed SIMD). */
export function hasRelaxedSimd(): boolean {
  const m = new ModuleBuilder();
  const f = m.func('f', [V128, V128, V128], [V128]);
  f.get(0).get(1).get(2).simd(Simd.f32x4_relaxed_madd);
  try {
    return wasmApi.validate(m.build());
  } catch {
    return false;
  }
}
