/**
 * A helper thread for the fused training step: a Deno `Worker` on the
 * trainer's shared memory that, while the trainer updates its own share of
 * the parameters, updates the other arrays of a {@link HelperPlan} and then
 * draws the next step's dropout masks ahead - work the trainer would
 * otherwise do alone while the second core idles (the BLAS's threads only run
 * inside the matrix products). Jobs are posted and awaited through
 * `Atomics` on shared control words; the worker runs the trainer's own
 * functions (fused_helper_job.ts), so results are the same bits.
 *
 * The worker starts in the background: until it reports ready
 * ({@link FusedHelper.ready}), the trainer does everything itself (same
 * bits). {@link FusedHelper.start} returns `undefined` where no worker can be
 * started, and a worker that fails to start simply never becomes ready.
 * {@link FusedHelper.close} must be called: a live worker keeps the process running.
 * Each job first keeps the helper off the trainer's current CPU (thread
 * affinity, thread_affinity.ts), so that both run at once: woken on the
 * trainer's CPU, the helper would run only once the trainer waits for it,
 * slower than no helper. So there is no helper where affinity cannot be set
 * (no `--allow-ffi`, not Linux) or only one CPU is allowed.
 *
 * ```ts
 * import { SimdArena } from "./fused_simd.ts";
 * import { FusedHelper } from "./fused_helper.ts";
 *
 * const arena = SimdArena.shared(1024);
 * const mask = arena.alloc(64);
 * const plan = {
 *   rule: { momentum: 0, useMomentum: false, nesterov: false },
 *   seed: 1,
 *   updates: [],
 *   masks: [{ slot: 1, out: mask.byteOffset, size: 64, rate: 0.5 }],
 * };
 * const helper = FusedHelper.start(arena, plan);
 * if (helper && await helper.whenReady()) {
 *   helper.submit(undefined, 3); // the masks of step 3
 *   console.log(helper.masksOf(3), mask[0]); // true, 0 or 2
 * }
 * helper?.close();
 * ```
 *
 * @module
 */
import type { SimdArena } from "./fused_simd.ts";
import { CTL, CTL_WORDS, HELPER_STATE, type HelperPlan, NUM } from "./fused_helper_job.ts";
import { openThreadAffinity, type ThreadAffinity } from "./thread_affinity.ts";

/** The helper thread failed or stopped answering while the trainer waited for it. */
export class FusedHelperError extends Error {
  /** Creates the error with its message. */
  constructor(message: string) {
    super(message);
    this.name = "FusedHelperError";
  }
}

/** Loads of a control word before the trainer sleeps on it (the helper is usually about done). */
const SPINS = 4000;
/** Longest wait for one job (a healthy helper needs well under a millisecond). */
const TIMEOUT_MS = 30_000;

/** The trainer's side of a helper worker (see the module doc). */
export class FusedHelper {
  readonly #worker: Worker;
  readonly #ctl: Int32Array;
  readonly #nums: Float64Array;
  /** Jobs posted so far, and the mask step of the last one (-1: none). */
  #jobs = 0;
  #maskStep = -1;
  #closed = false;
  readonly #affinity: ThreadAffinity;
  readonly #cpus: number[];
  /** The trainer's CPU the helper was last kept off (-1: none yet). */
  #awayFrom = -1;

  private constructor(
    worker: Worker,
    ctl: Int32Array,
    nums: Float64Array,
    affinity: ThreadAffinity,
    cpus: number[],
  ) {
    this.#worker = worker;
    this.#ctl = ctl;
    this.#nums = nums;
    this.#affinity = affinity;
    this.#cpus = cpus;
  }

