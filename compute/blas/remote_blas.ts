/**
 * A {@link BlasLibrary} served across isolates: code without FFI (a Worker
 * whose permissions are all off) asks the isolate that loaded the native BLAS
 * to run `sgemm` / `sgemv` / `saxpy` on a growable `SharedArrayBuffer`, and
 * waits on `Atomics`.
 *
 * The serving side treats every request as hostile: it copies the request's
 * operation, sizes, leading dimensions and offsets out of shared memory
 * before looking at them ({@link readRequest}), checks them against the
 * buffer's current length ({@link checkRequest}), and refuses anything else
 * with a status code; it never reads or writes memory outside the buffer and
 * never throws for a bad request.
 *
 * ```ts
 * import { checkRequest, createBlasChannel, OP, readRequest } from "./remote_blas.ts";
 *
 * // The serving side (the isolate holding FFI) creates the channel and hands
 * // `channel.buffer` to a Worker, which wraps it with remoteBlasLibrary().
 * const channel = createBlasChannel(1 << 20);
 * // Every request is copied out of shared memory, then checked, then run:
 * channel.ints[1] = OP.saxpy;
 * channel.ints[6] = 1 << 29; // n: far more values than the buffer holds
 * console.log(checkRequest(readRequest(channel), 1000)); // 5: outside the buffer
 * ```
 *
 * @module
 */
import type { BlasFamily, BlasLibrary, BlasTiming } from "./library.ts";

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

/** Outcome of {@link serveOne}: no request pending, or a request answered with a status. */
export type ServeStatus = "idle" | { status: number };

/**
 * Answers the pending request of `channel`, if any, with `blas`: claims it,
 * copies and checks it, runs it on views of the buffer, writes the status and
 * wakes the requester. Never throws for what the other side wrote.
 */
export function serveOne(
  channel: BlasChannel,
  blas: BlasLibrary,
  heap?: WebAssembly.Memory,
): ServeStatus {
  const { ints, buffer } = channel;
  if (Atomics.compareExchange(ints, SLOT.state, STATE.request, STATE.busy) !== STATE.request) {
    return "idle";
  }
  // Both buffers only grow: lengths read now bound every view made below.
  const dataElements = Math.floor((buffer.byteLength - HEADER_BYTES) / 4);
  const heapBuffer = heap?.buffer;
  const heapElements = heapBuffer ? Math.floor(heapBuffer.byteLength / 4) : -1;
  const checked = checkRequest(readRequest(channel), dataElements, heapElements);
  let status = 0;
  if (typeof checked === "number") {
    status = checked;
  } else {
    try {
      run(buffer, heapBuffer, checked, blas);
    } catch {
      status = 7;
    }
  }
  Atomics.store(ints, SLOT.status, status);
  Atomics.store(ints, SLOT.state, STATE.done);
  Atomics.notify(ints, SLOT.state);
  return { status };
}

function run(
  buffer: SharedArrayBuffer,
  heap: ArrayBufferLike | undefined,
  checked: CheckedRequest,
  blas: BlasLibrary,
): void {
  const r = checked.request;
  // Typed-array constructors check the range again: a view can never reach past the buffer.
  const view = (s: Span): Float32Array =>
    s.buffer === BUFFER.heap
      ? new Float32Array(heap!, s.offset * 4, s.length)
      : new Float32Array(buffer, HEADER_BYTES + s.offset * 4, s.length);
  const [s0, s1, s2] = checked.spans;
  if (r.op === OP.sgemm) {
    if (r.m === 0 || r.n === 0) return;
    blas.sgemm(
      r.transA === 1,
      r.transB === 1,
      r.m,
      r.n,
      r.k,
      r.alpha,
      view(s0),
      r.lda,
      view(s1),
      r.ldb,
      r.beta,
      view(s2),
      r.ldc,
    );
  } else if (r.op === OP.sgemv) {
    if (r.m === 0 || r.n === 0) return;
    blas.sgemv(r.transA === 1, r.m, r.n, r.alpha, view(s0), r.lda, view(s1), r.beta, view(s2));
  } else {
    if (r.n === 0) return;
    blas.saxpy(r.n, r.alpha, view(s0), view(s1));
  }
}

