/**
 * Evaluation of a trained network: loss and accuracy on a labelled set,
 * class probabilities for raw images; the confusion matrix and per-class
 * accuracy are models/metrics.ts's (re-exported here).
 * All passes run in inference mode (dropout off) in batches.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { toFloat32 } from "../data.ts";
import { type ImageSet, NUM_CLASSES, PIXELS } from "../data/types.ts";
import { argmaxRow } from "./argmax.ts";
import type { Network } from "./mlp.ts";

/** Loss and accuracy of a model on one labelled set. */
export interface SetMetrics {
  /** Mean softmax cross-entropy (without L2). */
  loss: number;
  /** Fraction classified correctly. */
  accuracy: number;
  /** Number classified correctly. */
  correct: number;
  /** Number of images. */
  count: number;
}

function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Logits for rows `start..end` of `set`, in inference mode. */
function logitsFor(
  net: Network,
  set: ImageSet,
  order: Uint32Array,
  start: number,
  end: number,
): tf.Tensor2D {
  const pixels = toFloat32(set, order, start, end);
  return tf.tidy(() => {
    const x = tf.tensor2d(pixels, [end - start, PIXELS]);
    return net.layers.apply(x, { training: false }) as tf.Tensor2D;
  });
}

/** Mean cross-entropy and accuracy of `net` on `set`. */
export function evaluateSet(net: Network, set: ImageSet, batchSize = 1000): SetMetrics {
  const order = identity(set.count);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const end = Math.min(start + batchSize, set.count);
    const logits = logitsFor(net, set, order, start, end);
    const [l, c] = tf.tidy(() => {
      const labels = tf.tensor1d(set.labels.subarray(start, end), "int32");
      const y = tf.cast(tf.oneHot(labels, NUM_CLASSES), "float32");
      const loss = tf.losses.softmaxCrossEntropy(y, logits, undefined, 0, tf.Reduction.SUM);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "float32"));
      return [loss, hits];
    });
    lossSum += l.dataSync()[0];
    correct += c.dataSync()[0];
    tf.dispose([logits, l, c]);
  }
  const n = set.count;
  return { loss: n ? lossSum / n : NaN, accuracy: n ? correct / n : NaN, correct, count: n };
}

/**
 * Class probabilities (softmax of the logits) for `count` images given as
 * `count` x 784 uint8 pixels; returns `count` x 10 values, row-major.
 */
export function predictProbabilities(
  net: Network,
  images: Uint8Array,
  count: number,
  batchSize = 1000,
): Float32Array {
  if (images.length !== count * PIXELS) {
    throw new Error(
      `expected ${count} x ${PIXELS} = ${count * PIXELS} pixels, got ${images.length}`,
    );
  }
  const set: ImageSet = { images, labels: new Uint8Array(count), count };
  const order = identity(count);
  const out = new Float32Array(count * NUM_CLASSES);
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(start + batchSize, count);
    const logits = logitsFor(net, set, order, start, end);
    const probs = tf.softmax(logits);
    out.set(probs.dataSync() as Float32Array, start * NUM_CLASSES);
    tf.dispose([logits, probs]);
  }
  return out;
}

export { argmaxRow };

export {
  accuracyOf,
  type ClassMetrics,
  classMetrics,
  confusionMatrix,
  LabelRangeError,
  perClassAccuracy,
} from "./metrics.ts";
