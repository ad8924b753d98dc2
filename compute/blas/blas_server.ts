/**
 * The serving side of the remote BLAS (see `remote_blas.ts`): the isolate that
 * loaded the native BLAS answers requests on a channel ({@link serveOne}, and
 * {@link serveBlas}'s loop), treating each as hostile: it never reads or writes
 * outside the buffer and never throws for a bad request.
 *
 * @module
 */
import type { BlasLibrary } from "./library.ts";
import {
  type BlasChannel,
  BUFFER,
  type CheckedRequest,
  checkRequest,
  HEADER_BYTES,
  OP,
  POLL_MS,
  pollUntil,
  readRequest,
  SLOT,
  type Span,
  STATE,
} from "./channel.ts";

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
