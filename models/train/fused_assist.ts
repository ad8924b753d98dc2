/**
 * The trainer's side of sharing a fused step with its helper worker
 * (fused_helper.ts): the optimizer update of every parameter array - the
 * helper's share ({@link splitUpdates}) on the helper, the rest here - and
 * the next step's dropout masks drawn by the helper meanwhile. Without a
 * helper (none asked for, none could start, or not started yet) everything
 * runs here; either way the bits are the same, and the L2 penalty sums the
 * arrays' sums of squares in the same order.
 *
 * ```ts
 * import { SimdArena } from "./fused_simd.ts";
 * import { StepAssist } from "./fused_assist.ts";
 *
 * const arena = SimdArena.shared(1024);
 * const [w, g, v] = [arena.alloc(8), arena.alloc(8), arena.alloc(8)];
 * w.fill(1);
 * g.fill(0.5);
 * const rule = { momentum: 0.9, useMomentum: true, nesterov: true };
 * const update = (w: Float32Array, g: Float32Array, v: Float32Array, lr: number, l2: number) =>
 *   arena.update(w, g, v, lr, rule, l2);
 * const assist = new StepAssist([{ w, g, v, l2: 1e-4, kernel: true }], [], update, {
 *   arena,
 *   rule,
 *   seed: 1,
 * });
 * await assist.ready();
 * console.log(assist.update(0.1, 0)); // the L2 penalty, 1e-4 * 8
 * assist.close();
 * ```
 *
 * @module
 */
import { FusedHelper } from "./fused_helper.ts";
import { type HelperPlan, splitUpdates } from "./fused_helper_job.ts";
import type { UpdateRule } from "./fused_kernels.ts";
import type { SimdArena } from "./fused_simd.ts";

/** One optimizer update: a parameter array, its gradient and velocity, its L2 (0 for biases). */
export interface ParamUpdate {
  /** Parameters. */
  w: Float32Array;
  /** Gradient. */
  g: Float32Array;
  /** Velocity (empty for plain SGD). */
  v: Float32Array;
  /** L2 coefficient. */
  l2: number;
  /** Whether its sum of squares enters the L2 penalty (kernels). */
  kernel: boolean;
}

/** A dropout mask buffer (the largest batch's) and its slot and rate. */
export interface MaskBuffer {
  /** The dropout slot (0: the input, `l + 1`: after hidden layer `l`). */
  slot: number;
  /** The mask buffer. */
  out: Float32Array;
  /** Dropout rate. */
  rate: number;
}

/** The update of one array on this thread: returns its sum of squares (`SimdArena.update`). */
export type UpdateFn = (
  w: Float32Array,
  g: Float32Array,
  v: Float32Array,
  lr: number,
  l2: number,
) => number;

/** What a helper needs: the trainer's shared arena, its optimizer rule and seed. */
export interface AssistHelper {
  /** The arena of every buffer of `updates` and `masks` (shared memory). */
  arena: SimdArena;
  /** The optimizer rule. */
  rule: UpdateRule;
  /** The run's seed. */
  seed: number;
}

/**
 * The helper's plan: every mask of `masks`, and the share of `updates` that
 * {@link splitUpdates} gives it (`share[k]`: update `k` is the helper's).
 */
export function helperPlan(
  updates: ParamUpdate[],
  masks: MaskBuffer[],
  { rule, seed }: AssistHelper,
): { plan: HelperPlan; share: boolean[] } {
  const maskFloats = masks.reduce((t, m) => t + m.out.length, 0);
  const share = splitUpdates(updates.map((u) => u.w.length), maskFloats);
  const plan: HelperPlan = {
    rule,
    seed,
    updates: updates.filter((_, k) => share[k]).map((u) => ({
      w: u.w.byteOffset,
      g: u.g.byteOffset,
      v: u.v.byteOffset,
      n: u.w.length,
      l2: u.l2,
    })),
    masks: masks.map(({ slot, out, rate }) => ({
      slot,
      out: out.byteOffset,
      size: out.length,
      rate,
    })),
  };
  return { plan, share };
}

/** The update of a step and the masks of the next one, with a helper when there is one. */
export class StepAssist {
  readonly #updates: ParamUpdate[];
  readonly #update: UpdateFn;
  readonly #helper: FusedHelper | undefined;
  readonly #share: boolean[];
  readonly #sums: Float64Array;

  /**
   * The updates of `updates` (in penalty order) through `update`; with
   * `helper`, a helper worker is started for part of them and for `masks`.
   */
  constructor(
    updates: ParamUpdate[],
    masks: MaskBuffer[],
    update: UpdateFn,
    helper?: AssistHelper,
  ) {
    this.#updates = updates;
    this.#update = update;
    this.#sums = new Float64Array(updates.length);
    const planned = helper ? helperPlan(updates, masks, helper) : undefined;
    this.#helper = planned && FusedHelper.start(helper!.arena, planned.plan);
    this.#share = this.#helper ? planned!.share : updates.map(() => false);
  }

  /**
   * Waits for any work of the helper in flight (the mask buffers are then
   * the trainer's) and says whether it drew the masks of step `step`.
   */
  masksOf(step: number): boolean {
    return this.#helper?.masksOf(step) ?? false;
  }

  /**
   * Updates every array with learning rate `lr` at step `step` (the helper,
   * when ready, takes its share and then draws the masks of `step + 1`);
   * returns the L2 penalty of the weights before the update. Call
   * {@link masksOf} first in the step.
   */
  update(lr: number, step: number): number {
    const helper = this.#helper?.ready ? this.#helper : undefined;
    helper?.submit(lr, step + 1);
    const sums = this.#sums;
    for (const [j, u] of this.#updates.entries()) {
      if (!(helper && this.#share[j])) sums[j] = this.#update(u.w, u.g, u.v, lr, u.l2);
    }
    if (helper) {
      const theirs = helper.sums();
      let k = 0;
      for (const [j, theirsToo] of this.#share.entries()) if (theirsToo) sums[j] = theirs[k++];
    }
    let penalty = 0;
    for (const [j, u] of this.#updates.entries()) if (u.kernel) penalty += u.l2 * sums[j];
    return penalty;
  }

  /** Resolves true once a helper takes jobs, false without one. */
  ready(): Promise<boolean> {
    return this.#helper?.whenReady() ?? Promise.resolve(false);
  }

  /** Stops the helper (after any job in flight). */
  close(): void {
    this.#helper?.close();
  }
}
