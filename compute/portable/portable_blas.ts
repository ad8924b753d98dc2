/**
 * The portable BLAS: `sgemm`, `sgemv` and `saxpy` with the same signatures
 * as the native `BlasLibrary` (compute/blas/library.ts), computed
 * in WebAssembly SIMD with the fixed summation order of gemm_plan.ts, so the
 * bits depend on the shapes and the inputs alone: not on the host, the
 * tile, the blocking or the thread count. Threads are Workers on the same
 * shared memory, each computing whole row or column ranges of the output.
 *
 * Arrays that are views of the engine's memory ({@link PortableBlas.alloc})
 * are used in place; any other `Float32Array` is copied in (and C back out).
 *
 * @example
 * ```ts
 * import { createPortableBlas } from "./mod.ts";
 * const blas = await createPortableBlas({ threads: 1 });
 * const a = blas.alloc(2 * 3), b = blas.alloc(3 * 2), c = blas.alloc(2 * 2);
 * a.set([1, 2, 3, 4, 5, 6]);
 * b.set([1, 0, 0, 1, 1, 1]);
 * blas.sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2);
 * console.log([...c]); // [4, 5, 10, 11]
 * blas.close();
 * ```
 *
 * @module
 */
import { MAX_THREADS, newControl, SLOT, writeWork } from "./gemm_control.ts";
import { GemmMemory, gemmModule } from "./gemm_memory.ts";
import {
  chooseTile,
  type GemmCall,
  type GemmScratch,
  runRange,
  scratchBytes,
  TILES,
  WIDE_TILES,
} from "./gemm_plan.ts";
import type { TileShape } from "./gemm_shape.ts";
import { launchedRevectorized } from "../v8_flags.ts";
import { splitOutput } from "./gemm_split.ts";
import { PORTABLE_ENGINE } from "../numerics.ts";
import type { WorkerInit } from "./gemm_worker.ts";
import { Worker } from "node:worker_threads";

/** Time spent inside calls while `enabled` (the `BlasTiming` of the native library). */
export interface PortableTiming {
  /** Whether calls are timed (off by default). */
  enabled: boolean;
  /** Milliseconds inside calls since the last reset. */
  ms: number;
  /** Calls since the last reset. */
  calls: number;
}

/** Options of {@link createPortableBlas}. */
export interface PortableBlasOptions {
  /** Threads (the caller plus `threads - 1` Workers); default 1. */
  threads?: number;
  /**
   * Also use the wide register tile, chosen per call ({@link WIDE_TILES}), for
   * processes whose V8 revectorises (compute/v8_flags.ts); default: what the
   * launcher says ({@link launchedRevectorized}). Speed only: every tile gives
   * the same bits.
   */
  wide?: boolean;
  /**
   * The register tiles to compile and choose from (overrides `wide`; for
   * tests and probes). Speed only: every tile gives the same bits.
   */
  tiles?: readonly TileShape[];
  /**
   * Wait for the Workers before resolving (default). With `false` the engine
   * resolves at once and runs each call on the calling thread alone until every
   * Worker has started (a Worker started from a Deno Worker takes ~0.5 s): the
   * same bits either way, and the start overlaps the caller's own setup.
   */
  wait?: boolean;
}

/** Thrown for a call whose shapes, leading dimensions or arrays do not fit. */
export class PortableBlasError extends RangeError {
  /** The error's name. */
  override name = "PortableBlasError";
}

function checkDim(what: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new PortableBlasError(`portable sgemm: ${what} must be an integer >= ${min}, got ${v}`);
  }
}

/** Floats an `rows x cols` row-major matrix with leading dimension `ld` spans. */
function extent(rows: number, cols: number, ld: number): number {
  return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
}

/** The portable engine. Create it with {@link createPortableBlas}. */
export class PortableBlas {
  /** What the reports name as the engine. */
  readonly library: string = PORTABLE_ENGINE;
  /** The `BlasLibrary` family. */
  readonly family = "portable";
  /** Call timing. */
  readonly timing: PortableTiming = { enabled: false, ms: 0, calls: 0 };
  readonly #mem: GemmMemory;
  readonly #workers: Worker[];
  readonly #ctrl: SharedArrayBuffer;
  readonly #tiles: readonly TileShape[];
  #threads: number;
  #helpersReady = false;
  #helpersBroken = false;
  #scratchAt = 0;
  #scratchBytes = 0;
  #stageAt = 0;
  #stageBytes = 0;

