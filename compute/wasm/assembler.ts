/**
 * A tiny WebAssembly SIMD module, assembled here byte by byte, that shares the
 * tfjs wasm module's memory and provides fused elementwise loops tfjs has no
 * kernel for: `out = a + c * b` (the SGD / momentum update in one pass instead
 * of a Multiply and an Add), `out = c * b`, `out = a * step(x)` (the relu
 * gradient in one pass instead of a Step and a Multiply) and `out = step(x)`.
 *
 * Each f32x4 lane computes `c * b` rounded, then `+ a` rounded, exactly like
 * the stock Multiply and Add kernels (and step exactly like the stock Step,
 * NaN included), so results are bit-identical to them.
 *
 * @module
 */

/** The fused loops, on byte offsets into the shared memory. */
export interface SimdOps {
  /** `out[i] = a[i] + c * b[i]` for `n` floats. */
  axpy(out: number, a: number, b: number, c: number, n: number): void;
  /** `out[i] = c * b[i]` for `n` floats. */
  scale(out: number, b: number, c: number, n: number): void;
  /** `out[i] = a[i] * step(x[i])` for `n` floats (the relu gradient in one pass). */
  stepmul(out: number, a: number, x: number, n: number): void;
  /** `out[i] = step(x[i])`: 1 where `x > 0`, NaN where `x` is NaN, else 0 (tfjs' `step`). */
  step(out: number, x: number, n: number): void;
}

/** i32 value type. */
export const I32 = 0x7f;
/** f32 value type. */
export const F32 = 0x7d;
/** v128 value type. */
export const V128 = 0x7b;

// Core opcodes.
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_AND = 0x71;
const I32_SHL = 0x74;
const I32_GE_U = 0x4f;
const BLOCK = 0x02;
const LOOP = 0x03;
const VOID = 0x40;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const F32_LOAD = 0x2a;
const F32_STORE = 0x38;
const F32_ADD = 0x92;
const F32_MUL = 0x94;
const F32_CONST = 0x43;
const F32_NE = 0x5c;
const F32_GT = 0x5e;
const SELECT = 0x1b;

// SIMD opcodes (0xfd prefix, LEB128 sub-opcode).
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00];
const V128_STORE = [SIMD, 0x0b];
const F32X4_SPLAT = [SIMD, 0x13];
const F32X4_ADD = [SIMD, 0xe4, 0x01];
const F32X4_MUL = [SIMD, 0xe6, 0x01];
const F32X4_NE = [SIMD, 0x42];
const F32X4_GT = [SIMD, 0x44];
const V128_AND = [SIMD, 0x4e];
const V128_OR = [SIMD, 0x50];

