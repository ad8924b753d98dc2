/**
 * The portable compute core: a deterministic WebAssembly SIMD SGEMM (plain
 * f32x4 mul and add, a summation order fixed by the shapes, threads that
 * split the output), the same bits on every host and thread count.
 *
 * @example
 * ```ts
 * import { createPortableBlas } from "./mod.ts";
 * const blas = await createPortableBlas();
 * const c = new Float32Array(1);
 * blas.sgemm(false, false, 1, 1, 2, 1, new Float32Array([1, 2]), 2, new Float32Array([3, 4]), 1, 0, c, 1);
 * console.log(c[0]); // 11
 * blas.close();
 * ```
 *
 * @module
 */
export { createPortableBlas, PortableBlas, PortableBlasError } from "./portable_blas.ts";
export type { PortableBlasOptions, PortableTiming } from "./portable_blas.ts";
export { PortableMemoryError } from "./gemm_memory.ts";
export { BLOCKING, chooseTile, TILE, TILES, WIDE_TILE, WIDE_TILES } from "./gemm_plan.ts";
export type { Blocking, GemmCall, TiledCall } from "./gemm_plan.ts";
export type { TileShape } from "./gemm_module.ts";
