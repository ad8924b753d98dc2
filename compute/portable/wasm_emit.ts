/**
 * A small WebAssembly emitter for the portable GEMM: LEB128, sections, the
 * handful of core and SIMD opcodes the kernels use (plain `f32x4.mul` and
 * `f32x4.add` only: no relaxed SIMD, no FMA), and a module with one imported
 * shared memory.
 *
 * @module
 */

// The encoding primitives (value types, LEB128) have one home: the project's assembler.
import { F32, I32, sleb, uleb, V128 } from "../wasm/assembler.ts";
export { F32, I32, sleb, uleb, V128 };

/** The SIMD opcode prefix. */
const SIMD = 0xfd;

/** Instructions, each returning its bytes. */
export const op = {
  get: (i: number): number[] => [0x20, ...uleb(i)],
  set: (i: number): number[] => [0x21, ...uleb(i)],
  tee: (i: number): number[] => [0x22, ...uleb(i)],
  i32: (v: number): number[] => [0x41, ...sleb(v)],
  f32: (v: number): number[] => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return [0x43, ...b];
  },
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  i32Eqz: [0x45],
  i32And: [0x71],
  f32Add: [0x92],
  f32Mul: [0x94],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (d: number): number[] => [0x0c, ...uleb(d)],
  brIf: (d: number): number[] => [0x0d, ...uleb(d)],
  /** `f32.load offset` (align 4). */
  f32Load: (offset = 0): number[] => [0x2a, 2, ...uleb(offset)],
  /** `f32.store offset` (align 4). */
  f32Store: (offset = 0): number[] => [0x38, 2, ...uleb(offset)],
  /** `v128.load offset` (declared align 4: the packed buffers are 16-byte aligned, C may not be). */
  v128Load: (offset = 0): number[] => [SIMD, 0x00, 2, ...uleb(offset)],
  /** `v128.store offset` (declared align 4). */
  v128Store: (offset = 0): number[] => [SIMD, 0x0b, 2, ...uleb(offset)],
  /** `v128.load32_splat offset`. */
  load32Splat: (offset = 0): number[] => [SIMD, 0x09, 2, ...uleb(offset)],
  v128Zero: [SIMD, 0x0c, ...new Array(16).fill(0)],
  f32x4Splat: [SIMD, 0x13],
  f32x4Add: [SIMD, 0xe4, 0x01],
  f32x4Mul: [SIMD, 0xe6, 0x01],
} as const;

/** A counted loop: `body` runs while `i < end` (unsigned), then `i += step` (i32 locals). */
export function forLoop(i: number, end: number, step: number, body: number[]): number[] {
  return [
    ...op.block,
    ...op.get(i),
    ...op.get(end),
    ...op.i32GeU,
    ...op.brIf(0),
    ...op.loop,
    ...body,
    ...op.get(i),
    ...op.i32(step),
    ...op.i32Add,
    ...op.tee(i),
    ...op.get(end),
    ...op.i32LtU,
    ...op.brIf(0),
    ...op.end,
    ...op.end,
  ];
}

/** `local[i] += v` for an i32 local. */
export function addTo(i: number, v: number): number[] {
  return [...op.get(i), ...op.i32(v), ...op.i32Add, ...op.set(i)];
}

/** `local[i] += local[j]` for i32 locals. */
export function addLocal(i: number, j: number): number[] {
  return [...op.get(i), ...op.get(j), ...op.i32Add, ...op.set(i)];
}

/** One exported function: parameter and local types, and its code (without the final `end`). */
export interface WasmFunction {
  name: string;
  params: number[];
  locals: number[];
  code: number[];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function localRuns(types: number[]): number[][] {
  const runs: number[][] = [];
  let i = 0;
  while (i < types.length) {
    let j = i;
    while (j < types.length && types[j] === types[i]) j++;
    runs.push([...uleb(j - i), types[i]]);
    i = j;
  }
  return runs;
}

/**
 * A module importing `env.memory` (shared, `maxPages` maximum) and exporting
 * `funcs` (no results).
 */
export function wasmModule(funcs: WasmFunction[], minPages: number, maxPages: number): Uint8Array {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0]);
  const imports = vec([[
    ...name("env"),
    ...name("memory"),
    0x02,
    0x03,
    ...uleb(minPages),
    ...uleb(
      maxPages,
    ),
  ]]);
  const funcSec = vec(funcs.map((_, i) => uleb(i)));
  const exports = vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]));
  const bodies = vec(funcs.map((f) => {
    const body = [...vec(localRuns(f.locals)), ...f.code, ...op.end];
    return [...uleb(body.length), ...body];
  }));
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, funcSec),
    ...section(7, exports),
    ...section(10, bodies),
  ]);
}
