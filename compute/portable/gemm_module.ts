/**
 * The portable SGEMM's WebAssembly code, generated here: packing of A and B
 * panels, the register-blocked macro kernels (an `MR x NR` tile of f32x4
 * accumulators per step of k, one kernel per unrolled depth) and the
 * alpha/beta epilogue. Only plain
 * `f32x4.mul` and `f32x4.add` (and their scalar twins in the epilogue tail):
 * every lane rounds its product, then its sum, in IEEE single precision, so
 * the result is the same on every host. The order of the operations is in
 * gemm_plan.ts.
 *
 * @module
 */
import { addLocal, addTo, F32, forLoop, I32, op, V128, type WasmFunction } from "./wasm_emit.ts";
import { threadRegion, unrolledMacro } from "./gemm_macro.ts";
import { macroName, packName, type TileShape, UNROLLS } from "./gemm_shape.ts";

export { regionBytes, regionsEnd, type ThreadRegion, threadRegion } from "./gemm_macro.ts";
export { macroName, packName, type TileShape, UNROLLS } from "./gemm_shape.ts";

/** The exported functions of a portable GEMM module (byte offsets into its memory). */
export interface GemmExports {
  /**
   * Packs `rows` rows of A (then zero rows up to `padRows`), each `kpad` floats
   * contiguous (`kc` of A, then zeros): element (i, p) from `src + i * js + p * ks`,
   * to `dst + (i * kpad + p) * 4`.
   */
  pack_rows(
    src: number,
    ks: number,
    js: number,
    kc: number,
    rows: number,
    padRows: number,
    dst: number,
    kpad: number,
  ): void;
  /**
   * `pack_b_<nr>` ({@link packName}): packs `panels` full panels of width `nr`,
   * k-strided by `ks` bytes, j-strided by `js` bytes.
   */
  [pack: `pack_b_${number}`]: (
    src: number,
    ks: number,
    js: number,
    kc: number,
    panels: number,
    dst: number,
  ) => void;
  /** One panel of `width` with `nj` valid columns, zero-padded. */
  pack_edge(
    src: number,
    ks: number,
    js: number,
    kc: number,
    nj: number,
    width: number,
    dst: number,
  ): void;
  /**
   * `macro_<mr>x<nr>_<U>` ({@link macroName}; U in {@link UNROLLS}): accumulates `mp x np` tiles of A (rows
   * of U contiguous floats, `ars` bytes apart: packed or in place) times packed
   * B (panels of `kc <= U` rows, taken as zero from `kc` to U: adding the zero
   * products `+0 * +0` changes no sum), depth U, into W (`first`: start from zero).
   */
  [macro: `macro_${string}`]: (
    a: number,
    ars: number,
    pb: number,
    w: number,
    ldw: number,
    mp: number,
    np: number,
    first: number,
    kc: number,
  ) => void;
  /** `C = W` over `rows x cols`. */
  epi_copy(w: number, ldw: number, c: number, ldc: number, rows: number, cols: number): void;
  /** `C^T = alpha W + beta C^T` (scalar; for outputs computed transposed), `mode` as `epi_ab`. */
  epi_t(
    w: number,
    ldw: number,
    c: number,
    ldc: number,
    rows: number,
    cols: number,
    alpha: number,
    beta: number,
    mode: number,
  ): void;
  /** `C = alpha W + beta C` with `mode` bit 1 = scale by alpha, bit 2 = add beta C. */
  epi_ab(
    w: number,
    ldw: number,
    c: number,
    ldc: number,
    rows: number,
    cols: number,
    alpha: number,
    beta: number,
    mode: number,
  ): void;
}

const I6 = [I32, I32, I32, I32, I32, I32];

/** `dst = src * 4`: a float count in local `src` as bytes. */
function toBytes(src: number, dst: number): number[] {
  return [...op.get(src), ...op.i32(4), ...op.i32Mul, ...op.set(dst)];
}

/** Byte ends of `n` floats (local `n`): `end4` of their whole f32x4 groups, `end` of all. */
function vectorEnds(n: number, end4: number, end: number): number[] {
  return [...op.get(n), ...op.i32(-4), ...op.i32And, ...op.i32(4), ...op.i32Mul, ...op.set(end4)]
    .concat(toBytes(n, end));
}

