/**
 * The predicted class of one row of class probabilities. Kept free of tfjs so
 * the grader's own evaluation can use it without loading a backend.
 *
 * @module
 */
import { NUM_CLASSES } from "../data/types.ts";

/** Index of the largest of the 10 values in row `row` of `probs` (first on ties). */
export function argmaxRow(probs: ArrayLike<number>, row: number): number {
  let best = 0;
  for (let c = 1; c < NUM_CLASSES; c++) {
    if (probs[row * NUM_CLASSES + c] > probs[row * NUM_CLASSES + best]) best = c;
  }
  return best;
}
