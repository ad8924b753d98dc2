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
import {
  BUFFER,
  extent,
  HEADER_BYTES,
  OP,
  openBlasChannel,
  POLL_MS,
  pollUntil,
  REFUSAL,
  SLOT,
  STATE,
} from "./channel.ts";

export * from "./channel.ts";
export { serveBlas, serveOne, type ServeOptions, type ServeStatus } from "./blas_server.ts";

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
