/**
 * Worker side of panel_pool.ts, as JavaScript source for an `eval` worker
 * (no file to read: the grader's trusted children may read only their data,
 * and a module worker would need read access to this folder). The worker
 * loads the same BLAS (already loaded in the process, so the same instance
 * and kernel), then runs the single-threaded SGEMM panels the main thread
 * posts into a shared buffer, on the main thread's memory through raw
 * addresses. Not a public entry point.
 *
 * @module
 */
import { JOB_FLOATS, JOB_INTS, MAX_JOBS, viewOffsets } from "./panel_layout.ts";

/** The worker's source (CommonJS, for `new Worker(source, { eval: true })`). */
export function panelWorkerSource(): string {
  const o = viewOffsets();
  return `
const { parentPort } = require("node:worker_threads");
parentPort.once("message", ({ library, sab }) => {
  const ctl = new Int32Array(sab, 0, ${o.ctlInts});
  const ptrs = new BigInt64Array(sab, ${o.ptrOff}, ${MAX_JOBS * 3});
  const ints = new Int32Array(sab, ${o.intOff}, ${MAX_JOBS * JOB_INTS});
  const floats = new Float32Array(sab, ${o.floatOff}, ${MAX_JOBS * JOB_FLOATS});
  const P = ${o.posted}, COUNT = ${o.count}, READY = ${o.ready}, DONE = ${o.done};
  let lib;
  try {
    lib = Deno.dlopen(library, {
      cblas_sgemm: {
        parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "f32", "pointer", "i32",
          "pointer", "i32", "f32", "pointer", "i32"],
        result: "void",
      },
    });
  } catch {
    Atomics.store(ctl, READY, -1);
    Atomics.notify(ctl, READY);
    return;
  }
  Atomics.store(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  const gemm = lib.symbols.cblas_sgemm;
  const at = (v) => Deno.UnsafePointer.create(v);
  for (;;) {
    Atomics.wait(ctl, P, 0);
    if (Atomics.load(ctl, P) < 0) break;
    const count = Math.min(${MAX_JOBS}, ctl[COUNT]);
    try {
      for (let j = 0; j < count; j++) {
        const i = j * ${JOB_INTS}, f = j * ${JOB_FLOATS}, p = j * 3;
        gemm(101, ints[i] ? 112 : 111, ints[i + 1] ? 112 : 111, ints[i + 2], ints[i + 3],
          ints[i + 4], floats[f], at(ptrs[p]), ints[i + 5], at(ptrs[p + 1]), ints[i + 6],
          floats[f + 1], at(ptrs[p + 2]), ints[i + 7]);
        ctl[DONE] = j + 1;
      }
    } catch {
      Atomics.store(ctl, READY, -1);
    }
    Atomics.store(ctl, P, 0);
    Atomics.notify(ctl, P);
  }
  lib.close();
});
`;
}
