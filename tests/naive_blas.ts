/**
 * Test helper: a plain JS reference for the BLAS routines the project uses
 * (row-major, same argument order as `BlasLibrary`), summing in double.
 *
 * @module
 */
import type { BlasLibrary } from "../compute/blas/library.ts";

/** `C = alpha * op(A) * op(B) + beta * C` (row-major). */
export function naiveSgemm(
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
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (transA ? a[p * lda + i] : a[i * lda + p]) *
          (transB ? b[j * ldb + p] : b[p * ldb + j]);
      }
      c[i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * c[i * ldc + j]);
    }
  }
}

/** `y = alpha * op(A) * x + beta * y` for a row-major `m x n` matrix `A`. */
export function naiveSgemv(
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
  const rows = transA ? n : m;
  const cols = transA ? m : n;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += (transA ? a[j * lda + i] : a[i * lda + j]) * x[j];
    y[i] = alpha * s + (beta === 0 ? 0 : beta * y[i]);
  }
}

/** `y += alpha * x` over `n` values. */
export function naiveSaxpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}

/** The routines above as a one-thread `BlasLibrary` (no native code, no shared buffer). */
export function naiveBlas(): BlasLibrary {
  return {
    library: "js",
    family: "cblas",
    timing: { enabled: false, ms: 0, calls: 0 },
    sgemm: naiveSgemm,
    sgemv: naiveSgemv,
    saxpy: naiveSaxpy,
    setThreads: () => false,
    close: () => {},
  };
}
