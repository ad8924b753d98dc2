/**
 * The training subset of a budget: the one function that draws it, shared by
 * the task CLI (`--train-size`), {@link loadSplits}'s `trainSize` and the
 * grader's profiles, so a student's self-check trains on exactly the images
 * the teacher's grading hands to the task.
 *
 * ```ts
 * import { stratifiedSubset } from "./subset.ts";
 *
 * const labels = Uint8Array.from({ length: 100 }, (_, i) => i % 10);
 * const set = { images: new Uint8Array(100 * 784), labels, count: 100 };
 * console.log(stratifiedSubset(set, 20, 42).count); // 20, two per letter
 * ```
 *
 * @module
 */
import { deriveSeed } from "../utils/rng.ts";
import { SEED_STREAMS } from "../utils/seed_streams.ts";
import { stratifiedSample } from "./allocate.ts";
import { subset } from "./batch.ts";
import type { ImageSet } from "./types.ts";

/** The stream of the subset's generator under the seed (`deriveSeed(seed, SUBSET_STREAM)`). */
export const SUBSET_STREAM: number = SEED_STREAMS.subset;

/**
 * Positions (ascending) of the seeded, class-stratified subset of `size`
 * images of a set with these `labels`: per-class quotas by largest remainder,
 * drawn with {@link stratifiedSample} under `deriveSeed(seed, SUBSET_STREAM)`.
 * Throws naming the size when it is not a positive integer.
 */
export function subsetIndices(labels: ArrayLike<number>, size: number, seed: number): Uint32Array {
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`train size must be a positive integer, got ${size}`);
  }
  if (!Number.isInteger(seed)) throw new Error(`subset seed must be an integer, got ${seed}`);
  return stratifiedSample(labels, size, deriveSeed(seed, SUBSET_STREAM));
}

/**
 * The seeded, class-stratified subset of `set` with `size` images, in their
 * original order ({@link subsetIndices}); `set` itself when `size` is absent or
 * not smaller than the set.
 */
export function stratifiedSubset(set: ImageSet, size: number | undefined, seed: number): ImageSet {
  if (size === undefined || size >= set.count) return set;
  return subset(set, subsetIndices(set.labels.subarray(0, set.count), size, seed));
}
