/**
 * A small disassembler: the bytes of a module made by wasm-asm.ts -> WAT-like text, for review (the
 * golden dumps under test/core/kernels/golden, see docs/kernels.md). It reads the module bytes, not
 * the builders, so a dump shows what the engine compiles.
 *
 * Scope: the subset wasm-asm.ts emits (type, import, function, export and code sections; the
 * instructions of its opcode table CORE_OPS / SIMD_OPS, read from that same table). Anything else
 * (another section, an opcode outside the table, a truncated stream) throws an error naming the
 * byte offset, so a new instruction shows up as a failing dump until it is added to the table.
 *
 * Output, per function: `(func $name (export "name") (param $0 i32) ... (result f64)`, then one line
 * per declared local `(local $6 i32)`, then one instruction per line with its immediates, indented
 * by block depth (block, loop and if open a level; else and end close it). Immediates are printed
 * as in the WebAssembly text format: `local.get 3`, `i32.const -4`, `f32.const 0.5`,
 * `v128.load offset=16 align=1` (offset when non-zero, align in bytes when not the natural one),
 * `v128.const f32x4 1 1 1 1`, `i8x16.shuffle 0 1 2 3 ...`, `f32x4.extract_lane 0`, `br_if 0`.
 * float constants are printed as the shortest decimal that reads back to the same float32.
 */
import { CORE_OPS, Enc, SIMD_OPS, SIMD_PREFIX, VALTYPE_NAMES, type Immediate, type OpSpec } from './wasm-asm';

/** A malformed or unsupported module, with the byte offset where reading stopped. */
export class WasmTextError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`wasm-text: ${message} (at byte ${offset})`);
    this.name = 'WasmTextError';
  }
}

interface TextOp {
  name: string;
  imm: Immediate;
  naturalAlign: number;
}

/** Text name of a table key: the first '_' is the '.' (i32_add -> i32.add); control names have none. */
function textName(key: string): string {
  return /^(i32|f32|f64|v128|i8x16|i32x4|f32x4|f64x2|local)_/.test(key) ? key.replace('_', '.') : key;
}

function index(table: Record<string, OpSpec>): Map<number, TextOp> {
  const m = new Map<number, TextOp>();
  for (const [key, [code, imm, align]] of Object.entries(table)) m.set(code, { name: textName(key), imm, naturalAlign: align ?? 0 });
  return m;
}

const CORE = index(CORE_OPS);
const SIMD = index(SIMD_OPS);

/** The shortest decimal that reads back as the float32 `v` (JavaScript's own printing is float64's). */
export function f32Text(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  for (let p = 1; p <= 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return String(s);
  }
  return String(v);
}

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  byte(): number {
    if (this.pos >= this.bytes.length) throw new WasmTextError('unexpected end of the module', this.pos);
    return this.bytes[this.pos++]!;
  }

  take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) throw new WasmTextError(`${n} bytes expected, the module ends first`, this.pos);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  uleb(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new WasmTextError('LEB128 integer longer than 5 bytes', this.pos);
    }
  }

  sleb32(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    if (b & 0x80) throw new WasmTextError('LEB128 integer longer than 5 bytes', this.pos);
    if (shift < 32 && b & 0x40) result |= -1 << shift;
    return result | 0;
  }

  name(): string {
    const n = this.uleb();
    return String.fromCharCode(...this.take(n));
  }

  valtype(): string {
    const at = this.pos;
    const t = this.byte();
    const s = VALTYPE_NAMES[t];
    if (!s) throw new WasmTextError(`unknown value type 0x${t.toString(16)}`, at);
    return s;
  }
}

interface FuncType {
  params: string[];
  results: string[];
}

/** The text of one instruction's immediates (empty when it has none). */
function immediates(r: Reader, op: TextOp): string {
  switch (op.imm) {
    case 'none':
      return '';
    case 'blocktype': {
      const at = r.pos;
      const b = r.byte();
      if (b === Enc.emptyBlock) return '';
      const t = VALTYPE_NAMES[b];
      if (!t) throw new WasmTextError(`unsupported block type 0x${b.toString(16)}`, at);
      return ` (result ${t})`;
    }
    case 'label':
    case 'local':
      return ` ${r.uleb()}`;
    case 'memarg': {
      const align = r.uleb();
      const offset = r.uleb();
      return `${offset ? ` offset=${offset}` : ''}${align !== op.naturalAlign ? ` align=${2 ** align}` : ''}`;
    }
    case 'i32':
      return ` ${r.sleb32()}`;
    case 'f32':
      return ` ${f32Text(new Float32Array(r.take(4).slice().buffer)[0]!)}`;
    case 'v128': {
      const b = r.take(16).slice();
      const f = new Float32Array(b.buffer);
      if (Array.from(f).some((x) => Number.isNaN(x))) {
        return ` i32x4 ${Array.from(new Uint32Array(b.buffer), (x) => `0x${x.toString(16).padStart(8, '0')}`).join(' ')}`;
      }
      return ` f32x4 ${Array.from(f, f32Text).join(' ')}`;
    }
    case 'shuffle':
      return ` ${Array.from(r.take(16)).join(' ')}`;
    case 'lane':
      return ` ${r.byte()}`;
  }
}

