/**
 * The entry of the fused step's helper worker (started by fused_helper.ts):
 * it receives the trainer's shared memory, a {@link HelperPlan} and the
 * control arrays, reports ready, then runs each posted job - the updates of
 * its share ({@link runUpdates}), then the next step's masks
 * ({@link runMasks}) - sleeping in `Atomics.wait` between jobs, until told to
 * stop. Not meant to be imported.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { SimdArena } from "./fused_simd.ts";
import { openThreadAffinity } from "./thread_affinity.ts";
import {
  CTL,
  HELPER_STATE,
  type HelperPlan,
  NUM,
  runMasks,
  runUpdates,
} from "./fused_helper_job.ts";

/** What the trainer posts once. */
interface HelperInit {
  memory: WebAssembly.Memory;
  plan: HelperPlan;
  ctl: SharedArrayBuffer;
  nums: SharedArrayBuffer;
}

function serve({ memory, plan, ctl: ctlBuffer, nums: numsBuffer }: HelperInit): void {
  const ctl = new Int32Array(ctlBuffer);
  const nums = new Float64Array(numsBuffer);
  const fail = (): void => {
    Atomics.store(ctl, CTL.state, HELPER_STATE.failed);
    Atomics.notify(ctl, CTL.updatesDone);
    Atomics.notify(ctl, CTL.masksDone);
  };
  let arena: SimdArena;
  try {
    arena = new SimdArena(0, { memory, byteOffset: 0, byteLength: memory.buffer.byteLength });
  } catch {
    return fail();
  }
  const sums = nums.subarray(NUM.sums);
  Atomics.store(ctl, CTL.tid, openThreadAffinity()?.threadId() ?? 0);
  Atomics.store(ctl, CTL.state, HELPER_STATE.ready);
  Atomics.notify(ctl, CTL.state);
  let seen = Atomics.load(ctl, CTL.job);
  for (;;) {
    Atomics.wait(ctl, CTL.job, seen);
    if (Atomics.load(ctl, CTL.stop) !== 0) return;
    const job = Atomics.load(ctl, CTL.job);
    if (job === seen) continue;
    seen = job;
    try {
      const lr = nums[NUM.lr];
      if (!Number.isNaN(lr)) runUpdates(arena, plan, lr, sums);
      Atomics.store(ctl, CTL.updatesDone, job);
      Atomics.notify(ctl, CTL.updatesDone);
      const step = nums[NUM.step];
      if (step >= 0) runMasks(arena, plan, step);
      Atomics.store(ctl, CTL.masksDone, job);
      Atomics.notify(ctl, CTL.masksDone);
    } catch {
      return fail();
    }
  }
}

self.onmessage = (e: MessageEvent<HelperInit>) => {
  self.onmessage = null;
  serve(e.data);
  self.close();
};
