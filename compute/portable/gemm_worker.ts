/**
 * A portable-GEMM Worker (node:worker_threads): instantiates its thread's GEMM
 * module on the engine's shared memory (both in its workerData: it loads no
 * code generator), then waits on the control block's generation counter and
 * computes its part of each call (see gemm_control.ts).
 *
 * @module
 */
import type { GemmExports } from "./gemm_module.ts";
import type { TileShape } from "./gemm_shape.ts";
import { runRange } from "./gemm_plan.ts";
import { readWork, SLOT } from "./gemm_control.ts";
import { parentPort, workerData } from "node:worker_threads";

/** What the thread runs on (its workerData). */
export interface WorkerInit {
  /** This thread's module (compiled by the caller: its region's addresses are constants in it). */
  module: WebAssembly.Module;
  /** The register tiles the module has kernels for (a call names one by index). */
  tiles: readonly TileShape[];
  memory: WebAssembly.Memory;
  ctrl: SharedArrayBuffer;
  /** This worker's index (0-based; it is thread `index + 1`: the caller is thread 0). */
  index: number;
}

function serve({ module, tiles, memory, ctrl, index }: WorkerInit): void {
  const x = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as GemmExports;
  const ints = new Int32Array(ctrl);
  let seen = Atomics.load(ints, SLOT.gen);
  Atomics.add(ints, SLOT.ready, 1);
  Atomics.notify(ints, SLOT.ready);
  parentPort?.postMessage("ready");
  for (;;) {
    Atomics.wait(ints, SLOT.gen, seen);
    seen = Atomics.load(ints, SLOT.gen);
    if (Atomics.load(ints, SLOT.stop) !== 0) break;
    const work = readWork(ctrl, index);
    try {
      if (work !== undefined) {
        const tile = tiles[work.tile];
        if (tile === undefined) throw new RangeError(`no tile ${work.tile}`);
        runRange(x, work.call, work.range, work.scratch, tile);
      }
    } catch {
      // Reported to the caller (which is blocked and cannot receive an error event).
      Atomics.store(ints, SLOT.failed, index + 1);
    }
    Atomics.add(ints, SLOT.done, 1);
    Atomics.notify(ints, SLOT.done);
  }
}

// A node:worker_threads Worker (it can be unref'd: idle engines never keep a process alive),
// handed its init as workerData. After the stop flag the thread ends with nothing left to do
// (the caller also terminates it).
if (workerData) serve(workerData as WorkerInit);
