/**
 * A tiny WebAssembly assembler: just enough of the binary format to emit the kernels of
 * core/kernels (one imported memory, functions over i32/f32/v128 locals, structured control flow,
 * the 128-bit SIMD and relaxed-SIMD instructions they use). No dependency: the bytes are built at
 * run time, so the generator is the source and nothing generated is committed.
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

/** One-byte opcodes used by the kernels. */
export const Op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  return: 0x0f,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  f32_load: 0x2a,
  f32_store: 0x38,
  i32_const: 0x41,
  f32_const: 0x43,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_gt_s: 0x4a,
  i32_le_s: 0x4c,
  i32_ge_s: 0x4e,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_and: 0x71,
  i32_shl: 0x74,
  f32_add: 0x92,
  f32_sub: 0x93,
  f32_mul: 0x94,
  f32_div: 0x95,
  f32_max: 0x97,
} as const;

/** SIMD opcodes (after the 0xfd prefix, LEB128-encoded). */
export const Simd = {
  v128_load: 0x00,
  v128_load32_splat: 0x09,
  v128_store: 0x0b,
  f32x4_splat: 0x13,
  f32x4_extract_lane: 0x1f,
  f32x4_add: 0xe4,
  f32x4_sub: 0xe5,
  f32x4_mul: 0xe6,
  f32x4_div: 0xe7,
  f32x4_sqrt: 0xe3,
  f32x4_relaxed_madd: 0x105,
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
    this.code.push(0xfd);
    uleb(this.code, opcode);
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
    this.op(Op.loop, 0x40);
    body();
    cond();
    this.op(Op.br_if, 0, Op.end);
    return this;
  }

  /** if (cond) then [else otherwise]. */
  ifElse(cond: () => void, then: () => void, otherwise?: () => void): this {
    cond();
    this.op(Op.if, 0x40);
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
    vec(body, this.extra.map((t) => [1, t]));
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
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const types = this.funcs.map((f) => {
      const t = [0x60];
      vec(t, f.params.map((p) => [p]));
      vec(t, f.results.map((r) => [r]));
      return t;
    });
    const typeSec: number[] = [];
    vec(typeSec, types);
    section(out, 1, typeSec);
    const importSec: number[] = [];
    const imp: number[] = [];
    name(imp, 'env');
    name(imp, 'memory');
    imp.push(0x02, 0x00, 0x01); // memory, limits: min 1 page, no max
    vec(importSec, [imp]);
    section(out, 2, importSec);
    const funcSec: number[] = [];
    vec(funcSec, this.funcs.map((_, i) => { const b: number[] = []; uleb(b, i); return b; }));
    section(out, 3, funcSec);
    const exportSec: number[] = [];
    vec(exportSec, this.funcs.map((f, i) => { const b: number[] = []; name(b, f.exportName); b.push(0x00); uleb(b, i); return b; }));
    section(out, 7, exportSec);
    const codeSec: number[] = [];
    vec(codeSec, this.funcs.map((f) => f.encode()));
    section(out, 10, codeSec);
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
