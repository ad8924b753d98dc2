/**
 * Threads for reproducible products without changing their bits: the fixed
 * panels of fixed_order.ts are spread over the main thread and worker threads,
 * each panel one single-threaded SGEMM call. A panel's result does not depend
 * on which thread computes it, so any thread count gives the same bits.
 *
 * The workers share nothing with tfjs but raw addresses: the main thread
 * posts the panels' arguments and the addresses of A, B and C into a
 * SharedArrayBuffer, computes its own panels, and waits (`Atomics.wait`) for
 * the workers; the memory cannot move meanwhile because the main thread is
 * inside the call. Workers load the library asynchronously; until they are
 * ready, the main thread computes every panel.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { panelWorkerSource } from "./panel_worker.ts";
import {
  JOB_FLOATS,
  JOB_INTS,
  layout,
  MAX_JOBS,
  type PanelViews,
  SAB_BYTES,
  STATE,
} from "./panel_layout.ts";

/** One SGEMM call (row-major CBLAS arguments). */
export interface PanelCall {
  /** Transpose A. */
  transA: boolean;
  /** Transpose B. */
  transB: boolean;
  /** Rows of the output. */
  m: number;
  /** Columns of the output. */
  n: number;
  /** Inner size. */
  k: number;
  /** Scale of the product. */
  alpha: number;
  /** A, starting at the panel's first element. */
  a: Float32Array;
  /** Leading dimension of A. */
  lda: number;
  /** B, starting at the panel's first element. */
  b: Float32Array;
  /** Leading dimension of B. */
  ldb: number;
  /** Scale of the old C. */
  beta: number;
  /** C, starting at the panel's first element. */
  c: Float32Array;
  /** Leading dimension of C. */
  ldc: number;
}

interface Slot {
  worker: Worker;
  views: PanelViews;
}

function address(a: Float32Array): bigint {
  try {
    const p = Deno.UnsafePointer.of(a as Float32Array<ArrayBuffer>);
    return p === null ? 0n : BigInt(Deno.UnsafePointer.value(p));
  } catch {
    return 0n;
  }
}

/** Worker threads running single-threaded SGEMM panels for the main thread. */
export class PanelPool {
  #slots: Slot[] = [];

  /**
   * Starts `workers` worker threads that load `library` (asynchronously). A
   * runtime that cannot start one leaves the pool smaller (the main thread
   * then computes more panels: same bits).
   */
  constructor(library: string, workers: number) {
    for (let i = 0; i < workers; i++) {
      const sab = new SharedArrayBuffer(SAB_BYTES);
      // node:worker_threads, not a web Worker: it can be unref'd, so idle
      // workers blocked in Atomics.wait never keep the process alive; and an
      // eval worker needs no read access to a file.
      let worker: Worker;
      try {
        worker = new Worker(panelWorkerSource(), { eval: true });
      } catch {
        break;
      }
      worker.unref();
      worker.postMessage({ library, sab });
      this.#slots.push({ worker, views: layout(sab) });
    }
  }

  /** Number of workers that have loaded the library. */
  get ready(): number {
    return this.#slots.filter((s) => Atomics.load(s.views.ctl, STATE.ready) === 1).length;
  }

  /**
   * Runs every call: call `i` on participant `i % (1 + ready workers)`,
   * participant 0 being this thread (through `local`). Returns when all are done.
   */
  run(calls: PanelCall[], local: (call: PanelCall) => void): void {
    const slots = this.#slots.filter((s) => Atomics.load(s.views.ctl, STATE.ready) === 1);
    const parts = Math.min(1 + slots.length, calls.length);
    const posted: { slot: Slot; indices: number[] }[] = [];
    for (let w = 1; w < parts; w++) {
      const v = slots[w - 1].views;
      const indices: number[] = [];
      let count = 0;
      for (let i = w; i < calls.length; i += parts) {
        if (count === MAX_JOBS) break;
        const c = calls[i];
        const ptrs = [address(c.a), address(c.b), address(c.c)];
        if (ptrs.includes(0n)) break; // no raw address for this memory: the rest runs here
        v.ints.set(
          [c.transA ? 1 : 0, c.transB ? 1 : 0, c.m, c.n, c.k, c.lda, c.ldb, c.ldc],
          count * JOB_INTS,
        );
        v.floats.set([c.alpha, c.beta], count * JOB_FLOATS);
        v.ptrs.set(ptrs, count * 3);
        indices.push(i);
        count++;
      }
      if (count === 0) continue;
      v.ctl[STATE.count] = count;
      v.ctl[STATE.done] = 0;
      Atomics.store(v.ctl, STATE.posted, 1);
      Atomics.notify(v.ctl, STATE.posted);
      posted.push({ slot: slots[w - 1], indices });
    }
    // This thread's share, plus anything a worker did not take.
    const taken = new Set(posted.flatMap((p) => p.indices));
    for (let i = 0; i < calls.length; i++) if (!taken.has(i)) local(calls[i]);
    for (const { slot, indices } of posted) {
      const ctl = slot.views.ctl;
      while (Atomics.load(ctl, STATE.posted) === 1) Atomics.wait(ctl, STATE.posted, 1, 1000);
      // A worker whose call threw (before touching C) stops taking panels; its
      // unfinished ones run here, with the same bits.
      for (let j = Atomics.load(ctl, STATE.done); j < indices.length; j++) local(calls[indices[j]]);
    }
  }

  /** Stops the workers. */
  close(): void {
    for (const s of this.#slots) {
      Atomics.store(s.views.ctl, STATE.posted, -1);
      Atomics.notify(s.views.ctl, STATE.posted);
      void s.worker.terminate();
    }
    this.#slots = [];
  }
}
