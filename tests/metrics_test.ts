// The classification metrics of models/metrics.ts: hand-computed cases, the
// typed label error, and agreement with the grader's own evaluation (which
// the lead rewires onto models/metrics.ts at merge, issue 20).
import { assertEquals, assertThrows } from "../deps/assert.ts";
import {
  accuracyOf,
  classMetrics,
  confusionMatrix,
  LabelRangeError,
  perClassAccuracy,
} from "../models/metrics.ts";
import { evaluate } from "../grader/evaluate.ts";
import { Rng } from "../utils/rng.ts";

/** One-hot rows for the predicted classes `preds`. */
function oneHot(preds: number[]): Float32Array {
  const p = new Float32Array(preds.length * 10);
  preds.forEach((c, i) => (p[i * 10 + c] = 1));
  return p;
}

Deno.test("metrics: a hand-computed confusion matrix, accuracy and per-class accuracy", () => {
  const probs = oneHot([0, 0, 1, 2, 2]);
  const labels = new Uint8Array([0, 1, 1, 2, 3]);
  const m = classMetrics(probs, labels);
  assertEquals(m.correct, 3);
  assertEquals(m.count, 5);
  assertEquals(m.accuracy, 0.6);
  assertEquals(m.confusion[1], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals(m.confusion[3], [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals(m.perClass.slice(0, 4), [1, 0.5, 1, 0]);
  assertEquals(m.perClass.slice(4).every(Number.isNaN), true);
  assertEquals(confusionMatrix(probs, labels), m.confusion);
  assertEquals(accuracyOf(m.confusion), m.accuracy);
  assertEquals(perClassAccuracy(m.confusion), m.perClass);
  assertEquals(Number.isNaN(classMetrics(new Float32Array(0), new Uint8Array(0)).accuracy), true);
});

Deno.test("metrics: a label outside 0..9 is a LabelRangeError naming the image", () => {
  const bad = () => classMetrics(oneHot([0, 1]), new Uint8Array([0, 10]), 2, "task1 test");
  assertThrows(bad, LabelRangeError, "task1 test: label 10 at image 1 is not 0..9");
  try {
    bad();
  } catch (e) {
    assertEquals(e instanceof LabelRangeError ? [e.label, e.index] : e, [10, 1]);
  }
});

Deno.test("metrics: the same numbers as the grader's evaluation", () => {
  const rng = new Rng(5);
  const count = 500;
  const probs = new Float32Array(count * 10);
  for (let i = 0; i < probs.length; i++) probs[i] = rng.next();
  // rows normalised to sum to 1, as the grader's validation requires
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let c = 0; c < 10; c++) s += probs[i * 10 + c];
    for (let c = 0; c < 10; c++) probs[i * 10 + c] /= s;
  }
  const labels = new Uint8Array(count).map(() => rng.int(10));
  const ours = classMetrics(probs, labels, count);
  assertEquals(ours, evaluate(probs, labels, count));
});