/** Unsigned LEB128 bytes of `n`. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 bytes of `n`. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  while (true) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** A length-prefixed UTF-8 name. */
export function str(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** A module section: id, byte length, body. */
export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** A wasm vector: count, then the items' bytes. */
export function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** `local.get i`. */
export const get = (i: number): number[] => [LOCAL_GET, ...uleb(i)];
/** `local.set i`. */
export const set = (i: number): number[] => [LOCAL_SET, ...uleb(i)];
/** `i32.const v`. */
export const i32c = (v: number): number[] => [I32_CONST, ...sleb(v)];
/** A memory immediate (alignment log2, offset 0). */
export const mem = (align: number): number[] => [align, 0];

/**
 * Body of a loop over `n` floats (param `nIdx`) with byte counter local `i`:
 * a 4-lane part running `vecBody` then a scalar tail running `scalarBody`,
 * both addressing element `i` through the pointer params.
 */
function lanes(
  nIdx: number,
  i: number,
  end: number,
  vecBody: number[],
  scalarBody: number[],
): number[] {
  return [
    ...i32c(0),
    ...set(i),
    ...setVectorEnd(nIdx, end),
    ...countedLoop(i, end, 16, vecBody),
    ...setByteEnd(nIdx, end),
    ...countedLoop(i, end, 4, scalarBody),
  ];
}

/** `end = (n & ~3) << 2`: the byte end of the whole f32x4 groups of local `n` floats. */
export function setVectorEnd(n: number, end: number): number[] {
  return [...get(n), ...i32c(-4), I32_AND, ...i32c(2), I32_SHL, ...set(end)];
}

/** `end = n << 2`: the byte end of local `n` floats. */
export function setByteEnd(n: number, end: number): number[] {
  return [...get(n), ...i32c(2), I32_SHL, ...set(end)];
}

/** `while (i < end) { body; i += stride }` with `i` and `end` locals (unsigned compare). */
export function countedLoop(i: number, end: number, stride: number, body: number[]): number[] {
  return [
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(i),
    ...get(end),
    I32_GE_U,
    BR_IF,
    1,
    ...body,
    ...get(i),
    ...i32c(stride),
    I32_ADD,
    ...set(i),
    BR,
    0,
    END,
    END,
  ];
}

/** Pushes pointer param `ptr` + byte offset local `i`. */
export const at = (ptr: number, i: number): number[] => [...get(ptr), ...get(i), I32_ADD];
/** Pushes the v128 at pointer param `ptr` + byte offset local `i`. */
export const loadVec = (
  ptr: number,
  i: number,
): number[] => [...at(ptr, i), ...V128_LOAD, ...mem(0)];
/** Pushes the f32 at pointer param `ptr` + byte offset local `i`. */
export const loadF32 = (ptr: number, i: number): number[] => [...at(ptr, i), F32_LOAD, ...mem(2)];
/** Stores the v128 on the stack at the address pushed before it. */
export const STORE_VEC = [...V128_STORE, ...mem(0)];
/** Stores the f32 on the stack at the address pushed before it. */
export const STORE_F32 = [F32_STORE, ...mem(2)];

/** A function body: `locals` as [count, type] runs, then `code`, prefixed with its byte length. */
export function funcBody(locals: [number, number][], code: number[]): number[] {
  const body = [...vec(locals.map(([count, type]) => [...uleb(count), type])), ...code];
  return [...uleb(body.length), ...body];
}

/** `f32.const v`. */
export function f32c(v: number): number[] {
  const b = new Uint8Array(new Float32Array([v]).buffer);
  return [F32_CONST, ...b];
}

/** Pushes step(xv) for the v128 in local `xv`: (x > 0) & 1.0 | (x != x) & x. */
export function stepVec(xv: number, zero: number, one: number): number[] {
  return [
    ...get(xv),
    ...get(zero),
    ...F32X4_GT,
    ...get(one),
    ...V128_AND,
    ...get(xv),
    ...get(xv),
    ...F32X4_NE,
    ...get(xv),
    ...V128_AND,
    ...V128_OR,
  ];
}

/** Pushes step(xs) for the f32 in local `xs`: x > 0 ? 1 : (x != x ? x : 0). */
function stepScalar(xs: number): number[] {
  return [
    ...f32c(1),
    ...get(xs),
    ...f32c(0),
    ...get(xs),
    ...get(xs),
    F32_NE,
    SELECT,
    ...get(xs),
    ...f32c(0),
    F32_GT,
    SELECT,
  ];
}

/** Sets the v128 locals `zero` and `one`. */
export function stepConsts(zero: number, one: number): number[] {
  return [...f32c(0), ...F32X4_SPLAT, ...set(zero), ...f32c(1), ...F32X4_SPLAT, ...set(one)];
}

/** stepmul(out, a, x, n); locals: i=4, end=5, xv=6, zero=7, one=8 (v128), xs=9 (f32). */
function stepmulBody(): number[] {
  const [out, a, x, n, i, end, xv, zero, one, xs] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const code = [
    ...stepConsts(zero, one),
    ...lanes(
      n,
      i,
      end,
      [
        ...at(out, i),
        ...loadVec(a, i),
        ...loadVec(x, i),
        ...set(xv),
        ...stepVec(xv, zero, one),
        ...F32X4_MUL,
        ...STORE_VEC,
      ],
      [
        ...at(out, i),
        ...loadF32(a, i),
        ...loadF32(x, i),
        ...set(xs),
        ...stepScalar(xs),
        F32_MUL,
        ...STORE_F32,
      ],
    ),
    END,
  ];
  return funcBody([[2, I32], [3, V128], [1, F32]], code);
}

/** step(out, x, n); locals: i=3, end=4, xv=5, zero=6, one=7 (v128), xs=8 (f32). */
function stepBody(): number[] {
  const [out, x, n, i, end, xv, zero, one, xs] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const code = [
    ...stepConsts(zero, one),
    ...lanes(
      n,
      i,
      end,
      [
        ...at(out, i),
        ...loadVec(x, i),
        ...set(xv),
        ...stepVec(xv, zero, one),
        ...STORE_VEC,
      ],
      [
        ...at(out, i),
        ...loadF32(x, i),
        ...set(xs),
        ...stepScalar(xs),
        ...STORE_F32,
      ],
    ),
    END,
  ];
  return funcBody([[2, I32], [3, V128], [1, F32]], code);
}

/** axpy(out, a, b, c, n); locals: i=5, end=6, cv=7 (v128). */
function axpyBody(): number[] {
  const [out, a, b, c, n, i, end, cv] = [0, 1, 2, 3, 4, 5, 6, 7];
  const code = [
    ...get(c),
    ...F32X4_SPLAT,
    ...set(cv),
    ...lanes(
      n,
      i,
      end,
      [
        ...at(out, i),
        ...loadVec(a, i),
        ...get(cv),
        ...loadVec(b, i),
        ...F32X4_MUL,
        ...F32X4_ADD,
        ...STORE_VEC,
      ],
      [
        ...at(out, i),
        ...loadF32(a, i),
        ...get(c),
        ...loadF32(b, i),
        F32_MUL,
        F32_ADD,
        ...STORE_F32,
      ],
    ),
    END,
  ];
  return funcBody([[2, I32], [1, V128]], code);
}

/** scale(out, b, c, n); locals: i=4, end=5, cv=6 (v128). */
function scaleBody(): number[] {
  const [out, b, c, n, i, end, cv] = [0, 1, 2, 3, 4, 5, 6];
  const code = [
    ...get(c),
    ...F32X4_SPLAT,
    ...set(cv),
    ...lanes(
      n,
      i,
      end,
      [
        ...at(out, i),
        ...get(cv),
        ...loadVec(b, i),
        ...F32X4_MUL,
        ...STORE_VEC,
      ],
      [
        ...at(out, i),
        ...get(c),
        ...loadF32(b, i),
        F32_MUL,
        ...STORE_F32,
      ],
    ),
    END,
  ];
  return funcBody([[2, I32], [1, V128]], code);
}

/**
 * The import section's body for one import, `env.memory`: minimum 1 page;
 * with `shared`, declared shared with a maximum of 65536 pages (4 GiB), as a
 * shared heap must be.
 */
export function envMemoryImport(shared: boolean): number[] {
  // Memory limits: flags 0 (minimum only), minimum 1 page; shared: flags 3, maximum 65536 pages.
  const limits = shared ? [0x03, 0x01, 0x80, 0x80, 0x04] : [0x00, 0x01];
  return vec([[...str("env"), ...str("memory"), 0x02, ...limits]]);
}

/** A wasm binary (magic, version 1) from the bodies of its type, import, function, export and code sections. */
export function wasmModule(
  types: number[],
  imports: number[],
  funcs: number[],
  exports: number[],
  code: number[],
): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d], // "\0asm"
    ...[0x01, 0x00, 0x00, 0x00], // version 1
    ...section(1, types),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, code),
  ]);
}