/** One function body -> lines (locals, then instructions indented by block depth). */
function body(r: Reader, end: number, nParams: number, indent: string): string[] {
  const lines: string[] = [];
  let local = nParams;
  const groups = r.uleb();
  for (let g = 0; g < groups; g++) {
    const n = r.uleb();
    const t = r.valtype();
    for (let i = 0; i < n; i++) lines.push(`${indent}(local $${local++} ${t})`);
  }
  let depth = 0;
  while (r.pos < end) {
    const at = r.pos;
    const b = r.byte();
    let op: TextOp | undefined;
    if (b === SIMD_PREFIX) {
      const code = r.uleb();
      op = SIMD.get(code);
      if (!op) throw new WasmTextError(`SIMD opcode 0x${code.toString(16)} is not in the opcode table`, at);
    } else {
      op = CORE.get(b);
      if (!op) throw new WasmTextError(`opcode 0x${b.toString(16)} is not in the opcode table`, at);
    }
    if (op.name === 'end') {
      if (depth === 0) {
        // The function's own end: the last byte of the body.
        if (r.pos !== end) throw new WasmTextError('function end before the end of its body', at);
        return lines;
      }
      depth--;
    }
    const level = op.name === 'else' ? depth - 1 : depth;
    lines.push(`${indent}${'  '.repeat(level)}${op.name}${immediates(r, op)}`);
    if (op.name === 'block' || op.name === 'loop' || op.name === 'if') depth++;
  }
  throw new WasmTextError('function body without its final end', r.pos);
}

/** WAT-like text of a module built by wasm-asm.ts (see the file comment for the format). */
export function wasmToText(bytes: Uint8Array): string {
  const r = new Reader(bytes);
  const head = Array.from(r.take(8));
  if (head.join() !== [...Enc.magic, ...Enc.version].join()) throw new WasmTextError('not a WebAssembly 1.0 module (magic and version)', 0);
  const types: FuncType[] = [];
  const imports: string[] = [];
  const funcTypes: number[] = [];
  const exportNames = new Map<number, string>();
  const out: string[] = ['(module'];
  const funcs: string[] = [];
  while (!r.done) {
    const at = r.pos;
    const id = r.byte();
    const size = r.uleb();
    const end = r.pos + size;
    switch (id) {
      case Enc.section.type: {
        const n = r.uleb();
        for (let i = 0; i < n; i++) {
          const form = r.byte();
          if (form !== Enc.funcType) throw new WasmTextError(`function type 0x60 expected, got 0x${form.toString(16)}`, r.pos - 1);
          const params = Array.from({ length: r.uleb() }, () => r.valtype());
          const results = Array.from({ length: r.uleb() }, () => r.valtype());
          types.push({ params, results });
        }
        break;
      }
      case Enc.section.import: {
        const n = r.uleb();
        for (let i = 0; i < n; i++) {
          const mod = r.name();
          const field = r.name();
          const kind = r.byte();
          if (kind !== Enc.importKind.memory) throw new WasmTextError(`only memory imports are supported, got kind ${kind}`, r.pos - 1);
          const flags = r.byte();
          const min = r.uleb();
          const max = flags & 1 ? ` ${r.uleb()}` : '';
          imports.push(`  (import "${mod}" "${field}" (memory ${min}${max}))`);
        }
        break;
      }
      case Enc.section.function: {
        const n = r.uleb();
        for (let i = 0; i < n; i++) funcTypes.push(r.uleb());
        break;
      }
      case Enc.section.export: {
        const n = r.uleb();
        for (let i = 0; i < n; i++) {
          const name = r.name();
          const kind = r.byte();
          const idx = r.uleb();
          if (kind !== Enc.exportKind.func) throw new WasmTextError(`only function exports are supported, got kind ${kind}`, r.pos - 1);
          exportNames.set(idx, name);
        }
        break;
      }
      case Enc.section.code: {
        const n = r.uleb();
        if (n !== funcTypes.length) throw new WasmTextError(`${n} bodies for ${funcTypes.length} functions`, at);
        for (let i = 0; i < n; i++) {
          const len = r.uleb();
          const bodyEnd = r.pos + len;
          const type = types[funcTypes[i]!];
          if (!type) throw new WasmTextError(`function ${i} has no type ${funcTypes[i]}`, r.pos);
          const name = exportNames.get(i);
          const sig = [
            ...type.params.map((t, j) => `(param $${j} ${t})`),
            ...(type.results.length ? [`(result ${type.results.join(' ')})`] : []),
          ];
          funcs.push(`  (func ${name ? `$${name} (export "${name}")` : `(;${i};)`}${sig.length ? ` ${sig.join(' ')}` : ''}`);
          funcs.push(...body(r, bodyEnd, type.params.length, '    '));
          funcs.push('  )');
        }
        break;
      }
      default:
        throw new WasmTextError(`section ${id} is not supported`, at);
    }
    if (r.pos !== end) throw new WasmTextError(`section ${id} is ${size} bytes, ${r.pos - (end - size)} read`, at);
  }
  out.push(...imports, ...funcs, ')');
  return `${out.join('\n')}\n`;
}
