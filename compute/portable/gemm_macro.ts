/**
 * The portable SGEMM's macro kernels, one per unrolled depth ({@link UNROLLS}),
 * and the per-thread regions they keep their B panel and accumulator tile in.
 * See {@link unrolledMacro} for why the depth is unrolled and the addresses
 * are constants: it lets V8 run f32x4 pairs as 256-bit operations.
 *
 * @module
 */
import { addLocal, forLoop, I32, op, V128, type WasmFunction } from "./wasm_emit.ts";
import { macroName, type TileShape, UNROLLS } from "./gemm_shape.ts";

/**
 * Where one thread's kernels keep their copy of the current B panel and their
 * accumulator tile: byte offsets in the shared memory, compiled into that
 * thread's module as constants (see {@link threadRegion}).
 */
export interface ThreadRegion {
  /** The `mr x nr` tile. */
  tileAt: number;
  /** The B panel (`UNROLLS[0] x nr` floats). */
  panelAt: number;
}

/** The first byte of the threads' regions (below it: nothing). */
const REGIONS_AT = 64;

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** Bytes of the largest accumulator tile of `tiles`. */
const tileBytes = (tiles: readonly TileShape[]): number =>
  Math.max(...tiles.map(({ mr, nr }) => align64(mr * nr * 4)));

/**
 * Bytes of one thread's region for the kernels of `tiles`: one region serves
 * them all (a thread runs one kernel at a time), sized for the largest tile
 * and the widest panel.
 */
export function regionBytes(tiles: readonly TileShape[]): number {
  return tileBytes(tiles) + Math.max(...tiles.map(({ nr }) => align64(UNROLLS[0] * nr * 4)));
}

/** Thread `thread`'s region (thread 0 is the caller's). */
export function threadRegion(tiles: readonly TileShape[], thread: number): ThreadRegion {
  const tileAt = REGIONS_AT + thread * regionBytes(tiles);
  return { tileAt, panelAt: tileAt + tileBytes(tiles) };
}

/** The first byte after the regions of `threads` threads. */
export function regionsEnd(tiles: readonly TileShape[], threads: number): number {
  return REGIONS_AT + threads * regionBytes(tiles);
}

/**
 * The macro kernel for depth blocks of `u` (`kc <= u` real, the rest zero):
 * for each B panel (outer), the panel is copied to the thread's region
 * (constant addresses); for each A panel (inner; its `mr` rows read where they
 * are, `ars` bytes apart), one `mr x nr` tile: accumulators from W (or zero
 * when `first`, through the region's tile), then for k ascending, fully unrolled,
 * `acc += a[i][k] * b[k][j]` (product rounded, then sum rounded), then back to
 * W. Every access to B and to the tile has a constant address below the
 * module's minimum memory size, so V8 checks none of them at run time; with
 * no check between them, V8's `--experimental-wasm-revectorize` can fuse
 * adjacent f32x4 pairs into 256-bit operations: the same IEEE operations on
 * twice the lanes.
 */
