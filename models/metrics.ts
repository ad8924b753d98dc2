/**
 * Classification metrics as pure functions of class probabilities and labels,
 * computed once: the confusion matrix, accuracy and per-class accuracy
 * (recall). `models/evaluate.ts` and the grader's evaluation use these.
 *
 * ```ts
 * import { classMetrics } from "./models/metrics.ts";
 *
 * const probs = new Float32Array(20);
 * probs[3] = 1; // image 0: class 3
 * probs[10 + 5] = 1; // image 1: class 5
 * const m = classMetrics(probs, new Uint8Array([3, 4]), 2);
 * console.log(m.accuracy, m.perClass[3], m.perClass[4]); // 0.5 1 0
 * ```
 *
 * @module
 */
import { NUM_CLASSES } from "../data/types.ts";
import { argmaxRow } from "./argmax.ts";

/** Accuracy and confusion matrix of one model on one labelled set. */
export interface ClassMetrics {
  /** Fraction of images whose argmax equals the label (NaN for no image). */
  accuracy: number;
  /** Number of images evaluated. */
  count: number;
  /** Number classified correctly. */
  correct: number;
  /** 10 x 10 counts, row = true label, column = predicted label. */
  confusion: number[][];
  /** Per-class accuracy (recall), A..J; NaN for a class absent from the set. */
  perClass: number[];
}

/** A label outside 0..9 (names the image and the set). */
export class LabelRangeError extends RangeError {
  /** Creates the error for `label` at image `index` of `what`. */
  constructor(readonly label: number, readonly index: number, what: string) {
    super(`${what}: label ${label} at image ${index} is not 0..${NUM_CLASSES - 1}`);
    this.name = "LabelRangeError";
  }
}

/**
 * The metrics of the first `count` images: `probs` holds `count` x 10 class
 * scores row-major (argmax = prediction), `labels` their true classes. Throws
 * {@link LabelRangeError} on a label outside 0..9.
 */
export function classMetrics(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  count: number = labels.length,
  what = "predictions",
): ClassMetrics {
  const confusion = Array.from(
    { length: NUM_CLASSES },
    () => new Array<number>(NUM_CLASSES).fill(0),
  );
  let correct = 0;
  for (let i = 0; i < count; i++) {
    const label = labels[i];
    if (!(label >= 0 && label < NUM_CLASSES)) throw new LabelRangeError(label, i, what);
    const pred = argmaxRow(probs, i);
    confusion[label][pred]++;
    if (pred === label) correct++;
  }
  const accuracy = count === 0 ? NaN : correct / count;
  return { accuracy, count, correct, confusion, perClass: perClassAccuracy(confusion) };
}

/** 10 x 10 counts, row = true label, column = predicted label. */
export function confusionMatrix(probs: ArrayLike<number>, labels: ArrayLike<number>): number[][] {
  return classMetrics(probs, labels).confusion;
}

/** Accuracy from a confusion matrix. */
export function accuracyOf(confusion: number[][]): number {
  let correct = 0;
  let total = 0;
  confusion.forEach((row, i) =>
    row.forEach((v, j) => {
      total += v;
      if (i === j) correct += v;
    })
  );
  return total ? correct / total : NaN;
}

/** Per-class accuracy (recall) from a confusion matrix; NaN for an absent class. */
export function perClassAccuracy(confusion: number[][]): number[] {
  return confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total ? row[i] / total : NaN;
  });
}
