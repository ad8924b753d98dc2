/**
 * The portable SGEMM (compute/portable): bit for bit equal to the documented
 * float32 summation order for odd shapes, every transpose and alpha/beta
 * case, across block boundaries (k > kc, m > mc, n > nc), with padded leading
 * dimensions; identical bits at 1, 2 and 4 threads on the lab's shapes; the
 * `BlasLibrary` signatures; clear errors for bad calls.
 */
import { assert, assertEquals, assertThrows } from "../deps/assert.ts";
import {
  BLOCKING,
  chooseTile,
  createPortableBlas,
  type GemmCall,
  type PortableBlas,
  PortableBlasError,
  TILE,
  TILES,
  type TileShape,
  WIDE_TILE,
  WIDE_TILES,
} from "../compute/portable/mod.ts";
import type { BlasLibrary } from "../compute/blas/library.ts";
import { bitDiffs, mixedFloats, orderedSgemm } from "./portable_reference.ts";

interface Case {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  /** Extra leading-dimension padding. */
  pad?: number;
}

interface Operands {
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
  lda: number;
  ldb: number;
  ldc: number;
}

function operands(t: Case, seed: number, alloc?: (n: number) => Float32Array): Operands {
  const pad = t.pad ?? 0;
  const lda = (t.transA ? t.m : t.k) + pad;
  const ldb = (t.transB ? t.k : t.n) + pad;
  const ldc = t.n + pad;
  const make = (n: number, s: number): Float32Array => {
    const x = alloc ? alloc(n) : new Float32Array(n);
    x.set(mixedFloats(n, s));
    return x;
  };
  return {
    a: make((t.transA ? t.k : t.m) * lda, seed),
    b: make((t.transB ? t.n : t.k) * ldb, seed + 1),
    c: make(t.m * ldc, seed + 2),
    lda,
    ldb,
    ldc,
  };
}

function run(blas: Pick<BlasLibrary, "sgemm">, t: Case, o: Operands, c = o.c): void {
  blas.sgemm(t.transA, t.transB, t.m, t.n, t.k, t.alpha, o.a, o.lda, o.b, o.ldb, t.beta, c, o.ldc);
}

function expected(t: Case, o: Operands): Float32Array {
  const c = o.c.slice();
  orderedSgemm(
    t.transA,
    t.transB,
    t.m,
    t.n,
    t.k,
    t.alpha,
    o.a,
    o.lda,
    o.b,
    o.ldb,
    t.beta,
    c,
    o.ldc,
  );
  return c;
}

function label(t: Case): string {
  return `${t.m}x${t.k}x${t.n}(${t.transA ? "T" : "N"}${t.transB ? "T" : "N"}) ` +
    `alpha=${t.alpha} beta=${t.beta} pad=${t.pad ?? 0}`;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [7, 13, BLOCKING.kc + 44], // k crosses a depth block
  [BLOCKING.mc + 9, 9, 70], // m crosses a row block; few columns (computed transposed)
  [5, BLOCKING.nc + 88, 40], // n crosses a column block
  [17, 1, 33], // one column (the sgemv shape)
  [1, 29, 11],
  [9, 33, 127], // the lab's batches of 127: one depth block padded with zero products to 128
  [6, 20, 126],
  [5, 7, 10], // a short inner size: blocks of 8 and 2
];
const SCALARS: [number, number][] = [[1, 0], [0.5, 1], [1, -2], [-1.5, 0.25]];

/** The tile sets the engine can run: narrow only, both (chosen per call), wide only. */
const TILE_SETS: readonly (readonly TileShape[])[] = [TILES, WIDE_TILES, [WIDE_TILE]];
const setName = (tiles: readonly TileShape[]) => tiles.map((t) => `${t.mr}x${t.nr}`).join("+");

async function withBlas(
  threads: number,
  f: (blas: PortableBlas) => void,
  tiles: readonly TileShape[] = TILES,
): Promise<void> {
  const blas = await createPortableBlas({ threads, tiles });
  try {
    f(blas);
  } finally {
    blas.close();
  }
}

Deno.test("portable sgemm: the documented order, bit for bit, odd shapes x transposes x alpha/beta x tile sets", async () => {
  for (const tiles of TILE_SETS) {
    await withBlas(1, (blas) => {
      let seed = 100;
      for (const [m, n, k] of SHAPES) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            for (const [alpha, beta] of SCALARS) {
              const t: Case = { transA, transB, m, n, k, alpha, beta, pad: seed % 3 === 0 ? 3 : 0 };
              const o = operands(t, seed++);
              const want = expected(t, o);
              run(blas, t, o);
              assertEquals(bitDiffs(o.c, want), [], `${label(t)} tiles=${setName(tiles)}`);
            }
          }
        }
      }
    }, tiles);
  }
});