export function unrolledMacro(
  { mr, nr }: TileShape,
  u: number,
  region: ThreadRegion,
): WasmFunction {
  const nv = nr / 4;
  // params: a 0, ars 1, pb 2, w 3, ldw 4, mp 5, np 6, first 7, kc 8
  const [a, ars, pb, w, ldw, mp, np, first, kc] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  // i32 locals: jp, ip, src, q, wt, wrow, panel (bytes of a packed panel), full (bytes of a
  // padded one), then one row pointer of A per tile row
  const [jp, ip, src, q, wt, wrow, panel, full] = [9, 10, 11, 12, 13, 14, 15, 16];
  const aRow = (r: number) => 17 + r;
  const v0 = 17 + mr;
  const acc = (r: number, v: number) => v0 + r * nv + v;
  const bv = (v: number) => v0 + mr * nv + v;
  const av = v0 + mr * nv + nv;
  const at = (r: number, v: number) => region.tileAt + (r * nr + v * 4) * 4;
  const panelAt = region.panelAt;
  const zero = op.i32(0);
  // The B panel jp (kc * nr floats, contiguous) to the region, zero rows up to u.
  const copyPanel = [
    ...op.get(pb),
    ...op.get(jp),
    ...op.get(panel),
    ...op.i32Mul,
    ...op.i32Add,
    ...op.set(src),
    ...op.i32(0),
    ...op.set(q),
    ...forLoop(q, panel, 16, [
      ...op.get(q),
      ...op.get(src),
      ...op.get(q),
      ...op.i32Add,
      ...op.v128Load(),
      ...op.v128Store(panelAt),
    ]),
    ...forLoop(q, full, 16, [...op.get(q), ...op.v128Zero, ...op.v128Store(panelAt)]),
  ];
  const fromW: number[] = [...op.get(wt), ...op.set(wrow)];
  const zeroTile: number[] = [];
  const toW: number[] = [...op.get(wt), ...op.set(wrow)];
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v < nv; v++) {
      fromW.push(
        ...zero,
        ...op.get(wrow),
        ...op.v128Load(v * 16),
        ...op.v128Store(at(r, v)),
      );
      zeroTile.push(...zero, ...op.v128Zero, ...op.v128Store(at(r, v)));
      toW.push(...op.get(wrow), ...zero, ...op.v128Load(at(r, v)), ...op.v128Store(v * 16));
    }
    fromW.push(...addLocal(wrow, ldw));
    toW.push(...addLocal(wrow, ldw));
  }
  const tile: number[] = [...op.get(first), ...op.if, ...zeroTile, ...op.else, ...fromW, ...op.end];
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v < nv; v++) {
      tile.push(...zero, ...op.v128Load(at(r, v)), ...op.set(acc(r, v)));
    }
  }
  for (let p = 0; p < u; p++) {
    for (let v = 0; v < nv; v++) {
      tile.push(...zero, ...op.v128Load(panelAt + (p * nr + v * 4) * 4), ...op.set(bv(v)));
    }
    for (let r = 0; r < mr; r++) {
      tile.push(...op.get(aRow(r)), ...op.load32Splat(p * 4), ...op.set(av));
      for (let v = 0; v < nv; v++) {
        tile.push(...op.get(acc(r, v)), ...op.get(av), ...op.get(bv(v)), ...op.f32x4Mul);
        tile.push(...op.f32x4Add, ...op.set(acc(r, v)));
      }
    }
  }
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v < nv; v++) {
      tile.push(...zero, ...op.get(acc(r, v)), ...op.v128Store(at(r, v)));
    }
  }
  tile.push(...toW);
  // Row r of A panel ip starts at a + (ip * mr + r) * ars; tile (ip, jp) of W at
  // w + ip * mr * ldw + jp * nr * 4.
  const rowsOf: number[] = [];
  for (let r = 0; r < mr; r++) {
    rowsOf.push(
      ...op.get(a),
      ...op.get(ip),
      ...op.i32(mr),
      ...op.i32Mul,
      ...op.i32(r),
      ...op.i32Add,
    );
    rowsOf.push(...op.get(ars), ...op.i32Mul, ...op.i32Add, ...op.set(aRow(r)));
  }
  const code = [
    ...op.get(kc),
    ...op.i32(nr * 4),
    ...op.i32Mul,
    ...op.set(panel),
    ...op.i32(u * nr * 4),
    ...op.set(full),
    ...forLoop(jp, np, 1, [
      ...copyPanel,
      ...op.i32(0),
      ...op.set(ip),
      ...forLoop(ip, mp, 1, [
        ...rowsOf,
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
  const locals = [...new Array(8 + mr).fill(I32), ...new Array(mr * nv + nv + 1).fill(V128)];
  return { name: macroName({ mr, nr }, u), params: new Array(9).fill(I32), locals, code };
}
