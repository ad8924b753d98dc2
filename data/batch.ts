/**
 * Building batches from uint8 image sets.
 *
 * @module
 */
import { type ImageSet, PIXELS } from "./types.ts";

/**
 * Copies rows `indices[start..end)` of `set` into a float32 batch, each pixel
 * scaled by 1/255 into [0, 1]. This is plain pixel scaling, the same for every
 * image: the lab's inputs are gray levels, and per-row L2 normalisation would
 * make an image's values depend on how much ink it has (a bold glyph and a thin
 * one would get different brightness scales), so it is never done. Scaling at
 * batch time keeps the whole set as uint8 (784 bytes per image) in memory.
 * `out` is reused when given (it must hold at least `(end - start) * 784` floats).
 */
export function toFloat32(
  set: ImageSet,
  indices: ArrayLike<number>,
  start: number,
  end: number,
  out?: Float32Array,
): Float32Array {
  if (start < 0 || end > indices.length || start > end) {
    throw new Error(`toFloat32: range [${start}, ${end}) is outside 0..${indices.length}`);
  }
  const rows = end - start;
  const dst = out ?? new Float32Array(rows * PIXELS);
  if (dst.length < rows * PIXELS) {
    throw new Error(`toFloat32: out holds ${dst.length} floats, ${rows * PIXELS} needed`);
  }
  const src = set.images;
  const scale = 1 / 255;
  for (let r = 0; r < rows; r++) {
    const i = indices[start + r];
    if (!(i >= 0 && i < set.count)) {
      throw new Error(`toFloat32: index ${i} is outside the set of ${set.count} images`);
    }
    const s = i * PIXELS;
    const d = r * PIXELS;
    for (let p = 0; p < PIXELS; p++) dst[d + p] = src[s + p] * scale;
  }
  return dst;
}

/** A new {@link ImageSet} holding copies of the rows `indices` of `set`, in that order. */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const n = indices.length;
  const images = new Uint8Array(n * PIXELS);
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const i = indices[r];
    if (!(i >= 0 && i < set.count)) {
      throw new Error(`subset: index ${i} is outside the set of ${set.count} images`);
    }
    images.set(set.images.subarray(i * PIXELS, (i + 1) * PIXELS), r * PIXELS);
    labels[r] = set.labels[i];
  }
  return { images, labels, count: n };
}