Deno.test("portable sgemm: the tile is chosen per call by padded work (narrow for the 10 classes)", () => {
  const call = (m: number, n: number, transA = false): GemmCall => ({
    transA,
    transB: false,
    m,
    n,
    k: 256,
    alpha: 1,
    a: 0,
    lda: transA ? m : 256,
    b: 0,
    ldb: n,
    beta: 0,
    c: 0,
    ldc: n,
  });
  const tileOf = (c: GemmCall) => WIDE_TILES[chooseTile(c, WIDE_TILES).tile];
  assertEquals(tileOf(call(128, 10)), TILE); // 16 columns padded, not 32
  assertEquals(tileOf(call(128, 512)), WIDE_TILE);
  assertEquals(tileOf(call(128, 784)), WIDE_TILE); // 800 columns, but the faster tile
  assertEquals(tileOf(call(128, 16)), TILE);
  assertEquals(chooseTile(call(128, 10), TILES).tile, 0);
  // A^T with few columns runs transposed: 10 rows by 256 columns, on the wide tile.
  const t = chooseTile(call(256, 10, true), WIDE_TILES);
  assertEquals([t.call.m, t.call.n, t.call.transC, WIDE_TILES[t.tile]], [10, 256, true, WIDE_TILE]);
  assertThrows(() => chooseTile(call(1, 1), []), RangeError);
});

Deno.test("portable sgemm: zero-padded depth blocks keep infinities, NaN and signed zeros", async () => {
  // k = 127 runs as one block of 128 with a zero product added: s + (+0 * +0) must equal s
  // for every s the real products can make (+-inf, NaN, -0 products summing to +0).
  const specials = [Infinity, -Infinity, NaN, -0, 0, 1, -1, 3e38, -3e38];
  await withBlas(1, (blas) => {
    for (const transA of [false, true]) {
      const t: Case = { transA, transB: false, m: 6, n: 18, k: 127, alpha: 1, beta: 0 };
      const o = operands(t, 11);
      o.a.forEach((_, i) => o.a[i] = specials[(i * 7) % specials.length]);
      o.b.forEach((_, i) => o.b[i] = i % 5 === 0 ? -0 : specials[(i * 5) % specials.length]);
      const want = expected(t, o);
      run(blas, t, o);
      assertEquals(bitDiffs(o.c, want), [], label(t));
    }
  });
});

Deno.test("portable sgemm: the data is order-sensitive (a reversed k order gives other bits)", () => {
  // Guards the test above: with these inputs, a different summation order is caught.
  const t: Case = { transA: false, transB: false, m: 7, n: 13, k: 300, alpha: 1, beta: 0 };
  const o = operands(t, 7);
  const want = expected(t, o);
  const rev = (x: Float32Array, rows: number, cols: number): Float32Array => {
    const out = new Float32Array(x.length);
    for (let i = 0; i < rows; i++) {
      for (let p = 0; p < cols; p++) out[i * cols + p] = x[i * cols + cols - 1 - p];
    }
    return out;
  };
  const bRev = new Float32Array(o.b.length);
  for (let p = 0; p < t.k; p++) {
    bRev.set(o.b.subarray((t.k - 1 - p) * t.n, (t.k - p) * t.n), p * t.n);
  }
  const c = o.c.slice();
  orderedSgemm(false, false, t.m, t.n, t.k, 1, rev(o.a, t.m, t.k), t.k, bRev, t.n, 0, c, t.n);
  assert(bitDiffs(c, want).length > 0, "reversing the k order should change some bits");
});

Deno.test("portable sgemm: beta 0 overwrites NaN in C; k = 0 scales C; m or n = 0 is a no-op", async () => {
  await withBlas(1, (blas) => {
    const t: Case = { transA: false, transB: true, m: 6, n: 10, k: 9, alpha: 2, beta: 0 };
    const o = operands(t, 3);
    o.c.fill(NaN);
    run(blas, t, o);
    assert(o.c.every((v) => !Number.isNaN(v)), "NaN left in C with beta 0");
    const z: Case = { ...t, k: 0, beta: 0.5, pad: 1, transB: false };
    const oz = operands(z, 4);
    const want = expected(z, oz);
    run(blas, z, oz);
    assertEquals(bitDiffs(oz.c, want), []);
    const before = oz.c.slice();
    blas.sgemm(false, false, 0, 5, 3, 1, oz.a, 3, new Float32Array(15), 5, 0, oz.c, 5);
    assertEquals(bitDiffs(oz.c, before), []);
  });
});

