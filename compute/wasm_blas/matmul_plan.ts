/**
 * Shape logic of a batched matrix product: inner/outer sizes, the broadcast of
 * the batch dimensions, and which input matrix feeds each output matrix.
 *
 * @module
 */

/** How one `op(A) x op(B)` over batch dimensions maps to plain GEMM calls. */
export interface MatMulPlan {
  /** Output shape: broadcast batch dims, then `[m, n]`. */
  outShape: number[];
  /** Rows of `op(A)` and of the output. */
  m: number;
  /** Columns of `op(B)` and of the output. */
  n: number;
  /** Inner dimension. */
  k: number;
  /** For each output matrix, the index of its `A` matrix. */
  aIndex: Int32Array;
  /** For each output matrix, the index of its `B` matrix. */
  bIndex: Int32Array;
  /**
   * Whether every output matrix uses the single `B` and `A` is not transposed,
   * so the whole batch is one GEMM with `m * batch` rows.
   */
  foldBatch: boolean;
}

/**
 * Plans `matMul(a, b, transposeA, transposeB)` for tensors of rank >= 2 whose
 * leading dimensions broadcast (numpy rules). Throws on mismatched shapes with
 * the same wording as tfjs.
 */
export function planMatMul(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): MatMulPlan {
  const ra = aShape.length;
  const rb = bShape.length;
  if (ra < 2 || rb < 2) {
    throw new Error(`matMul needs rank >= 2 inputs, got shapes [${aShape}] and [${bShape}]`);
  }
  const k = transposeA ? aShape[ra - 2] : aShape[ra - 1];
  const kb = transposeB ? bShape[rb - 1] : bShape[rb - 2];
  const m = transposeA ? aShape[ra - 1] : aShape[ra - 2];
  const n = transposeB ? bShape[rb - 2] : bShape[rb - 1];
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ` +
        `${aShape} and ${bShape} and transposeA=${transposeA} and transposeB=${transposeB} ` +
        `must match.`,
    );
  }
  const aOuter = aShape.slice(0, -2);
  const bOuter = bShape.slice(0, -2);
  const rank = Math.max(aOuter.length, bOuter.length);
  const outer: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = aOuter[aOuter.length - rank + i] ?? 1;
    const db = bOuter[bOuter.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `Operands could not be broadcast together with shapes ${aOuter} and ${bOuter}.`,
      );
    }
    outer.push(Math.max(da, db));
  }
  const batch = outer.reduce((p, d) => p * d, 1);
  const aIndex = new Int32Array(batch);
  const bIndex = new Int32Array(batch);
  const coord = new Array<number>(rank).fill(0);
  for (let i = 0; i < batch; i++) {
    let rem = i;
    for (let d = rank - 1; d >= 0; d--) {
      coord[d] = rem % outer[d];
      rem = Math.floor(rem / outer[d]);
    }
    aIndex[i] = flatIndex(coord, aOuter);
    bIndex[i] = flatIndex(coord, bOuter);
  }
  const bBatch = bOuter.reduce((p, d) => p * d, 1);
  const aBatch = aOuter.reduce((p, d) => p * d, 1);
  const foldBatch = bBatch === 1 && aBatch === batch && !transposeA;
  return { outShape: [...outer, m, n], m, n, k, aIndex, bIndex, foldBatch };
}

/** Flat index into `shape` (right-aligned against `coord`, size-1 dims broadcast). */
function flatIndex(coord: readonly number[], shape: readonly number[]): number {
  const off = coord.length - shape.length;
  let idx = 0;
  for (let d = 0; d < shape.length; d++) {
    idx = idx * shape[d] + (shape[d] === 1 ? 0 : coord[off + d]);
  }
  return idx;
}