  /** Use {@link createPortableBlas}. */
  constructor(
    mem: GemmMemory,
    workers: Worker[],
    ctrl: SharedArrayBuffer,
    tiles: readonly TileShape[] = TILES,
    threads: number = workers.length + 1,
  ) {
    this.#mem = mem;
    this.#tiles = tiles;
    this.#workers = workers;
    this.#ctrl = ctrl;
    this.#threads = threads;
  }

  /** The register tiles of its kernels (each call runs on one of them). */
  get tiles(): TileShape[] {
    return this.#tiles.map((t) => ({ ...t }));
  }

  /** Whether every Worker has started (until then calls run on the calling thread). */
  get helpersReady(): boolean {
    if (!this.#helpersReady && !this.#helpersBroken) {
      const started = Atomics.load(new Int32Array(this.#ctrl), SLOT.ready);
      this.#helpersReady = started >= this.#workers.length;
    }
    return this.#helpersReady && !this.#helpersBroken;
  }

  /** Marks the Workers unusable (one failed to start): calls run on the calling thread. */
  helpersFailed(): void {
    this.#helpersBroken = true;
  }

  /** Threads in use. */
  get threads(): number {
    return this.#threads;
  }

  /** A zeroed `n`-float array in the engine's memory: sgemm on it copies nothing. */
  alloc(n: number): Float32Array {
    return this.#mem.alloc(n);
  }

  /**
   * Reserves `bytes` of the engine's shared memory for a caller's own wasm
   * module (e.g. the fused step's SIMD arena): arrays there pass to sgemm
   * without copies.
   */
  region(bytes: number): { memory: WebAssembly.Memory; byteOffset: number; byteLength: number } {
    const byteOffset = this.#mem.reserve(bytes);
    return { memory: this.#mem.memory, byteOffset, byteLength: Math.ceil(bytes / 16) * 16 };
  }

  /** Uses `threads` threads (at most the number it was created with); returns whether it could. */
  setThreads(threads: number): boolean {
    if (!Number.isInteger(threads) || threads < 1 || threads > this.#workers.length + 1) {
      return false;
    }
    this.#threads = threads;
    return true;
  }

  /** Ends the Workers. */
  close(): void {
    // A Worker blocked in Atomics.wait is not ended by terminate(): wake it with the stop flag.
    const ints = new Int32Array(this.#ctrl);
    Atomics.store(ints, SLOT.stop, 1);
    Atomics.add(ints, SLOT.gen, 1);
    Atomics.notify(ints, SLOT.gen);
    for (const w of this.#workers) w.terminate();
    this.#workers.length = 0;
    this.#threads = 1;
  }

  #scratch(bytes: number): number {
    if (bytes > this.#scratchBytes) {
      this.#scratchBytes = Math.max(bytes, 2 * this.#scratchBytes);
      this.#scratchAt = this.#mem.reserve(this.#scratchBytes);
    }
    return this.#scratchAt;
  }

  /** `C = alpha op(A) op(B) + beta C` on byte offsets into the engine's memory. */
  sgemmAt(given: GemmCall): void {
    const { m, n, k } = given;
    if (m === 0 || n === 0) return;
    if (k === 0) return this.#scaleOnly(given);
    this.#checkOffsets(given);
    const chosen = chooseTile(given, this.#tiles);
    const call = chosen.call;
    const tile = this.#tiles[chosen.tile];
    const threads = this.#threads > 1 && this.helpersReady ? this.#threads : 1;
    const ranges = splitOutput(call.m, call.n, k, threads, tile);
    const sizes = ranges.map((r) => scratchBytes(r.r1 - r.r0, r.c1 - r.c0, k, tile));
    const total = sizes.reduce((t, s) => t + s.pa + s.pb + s.w + 48, 0);
    let at = this.#scratch(total);
    const scratch: GemmScratch[] = sizes.map((s) => {
      const pa = at;
      const pb = pa + Math.ceil(s.pa / 16) * 16;
      const w = pb + Math.ceil(s.pb / 16) * 16;
      at = w + Math.ceil(s.w / 16) * 16;
      return { pa, pb, w };
    });
    if (ranges.length === 1) {
      return runRange(this.#mem.exports, call, ranges[0], scratch[0], tile);
    }
    const ints = new Int32Array(this.#ctrl);
    // Worker i (0-based) takes range i + 1; this thread takes range 0.
    writeWork(this.#ctrl, call, chosen.tile, ranges.slice(1), scratch.slice(1));
    Atomics.store(ints, SLOT.done, 0);
    Atomics.add(ints, SLOT.gen, 1);
    Atomics.notify(ints, SLOT.gen);
    let mine: unknown;
    try {
      runRange(this.#mem.exports, call, ranges[0], scratch[0], tile);
    } catch (err) {
      mine = err; // rethrown once the Workers are done with this call's memory
    }
    const all = this.#workers.length;
    for (let d = Atomics.load(ints, SLOT.done); d < all; d = Atomics.load(ints, SLOT.done)) {
      Atomics.wait(ints, SLOT.done, d, 50);
    }
    const failed = Atomics.exchange(ints, SLOT.failed, 0);
    if (mine !== undefined) throw mine;
    if (failed !== 0) {
      throw new PortableBlasError(`portable sgemm: worker ${failed} failed on its part of C`);
    }
  }

  /** Every matrix of `call` lies inside the memory (so no part of a call can trap half-way). */
  #checkOffsets(call: GemmCall): void {
    const size = this.#mem.memory.buffer.byteLength;
    const [ar, ac] = call.transA ? [call.k, call.m] : [call.m, call.k];
    const [br, bc] = call.transB ? [call.n, call.k] : [call.k, call.n];
    const spans: [string, number, number][] = [
      ["A", call.a, extent(ar, ac, call.lda)],
      ["B", call.b, extent(br, bc, call.ldb)],
      ["C", call.c, extent(call.m, call.n, call.ldc)],
    ];
    for (const [name, at, floats] of spans) {
      if (!Number.isInteger(at) || at < 0 || at % 4 !== 0 || at + floats * 4 > size) {
        throw new PortableBlasError(
          `portable sgemm: ${name} at byte ${at} (${floats} floats) is outside the ${size}-byte memory`,
        );
      }
    }
  }

  /** k = 0: `s = 0`, then the same alpha/beta steps as every other element. */
  #scaleOnly(call: GemmCall): void {
    const f = Math.fround;
    const alpha = f(call.alpha);
    const beta = f(call.beta);
    const c = this.#mem.view(call.c, extent(call.m, call.n, call.ldc));
    const t = alpha === 1 ? 0 : f(alpha * 0);
    for (let i = 0; i < call.m; i++) {
      for (let j = 0; j < call.n; j++) {
        const at = i * call.ldc + j;
        c[at] = beta === 0 ? t : f(t + f(beta * c[at]));
      }
    }
  }

  #stage(bytes: number): number {
    if (bytes > this.#stageBytes) {
      this.#stageBytes = Math.max(bytes, 2 * this.#stageBytes);
      this.#stageAt = this.#mem.reserve(this.#stageBytes);
    }
    return this.#stageAt;
  }

  /**
   * `C = alpha * op(A) * op(B) + beta * C`, row-major, `m x n` output, inner
   * size `k` (the native `BlasLibrary.sgemm` signature).
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void {
    const t0 = this.timing.enabled ? performance.now() : 0;
    checkDim("m", m, 0);
    checkDim("n", n, 0);
    checkDim("k", k, 0);
    const [ar, ac] = transA ? [k, m] : [m, k];
    const [br, bc] = transB ? [n, k] : [k, n];
    checkDim("lda", lda, Math.max(1, ac));
    checkDim("ldb", ldb, Math.max(1, bc));
    checkDim("ldc", ldc, Math.max(1, n));
    const ea = extent(ar, ac, lda);
    const eb = extent(br, bc, ldb);
    const ec = extent(m, n, ldc);
    for (const [name, x, e] of [["A", a, ea], ["B", b, eb], ["C", c, ec]] as const) {
      if (x.length < e) {
        throw new PortableBlasError(`portable sgemm: ${name} has ${x.length} floats, needs ${e}`);
      }
    }
    const offA = this.#mem.offsetOf(a);
    const offB = this.#mem.offsetOf(b);
    const offC = this.#mem.offsetOf(c);
    const need = (offA === undefined ? ea : 0) + (offB === undefined ? eb : 0) +
      (offC === undefined ? ec : 0);
    let at = need > 0 ? this.#stage(need * 4 + 48) : 0;
    const place = (x: Float32Array, off: number | undefined, e: number): number => {
      if (off !== undefined) return off;
      const here = at;
      this.#mem.view(here, e).set(x.subarray(0, e));
      at += Math.ceil((e * 4) / 16) * 16;
      return here;
    };
    const pa = place(a, offA, ea);
    const pb = place(b, offB, eb);
    const pc = place(c, offC, ec);
    this.sgemmAt({ transA, transB, m, n, k, alpha, a: pa, lda, b: pb, ldb, beta, c: pc, ldc });
    if (offC === undefined) c.set(this.#mem.view(pc, ec));
    if (this.timing.enabled) {
      this.timing.ms += performance.now() - t0;
      this.timing.calls++;
    }
  }

  /** `y = alpha * op(A) * x + beta * y` for a row-major `m x n` matrix `A` (a GEMM with one column). */
  sgemv(
    transA: boolean,
    m: number,
    n: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    x: Float32Array,
    beta: number,
    y: Float32Array,
  ): void {
    const [rows, inner] = transA ? [n, m] : [m, n];
    this.sgemm(transA, false, rows, 1, inner, alpha, a, lda, x, 1, beta, y, 1);
  }

  /** `y += alpha * x` over `n` contiguous elements (product rounded, then sum). */
  saxpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void {
    checkDim("n", n, 0);
    const f = Math.fround;
    const al = f(alpha);
    for (let i = 0; i < n; i++) y[i] = f(y[i] + f(al * x[i]));
  }
}

/** An engine with `threads` threads (Workers started and ready when the promise resolves). */
export async function createPortableBlas(opts: PortableBlasOptions = {}): Promise<PortableBlas> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new PortableBlasError(
      `portable BLAS: threads must be an integer in [1, ${MAX_THREADS}], got ${threads}`,
    );
  }
  const tiles = opts.tiles ?? ((opts.wide ?? launchedRevectorized()) ? WIDE_TILES : TILES);
  const mem = new GemmMemory(tiles, threads);
  const ctrl = newControl();
  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  // Its Workers are pushed into `workers` below (the engine holds the same array).
  const engine = new PortableBlas(mem, workers, ctrl, tiles, threads);
  for (let i = 1; i < threads; i++) {
    // node:worker_threads, not a web Worker: unref'd once ready, an idle engine never keeps the
    // process alive (calls are synchronous: they need no event loop).
    // The init goes as workerData, not a message: started from a Deno Worker (graded code's,
    // reproducible), a message to a just-started thread is delivered about 0.5 s late.
    const module = gemmModule(tiles, i);
    const init: WorkerInit = { module, tiles, memory: mem.memory, ctrl, index: i - 1 };
    const w = new Worker(new URL("./gemm_worker.ts", import.meta.url), { workerData: init });
    ready.push(
      new Promise((resolve, reject) => {
        w.once("message", () => {
          w.unref();
          resolve();
        });
        w.once("error", (e: Error) => {
          engine.helpersFailed();
          reject(new PortableBlasError(`portable BLAS: worker ${i} failed: ${e.message}`));
        });
      }),
    );
    workers.push(w);
  }
  if (opts.wait === false) {
    // Errors are already recorded by the handlers (the engine then stays on one thread).
    Promise.all(ready).catch(() => {});
    return engine;
  }
  try {
    await Promise.all(ready);
  } catch (err) {
    for (const w of workers) w.terminate();
    throw err;
  }
  return engine;
}
