/**
 * The named table of seed streams: every `deriveSeed` call in the library
 * takes its parts from here, never a bare integer, so that no two random
 * choices can start from the same generator state.
 *
 * A stream is a tuple of integer parts: the first part is the purpose's id in
 * {@link SEED_STREAMS} (one distinct id per purpose), the others index within
 * that purpose (a layer, a step, an epoch), in a fixed number per purpose.
 * `deriveSeed` hashes the parts and their count, so two streams share a seed
 * only if their tuples are equal - that is, the same purpose at the same
 * index. `tests/seed_streams_test.ts` checks it over every layer count the
 * spec allows.
 *
 * ```ts
 * import { deriveSeed } from "./utils/rng.ts";
 * import { dropoutStream, SEED_STREAMS } from "./utils/seed_streams.ts";
 *
 * const split = deriveSeed(42, SEED_STREAMS.smallSplit);
 * const mask = deriveSeed(42, ...dropoutStream(1, 100));
 * console.log(split !== mask); // true
 * ```
 *
 * @module
 */

/**
 * The purposes' first-level ids. The data streams keep the values they always
 * had (1, 2, 3, 7: the splits and the quick-profile subset stay the same); the
 * training streams have ids of their own (they used to be 0..3, which collided:
 * dropout of layer l at step s with the shuffle of epoch s, or with the shifts).
 */
export const SEED_STREAMS = {
  /** `data/split_protocols.ts`: the small protocol's valid/test allocation. */
  smallSplit: 1,
  /** `data/split_protocols.ts`: the large protocol's validation allocation. */
  validSplit: 2,
  /** `data/splits.ts`: the k-fold allocation. */
  folds: 3,
  /** `data/subset.ts`: the quick profile's stratified training subset. */
  subset: 7,
  /** `models/mlp.ts`: the kernel initializer of a dense layer (by layer index). */
  init: 10,
  /** The training loop: the shuffle of an epoch (by epoch). */
  shuffle: 11,
  /** The training loop: the pixel shifts of a step (by step). */
  shift: 12,
  /** Dropout masks (by dropout slot, then step). */
  dropout: 13,
  /** `data/perturb.ts`: the shift and noise of the grader's perturbed copies of the test images. */
  perturb: 14,
  /** `grader/checks/control.ts`: the control run's relabelling bijection of the classes. */
  relabel: 15,
} as const;

/** A purpose of {@link SEED_STREAMS}. */
export type SeedStream = keyof typeof SEED_STREAMS;

/** The parts of the initializer stream of dense layer `layer` (the output layer: the hidden count). */
export function initStream(layer: number): [number, number] {
  return [SEED_STREAMS.init, layer];
}

/** The parts of the shuffle stream of epoch `epoch`. */
export function shuffleStream(epoch: number): [number, number] {
  return [SEED_STREAMS.shuffle, epoch];
}

/** The parts of the pixel-shift stream of step `step`. */
export function shiftStream(step: number): [number, number] {
  return [SEED_STREAMS.shift, step];
}

/**
 * The parts of the dropout-mask stream of dropout slot `slot` (0: the input,
 * `l + 1`: after hidden layer `l`) at step `step`.
 */
export function dropoutStream(slot: number, step: number): [number, number, number] {
  return [SEED_STREAMS.dropout, slot, step];
}
