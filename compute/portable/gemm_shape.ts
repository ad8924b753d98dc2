/**
 * The shapes the portable SGEMM's code is generated for: the register tiles
 * and the unrolled depths, and the names of the functions generated for them.
 * No imports: the GEMM Workers load it (through gemm_plan.ts) without loading
 * the code generator.
 *
 * @module
 */

/** The register tile of the micro kernel: `mr` rows by `nr` columns (`nr` a multiple of 4). */
export interface TileShape {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile (a multiple of 4). */
  nr: number;
}

/** Depths the macro kernels are unrolled for (largest first; a depth block is one of them). */
export const UNROLLS: readonly number[] = [128, 64, 32, 16, 8, 4, 2, 1];

/** The exported name of `tile`'s macro kernel for depth `u`. */
export function macroName({ mr, nr }: TileShape, u: number): `macro_${string}` {
  return `macro_${mr}x${nr}_${u}`;
}

/** The exported name of the packer of full B panels `nr` wide. */
export function packName(nr: number): `pack_b_${number}` {
  return `pack_b_${nr}`;
}
