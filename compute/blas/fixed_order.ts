/**
 * The reproducible face of a native BLAS: the same bits for any thread count.
 *
 * Measured on OpenBLAS 0.3.21 (docs/numerics.md): its multi-threaded SGEMM
 * splits the output among threads at positions that depend on the thread
 * count, and the Haswell kernel's edge tiles round differently from its full
 * tiles, so 1 and 2 threads give different sums (for every shape tried);
 * threaded SGEMV differs too. A single-threaded call is a fixed function of
 * its shape. So here every product is cut into fixed panels of
 * {@link PANEL} rows or columns (a function of the shape alone), each computed
 * by a single-threaded SGEMM (spread over threads by panel_pool.ts: which
 * thread computes a panel does not change its bits); SGEMV and SAXPY are
 * plain fixed-order loops in float32 (row by row, multiply then add).
 *
 * @module
 */
import type { BlasLibrary, BlasTiming } from "./library.ts";
import { type PanelCall, PanelPool } from "./panel_pool.ts";

/** Rows (or columns) of one panel of a reproducible product. */
export const PANEL = 256;

/** Products below this many multiply-adds stay on the calling thread (waking a worker costs more). */
export const PARALLEL_MIN_MACS = 1 << 21;

/** How a product of `m x n` outputs is cut: along rows when `m >= n`, else along columns. */
export interface PanelPlan {
  /** Whether the cut runs along rows (`true`) or columns. */
  rows: boolean;
  /** Start of each panel along the cut dimension; the last ends at `m` or `n`. */
  starts: number[];
  /** The size of the cut dimension. */
  size: number;
}

/** The panels of an `m x n` product: a function of the shape alone. */
export function panelPlan(m: number, n: number, panel = PANEL): PanelPlan {
  const rows = m >= n;
  const size = rows ? m : n;
  const starts: number[] = [];
  for (let s = 0; s < size; s += panel) starts.push(s);
  return { rows, starts, size };
}

/**
 * `y = alpha * op(A) * x + beta * y` in a fixed order: for each output, the
 * products `A[i][j] * x[.]` (float32) are added one after the other in index
 * order; then `alpha * sum + beta * y`. `beta = 0` ignores `y`.
 */
export function fixedOrderSgemv(
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
  const f = Math.fround;
  const len = transA ? n : m;
  const acc = new Float32Array(len);
  if (transA) {
    // Column sums, row by row: acc[j] += A[i][j] * x[i].
    for (let i = 0; i < m; i++) {
      const xi = x[i];
      const row = i * lda;
      if (xi === 1) {
        for (let j = 0; j < n; j++) acc[j] += a[row + j];
      } else {
        for (let j = 0; j < n; j++) acc[j] += f(a[row + j] * xi);
      }
    }
  } else {
    for (let i = 0; i < m; i++) {
      const row = i * lda;
      let s = 0;
      for (let j = 0; j < n; j++) s = f(s + f(a[row + j] * x[j]));
      acc[i] = s;
    }
  }
  for (let i = 0; i < len; i++) {
    const scaled = alpha === 1 ? acc[i] : f(alpha * acc[i]);
    y[i] = beta === 0 ? scaled : f(scaled + f(beta * y[i]));
  }
}

/** `y += alpha * x` over `n` elements in float32, multiply then add. */
export function fixedOrderSaxpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void {
  const f = Math.fround;
  for (let i = 0; i < n; i++) y[i] = f(y[i] + f(alpha * x[i]));
}

/** The panels of one product as SGEMM calls, in panel order. */
export function panelCalls(
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
): PanelCall[] {
  const plan = panelPlan(m, n);
  return plan.starts.map((s) => {
    const size = Math.min(plan.size, s + PANEL) - s;
    return plan.rows
      ? {
        transA,
        transB,
        m: size,
        n,
        k,
        alpha,
        a: transA ? a.subarray(s) : a.subarray(s * lda),
        lda,
        b,
        ldb,
        beta,
        c: c.subarray(s * ldc),
        ldc,
      }
      : {
        transA,
        transB,
        m,
        n: size,
        k,
        alpha,
        a,
        lda,
        b: transB ? b.subarray(s * ldb) : b.subarray(s),
        ldb,
        beta,
        c: c.subarray(s),
        ldc,
      };
  });
}

/** Options of {@link reproducibleBlas}. */
export interface ReproducibleBlasOptions {
  /** Threads computing panels (default `inner.threads`, else 1); never changes the bits. */
  threads?: number;
}

/**
 * Wraps an OpenBLAS `inner` (already loaded with the pinned kernel) so that
 * every call gives the same bits for any thread count: SGEMM in fixed panels,
 * each a single-threaded call, spread over `threads` threads; SGEMV and SAXPY
 * as fixed-order loops. `setThreads` changes the number of panel threads.
 */
export function reproducibleBlas(
  inner: BlasLibrary,
  opts: ReproducibleBlasOptions = {},
): BlasLibrary {
  let threads = Math.max(1, opts.threads ?? inner.threads ?? 1);
  let pool: PanelPool | undefined;
  inner.setThreads(1);
  const timing: BlasTiming = inner.timing;
  const timed = <A extends unknown[]>(f: (...args: A) => void) => (...args: A): void => {
    if (!timing.enabled) return f(...args);
    const t0 = performance.now();
    f(...args);
    timing.ms += performance.now() - t0;
    timing.calls++;
  };
  // The inner calls must not be timed twice.
  const raw = (fn: () => void): void => {
    const was = timing.enabled;
    timing.enabled = false;
    try {
      fn();
    } finally {
      timing.enabled = was;
    }
  };
  const local = (p: PanelCall): void =>
    inner.sgemm(
      p.transA,
      p.transB,
      p.m,
      p.n,
      p.k,
      p.alpha,
      p.a,
      p.lda,
      p.b,
      p.ldb,
      p.beta,
      p.c,
      p.ldc,
    );
  const face: BlasLibrary & { threads: number } = {
    library: inner.library,
    family: inner.family,
    coreType: inner.coreType,
    threads,
    timing,
    sgemm: timed((transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc): void => {
      const calls = panelCalls(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      raw(() => {
        if (threads > 1 && calls.length > 1 && m * n * k >= PARALLEL_MIN_MACS) {
          pool ??= new PanelPool(inner.library, threads - 1);
          pool.run(calls, local);
        } else {
          for (const call of calls) local(call);
        }
      });
    }),
    sgemv: timed(fixedOrderSgemv),
    saxpy: timed(fixedOrderSaxpy),
    setThreads: (n: number): boolean => {
      if (!Number.isInteger(n) || n < 1) return false;
      if (n !== threads) {
        pool?.close();
        pool = undefined;
        threads = n;
        face.threads = n;
      }
      return true;
    },
    close: () => {
      pool?.close();
      pool = undefined;
      inner.close();
    },
  };
  return face;
}