/** Full panels of compile-time width `width` (a vector copy where the j stride is 4 bytes). */
function packFull(name: string, width: number): WasmFunction {
  // params: src 0, ks 1, js 2, kc 3, panels 4, dst 5; locals: p 6, k 7, base 8, row 9, q 10
  const [src, ks, js, kc, panels, dst, p, k, base, row, q] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const contiguous: number[] = [];
  const vecs = Math.floor(width / 4);
  for (let v = 0; v < vecs; v++) {
    contiguous.push(
      ...op.get(dst),
      ...op.get(row),
      ...op.v128Load(v * 16),
      ...op.v128Store(v * 16),
    );
  }
  for (let jj = vecs * 4; jj < width; jj++) {
    contiguous.push(...op.get(dst), ...op.get(row), ...op.f32Load(jj * 4), ...op.f32Store(jj * 4));
  }
  const strided = [...op.get(row), ...op.set(q)];
  for (let jj = 0; jj < width; jj++) {
    strided.push(...op.get(dst), ...op.get(q), ...op.f32Load(), ...op.f32Store(jj * 4));
    strided.push(...addLocal(q, js));
  }
  const perK = [
    ...op.get(js),
    ...op.i32(4),
    0x46, // i32.eq
    ...op.if,
    ...contiguous,
    ...op.else,
    ...strided,
    ...op.end,
    ...addTo(dst, width * 4),
    ...addLocal(row, ks),
  ];
  const code = [
    ...op.get(src),
    ...op.set(base),
    ...forLoop(p, panels, 1, [
      ...op.get(base),
      ...op.set(row),
      ...op.i32(0),
      ...op.set(k),
      ...forLoop(k, kc, 1, perK),
      // base += width * js
      ...op.get(base),
      ...op.get(js),
      ...op.i32(width),
      ...op.i32Mul,
      ...op.i32Add,
      ...op.set(base),
    ]),
  ];
  return { name, params: I6, locals: [I32, I32, I32, I32, I32], code };
}

/** Rows of A, each `kpad` floats contiguous, zero after `kc` (a vector copy where the row is contiguous). */
function packRows(): WasmFunction {
  // params: src 0, ks 1, js 2, kc 3, rows 4, padRows 5, dst 6, kpad 7;
  // locals: i 8, q 9, row 10, end4 11, end 12, padEnd 13
  const [src, ks, js, kc, rows, padRows, dst, kpad] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [i, q, row, end4, end, padEnd] = [8, 9, 10, 11, 12, 13];
  const copyVec = [...op.get(dst), ...op.get(q), ...op.i32Add, ...op.get(row), ...op.get(q)];
  const contiguous = [
    ...op.i32(0),
    ...op.set(q),
    ...forLoop(q, end4, 16, [...copyVec, ...op.i32Add, ...op.v128Load(), ...op.v128Store()]),
    ...forLoop(q, end, 4, [...copyVec, ...op.i32Add, ...op.f32Load(), ...op.f32Store()]),
  ];
  // strided: dst[q] = row[(q / 4) * ks]
  const strided = [
    ...op.i32(0),
    ...op.set(q),
    ...forLoop(q, end, 4, [
      ...op.get(dst),
      ...op.get(q),
      ...op.i32Add,
      ...op.get(row),
      ...op.f32Load(),
      ...op.f32Store(),
      ...addLocal(row, ks),
    ]),
  ];
  // zeros from q to padEnd
  const zeroTail = forLoop(q, padEnd, 4, [
    ...op.get(dst),
    ...op.get(q),
    ...op.i32Add,
    ...op.f32(0),
    ...op.f32Store(),
  ]);
  const code = [
    ...vectorEnds(kc, end4, end),
    ...toBytes(kpad, padEnd),
    ...forLoop(i, padRows, 1, [
      ...op.get(src),
      ...op.get(i),
      ...op.get(js),
      ...op.i32Mul,
      ...op.i32Add,
      ...op.set(row),
      ...op.get(i),
      ...op.get(rows),
      ...op.i32LtU,
      ...op.if,
      ...op.get(ks),
      ...op.i32(4),
      0x46, // i32.eq
      ...op.if,
      ...contiguous,
      ...op.else,
      ...strided,
      ...op.end,
      ...op.else,
      ...op.i32(0),
      ...op.set(q),
      ...op.end,
      ...zeroTail,
      ...addLocal(dst, padEnd),
    ]),
  ];
  const locals = [I32, I32, I32, I32, I32, I32];
  return { name: "pack_rows", params: [...I6, I32, I32], locals, code };
}

function packEdge(): WasmFunction {
  // params: src 0, ks 1, js 2, kc 3, nj 4, width 5, dst 6; locals: k 7, jj 8, row 9
  const [src, ks, js, kc, nj, width, dst, k, jj, row] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const code = [
    ...op.get(src),
    ...op.set(row),
    ...forLoop(k, kc, 1, [
      ...op.i32(0),
      ...op.set(jj),
      ...forLoop(jj, width, 1, [
        ...op.get(dst),
        ...op.get(jj),
        ...op.get(nj),
        ...op.i32LtU,
        0x04,
        F32, // if (result f32)
        ...op.get(row),
        ...op.get(jj),
        ...op.get(js),
        ...op.i32Mul,
        ...op.i32Add,
        ...op.f32Load(),
        ...op.else,
        ...op.f32(0),
        ...op.end,
        ...op.f32Store(),
        ...addTo(dst, 4),
      ]),
      ...addLocal(row, ks),
    ]),
  ];
  return { name: "pack_edge", params: [...I6, I32], locals: [I32, I32, I32], code };
}

