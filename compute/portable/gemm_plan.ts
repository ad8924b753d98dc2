/**
 * The portable SGEMM's blocking and its driver over one output range, and the
 * summation order it guarantees.
 *
 * ## The order (a function of the shapes alone)
 *
 * For every output element `C[i][j]` of `C = alpha * op(A) * op(B) + beta * C`
 * (row-major, `op(A)` is `m x k`, `op(B)` is `k x n`), in IEEE single precision,
 * each operation rounded:
 *
 * 1. `s = +0`; for `p = 0, 1, ..., k - 1` in ascending order:
 *    `s = s + (A(i,p) * B(p,j))` (the product rounded, then the sum rounded);
 * 2. `t = s` when `alpha === 1`, else `t = alpha * s`;
 * 3. `C[i][j] = t` when `beta === 0` (C is not read: a NaN there is overwritten),
 *    else `C[i][j] = t + (beta * C[i][j])`.
 *
 * One accumulator per element, nothing reassociated: the k blocking ({@link BLOCKING}.kc)
 * only stores the running `s` as a float32 in the work buffer W and reloads it,
 * which changes no bit; the register tile, the cache blocks and the split of
 * the output over threads (row or column ranges, never k) decide who computes
 * an element and when, never how. So any tile, block size or thread count
 * gives the same bits, on any host that implements WebAssembly's non-relaxed
 * f32x4 arithmetic (all of them: it is IEEE-exact; only NaN payloads may differ).
 *
 * @module
 */
import type { GemmExports, TileShape } from "./gemm_module.ts";
import { macroName, packName, UNROLLS } from "./gemm_shape.ts";

const ceilTo = (x: number, q: number): number => Math.ceil(x / q) * q;

/** The register tile of the micro kernel (measured: see docs/portable.md). */
export const TILE: TileShape = { mr: 2, nr: 16 };

/**
 * The register tile where V8 runs f32x4 pairs as 256-bit operations: 2 x 32
 * (8 accumulators of 256 bits); at 128 bits it would spill (see docs/portable.md).
 */
export const WIDE_TILE: TileShape = { mr: 2, nr: 32 };

/** The engine's tiles at 128 bits: {@link TILE} alone. */
export const TILES: readonly TileShape[] = [TILE];

/**
 * The engine's tiles where V8 revectorises: both, chosen per call
 * ({@link chooseTile}): the wide one is faster, the narrow one pads products
 * with few columns (the lab's 10 classes) half as much.
 */
export const WIDE_TILES: readonly TileShape[] = [TILE, WIDE_TILE];

/**
 * Work per second of each tile of a set relative to the one before it, where
 * the set is used: {@link WIDE_TILE} against {@link TILE} with V8's
 * revectorisation (probe on an Intel Xeon, AVX-512: 73.3 against 64.0 GFLOP/s,
 * docs/portable.md). It only weighs the padding of one against the other.
 */
export const TILE_GAIN = 1.15;

/** Cache blocking: `kc` deep panels, `mc` rows of packed A, `nc` columns of packed B. */
export interface Blocking {
  /** Rows of A packed at once. */
  mc: number;
  /** Depth of one packed panel. */
  kc: number;
  /** Columns of B packed at once. */
  nc: number;
}

/** The cache blocks (used rounded down to whole tiles: see {@link tiledBlocking}). */
export const BLOCKING: Blocking = { mc: 128, kc: UNROLLS[0], nc: 512 };

/** One depth block: `kc` of the inner size, computed by the kernel unrolled for `u >= kc`. */
export interface DepthBlock {
  /** Depth of the block. */
  kc: number;
  /** The unrolled depth that computes it (`u - kc` zero products are added: exact). */
  u: number;
}

/**
 * The next depth block when `rest` of the inner size is left: `kc` while it
 * lasts, then the smallest unrolled depth ({@link UNROLLS}) that holds the
 * rest when at most a quarter of it would be padding, else the largest one
 * that fits in the rest. Padding adds `+0 * +0` to sums that start at `+0`
 * (so are never `-0`): `s + 0 = s` bit for bit, even for infinities and NaN.
 */
export function depthBlock(rest: number, kc: number = BLOCKING.kc): DepthBlock {
  const fits = UNROLLS.filter((u) => u <= kc);
  if (rest >= fits[0]) return { kc: fits[0], u: fits[0] };
  const holds = fits.filter((u) => u >= rest).at(-1);
  if (holds !== undefined && rest * 4 >= holds * 3) return { kc: rest, u: holds };
  const u = fits.find((u) => u <= rest) ?? 1;
  return { kc: u, u };
}

