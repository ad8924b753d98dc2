/**
 * Seeded, class-stratified assignment of duplicate groups to splits or folds,
 * and stratified quotas by largest remainder.
 *
 * @module
 */
import { deriveSeed, Rng } from "../utils/rng.ts";
import type { DuplicateGroups } from "./groups.ts";
import { NUM_CLASSES } from "./types.ts";

/**
 * Splits `total` into integer parts proportional to `weights` (largest
 * remainder; ties go to the lower index), so the parts sum to `total`.
 */
export function apportion(total: number, weights: ArrayLike<number>): number[] {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += weights[i];
  const out: number[] = [];
  const rem: [number, number][] = [];
  let used = 0;
  for (let i = 0; i < weights.length; i++) {
    const q = sum === 0 ? 0 : (total * weights[i]) / sum;
    out.push(Math.floor(q));
    used += Math.floor(q);
    rem.push([q - Math.floor(q), i]);
  }
  rem.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; k < total - used; k++) out[rem[k % rem.length][1]]++;
  return out;
}

/** Options of {@link allocateGroups}. */
export interface AllocateOptions {
  /** `targets[s][c]`: how much weight of class c split s should receive. */
  targets: number[][];
  /** Weight of a group when placed in a target split (1 = one copy, or its size). */
  weight: (group: number) => number;
  /** Whether a group may go to a target split at all (default: every single-label group). */
  eligible?: (group: number) => boolean;
  /** Seed of the assignment. */
  seed: number;
  /**
   * `rest`: a group that fits no split's remaining need goes to the rest (-1),
   * e.g. train. `fill`: it goes to the split with the largest remaining need.
   */
  overflow: "rest" | "fill";
}

/**
 * Assigns every single-label group to one of `targets.length` splits or to the
 * rest (-1). Per class, the groups are shuffled with a seeded generator and each
 * goes to the split with the largest remaining need that it fits into, so every
 * split's class counts land on target and a big group (e.g. 254 copies of one
 * blank image) can never push a split off target. Groups with conflicting
 * labels and groups that are not `eligible` always go to the rest (-1).
 */
export function allocateGroups(g: DuplicateGroups, opts: AllocateOptions): Int8Array {
  const splits = opts.targets.length;
  const need = opts.targets.map((row) => row.slice());
  const out = new Int8Array(g.count).fill(-1);
  const byClass: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  for (let id = 0; id < g.count; id++) {
    if (g.label[id] >= 0 && (opts.eligible?.(id) ?? true)) byClass[g.label[id]].push(id);
  }
  for (let c = 0; c < NUM_CLASSES; c++) {
    const ids = byClass[c];
    new Rng(deriveSeed(opts.seed, c)).shuffle(ids);
    for (const id of ids) {
      const w = opts.weight(id);
      let best = -1;
      for (let s = 0; s < splits; s++) {
        if (need[s][c] <= 0) continue;
        if (opts.overflow === "rest" && need[s][c] < w) continue;
        if (best < 0 || need[s][c] > need[best][c]) best = s;
      }
      if (best < 0 && opts.overflow === "fill") {
        best = 0;
        for (let s = 1; s < splits; s++) if (need[s][c] > need[best][c]) best = s;
      }
      if (best >= 0) {
        out[id] = best;
        need[best][c] -= w;
      }
    }
  }
  return out;
}

/**
 * A seeded, class-stratified sample of `size` of the positions `0..labels.length`
 * (per-class quotas by largest remainder), returned in ascending order.
 */
export function stratifiedSample(
  labels: ArrayLike<number>,
  size: number,
  seed: number,
): Uint32Array {
  const byClass: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const quotas = apportion(Math.min(size, labels.length), byClass.map((b) => b.length));
  const picked: number[] = [];
  for (let c = 0; c < NUM_CLASSES; c++) {
    const ids = new Rng(deriveSeed(seed, c)).shuffle(byClass[c].slice());
    picked.push(...ids.slice(0, quotas[c]));
  }
  picked.sort((a, b) => a - b);
  return Uint32Array.from(picked);
}
