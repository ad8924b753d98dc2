/**
 * The WebAssembly body of the fused step's batch gather (`gather_image`, part
 * of the module of fused_simd_module.ts): one image of uint8 pixels, already
 * copied into the arena, to float32 (`byte * (1 / 255)` rounded, the values
 * of `gatherShiftBatch` in fused_kernels.ts), shifted by (dx, dy) with
 * uncovered pixels 0. A row whose 32 source bytes lie inside the image is
 * converted 16 bytes at a time as `f32(byte) / 255` in f32x4 lanes (the
 * correctly rounded quotient: the table's value for every byte, as
 * tests/fused_helper_test.ts checks), its uncovered columns then zeroed; the
 * few other rows go pixel by pixel through a 256-entry table of those values.
 *
 * @module
 */
import {
  countedLoop,
  funcBody,
  get,
  I32,
  i32c,
  set,
  STORE_VEC,
  uleb,
  V128,
} from "../../compute/wasm/assembler.ts";

const END = 0x0b;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_MUL = 0x6c;
const I32_SHL = 0x74;
const I32_LOAD8_U = [0x2d, 0, 0];
const F32_LOAD = [0x2a, 2, 0];
const F32_STORE = [0x38, 2, 0];
const I32_LE_U = 0x4d;
const IF = 0x04;
const ELSE = 0x05;
const VOID = 0x40;
const SIMD = 0xfd;
const V128_CONST_ZERO = [SIMD, 0x0c, ...new Array(16).fill(0)];
const F32X4_SPLAT = [SIMD, 0x13];
const I16X8_EXTEND_LOW_U8 = [SIMD, 0x89, 0x01];
const I16X8_EXTEND_HIGH_U8 = [SIMD, 0x8a, 0x01];
const I32X4_EXTEND_LOW_U16 = [SIMD, 0xa9, 0x01];
const I32X4_EXTEND_HIGH_U16 = [SIMD, 0xaa, 0x01];
const F32X4_CONVERT_U32 = [SIMD, 0xfb, 0x01];
const F32X4_DIV = [SIMD, 0xe7, 0x01];
const F32_CONST_0 = [0x43, 0, 0, 0, 0];
const F32_CONST_255 = [0x43, ...new Uint8Array(new Float32Array([255]).buffer)];
const v128Load = (offset: number): number[] => [SIMD, 0x00, 0, ...uleb(offset)];
const v128Store = (offset: number): number[] => [SIMD, 0x0b, 0, ...uleb(offset)];
const SIDE = 28;
/** Source bytes a vector row reads (two 16-byte loads for 28 pixels). */
const ROW_READ = 32;

/**
 * gather_image(src, dst, table, x0, x1, y0, y1, dx, dy): zeroes the 784
 * floats at byte offset `dst`, then for the covered rows y in [y0, y1) and
 * columns x in [x0, x1) (x0 <= x1, y0 <= y1) writes
 * `dst[y][x] = table[src[y - dy][x - dx]]` (`src`: 784 bytes, `table`: 256 floats).
 */
export function gatherImageBody(): number[] {
  const [src, dst, table, x0, x1, y0, y1, dx, dy] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, end, y, x, srow, drow, off] = [9, 10, 11, 12, 13, 14, 15];
  const [bytes, half, k255] = [16, 17, 18];
  /** Stores floats 4j..4j+3 of the row: lanes of `half` (low or high) / 255 at drow + 16j. */
  const quarter = (j: number, high: boolean): number[] => [
    ...get(drow),
    ...get(half),
    ...(high ? I32X4_EXTEND_HIGH_U16 : I32X4_EXTEND_LOW_U16),
    ...F32X4_CONVERT_U32,
    ...get(k255),
    ...F32X4_DIV,
    ...v128Store(16 * j),
  ];
  /** Loads 16 source bytes at src + off + `offset` into `bytes`. */
  const load16 = (offset: number): number[] => [
    ...get(src),
    ...get(off),
    I32_ADD,
    ...v128Load(offset),
    ...set(bytes),
  ];
  const halfOf = (high: boolean): number[] => [
    ...get(bytes),
    ...(high ? I16X8_EXTEND_HIGH_U8 : I16X8_EXTEND_LOW_U8),
    ...set(half),
  ];
  const zeroAt = [
    ...get(drow),
    ...get(x),
    ...i32c(2),
    I32_SHL,
    I32_ADD,
    ...F32_CONST_0,
    ...F32_STORE,
  ];
  const vectorRow = [
    ...load16(0),
    ...halfOf(false),
    ...quarter(0, false),
    ...quarter(1, true),
    ...halfOf(true),
    ...quarter(2, false),
    ...quarter(3, true),
    ...load16(16),
    ...halfOf(false),
    ...quarter(4, false),
    ...quarter(5, true),
    ...halfOf(true),
    ...quarter(6, false),
    // The uncovered columns [0, x0) and [x1, 28) back to 0.
    ...i32c(0),
    ...set(x),
    ...countedLoop(x, x0, 1, zeroAt),
    ...get(x1),
    ...set(x),
    ...i32c(SIDE),
    ...set(end),
    ...countedLoop(x, end, 1, zeroAt),
  ];
  const pixel = [
    // dst row + 4x <- table[src row byte x]
    ...get(drow),
    ...get(x),
    ...i32c(2),
    I32_SHL,
    I32_ADD,
    ...get(table),
    ...get(srow),
    ...get(x),
    I32_ADD,
    ...I32_LOAD8_U,
    ...i32c(2),
    I32_SHL,
    I32_ADD,
    ...F32_LOAD,
    ...F32_STORE,
  ];
  const row = [
    // off = (y - dy) * 28 - dx; srow = src + off; drow = dst + y * 112; x = x0
    ...get(y),
    ...get(dy),
    I32_SUB,
    ...i32c(SIDE),
    I32_MUL,
    ...get(dx),
    I32_SUB,
    ...set(off),
    ...get(src),
    ...get(off),
    I32_ADD,
    ...set(srow),
    ...get(dst),
    ...get(y),
    ...i32c(SIDE * 4),
    I32_MUL,
    I32_ADD,
    ...set(drow),
    // 0 <= off <= 784 - 32 (unsigned): the vector row reads inside the image.
    ...get(off),
    ...i32c(SIDE * SIDE - ROW_READ),
    I32_LE_U,
    IF,
    VOID,
    ...vectorRow,
    ELSE,
    ...get(x0),
    ...set(x),
    ...countedLoop(x, x1, 1, pixel),
    END,
  ];
  const code = [
    ...F32_CONST_255,
    ...F32X4_SPLAT,
    ...set(k255),
    ...i32c(0),
    ...set(i),
    ...i32c(SIDE * SIDE * 4),
    ...set(end),
    ...countedLoop(i, end, 16, [...get(dst), ...get(i), I32_ADD, ...V128_CONST_ZERO, ...STORE_VEC]),
    ...get(y0),
    ...set(y),
    ...countedLoop(y, y1, 1, row),
    END,
  ];
  return funcBody([[7, I32], [3, V128]], code);
}