/**
 * `blocking` with `mc` and `nc` rounded down to whole tiles (at least one), so
 * that row and column blocks start on tile boundaries and the tiles of one
 * block never spill into the next block or past the end of W.
 */
export function tiledBlocking(blocking: Blocking, tile: TileShape): Blocking {
  return {
    mc: Math.max(1, Math.floor(blocking.mc / tile.mr)) * tile.mr,
    kc: Math.max(1, blocking.kc),
    nc: Math.max(1, Math.floor(blocking.nc / tile.nr)) * tile.nr,
  };
}

/** One GEMM call on byte offsets into the module's memory. */
export interface GemmCall {
  /** `op(A) = A^T`. */
  transA: boolean;
  /** `op(B) = B^T`. */
  transB: boolean;
  /** Rows of C. */
  m: number;
  /** Columns of C. */
  n: number;
  /** Inner size. */
  k: number;
  /** Scale of the product. */
  alpha: number;
  /** Byte offset of A. */
  a: number;
  /** Leading dimension of A (floats). */
  lda: number;
  /** Byte offset of B. */
  b: number;
  /** Leading dimension of B (floats). */
  ldb: number;
  /** Scale of the old C (0: C is not read). */
  beta: number;
  /** Byte offset of C. */
  c: number;
  /** Leading dimension of C (floats). */
  ldc: number;
  /**
   * The `m x n` result is C transposed: element (i, j) goes to `C[j][i]`
   * (how a product with few columns is computed: see {@link transposedCall}).
   */
  transC?: boolean;
}

/**
 * `C = op(A) op(B)` computed as `C^T = op(B)^T op(A)^T`: the same products
 * (`a * b` and `b * a` round alike) summed in the same order, so the same
 * bits, but an output with few columns becomes one with few rows, which the
 * `mr`-row tile pads far less than the `nr`-column one.
 */
export function transposedCall(call: GemmCall): GemmCall {
  return {
    ...call,
    transA: !call.transB,
    transB: !call.transA,
    m: call.n,
    n: call.m,
    a: call.b,
    lda: call.ldb,
    b: call.a,
    ldb: call.lda,
    transC: !call.transC,
  };
}

/** Fraction of a tiled `m x n` output that is real (not padding). */
function fill(m: number, n: number, tile: TileShape): number {
  return (m / ceilTo(m, tile.mr)) * (n / ceilTo(n, tile.nr));
}

/**
 * Whether computing `call` transposed is cheaper: when it wastes clearly less
 * of the tile (few, odd columns) and `op(A)` is `A^T`, which is gathered
 * either way. When `op(A)` is `A`, its rows are read in place, and the
 * transposed call would have to gather that (large) operand into B panels.
 */
export function preferTransposed(call: GemmCall, tile: TileShape = TILE): boolean {
  return call.transA && call.n <= 4 * tile.nr &&
    fill(call.n, call.m, tile) > 1.15 * fill(call.m, call.n, tile);
}

/** A call as it will run: maybe transposed ({@link preferTransposed}), and its tile. */
export interface TiledCall {
  /** The call to run. */
  call: GemmCall;
  /** Index of its register tile in the engine's tiles. */
  tile: number;
}

/**
 * The tile of `tiles` (and the orientation) that computes `given` with the
 * least padded work: the `m x n` output rounded up to whole tiles, weighed by
 * {@link TILE_GAIN} per position in the set. Speed only: every tile and
 * orientation gives the same bits.
 */
export function chooseTile(given: GemmCall, tiles: readonly TileShape[]): TiledCall {
  if (tiles.length === 0) throw new RangeError("chooseTile: no tiles");
  let best: TiledCall = { call: given, tile: 0 };
  let bestCost = Infinity;
  for (let i = 0; i < tiles.length; i++) {
    const tile = tiles[i];
    const call = preferTransposed(given, tile) ? transposedCall(given) : given;
    const cost = ceilTo(call.m, tile.mr) * ceilTo(call.n, tile.nr) / TILE_GAIN ** i;
    if (cost < bestCost) [best, bestCost] = [{ call, tile: i }, cost];
  }
  return best;
}

