/**
 * The control run's relabelling: a seeded bijection of the ten classes with
 * no fixed point (A->D, B->H, ...: no class keeps its label), and a copy of an
 * image set with its labels mapped through it.
 *
 * ```ts
 * import { controlBijection, relabel } from "./grader/checks/relabel.ts";
 *
 * const perm = controlBijection(42);
 * const set = relabel({ images: new Uint8Array(784), labels: Uint8Array.of(0), count: 1 }, perm);
 * console.log(set.labels[0] === perm[0], perm[0] !== 0); // true true
 * ```
 *
 * @module
 */
import { type ImageSet, NUM_CLASSES, PIXELS } from "../../data/types.ts";
import { deriveSeed, Rng } from "../../utils/rng.ts";
import { SEED_STREAMS } from "../../utils/seed_streams.ts";

/**
 * The bijection of grading seed `seed`: `perm[c]` is the label class `c`
 * gets. Drawn from the seed stream {@link SEED_STREAMS}.relabel, redrawn
 * until no class maps to itself.
 */
export function controlBijection(seed: number): Uint8Array {
  const rng = new Rng(deriveSeed(seed, SEED_STREAMS.relabel));
  for (;;) {
    const perm = Uint8Array.from(rng.permutation(NUM_CLASSES));
    if (perm.every((to, from) => to !== from)) return perm;
  }
}

/** A copy of `set` whose label `l` becomes `perm[l]` (images shared, not copied). */
export function relabel(set: ImageSet, perm: Uint8Array): ImageSet {
  const labels = new Uint8Array(set.count);
  for (let i = 0; i < set.count; i++) labels[i] = perm[set.labels[i]];
  return { images: set.images.subarray(0, set.count * PIXELS), labels, count: set.count };
}