/**
 * The epilogue over a `rows x cols` block: f32x4 over groups of 4 columns,
 * scalar for the rest, the same operations either way.
 */
function epilogue(name: string, withAB: boolean, transposed = false): WasmFunction {
  // params: w 0, ldw 1, c 2, ldc 3, rows 4, cols 5, [alpha 6, beta 7, mode 8]
  const [w, ldw, c, ldc, rows, cols] = [0, 1, 2, 3, 4, 5];
  const [alpha, beta, mode] = [6, 7, 8];
  const base = withAB ? 9 : 6;
  const [r, j, end4, end, wp, cp, va, vb] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => base + i);
  const one = (vec: boolean): number[] => {
    const load = vec ? op.v128Load() : op.f32Load();
    const store = vec ? op.v128Store() : op.f32Store();
    const add = vec ? op.f32x4Add : op.f32Add;
    const mul = vec ? op.f32x4Mul : op.f32Mul;
    const a = vec ? op.get(va) : op.get(alpha);
    const b = vec ? op.get(vb) : op.get(beta);
    const sAddr = [...op.get(wp), ...op.get(j), ...op.i32Add];
    // Transposed: W's (i, j) goes to C's (j, i): byte offset j * ldc / 4 + 4 i.
    const cAddr = transposed
      ? [
        ...op.get(cp),
        ...op.get(j),
        ...op.get(ldc),
        ...op.i32Mul,
        ...op.i32(2),
        0x76,
        ...op.i32Add,
      ]
      : [...op.get(cp), ...op.get(j), ...op.i32Add];
    if (!withAB) return [...cAddr, ...sAddr, ...load, ...store];
    const t = vec ? tv : tf;
    return [
      ...sAddr,
      ...load,
      ...op.set(t),
      ...op.get(mode),
      ...op.i32(1),
      ...op.i32And,
      ...op.if,
      ...a,
      ...op.get(t),
      ...mul,
      ...op.set(t),
      ...op.end,
      ...op.get(mode),
      ...op.i32(2),
      ...op.i32And,
      ...op.if,
      ...op.get(t),
      ...b,
      ...cAddr,
      ...load,
      ...mul,
      ...add,
      ...op.set(t),
      ...op.end,
      ...cAddr,
      ...op.get(t),
      ...store,
    ];
  };
  const tv = base + 8;
  const tf = base + 9;
  const code = [
    ...(withAB
      ? [...op.get(alpha), ...op.f32x4Splat, ...op.set(va), ...op.get(beta), ...op.f32x4Splat]
      : []),
    ...(withAB ? op.set(vb) : []),
    ...vectorEnds(cols, end4, end),
    ...op.get(w),
    ...op.set(wp),
    ...op.get(c),
    ...op.set(cp),
    ...forLoop(r, rows, 1, [
      ...op.i32(0),
      ...op.set(j),
      ...(transposed ? [] : forLoop(j, end4, 16, one(true))),
      ...forLoop(j, end, 4, one(false)),
      ...addLocal(wp, ldw),
      ...(transposed ? addTo(cp, 4) : addLocal(cp, ldc)),
    ]),
  ];
  const params = withAB ? [...I6, F32, F32, I32] : I6;
  const locals = [I32, I32, I32, I32, I32, I32, V128, V128, V128, F32];
  return { name, params, locals, code };
}

/**
 * The functions of thread `thread`'s portable GEMM module with the kernels of
 * each register tile of `tiles` (the engine picks one per call).
 */
export function gemmFunctions(tiles: readonly TileShape[], thread = 0): WasmFunction[] {
  if (tiles.length === 0) throw new RangeError("a GEMM module needs at least one tile");
  for (const tile of tiles) {
    if (tile.nr % 4 !== 0 || tile.nr < 4 || tile.mr < 1) {
      throw new RangeError(`tile ${tile.mr}x${tile.nr}: nr must be a positive multiple of 4`);
    }
  }
  const region = threadRegion(tiles, thread);
  const widths = [...new Set(tiles.map((t) => t.nr))];
  const kernels = [...new Map(tiles.map((t) => [macroName(t, 1), t])).values()];
  return [
    packRows(),
    ...widths.map((nr) => packFull(packName(nr), nr)),
    packEdge(),
    ...kernels.flatMap((tile) => UNROLLS.map((u) => unrolledMacro(tile, u, region))),
    epilogue("epi_copy", false),
    epilogue("epi_ab", true),
    epilogue("epi_t", true, true),
  ];
}
