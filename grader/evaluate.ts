/**
 * The grader's own evaluation: checks a model's raw predictions (shape,
 * finiteness) and measures accuracy and the confusion matrix against labels
 * the model never saw.
 *
 * @module
 */
import { NUM_CLASSES } from "../data/types.ts";
import { argmaxRow } from "../models/argmax.ts";

/** What is wrong with predictions: the wrong shape, or non-finite values. */
export type PredictionFailureKind = "shape" | "nan";

/** Raised when predictions have the wrong shape or non-finite values. */
export class PredictionError extends Error {
  /** What was wrong: `shape` or `nan`. */
  readonly kind: PredictionFailureKind;

  /** Creates the error; `kind` classifies it for the report. */
  constructor(kind: PredictionFailureKind, message: string) {
    super(message);
    this.name = "PredictionError";
    this.kind = kind;
  }
}

/**
 * Throws a {@link PredictionError} unless `probs` holds exactly `count` x 10
 * finite values. `what` names the predictions in the message (e.g.
 * `role "main" on the test split`).
 */
export function validatePredictions(probs: ArrayLike<number>, count: number, what: string): void {
  const expected = count * NUM_CLASSES;
  if (probs.length !== expected) {
    throw new PredictionError(
      "shape",
      `${what}: expected ${count} x ${NUM_CLASSES} = ${expected} values, got ${probs.length}` +
        (probs.length === count
          ? " (one value per image: return class probabilities, not labels)"
          : ""),
    );
  }
  for (let i = 0; i < expected; i++) {
    const v = probs[i];
    if (!Number.isFinite(v)) {
      const row = Math.floor(i / NUM_CLASSES);
      throw new PredictionError(
        "nan",
        `${what}: value ${v} at image ${row}, class ${
          i % NUM_CLASSES
        } (predictions must be finite)`,
      );
    }
  }
}

/** Accuracy and confusion matrix of one model on one labelled split. */
export interface Evaluation {
  /** Fraction of images whose argmax equals the label. */
  accuracy: number;
  /** Number of images evaluated. */
  count: number;
  /** Number classified correctly. */
  correct: number;
  /** 10 x 10 counts, row = true label, column = predicted label. */
  confusion: number[][];
  /** Per-class accuracy (recall), A..J; NaN for a class absent from the split. */
  perClass: number[];
}

/**
 * Validates `probs` (see {@link validatePredictions}) and measures accuracy
 * and the confusion matrix against `labels`.
 */
export function evaluate(
  probs: ArrayLike<number>,
  labels: Uint8Array,
  count: number,
  what = "predictions",
): Evaluation {
  if (labels.length < count) {
    throw new Error(`${what}: ${count} images but only ${labels.length} labels`);
  }
  validatePredictions(probs, count, what);
  const confusion = Array.from(
    { length: NUM_CLASSES },
    () => new Array<number>(NUM_CLASSES).fill(0),
  );
  let correct = 0;
  for (let i = 0; i < count; i++) {
    const label = labels[i];
    if (label >= NUM_CLASSES) throw new Error(`${what}: label ${label} at image ${i} is not 0..9`);
    const pred = argmaxRow(probs, i);
    confusion[label][pred]++;
    if (pred === label) correct++;
  }
  const perClass = confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? NaN : row[c] / total;
  });
  return { accuracy: count === 0 ? NaN : correct / count, count, correct, confusion, perClass };
}
