/**
 * notmnist-lab: the "deep fully-connected network on notMNIST" lab, done right.
 *
 * ```ts
 * import { deriveSeed, LETTERS, Rng } from "./mod.ts";
 *
 * const rng = new Rng(deriveSeed(42, 1));
 * console.log(LETTERS[rng.int(LETTERS.length)]);
 * ```
 *
 * @module
 */
export * from "./data/types.ts";
export * from "./tasks/types.ts";
export { deriveSeed, Rng } from "./utils/rng.ts";