/** What the serving side tells the requester about its library. */
export interface RemoteBlasInfo {
  /** Library name as loaded by the server. */
  library: string;
  /** Its family. */
  family: BlasFamily;
  /** OpenBLAS core type, when known. */
  coreType?: string;
  /** Threads, when set. */
  threads?: number;
}

/** A {@link BlasLibrary} whose calls are served by another isolate over a shared buffer. */
export interface SharedBlasLibrary extends BlasLibrary {
  /** The channel's buffer: float32 arrays placed on it by {@link allocShared} pass without copies. */
  readonly shared: SharedArrayBuffer;
  /**
   * A zero-filled float32 array of `n` values on the shared buffer (bump
   * allocation, never freed until {@link resetShared}): operands placed there
   * are passed by offset instead of copied.
   */
  allocShared(n: number): Float32Array;
  /** Forgets every array from {@link allocShared} (their memory is reused). */
  resetShared(): void;
  /**
   * Registers the requester's wasm heap when it is a shared memory: operands
   * on it then pass by offset, without copies. Returns whether it was taken.
   */
  shareHeap(memory: WebAssembly.Memory): boolean;
  /**
   * The shared wasm heap taken by {@link shareHeap}, if any: arrays on it
   * (views made before or after it grows) pass by offset, without copies.
   */
  sharedHeap(): WebAssembly.Memory | undefined;
}

/** Options of {@link remoteBlasLibrary}. */
export interface RemoteBlasOptions {
  /** Hands a shared wasm heap to the serving isolate (e.g. by `postMessage`). */
  onHeap?: (memory: WebAssembly.Memory) => void;
}

/** Whether `blas` is a {@link SharedBlasLibrary} (fused code can then place arrays on its buffer). */
export function isSharedBlas(blas: BlasLibrary): blas is SharedBlasLibrary {
  return "allocShared" in blas && "shared" in blas;
}

/**
 * The requesting side: a {@link SharedBlasLibrary} over `buffer` whose every
 * call is answered by a server ({@link serveOne} in a loop) in the isolate
 * that holds the native library. Arrays that are not views of the buffer are
 * copied in (and the output copied back). Throws an `Error` naming the
 * refusal when the server refuses a request.
 */
