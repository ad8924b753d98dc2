/**
 * Minibatches of the training loop: the batch bounds, the pixel-shift
 * augmentation and the batch tensors.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { toFloat32 } from "../../data.ts";
import { IMAGE_SIZE, type ImageSet, NUM_CLASSES, PIXELS } from "../../data/types.ts";
import type { Rng } from "../../utils/rng.ts";

/**
 * Shifts each of the `count` 28x28 images in `pixels` (in place) by a random
 * offset in [-maxShift, maxShift] on each axis, filling uncovered pixels with 0.
 */
export function shiftImages(pixels: Float32Array, count: number, rng: Rng, maxShift: number): void {
  if (maxShift <= 0) return;
  const tmp = new Float32Array(PIXELS);
  for (let n = 0; n < count; n++) {
    const dx = rng.int(2 * maxShift + 1) - maxShift;
    const dy = rng.int(2 * maxShift + 1) - maxShift;
    if (dx === 0 && dy === 0) continue;
    const base = n * PIXELS;
    tmp.fill(0);
    for (let y = 0; y < IMAGE_SIZE; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= IMAGE_SIZE) continue;
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const sx = x - dx;
        if (sx >= 0 && sx < IMAGE_SIZE) {
          tmp[y * IMAGE_SIZE + x] = pixels[base + sy * IMAGE_SIZE + sx];
        }
      }
    }
    pixels.set(tmp, base);
  }
}

/**
 * Rows `[start, end)` of batch `b` when `count` images are cut into `steps`
 * batches of equal size (sizes differ by at most one). A short last batch
 * (e.g. 4 images after 117 batches of 128) would take a full-size step in the
 * direction of a handful of images - enough to wreck the end-of-epoch weights.
 */
export function batchBounds(count: number, steps: number, b: number): [number, number] {
  return [Math.floor((b * count) / steps), Math.floor(((b + 1) * count) / steps)];
}

/** One minibatch: pixels (augmented when asked) and labels as tensors. */
export function makeBatch(
  set: ImageSet,
  order: Uint32Array,
  start: number,
  end: number,
  augment: { rng: Rng; shift: number } | undefined,
): { x: tf.Tensor2D; y: tf.Tensor2D; labels: Uint8Array } {
  const count = end - start;
  const pixels = toFloat32(set, order, start, end);
  if (augment) shiftImages(pixels, count, augment.rng, augment.shift);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = set.labels[order[start + i]];
  const x = tf.tensor2d(pixels, [count, PIXELS]);
  const y = tf.tidy(() =>
    tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), NUM_CLASSES), "float32")
  ) as tf.Tensor2D;
  return { x, y, labels };
}
