/**
 * One engine per numerics mode: what computes the matrix products of the
 * `wasm-blas` backend and the fused training step. `reproducible` runs the
 * portable WebAssembly SIMD core (compute/portable/) on every machine, with
 * or without a native BLAS, and needs no FFI; `fast` loads the native BLAS
 * (OpenBLAS; Accelerate on macOS) and, when none loads, says why and runs the
 * portable core instead.
 *
 * ```ts
 * import { openEngine } from "./engine.ts";
 *
 * const r = await openEngine("reproducible", { threads: 1 });
 * if (r.ok) {
 *   console.log(r.engine.blas.library); // portable-wasm-simd
 *   r.engine.blas.close();
 * }
 * ```
 *
 * @module
 */
import { type BlasLibrary, defaultBlasThreads, loadBlas } from "./blas/library.ts";
import { createPortableBlas } from "./portable/mod.ts";
import type { NumericsMode } from "./numerics.ts";

/** An engine ready to compute. */
export interface Engine {
  /** Its BLAS face (`library` is `portable-wasm-simd` for the portable core). */
  blas: BlasLibrary;
  /** In `fast` mode: why no native library runs (the portable core then does). */
  nativeMissing?: string;
}

/** An engine, or why none could start (one line). */
export type EngineResult = { ok: true; engine: Engine } | { ok: false; reason: string };

/** Options of {@link openEngine}. */
export interface EngineOptions {
  /** Native library name or path (`fast` only; default `NOTMNIST_BLAS_LIB`, then the usual names). */
  library?: string;
  /** Threads (default `NOTMNIST_BLAS_THREADS`, then the number of cores). Never changes a bit in reproducible mode. */
  threads?: number;
}

async function portable(threads: number): Promise<EngineResult> {
  try {
    return { ok: true, engine: { blas: await createPortableBlas({ threads }) } };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: `the portable core cannot start: ${msg.split("\n")[0]}` };
  }
}

/** Opens the engine of `mode`. Never throws: a failure is returned with its reason. */
export async function openEngine(
  mode: NumericsMode,
  opts: EngineOptions = {},
): Promise<EngineResult> {
  let threads: number;
  try {
    threads = opts.threads ?? defaultBlasThreads();
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  if (mode === "reproducible") return await portable(threads);
  const load = loadBlas({ library: opts.library, threads });
  if (load.ok) return { ok: true, engine: { blas: load.blas } };
  const r = await portable(threads);
  return r.ok ? { ok: true, engine: { ...r.engine, nativeMissing: load.reason } } : r;
}