/**
 * The module's bytes: imports `env.memory`, exports `axpy` and `scale`. With
 * `shared`, the imported memory is declared shared (maximum 4 GiB): the tfjs
 * heap made shared by `shared_heap.ts`.
 */
export function simdModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  const types = vec([
    [0x60, ...vec([[I32], [I32], [I32], [F32], [I32]]), 0],
    [0x60, ...vec([[I32], [I32], [F32], [I32]]), 0],
    [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0],
    [0x60, ...vec([[I32], [I32], [I32]]), 0],
  ]);
  const imports = envMemoryImport(shared);
  const funcs = vec([[0], [1], [2], [3]]);
  const exports = vec([
    [...str("axpy"), 0x00, 0],
    [...str("scale"), 0x00, 1],
    [...str("stepmul"), 0x00, 2],
    [...str("step"), 0x00, 3],
  ]);
  const code = vec([axpyBody(), scaleBody(), stepmulBody(), stepBody()]);
  return wasmModule(types, imports, funcs, exports, code);
}

const compiled: { plain?: WebAssembly.Module; shared?: WebAssembly.Module } = {};

/** Instantiates the SIMD loops on `memory` (the tfjs wasm module's memory, shared or not). */
export function instantiateSimd(memory: WebAssembly.Memory): SimdOps {
  const shared = memory.buffer instanceof SharedArrayBuffer;
  const module = shared
    ? (compiled.shared ??= new WebAssembly.Module(simdModuleBytes(true)))
    : (compiled.plain ??= new WebAssembly.Module(simdModuleBytes()));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as SimdOps;
}