export function remoteBlasLibrary(
  buffer: SharedArrayBuffer,
  info: RemoteBlasInfo,
  opts: RemoteBlasOptions = {},
): SharedBlasLibrary {
  let heap: WebAssembly.Memory | undefined;
  const channel = openBlasChannel(buffer);
  const { ints, floats } = channel;
  const timing: BlasTiming = { enabled: false, ms: 0, calls: 0 };
  const base = HEADER_BYTES;
  let arenaTop = base; // bytes: end of allocShared's arrays
  let scratch = base; // bytes: next free byte of the current call's copies

  const ensure = (endByte: number): void => {
    if (endByte <= buffer.byteLength) return;
    if (endByte > buffer.maxByteLength) {
      throw new RangeError(
        `remote BLAS: a call needs ${endByte} bytes of shared memory, ` +
          `more than the channel's ${buffer.maxByteLength}`,
      );
    }
    // Double (fewer grows), but never past the maximum.
    buffer.grow(Math.min(buffer.maxByteLength, Math.max(endByte, buffer.byteLength * 2)));
  };
  // Every buffer object the heap has had: a shared memory's `buffer` is a new
  // object after each growth, and views made before stay valid (never detached).
  const heapBuffers = new Set<ArrayBufferLike>();
  const onHeap = (arr: Float32Array): boolean => {
    if (heap === undefined) return false;
    heapBuffers.add(heap.buffer);
    return heapBuffers.has(arr.buffer) && arr.byteOffset % 4 === 0;
  };
  const onChannel = (arr: Float32Array): boolean => arr.buffer === buffer && arr.byteOffset >= base;
  /** Buffer id and element offset of an operand: its own on a shared buffer, else a copy's. */
  const place = (arr: Float32Array, length: number, copyIn: boolean): [number, number] => {
    if (arr.length < length) {
      throw new RangeError(
        `remote BLAS: an operand has ${arr.length} values, the call reads ${length}`,
      );
    }
    if (onHeap(arr)) return [BUFFER.heap, arr.byteOffset / 4];
    if (onChannel(arr)) return [BUFFER.channel, (arr.byteOffset - base) / 4];
    const start = Math.ceil(scratch / 64) * 64;
    ensure(start + length * 4);
    scratch = start + length * 4;
    if (copyIn && length > 0) new Float32Array(buffer, start, length).set(arr.subarray(0, length));
    return [BUFFER.channel, (start - base) / 4];
  };
  const copyOut = (arr: Float32Array, offset: number, length: number): void => {
    if (length === 0 || onChannel(arr) || onHeap(arr)) return;
    arr.set(new Float32Array(buffer, base + offset * 4, length));
  };
  const call = (
    op: number,
    fields: Partial<Record<keyof typeof SLOT, number>>,
    alpha: number,
    beta: number,
  ): void => {
    for (const [k, v] of Object.entries(fields)) ints[SLOT[k as keyof typeof SLOT]] = v as number;
    floats[SLOT.alpha] = alpha;
    floats[SLOT.beta] = beta;
    ints[SLOT.op] = op;
    Atomics.store(ints, SLOT.status, 0);
    Atomics.add(ints, SLOT.seq, 1);
    Atomics.store(ints, SLOT.state, STATE.request);
    Atomics.notify(ints, SLOT.state);
    // Small products are answered within microseconds: poll briefly before sleeping
    // (a futex wake-up costs tens of microseconds each way).
    if (!pollUntil(ints, STATE.done, POLL_MS)) {
      for (;;) {
        const s = Atomics.load(ints, SLOT.state);
        if (s === STATE.done) break;
        Atomics.wait(ints, SLOT.state, s, 1000);
      }
    }
    const status = Atomics.load(ints, SLOT.status);
    Atomics.store(ints, SLOT.state, STATE.idle);
    if (status !== 0) {
      throw new Error(`remote BLAS refused the call: ${REFUSAL[status] ?? `status ${status}`}`);
    }
  };
  const timed = <A extends unknown[]>(f: (...args: A) => void) => (...args: A): void => {
    scratch = arenaTop;
    if (!timing.enabled) return f(...args);
    const t0 = performance.now();
    f(...args);
    timing.ms += performance.now() - t0;
    timing.calls++;
  };
  return {
    library: `${info.library} (served to a worker)`,
    family: info.family,
    coreType: info.coreType,
    threads: info.threads,
    timing,
    shared: buffer,
    sgemm: timed((transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc): void => {
      const aLen = transA ? extent(k, m, lda) : extent(m, k, lda);
      const bLen = transB ? extent(n, k, ldb) : extent(k, n, ldb);
      const cLen = extent(m, n, ldc);
      const [bufA, offA] = place(a, aLen, true);
      const [bufB, offB] = place(b, bLen, true);
      const [bufC, offC] = place(c, cLen, beta !== 0);
      call(
        OP.sgemm,
        {
          bufA,
          bufB,
          bufC,
          transA: transA ? 1 : 0,
          transB: transB ? 1 : 0,
          m,
          n,
          k,
          lda,
          ldb,
          ldc,
          offA,
          offB,
          offC,
        },
        alpha,
        beta,
      );
      copyOut(c, offC, cLen);
    }),
    sgemv: timed((transA, m, n, alpha, a, lda, x, beta, y): void => {
      const [bufA, offA] = place(a, extent(m, n, lda), true);
      const xLen = transA ? m : n;
      const yLen = transA ? n : m;
      const [bufB, offB] = place(x, xLen, true);
      const [bufC, offC] = place(y, yLen, beta !== 0);
      call(
        OP.sgemv,
        { transA: transA ? 1 : 0, m, n, lda, offA, offB, offC, bufA, bufB, bufC },
        alpha,
        beta,
      );
      copyOut(y, offC, yLen);
    }),
    saxpy: timed((n, alpha, x, y): void => {
      const [bufB, offB] = place(x, n, true);
      const [bufC, offC] = place(y, n, true);
      call(OP.saxpy, { n, offB, offC, bufB, bufC }, alpha, 0);
      copyOut(y, offC, n);
    }),
    allocShared(n: number): Float32Array {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`allocShared: bad length ${n}`);
      const start = Math.ceil(arenaTop / 64) * 64;
      ensure(start + n * 4);
      arenaTop = start + n * 4;
      const out = new Float32Array(buffer, start, n);
      out.fill(0);
      return out;
    },
    resetShared(): void {
      arenaTop = base;
    },
    shareHeap(memory: WebAssembly.Memory): boolean {
      if (heap !== undefined || !(memory.buffer instanceof SharedArrayBuffer)) return false;
      if (opts.onHeap === undefined) return false;
      heap = memory;
      opts.onHeap(memory);
      return true;
    },
    sharedHeap: () => heap,
    setThreads: () => false,
    close(): void {},
  };
}

