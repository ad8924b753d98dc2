/**
 * The shared-memory layout between panel_pool.ts (main thread) and
 * panel_worker.ts: control words, then up to {@link MAX_JOBS} SGEMM calls
 * (integer arguments, alpha/beta, three pointers).
 *
 * @module
 */

/** Most panels one worker takes per product. */
export const MAX_JOBS = 64;
/** Integer arguments per job: transA, transB, m, n, k, lda, ldb, ldc. */
export const JOB_INTS = 8;
/** Float arguments per job: alpha, beta. */
export const JOB_FLOATS = 2;

/** Indices of the control words. */
export const STATE = {
  /** 1 while jobs are posted and not done; -1 asks the worker to stop. */
  posted: 0,
  /** Number of jobs posted. */
  count: 1,
  /** 1 once the worker has loaded the library, -1 when it could not or a call threw. */
  ready: 2,
  /** Jobs of the current batch the worker has finished. */
  done: 3,
} as const;

const CTL_BYTES = 64;

/** Bytes of the shared buffer. */
export const SAB_BYTES = CTL_BYTES + MAX_JOBS * (JOB_INTS * 4 + JOB_FLOATS * 4 + 3 * 8);

/** Typed views of a worker's shared buffer. */
export interface PanelViews {
  /** Control words ({@link STATE}). */
  ctl: Int32Array;
  /** Integer arguments, {@link JOB_INTS} per job. */
  ints: Int32Array;
  /** alpha and beta per job. */
  floats: Float32Array;
  /** Addresses of A, B and C per job. */
  ptrs: BigInt64Array;
}

/** Byte offsets of the views and indices of the control words (for the worker's source). */
export function viewOffsets(): {
  ctlInts: number;
  ptrOff: number;
  intOff: number;
  floatOff: number;
  posted: number;
  count: number;
  ready: number;
  done: number;
} {
  const ptrOff = CTL_BYTES;
  const intOff = ptrOff + MAX_JOBS * 3 * 8;
  const floatOff = intOff + MAX_JOBS * JOB_INTS * 4;
  return { ctlInts: CTL_BYTES / 4, ptrOff, intOff, floatOff, ...STATE };
}

/** The views of `sab` (made with {@link SAB_BYTES} bytes). */
export function layout(sab: SharedArrayBuffer): PanelViews {
  const { ptrOff, intOff, floatOff } = viewOffsets();
  return {
    ctl: new Int32Array(sab, 0, CTL_BYTES / 4),
    ptrs: new BigInt64Array(sab, ptrOff, MAX_JOBS * 3),
    ints: new Int32Array(sab, intOff, MAX_JOBS * JOB_INTS),
    floats: new Float32Array(sab, floatOff, MAX_JOBS * JOB_FLOATS),
  };
}
