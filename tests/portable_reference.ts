/**
 * Test helper: the portable SGEMM's documented summation order
 * (compute/portable/gemm_plan.ts) in plain JavaScript float32 (`Math.fround`
 * after every operation), for bit-for-bit comparisons. (tests/naive_blas.ts
 * is the other reference: it sums in double, for tolerance checks.)
 *
 * @module
 */

const f = Math.fround;

/** `C = alpha op(A) op(B) + beta C`: per element `s = +0; s = s + a*b` for k ascending, then alpha, beta. */
export function orderedSgemm(
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
  const al = f(alpha);
  const be = f(beta);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const x = transA ? a[p * lda + i] : a[i * lda + p];
        const y = transB ? b[j * ldb + p] : b[p * ldb + j];
        s = f(s + f(x * y));
      }
      const t = al === 1 ? s : f(al * s);
      c[i * ldc + j] = be === 0 ? t : f(t + f(be * c[i * ldc + j]));
    }
  }
}

/** Float32 values of mixed sign and magnitude (2^-6 .. 2^6) from a named seed: sums of them depend on order. */
export function mixedFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const mant = (s >>> 8) / 2 ** 24 + 0.5;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const exp = (s >>> 28) - 6;
    out[i] = f((s & 1 ? -1 : 1) * mant * 2 ** exp);
  }
  return out;
}

/** The indices where `x` and `y` differ as bit patterns (NaNs canonicalised). */
export function bitDiffs(x: Float32Array, y: Float32Array): number[] {
  const out: number[] = [];
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const same = Object.is(x[i], y[i]) || (Number.isNaN(x[i]) && Number.isNaN(y[i]));
    if (!same) out.push(i);
  }
  return out;
}
