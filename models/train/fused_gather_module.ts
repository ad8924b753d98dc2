/**
 * The WebAssembly body of the fused step's batch gather (`gather_image`, part
 * of the module of fused_simd_module.ts): one image of uint8 pixels, already
 * copied into the arena, to float32 through a 256-entry table
 * (`byte * (1 / 255)` rounded, the values of `gatherShiftBatch` in
 * fused_kernels.ts), shifted by (dx, dy) with uncovered pixels 0.
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
} from "../../compute/wasm/assembler.ts";

const END = 0x0b;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_MUL = 0x6c;
const I32_SHL = 0x74;
const I32_LOAD8_U = [0x2d, 0, 0];
const F32_LOAD = [0x2a, 2, 0];
const F32_STORE = [0x38, 2, 0];
const V128_CONST_ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];
const SIDE = 28;

/**
 * gather_image(src, dst, table, x0, x1, y0, y1, dx, dy): zeroes the 784
 * floats at byte offset `dst`, then for the covered rows y in [y0, y1) and
 * columns x in [x0, x1) (x0 <= x1, y0 <= y1) writes
 * `dst[y][x] = table[src[y - dy][x - dx]]` (`src`: 784 bytes, `table`: 256 floats).
 */
export function gatherImageBody(): number[] {
  const [src, dst, table, x0, x1, y0, y1, dx, dy] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, end, y, x, srow, drow] = [9, 10, 11, 12, 13, 14];
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
    // srow = src + (y - dy) * 28 - dx; drow = dst + y * 112; x = x0
    ...get(src),
    ...get(y),
    ...get(dy),
    I32_SUB,
    ...i32c(SIDE),
    I32_MUL,
    I32_ADD,
    ...get(dx),
    I32_SUB,
    ...set(srow),
    ...get(dst),
    ...get(y),
    ...i32c(SIDE * 4),
    I32_MUL,
    I32_ADD,
    ...set(drow),
    ...get(x0),
    ...set(x),
    ...countedLoop(x, x1, 1, pixel),
  ];
  const code = [
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
  return funcBody([[6, I32]], code);
}
