/**
 * The portable SGEMM's WebAssembly code, generated here: packing of A and B
 * panels, the register-blocked macro kernel (an `MR x NR` tile of f32x4
 * accumulators per step of k) and the alpha/beta epilogue. Only plain
 * `f32x4.mul` and `f32x4.add` (and their scalar twins in the epilogue tail):
 * every lane rounds its product, then its sum, in IEEE single precision, so
 * the result is the same on every host. The order of the operations is in
 * gemm_plan.ts.
 *
 * @module
 */
import { addLocal, addTo, F32, forLoop, I32, op, V128, type WasmFunction } from "./wasm_emit.ts";

/** The register tile of the micro kernel: `mr` rows by `nr` columns (`nr` a multiple of 4). */
export interface TileShape {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile (a multiple of 4). */
  nr: number;
}

/** The exported functions of a portable GEMM module (byte offsets into its memory). */
export interface GemmExports {
  /** Packs `panels` full panels of width `mr`, k-strided by `ks` bytes, j-strided by `js` bytes. */
  pack_a(src: number, ks: number, js: number, kc: number, panels: number, dst: number): void;
  /** Same as `pack_a` for panels of width `nr`. */
  pack_b(src: number, ks: number, js: number, kc: number, panels: number, dst: number): void;
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
  /** Accumulates `mp x np` tiles of packed A times packed B into W (`first`: start from zero). */
  macro(
    pa: number,
    pb: number,
    w: number,
    ldw: number,
    kc: number,
    mp: number,
    np: number,
    first: number,
  ): void;
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
 * The macro kernel: for each B panel (outer), for each A panel (inner), one
 * `mr x nr` tile: accumulators from W (or zero when `first`), then for k
 * ascending `acc += a[i][k] * b[k][j]` (product rounded, then sum rounded),
 * then back to W.
 */
function macro({ mr, nr }: TileShape): WasmFunction {
  const nv = nr / 4;
  // params: pa 0, pb 1, w 2, ldw 3, kc 4, mp 5, np 6, first 7
  const [pa, pb, w, ldw, kc, mp, np, first] = [0, 1, 2, 3, 4, 5, 6, 7];
  // i32 locals
  const [jp, ip, pai, pbk, wt, k, wrow, kEven] = [8, 9, 10, 11, 12, 13, 14, 15];
  const v0 = 16;
  const acc = (r: number, v: number) => v0 + r * nv + v;
  const bv = (v: number) => v0 + mr * nv + v;
  const av = v0 + mr * nv + nv;
  const init: number[] = [];
  const load: number[] = [...op.get(wt), ...op.set(wrow)];
  const store: number[] = [...op.get(wt), ...op.set(wrow)];
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v < nv; v++) {
      init.push(...op.v128Zero, ...op.set(acc(r, v)));
      load.push(...op.get(wrow), ...op.v128Load(v * 16), ...op.set(acc(r, v)));
      store.push(...op.get(wrow), ...op.get(acc(r, v)), ...op.v128Store(v * 16));
    }
    load.push(...addLocal(wrow, ldw));
    store.push(...addLocal(wrow, ldw));
  }
  // One step of k at element offset `u` into the packed panels (no pointer update).
  const step = (u: number): number[] => {
    const out: number[] = [];
    for (let v = 0; v < nv; v++) {
      out.push(...op.get(pbk), ...op.v128Load((u * nr + v * 4) * 4), ...op.set(bv(v)));
    }
    for (let r = 0; r < mr; r++) {
      out.push(...op.get(pai), ...op.load32Splat((u * mr + r) * 4), ...op.set(av));
      for (let v = 0; v < nv; v++) {
        out.push(...op.get(acc(r, v)), ...op.get(av), ...op.get(bv(v)), ...op.f32x4Mul);
        out.push(...op.f32x4Add, ...op.set(acc(r, v)));
      }
    }
    return out;
  };
  // k in pairs (one loop test per two steps), then the odd last step.
  const pairs = [...step(0), ...step(1), ...addTo(pai, 2 * mr * 4), ...addTo(pbk, 2 * nr * 4)];
  const kLoop = [
    ...op.get(kc),
    ...op.i32(-2),
    ...op.i32And,
    ...op.set(kEven),
    ...op.i32(0),
    ...op.set(k),
    ...forLoop(k, kEven, 2, pairs),
    ...op.get(kc),
    ...op.i32(1),
    ...op.i32And,
    ...op.if,
    ...step(0),
    ...op.end,
  ];
  const tile = [
    ...op.get(first),
    ...op.if,
    ...init,
    ...op.else,
    ...load,
    ...op.end,
    ...kLoop,
    ...store,
  ];
  // A panel ip starts at pa + ip * kc * mr * 4; B panel jp at pb + jp * kc * nr * 4;
  // tile (ip, jp) of W at w + ip * mr * ldw + jp * nr * 4.
  const code = [
    ...forLoop(jp, np, 1, [
      ...op.i32(0),
      ...op.set(ip),
      ...forLoop(ip, mp, 1, [
        ...op.get(pa),
        ...op.get(ip),
        ...op.get(kc),
        ...op.i32Mul,
        ...op.i32(mr * 4),
        ...op.i32Mul,
        ...op.i32Add,
        ...op.set(pai),
        ...op.get(pb),
        ...op.get(jp),
        ...op.get(kc),
        ...op.i32Mul,
        ...op.i32(nr * 4),
        ...op.i32Mul,
        ...op.i32Add,
        ...op.set(pbk),
        ...op.get(w),
        ...op.get(ip),
        ...op.get(ldw),
        ...op.i32Mul,
        ...op.i32(mr),
        ...op.i32Mul,
        ...op.i32Add,
        ...op.get(jp),
        ...op.i32(nr * 4),
        ...op.i32Mul,
        ...op.i32Add,
        ...op.set(wt),
        ...tile,
      ]),
    ]),
  ];
  const locals = [...new Array(8).fill(I32), ...new Array(mr * nv + nv + 1).fill(V128)];
  return { name: "macro", params: [...I6, I32, I32], locals, code };
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
    ...op.get(cols),
    ...op.i32(-4),
    ...op.i32And,
    ...op.i32(4),
    ...op.i32Mul,
    ...op.set(end4),
    ...op.get(cols),
    ...op.i32(4),
    ...op.i32Mul,
    ...op.set(end),
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

/** The functions of a portable GEMM module for the register tile `tile`. */
export function gemmFunctions(tile: TileShape): WasmFunction[] {
  if (tile.nr % 4 !== 0 || tile.nr < 4 || tile.mr < 1) {
    throw new RangeError(`tile ${tile.mr}x${tile.nr}: nr must be a positive multiple of 4`);
  }
  return [
    packFull("pack_a", tile.mr),
    packFull("pack_b", tile.nr),
    packEdge(),
    macro(tile),
    epilogue("epi_copy", false),
    epilogue("epi_ab", true),
    epilogue("epi_t", true, true),
  ];
}
