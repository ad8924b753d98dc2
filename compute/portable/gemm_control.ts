/**
 * The control block shared by the engine and its Workers (a small
 * `SharedArrayBuffer` of int32 slots): a generation counter the Workers wait
 * on, a done counter the caller waits on, the call, and each thread's range
 * and scratch.
 *
 * @module
 */
import type { GemmCall, GemmRange, GemmScratch } from "./gemm_plan.ts";

/** Most threads one engine runs. */
export const MAX_THREADS = 64;
/** Slot indices. */
export const SLOT = {
  gen: 0,
  done: 1,
  active: 2,
  stop: 3,
  call: 4,
  failed: 20,
  /** Workers that have started (and read the generation): parallel calls need all of them. */
  ready: 21,
  threads: 32,
} as const;
const PER_THREAD = 8;

/** A fresh control block. */
export function newControl(): SharedArrayBuffer {
  return new SharedArrayBuffer((SLOT.threads + MAX_THREADS * PER_THREAD) * 4);
}

/** Writes the call and the per-thread work (thread t gets `ranges[t]`, `scratch[t]`). */
export function writeWork(
  ctrl: SharedArrayBuffer,
  call: GemmCall,
  tile: number,
  ranges: GemmRange[],
  scratch: GemmScratch[],
): void {
  const ints = new Int32Array(ctrl);
  const floats = new Float32Array(ctrl);
  const at = SLOT.call;
  ints[at] = (call.transA ? 1 : 0) | (call.transC ? 2 : 0);
  ints[at + 1] = call.transB ? 1 : 0;
  ints.set([call.m, call.n, call.k, call.a, call.lda, call.b, call.ldb, call.c, call.ldc], at + 2);
  floats[at + 11] = call.alpha;
  floats[at + 12] = call.beta;
  ints[at + 13] = tile;
  ranges.forEach((r, t) => {
    const s = scratch[t];
    ints.set([r.r0, r.r1, r.c0, r.c1, s.pa, s.pb, s.w], SLOT.threads + t * PER_THREAD);
  });
  ints[SLOT.active] = ranges.length;
}

/** Reads what thread `t` must do, or `undefined` when it has no part in this call. */
export function readWork(
  ctrl: SharedArrayBuffer,
  t: number,
): { call: GemmCall; tile: number; range: GemmRange; scratch: GemmScratch } | undefined {
  const ints = new Int32Array(ctrl);
  const floats = new Float32Array(ctrl);
  if (t >= ints[SLOT.active]) return undefined;
  const at = SLOT.call;
  const [m, n, k, a, lda, b, ldb, c, ldc] = ints.subarray(at + 2, at + 11);
  const call: GemmCall = {
    transA: (ints[at] & 1) === 1,
    transC: (ints[at] & 2) === 2,
    transB: ints[at + 1] === 1,
    m,
    n,
    k,
    a,
    lda,
    b,
    ldb,
    c,
    ldc,
    alpha: floats[at + 11],
    beta: floats[at + 12],
  };
  const [r0, r1, c0, c1, pa, pb, w] = ints.subarray(
    SLOT.threads + t * PER_THREAD,
    SLOT.threads + t * PER_THREAD + 7,
  );
  return { call, tile: ints[at + 13], range: { r0, r1, c0, c1 }, scratch: { pa, pb, w } };
}
