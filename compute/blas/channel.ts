/**
 * The wire format of the remote BLAS (see `remote_blas.ts`): one growable
 * `SharedArrayBuffer` per channel, an int32/float32 request header, operation
 * and refusal codes, and the serving side's hostile-input checks - every
 * request is copied out of shared memory ({@link readRequest}) before it is
 * checked against the buffer's current length ({@link checkRequest}).
 *
 * ```ts
 * import { checkRequest, createBlasChannel, OP, readRequest } from "./channel.ts";
 *
 * const channel = createBlasChannel(1 << 20);
 * channel.ints[1] = OP.saxpy;
 * channel.ints[6] = 1 << 29; // n: far more values than the buffer holds
 * console.log(checkRequest(readRequest(channel), 1000)); // 5: outside the buffer
 * ```
 *
 * @module
 */

/** Bytes before the data area: the request header (int32 / float32 slots). */
export const HEADER_BYTES = 128;
/** Default initial size of a channel's buffer, bytes. */
export const DEFAULT_CHANNEL_BYTES = 16 << 20;
/** Default largest size a channel's buffer may grow to, bytes. */
export const DEFAULT_CHANNEL_MAX_BYTES = 1 << 30;

/** Slots of the int32 header. */
export const SLOT = {
  state: 0,
  op: 1,
  status: 2,
  transA: 3,
  transB: 4,
  m: 5,
  n: 6,
  k: 7,
  lda: 8,
  ldb: 9,
  ldc: 10,
  offA: 11,
  offB: 12,
  offC: 13,
  alpha: 14,
  beta: 15,
  seq: 16,
  bufA: 17,
  bufB: 18,
  bufC: 19,
} as const;
const INT_SLOTS = 20;

/** Buffer ids of an operand: the channel's data area, or the requester's shared wasm heap. */
export const BUFFER = { channel: 0, heap: 1 } as const;

/** Values of the state slot. */
export const STATE = { idle: 0, request: 1, busy: 2, done: 3 } as const;
/** Operation codes. */
export const OP = { sgemm: 1, sgemv: 2, saxpy: 3 } as const;

/** Why a request was refused (the status slot; 0 is success). */
export const REFUSAL: Record<number, string> = {
  1: "unknown operation",
  2: "a size is not an integer in [0, 2^30]",
  3: "a transpose flag is not 0 or 1",
  4: "a leading dimension is smaller than its matrix's row length or above 2^30",
  5: "an operand extends outside the shared buffer",
  6: "an offset is negative or not an integer",
  7: "the native BLAS call failed",
  8: "an operand names an unknown buffer, or a shared heap that was never registered",
};

/** The shared memory of one channel: the buffer and its header views. */
export interface BlasChannel {
  /** The growable shared buffer (header, then float32 data). */
  readonly buffer: SharedArrayBuffer;
  /** Int32 view of the header. */
  readonly ints: Int32Array;
  /** Float32 view of the header (alpha, beta slots). */
  readonly floats: Float32Array;
}

/** Creates a channel's buffer: `bytes` now, growable to `maxBytes`. */
export function createBlasChannel(
  bytes: number = DEFAULT_CHANNEL_BYTES,
  maxBytes: number = DEFAULT_CHANNEL_MAX_BYTES,
): BlasChannel {
  const size = Math.max(HEADER_BYTES, Math.ceil(bytes / 64) * 64);
  const buffer = new SharedArrayBuffer(size, { maxByteLength: Math.max(size, maxBytes) });
  return openBlasChannel(buffer);
}

/** Wraps a buffer received from another isolate (throws on a non-shared or too small one). */
export function openBlasChannel(buffer: SharedArrayBuffer): BlasChannel {
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_BYTES) {
    throw new TypeError("a BLAS channel needs a SharedArrayBuffer of at least 128 bytes");
  }
  return {
    buffer,
    ints: new Int32Array(buffer, 0, INT_SLOTS),
    floats: new Float32Array(buffer, 0, INT_SLOTS),
  };
}

/** A request as copied out of shared memory (plain numbers, no longer shared). */
export interface BlasRequest {
  /** Operation code ({@link OP}). */
  op: number;
  /** Transpose flags. */
  transA: number;
  /** Transpose flag of B (sgemm only). */
  transB: number;
  /** Sizes. */
  m: number;
  /** Sizes. */
  n: number;
  /** Sizes. */
  k: number;
  /** Leading dimensions. */
  lda: number;
  /** Leading dimension of B. */
  ldb: number;
  /** Leading dimension of C. */
  ldc: number;
  /** Element offsets into the data area. */
  offA: number;
  /** Element offset of B (sgemm) or x (sgemv, saxpy). */
  offB: number;
  /** Element offset of C (sgemm) or y (sgemv, saxpy). */
  offC: number;
  /** Scalars. */
  alpha: number;
  /** Scalar beta. */
  beta: number;
  /** Buffer id ({@link BUFFER}) of A. */
  bufA: number;
  /** Buffer id of B (or x). */
  bufB: number;
  /** Buffer id of C (or y). */
  bufC: number;
}