/** Milliseconds either side polls the channel's state before sleeping on it. */
const POLL_MS = 0.03;

/** Polls `ints[SLOT.state]` for up to `ms` milliseconds; whether it became `state`. */
function pollUntil(ints: Int32Array, state: number, ms: number): boolean {
  const end = performance.now() + ms;
  for (;;) {
    for (let i = 0; i < 64; i++) if (Atomics.load(ints, SLOT.state) === state) return true;
    if (performance.now() > end) return false;
  }
}

/** Options of {@link serveBlas}. */
export interface ServeOptions {
  /** Stops the loop when it returns true (checked between requests). */
  stop: () => boolean;
  /** Milliseconds to wait synchronously for the next request before yielding (default 2). */
  spinMs?: number;
  /** The requester's shared wasm heap, once it has arrived (by message). */
  heap?: () => WebAssembly.Memory | undefined;
}

/** Most milliseconds a request naming the heap waits for the heap's message before being served. */
const HEAP_WAIT_MS = 1000;

/**
 * Serves requests until `opts.stop()`: waits synchronously a little for each
 * next request (low latency during training), then asynchronously (the
 * isolate's event loop keeps running: messages, timers).
 */
export async function serveBlas(
  channel: BlasChannel,
  blas: BlasLibrary,
  opts: ServeOptions,
): Promise<void> {
  const { ints } = channel;
  const spin = opts.spinMs ?? 2;
  let lastYield = performance.now();
  let heapWait = 0;
  while (!opts.stop()) {
    const heap = opts.heap?.();
    // The heap travels by message: a request naming it may arrive first. Let the message in
    // (a peek only decides whether to wait; the request is copied and checked when served).
    if (heap === undefined && Atomics.load(ints, SLOT.state) === STATE.request) {
      const names = [SLOT.bufA, SLOT.bufB, SLOT.bufC].some((k) => ints[k] === BUFFER.heap);
      if (names && heapWait < HEAP_WAIT_MS) {
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, 1));
        heapWait += performance.now() - t0;
        continue;
      }
    }
    if (serveOne(channel, blas, heap) !== "idle") {
      // A long run of requests still lets the event loop in now and then.
      if (performance.now() - lastYield > 50) {
        await new Promise((r) => setTimeout(r, 0));
        lastYield = performance.now();
      }
      continue;
    }
    // The next request usually follows within microseconds: poll briefly before sleeping.
    if (pollUntil(ints, STATE.request, POLL_MS)) continue;
    const s = Atomics.load(ints, SLOT.state);
    if (s === STATE.request) continue;
    if (Atomics.wait(ints, SLOT.state, s, spin) === "timed-out") {
      const w = Atomics.waitAsync(ints, SLOT.state, s, 100);
      if (w.async) {
        // A pending waitAsync does not keep the event loop alive; a timer does.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([w.value, new Promise((r) => (timer = setTimeout(r, 100)))]);
        clearTimeout(timer);
      }
      lastYield = performance.now();
    }
  }
}
