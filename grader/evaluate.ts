/**
 * The grader's own evaluation: checks a model's raw predictions (shape,
 * finiteness) and measures accuracy and the confusion matrix against labels
 * the model never saw.
 *
 * @module
 */
import { NUM_CLASSES } from "../data/types.ts";
import { type ClassMetrics, classMetrics } from "../models/metrics.ts";

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

/** Accuracy and confusion matrix of one model on one labelled split (`models/metrics.ts`). */
export type Evaluation = ClassMetrics;

/**
 * Validates `probs` (see {@link validatePredictions}) and measures accuracy
 * and the confusion matrix against `labels` ({@link classMetrics}: computed
 * once, for the grader and the library alike).
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
  return classMetrics(probs, labels, count, what);
}
