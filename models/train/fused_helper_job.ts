/**
 * The work a helper thread does for the fused training step
 * (fused_helper.ts starts it, fused_helper_worker.ts runs it): the optimizer
 * update of some parameter arrays and the dropout masks of the next step, on
 * a {@link SimdArena} over the same shared memory as the trainer's - the
 * very functions the trainer calls itself, so the bits are the same on
 * either thread. Also the layout of the control words both threads share and
 * {@link splitUpdates}, which decides which arrays the helper updates.
 *
 * ```ts
 * import { SimdArena } from "./fused_simd.ts";
 * import { type HelperPlan, runMasks, runUpdates } from "./fused_helper_job.ts";
 *
 * const arena = SimdArena.shared(1024);
 * const [w, g, v, mask] = [arena.alloc(8), arena.alloc(8), arena.alloc(8), arena.alloc(16)];
 * w.fill(1);
 * g.fill(0.5);
 * const plan: HelperPlan = {
 *   rule: { momentum: 0.9, useMomentum: true, nesterov: true },
 *   seed: 1,
 *   updates: [{ w: w.byteOffset, g: g.byteOffset, v: v.byteOffset, n: 8, l2: 1e-4 }],
 *   masks: [{ slot: 1, out: mask.byteOffset, size: 16, rate: 0.3 }],
 * };
 * const sums = new Float64Array(1);
 * runUpdates(arena, plan, 0.1, sums); // what the helper does with its share
 * runMasks(arena, plan, 5); // the masks of step 5
 * console.log(w[0], sums[0], mask[0]);
 * ```
 *
 * @module
 */
import { deriveSeed } from "../../utils/rng.ts";
import { dropoutStream } from "../../utils/seed_streams.ts";
import type { UpdateRule } from "./fused_kernels.ts";
import type { SimdArena } from "./fused_simd.ts";

/** One parameter array the helper updates: byte offsets of w, g, v in the shared memory. */
export interface HelperUpdate {
  /** Weights. */
  w: number;
  /** Gradient. */
  g: number;
  /** Velocity (unused for plain SGD). */
  v: number;
  /** Number of parameters. */
  n: number;
  /** L2 coefficient (0 for none). */
  l2: number;
}

/** One dropout mask the helper draws ahead: dropout slot, byte offset, floats, rate. */
export interface HelperMask {
  /** The dropout slot (`dropoutStream`'s: 0 the input, `l + 1` after hidden layer `l`). */
  slot: number;
  /** Byte offset of the mask buffer. */
  out: number;
  /** Floats drawn (the largest batch's: a smaller batch uses a prefix of the same stream). */
  size: number;
  /** Dropout rate. */
  rate: number;
}

/** Everything fixed for the helper of one trainer (plain data: it is posted to the worker). */
export interface HelperPlan {
  /** The optimizer rule. */
  rule: UpdateRule;
  /** The run's seed (the masks' seeds derive from it). */
  seed: number;
  /** The arrays the helper updates, in order (their sums of squares go to the same slots). */
  updates: HelperUpdate[];
  /** The masks the helper draws. */
  masks: HelperMask[];
}

/** Int32 control words (indices into the control array). */
export const CTL = {
  /** The last job the trainer posted (a counter). */
  job: 0,
  /** The last job whose updates are done. */
  updatesDone: 1,
  /** The last job whose masks are done. */
  masksDone: 2,
  /** {@link HELPER_STATE}. */
  state: 3,
  /** Set to 1 to stop the helper. */
  stop: 4,
  /** The helper thread's id where known (else 0), for keeping it off the trainer's CPU. */
  tid: 5,
} as const;

/** Number of int32 control words. */
export const CTL_WORDS = 8;

/** Values of the `state` control word. */
export const HELPER_STATE = { starting: 0, ready: 1, failed: 2 } as const;

/** Float64 job words: learning rate (NaN: no updates), mask step (-1: no masks), then the sums. */
export const NUM = { lr: 0, step: 1, sums: 2 } as const;

/**
 * The updates of `plan` with learning rate `lr`; the sum of squares that the
 * update of array `k` returns (the L2 penalty's, {@link SimdArena.update}) goes to `sums[k]`.
 */
export function runUpdates(
  arena: SimdArena,
  plan: HelperPlan,
  lr: number,
  sums: Float64Array,
): void {
  for (const [k, u] of plan.updates.entries()) {
    const w = arena.view(u.w, u.n);
    const g = arena.view(u.g, u.n);
    const v = arena.view(u.v, plan.rule.useMomentum ? u.n : 0);
    sums[k] = arena.update(w, g, v, lr, plan.rule, u.l2);
  }
}

/** The dropout masks of `plan` for step `step`, into their buffers (as the trainer draws them). */
export function runMasks(arena: SimdArena, plan: HelperPlan, step: number): void {
  for (const m of plan.masks) {
    const seed = deriveSeed(plan.seed, ...dropoutStream(m.slot, step));
    arena.dropoutMask(m.size, m.rate, seed, arena.view(m.out, m.size));
  }
}

/**
 * Cost of drawing one mask value relative to updating one parameter (both
 * measured on the fused step's passes: ~1.0 ns and ~0.7 ns).
 */
export const MASK_COST = 1.4;

/**
 * Which of the parameter arrays of `sizes` the helper updates (`true`) so
 * that both threads finish about together, the helper also drawing
 * `maskFloats` mask values and the trainer doing `mainExtra` parameter-update
 * equivalents of other work: largest array first, each to the less loaded thread.
 */
export function splitUpdates(sizes: number[], maskFloats: number, mainExtra = 0): boolean[] {
  let helper = maskFloats * MASK_COST;
  let main = mainExtra;
  const share = sizes.map(() => false);
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b);
  for (const i of order) {
    if (helper < main) {
      share[i] = true;
      helper += sizes[i];
    } else {
      main += sizes[i];
    }
  }
  return share;
}
