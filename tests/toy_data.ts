/**
 * A separable toy problem shared by the training tests: image i of class c has
 * background pixels in [0, background) and the band of pixels
 * [78c, 78c + 78) lit in [band, band + bandSpan).
 *
 * @module
 */
import type { ImageSet } from "../data/types.ts";
import { Rng } from "../utils/rng.ts";

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