/** The part of the output one thread computes: rows `[r0, r1)`, columns `[c0, c1)`. */
export interface GemmRange {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** One thread's scratch (byte offsets): packed A, packed B, the work buffer W. */
export interface GemmScratch {
  pa: number;
  pb: number;
  w: number;
}

/** Bytes of each scratch buffer for a range of `rows x cols` with depth `k`. */
export function scratchBytes(
  rows: number,
  cols: number,
  k: number,
  tile: TileShape = TILE,
  given: Blocking = BLOCKING,
): GemmScratch {
  const blocking = tiledBlocking(given, tile);
  const kc = depthBlock(k, blocking.kc).u;
  const mc = ceilTo(Math.min(blocking.mc, rows), tile.mr);
  const nc = ceilTo(Math.min(blocking.nc, cols), tile.nr);
  return { pa: mc * kc * 4, pb: nc * kc * 4, w: ceilTo(rows, tile.mr) * nc * 4 };
}

function packPanels(
  x: GemmExports,
  full: (src: number, ks: number, js: number, kc: number, panels: number, dst: number) => void,
  width: number,
  src: number,
  ks: number,
  js: number,
  kc: number,
  count: number,
  dst: number,
): void {
  const panels = Math.floor(count / width);
  if (panels > 0) full(src, ks, js, kc, panels, dst);
  const rest = count - panels * width;
  if (rest > 0) {
    x.pack_edge(src + panels * width * js, ks, js, kc, rest, width, dst + panels * width * kc * 4);
  }
}

/**
 * Computes the range `r` of `call` with the scratch `s` (`k >= 1`). Loop order:
 * column blocks of `nc`, then depth blocks ({@link depthBlock}: `kc`, then the
 * rest in unrolled sizes; pack B), then row blocks of
 * `mc` (pack A, macro kernel), then the alpha/beta epilogue of the column block.
 */
export function runRange(
  x: GemmExports,
  call: GemmCall,
  r: GemmRange,
  s: GemmScratch,
  tile: TileShape = TILE,
  given: Blocking = BLOCKING,
): void {
  const { mr, nr } = tile;
  const blocking = tiledBlocking(given, tile);
  const rows = r.r1 - r.r0;
  const cols = r.c1 - r.c0;
  if (rows <= 0 || cols <= 0) return;
  const { k, a, b, c, lda, ldb, ldc } = call;
  // Byte strides of A(i, p) along p (ks) and i (js), of B(p, j) along p and j.
  const aks = call.transA ? lda * 4 : 4;
  const ajs = call.transA ? 4 : lda * 4;
  const bks = call.transB ? 4 : ldb * 4;
  const bjs = call.transB ? ldb * 4 : 4;
  const ldw = ceilTo(Math.min(blocking.nc, cols), nr) * 4;
  const mode = (call.alpha !== 1 ? 1 : 0) | (call.beta !== 0 ? 2 : 0);
  const packB = x[packName(nr)].bind(x);
  for (let jc = r.c0; jc < r.c1; jc += blocking.nc) {
    const nc = Math.min(blocking.nc, r.c1 - jc);
    const np = Math.ceil(nc / nr);
    for (let pc = 0, kc = 0; pc < k; pc += kc) {
      const block = depthBlock(k - pc, blocking.kc);
      kc = block.kc;
      const u = block.u;
      packPanels(x, packB, nr, b + pc * bks + jc * bjs, bks, bjs, kc, nc, s.pb);
      const macro = x[macroName(tile, u)];
      const first = pc === 0 ? 1 : 0;
      for (let ic = r.r0; ic < r.r1; ic += blocking.mc) {
        const mc = Math.min(blocking.mc, r.r1 - ic);
        const aAt = a + pc * aks + ic * ajs;
        const w = s.w + (ic - r.r0) * ldw;
        if (call.transA || u > kc) {
          // Rows of op(A) gathered (columns of A), or zero-padded to the kernel's depth.
          x.pack_rows(aAt, aks, ajs, kc, mc, ceilTo(mc, mr), s.pa, u);
          macro(s.pa, u * 4, s.pb, w, ldw, Math.ceil(mc / mr), np, first, kc);
          continue;
        }
        // Rows of A read in place; a last partial panel is copied and zero-padded.
        const full = Math.floor(mc / mr);
        if (full > 0) macro(aAt, ajs, s.pb, w, ldw, full, np, first, kc);
        const rest = mc - full * mr;
        if (rest > 0) {
          x.pack_rows(aAt + full * mr * ajs, aks, ajs, kc, rest, mr, s.pa, u);
          macro(s.pa, u * 4, s.pb, w + full * mr * ldw, ldw, 1, np, first, kc);
        }
      }
    }
    if (call.transC) {
      x.epi_t(s.w, ldw, c + (jc * ldc + r.r0) * 4, ldc * 4, rows, nc, call.alpha, call.beta, mode);
      continue;
    }
    const cAt = c + (r.r0 * ldc + jc) * 4;
    if (mode === 0) x.epi_copy(s.w, ldw, cAt, ldc * 4, rows, nc);
    else x.epi_ab(s.w, ldw, cAt, ldc * 4, rows, nc, call.alpha, call.beta, mode);
  }
}