Deno.test("portable sgemm: arrays in the engine's memory and outside give the same bits; gaps kept", async () => {
  await withBlas(1, (blas) => {
    const t: Case = { transA: true, transB: false, m: 33, n: 20, k: 70, alpha: 1, beta: 1, pad: 5 };
    const outside = operands(t, 11);
    const inside = operands(t, 11, (n) => blas.alloc(n));
    const gap = outside.c[t.n + 2]; // in row 0's padding
    run(blas, t, outside);
    run(blas, t, inside);
    assertEquals(bitDiffs(inside.c, outside.c), []);
    assertEquals(outside.c[t.n + 2], gap);
  });
});

/** The products of one training step of 784-512-256-10 and 784-128-10 at batch 128 (and a 512 one). */
const LAB: Case[] = [
  [128, 784, 512, false, false],
  [784, 128, 512, true, false],
  [128, 512, 784, false, true],
  [128, 256, 10, false, false],
  [256, 128, 10, true, false],
  [128, 10, 256, false, true],
  [512, 128, 10, false, false],
].map(([m, k, n, transA, transB]) => ({
  m: m as number,
  k: k as number,
  n: n as number,
  transA: transA as boolean,
  transB: transB as boolean,
  alpha: 1,
  beta: 0,
}));

Deno.test("portable sgemm: threads 1, 2 and 4 (and tile sets) give identical bits on the lab's shapes (and the reference's)", async () => {
  const results = new Map<number, Float32Array[]>();
  // Each thread count on another tile set: the Workers run the tile each call names.
  const tilesOf = new Map([[1, TILES], [2, WIDE_TILES], [4, [WIDE_TILE]]]);
  for (const threads of [1, 2, 4]) {
    await withBlas(threads, (blas) => {
      assertEquals(blas.threads, threads);
      results.set(
        threads,
        LAB.map((t, i) => {
          const o = operands(t, 50 + i, (n) => blas.alloc(n));
          run(blas, t, o);
          return o.c.slice();
        }),
      );
    }, tilesOf.get(threads));
  }
  LAB.forEach((t, i) => {
    for (const threads of [2, 4]) {
      assertEquals(
        bitDiffs(results.get(threads)![i], results.get(1)![i]),
        [],
        `${label(t)} threads=${threads}`,
      );
    }
  });
  for (const i of [2, 4]) {
    const o = operands(LAB[i], 50 + i);
    assertEquals(bitDiffs(results.get(4)![i], expected(LAB[i], o)), [], label(LAB[i]));
  }
});

Deno.test("portable BLAS: sgemv and saxpy follow the same order; BlasLibrary's signatures", async () => {
  await withBlas(2, (blas) => {
    const routines: Pick<
      BlasLibrary,
      "sgemm" | "sgemv" | "saxpy" | "setThreads" | "close" | "timing"
    > = blas;
    assert(routines.setThreads(1) && !routines.setThreads(3));
    const [m, n] = [37, 23];
    const a = mixedFloats(m * n, 1);
    for (const transA of [false, true]) {
      const x = mixedFloats(transA ? m : n, 2);
      const y = mixedFloats(transA ? n : m, 3);
      const want = y.slice();
      orderedSgemm(transA, false, transA ? n : m, 1, transA ? m : n, 0.5, a, n, x, 1, 2, want, 1);
      blas.sgemv(transA, m, n, 0.5, a, n, x, 2, y);
      assertEquals(bitDiffs(y, want), [], `sgemv transA=${transA}`);
    }
    const x = mixedFloats(50, 4);
    const y = mixedFloats(50, 5);
    const want = y.map((v, i) => Math.fround(v + Math.fround(Math.fround(0.3) * x[i])));
    blas.saxpy(50, 0.3, x, y);
    assertEquals(bitDiffs(y, want), []);
  });
});

Deno.test("portable sgemm: bad calls throw PortableBlasError naming what was expected", async () => {
  await withBlas(1, (blas) => {
    const a = new Float32Array(12);
    const says = (text: string) => (e: unknown) =>
      e instanceof PortableBlasError && e.message.includes(text);
    assertThrows(() => blas.sgemm(false, false, 3, 4, 4, 1, a, 3, a, 4, 0, a, 4), says("lda"));
    assertThrows(
      () => blas.sgemm(false, false, 4, 4, 4, 1, a, 4, a, 4, 0, a, 4),
      says("A has 12 floats, needs 16"),
    );
    assertThrows(
      () => blas.sgemm(false, false, 1.5, 1, 1, 1, a, 1, a, 1, 0, a, 1),
      PortableBlasError,
    );
  });
  await assertRejectsThreads();
});

async function assertRejectsThreads(): Promise<void> {
  let caught: unknown;
  try {
    await createPortableBlas({ threads: 0 });
  } catch (err) {
    caught = err;
  }
  assert(caught instanceof PortableBlasError);
}
