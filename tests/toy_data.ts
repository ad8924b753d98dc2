/**
 * The toy data of the tests, in one place: {@link toySet}, a separable problem
 * for the training tests (image i of class c has background pixels in
 * [0, background) and the band of pixels [78c, 78c + 78) lit in
 * [band, band + bandSpan)), and {@link toySplits}, noisy class prototypes for
 * the grader tests.
 *
 * @module
 */
import type { ImageSet } from "../data/types.ts";
import { deriveSeed, Rng } from "../utils/rng.ts";

/** `n` seeded toy images with random labels (see the module doc for the pixel ranges). */
export function toySet(
  n: number,
  seed: number,
  background = 120,
  band = 130,
  bandSpan = 120,
): ImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(10);
    labels[i] = c;
    for (let p = 0; p < 784; p++) images[i * 784 + p] = rng.int(background);
    for (let p = c * 78; p < c * 78 + 78; p++) images[i * 784 + p] = band + rng.int(bandSpan);
  }
  return { images, labels, count: n };
}

/** Train, valid and test sets of synthetic images. */
export interface ToySplits {
  /** Training set. */
  train: ImageSet;
  /** Validation set. */
  valid: ImageSet;
  /** Test set. */
  test: ImageSet;
}

/**
 * A seeded black/white 28x28 prototype made of 4x4 blocks (7x7 random
 * blocks), so that, as with letters, a one-pixel shift keeps most of it (the
 * grader's perturbed copies: `data/perturb.ts`).
 */
export function blockPrototype(rng: Rng, dark = 0, light = 255): Uint8Array {
  const blocks = Array.from({ length: 49 }, () => (rng.next() < 0.5 ? dark : light));
  return Uint8Array.from({ length: 784 }, (_, p) => {
    const [y, x] = [Math.floor(p / 28), p % 28];
    return blocks[Math.floor(y / 4) * 7 + Math.floor(x / 4)];
  });
}

/**
 * Train, valid and test sets for the grader tests: ten classes, each a fixed
 * random black/white 28x28 prototype of 4x4 blocks ({@link blockPrototype})
 * plus seeded uniform noise (clamped to 0..255). With the defaults a nearest-centroid classifier reaches about 0.96
 * test accuracy and a 1-nearest-neighbour one about 0.54, so both partial
 * credit and the train-test gap can be exercised. Built from `seed` with the
 * given sizes. `noise` (0..255) is
 * the amplitude of the per-pixel noise; larger values make classes overlap.
 */
export function toySplits(
  seed: number,
  sizes: { train: number; valid: number; test: number } = { train: 200, valid: 50, test: 100 },
  noise = 700,
): ToySplits {
  const protoRng = new Rng(deriveSeed(seed, 0));
  const protos = new Uint8Array(10 * 784);
  for (let c = 0; c < 10; c++) protos.set(blockPrototype(protoRng), c * 784);
  const make = (part: number, count: number): ImageSet => {
    const rng = new Rng(deriveSeed(seed, part));
    const images = new Uint8Array(count * 784);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const c = i % 10;
      labels[i] = c;
      for (let p = 0; p < 784; p++) {
        const v = protos[c * 784 + p] + (rng.next() - 0.5) * 2 * noise;
        images[i * 784 + p] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
    return { images, labels, count };
  };
  return { train: make(1, sizes.train), valid: make(2, sizes.valid), test: make(3, sizes.test) };
}