/** Copies the request fields out of shared memory, once each, before anything checks them. */
export function readRequest(channel: BlasChannel): BlasRequest {
  const h = channel.ints.slice(0, INT_SLOTS);
  const f = channel.floats.slice(0, INT_SLOTS);
  return {
    op: h[SLOT.op],
    transA: h[SLOT.transA],
    transB: h[SLOT.transB],
    m: h[SLOT.m],
    n: h[SLOT.n],
    k: h[SLOT.k],
    lda: h[SLOT.lda],
    ldb: h[SLOT.ldb],
    ldc: h[SLOT.ldc],
    offA: h[SLOT.offA],
    offB: h[SLOT.offB],
    offC: h[SLOT.offC],
    alpha: f[SLOT.alpha],
    beta: f[SLOT.beta],
    bufA: h[SLOT.bufA],
    bufB: h[SLOT.bufB],
    bufC: h[SLOT.bufC],
  };
}

const MAX_DIM = 1 << 30;

/** Elements a row-major `rows x cols` matrix with leading dimension `ld` spans (0 when empty). */
export function extent(rows: number, cols: number, ld: number): number {
  return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
}

/** One operand of a checked request: buffer, element offset and element count. */
export interface Span {
  /** Buffer id ({@link BUFFER}). */
  buffer: number;
  /** Offset in float32 elements from the start of that buffer's area. */
  offset: number;
  /** Number of elements. */
  length: number;
}

/** A request that passed {@link checkRequest}: its operands' spans, all inside the buffer. */
export type CheckedRequest = { request: BlasRequest; spans: Span[] };

/**
 * Checks a copied request against a data area of `dataElements` float32
 * values and a shared heap of `heapElements` (negative: none registered).
 * Returns the operands' spans, or the refusal code ({@link REFUSAL}).
 */
export function checkRequest(
  r: BlasRequest,
  dataElements: number,
  heapElements = -1,
): CheckedRequest | number {
  if (r.op !== OP.sgemm && r.op !== OP.sgemv && r.op !== OP.saxpy) return 1;
  const dims = r.op === OP.saxpy ? [r.n] : r.op === OP.sgemv ? [r.m, r.n] : [r.m, r.n, r.k];
  if (!dims.every((d) => Number.isInteger(d) && d >= 0 && d <= MAX_DIM)) return 2;
  const offs = r.op === OP.saxpy ? [r.offB, r.offC] : [r.offA, r.offB, r.offC];
  if (!offs.every((o) => Number.isInteger(o) && o >= 0)) return 6;
  const ldOk = (ld: number, rowLength: number): boolean =>
    Number.isInteger(ld) && ld >= Math.max(1, rowLength) && ld <= MAX_DIM;
  let spans: Omit<Span, "buffer">[];
  if (r.op === OP.sgemm) {
    if ((r.transA !== 0 && r.transA !== 1) || (r.transB !== 0 && r.transB !== 1)) return 3;
    // Stored shapes: A is m x k (k x m transposed), B is k x n (n x k transposed), C is m x n.
    const [aRows, aCols] = r.transA ? [r.k, r.m] : [r.m, r.k];
    const [bRows, bCols] = r.transB ? [r.n, r.k] : [r.k, r.n];
    if (!ldOk(r.lda, aCols) || !ldOk(r.ldb, bCols) || !ldOk(r.ldc, r.n)) return 4;
    spans = [
      { offset: r.offA, length: extent(aRows, aCols, r.lda) },
      { offset: r.offB, length: extent(bRows, bCols, r.ldb) },
      { offset: r.offC, length: extent(r.m, r.n, r.ldc) },
    ];
  } else if (r.op === OP.sgemv) {
    if (r.transA !== 0 && r.transA !== 1) return 3;
    if (!ldOk(r.lda, r.n)) return 4;
    spans = [
      { offset: r.offA, length: extent(r.m, r.n, r.lda) },
      { offset: r.offB, length: r.transA ? r.m : r.n },
      { offset: r.offC, length: r.transA ? r.n : r.m },
    ];
  } else {
    spans = [{ offset: r.offB, length: r.n }, { offset: r.offC, length: r.n }];
  }
  const ids = r.op === OP.saxpy ? [r.bufB, r.bufC] : [r.bufA, r.bufB, r.bufC];
  const sizes: Record<number, number> = { [BUFFER.channel]: dataElements };
  if (heapElements >= 0) sizes[BUFFER.heap] = heapElements;
  if (!ids.every((id) => id in sizes)) return 8;
  // Offsets and lengths are integers below 2^61 here; a sum past the buffer is refused.
  if (spans.some((s, i) => s.offset + s.length > sizes[ids[i]])) return 5;
  return { request: r, spans: spans.map((s, i) => ({ ...s, buffer: ids[i] })) };
}

/** Milliseconds either side polls the channel's state before sleeping on it. */
export const POLL_MS = 0.03;

/** Polls `ints[SLOT.state]` for up to `ms` milliseconds; whether it became `state`. */
export function pollUntil(ints: Int32Array, state: number, ms: number): boolean {
  const end = performance.now() + ms;
  for (;;) {
    for (let i = 0; i < 64; i++) if (Atomics.load(ints, SLOT.state) === state) return true;
    if (performance.now() > end) return false;
  }
}