  /**
   * Starts a helper on `arena`'s memory for `plan` (in the background), or
   * returns `undefined` when the memory is not shared, thread affinity
   * cannot be set on two CPUs or more, or no worker can be created.
   */
  static start(arena: SimdArena, plan: HelperPlan): FusedHelper | undefined {
    const memory = arena.memory;
    if (!(memory.buffer instanceof SharedArrayBuffer) || typeof Worker !== "function") {
      return undefined;
    }
    const affinity = openThreadAffinity();
    const cpus = affinity?.allowedCpus() ?? [];
    if (affinity === undefined || cpus.length < 2) return undefined;
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
    const nums = new Float64Array(new SharedArrayBuffer((NUM.sums + plan.updates.length) * 8));
    let worker: Worker;
    try {
      const url = new URL("./fused_helper_worker.ts", import.meta.url);
      worker = new Worker(url.href, { type: "module" });
    } catch {
      return undefined;
    }
    const failed = (e: Event): void => {
      e.preventDefault();
      Atomics.store(ctl, CTL.state, HELPER_STATE.failed);
      Atomics.notify(ctl, CTL.state);
    };
    worker.onerror = failed;
    worker.onmessageerror = failed;
    try {
      worker.postMessage({ memory, plan, ctl: ctl.buffer, nums: nums.buffer });
    } catch {
      worker.terminate();
      return undefined;
    }
    return new FusedHelper(worker, ctl, nums, affinity, cpus);
  }

  /** Whether the helper is up and can take jobs (false until it has started, and after a failure). */
  get ready(): boolean {
    return !this.#closed && Atomics.load(this.#ctl, CTL.state) === HELPER_STATE.ready;
  }

  /** Resolves once the helper is ready (true) or has failed or was closed (false). */
  async whenReady(): Promise<boolean> {
    for (;;) {
      if (this.#closed) return false;
      const state = Atomics.load(this.#ctl, CTL.state);
      if (state !== HELPER_STATE.starting) return state === HELPER_STATE.ready;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /**
   * Posts a job (the helper must be {@link ready}, and the previous job
   * awaited with {@link masksOf}): the plan's updates with learning rate `lr`
   * (none when `undefined`), then the masks of step `maskStep` (none when `undefined`).
   */
  submit(lr: number | undefined, maskStep: number | undefined): void {
    if (!this.ready) throw new FusedHelperError("fused helper: not ready");
    this.#nums[NUM.lr] = lr ?? NaN;
    this.#nums[NUM.step] = maskStep ?? -1;
    this.#maskStep = maskStep ?? -1;
    this.#keepAway();
    this.#jobs++;
    Atomics.store(this.#ctl, CTL.job, this.#jobs);
    Atomics.notify(this.#ctl, CTL.job);
  }

  /** Waits for the last job's updates; the sums of squares of the plan's arrays, in order. */
  sums(): Float64Array {
    this.#await(CTL.updatesDone);
    return this.#nums.subarray(NUM.sums);
  }

  /**
   * Waits until the helper's last job is done (so the mask buffers are the
   * trainer's again) and says whether it drew the masks of step `step`.
   */
  masksOf(step: number): boolean {
    if (this.#jobs === 0) return false;
    this.#await(CTL.masksDone);
    return this.#maskStep === step;
  }

  /** Waits for a job in flight, then stops and terminates the worker (idempotent). */
  close(): void {
    if (this.#closed) return;
    try {
      if (this.#jobs > 0 && this.ready) this.#await(CTL.masksDone);
    } finally {
      this.#closed = true;
      Atomics.store(this.#ctl, CTL.stop, 1);
      Atomics.notify(this.#ctl, CTL.job);
      this.#worker.terminate();
    }
  }

  /** Restricts the helper to the CPUs other than the trainer's current one (when it moved). */
  #keepAway(): void {
    const tid = Atomics.load(this.#ctl, CTL.tid);
    if (tid <= 0) return;
    const cpu = this.#affinity.currentCpu();
    if (cpu === this.#awayFrom) return;
    this.#awayFrom = cpu;
    const others = this.#cpus.filter((c) => c !== cpu);
    if (others.length > 0) this.#affinity.pin(tid, others);
  }

  /** Waits until control word `slot` reaches the last job; throws when the helper failed. */
  #await(slot: number): void {
    const ctl = this.#ctl;
    const job = this.#jobs;
    for (let i = 0; i < SPINS; i++) if (Atomics.load(ctl, slot) === job) return;
    const deadline = performance.now() + TIMEOUT_MS;
    for (;;) {
      const seen = Atomics.load(ctl, slot);
      if (seen === job) return;
      if (Atomics.load(ctl, CTL.state) === HELPER_STATE.failed) {
        throw new FusedHelperError("fused helper: the worker failed during a job");
      }
      if (performance.now() > deadline) {
        throw new FusedHelperError(`fused helper: no answer within ${TIMEOUT_MS} ms`);
      }
      Atomics.wait(ctl, slot, seen, 100);
    }
  }
}
