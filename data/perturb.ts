/**
 * Perturbed copies of a set of images, for the grader's memorisation check:
 * each image is moved by one pixel in a seeded direction (one of the eight
 * neighbours; the uncovered edge takes the image's darkest value) and gets
 * faint seeded noise (uniform in [-amplitude, +amplitude], clamped to 0..255).
 * A classifier that learned letters loses a few points on such copies; a table
 * of the exact images finds none of them. Pure: same set and seed, same bits.
 *
 * ```ts
 * import { perturbImages } from "./data/perturb.ts";
 *
 * const set = { images: new Uint8Array(784).fill(200), labels: Uint8Array.of(3), count: 1 };
 * const copy = perturbImages(set, 42);
 * console.log(copy.labels[0], copy.images.length); // 3 784
 * ```
 *
 * @module
 */
import { IMAGE_SIZE, type ImageSet, PIXELS } from "./types.ts";
import { deriveSeed, Rng } from "../utils/rng.ts";
import { SEED_STREAMS } from "../utils/seed_streams.ts";

/** Default noise amplitude of {@link perturbImages}, in gray levels (of 255). */
export const PERTURB_NOISE = 12;

/** The eight one-pixel moves (dx, dy). */
const MOVES: readonly (readonly [number, number])[] = [
  [-1, -1],
  [0, -1],
  [1, -1],
  [-1, 0],
  [1, 0],
  [-1, 1],
  [0, 1],
  [1, 1],
];

/** Moves one 28x28 image by (dx, dy) into `out`, filling the uncovered edge with `fill`. */
function shiftInto(
  src: Uint8Array,
  out: Uint8Array,
  dx: number,
  dy: number,
  fill: number,
): void {
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      const sx = x - dx;
      const sy = y - dy;
      out[y * IMAGE_SIZE + x] = sx >= 0 && sx < IMAGE_SIZE && sy >= 0 && sy < IMAGE_SIZE
        ? src[sy * IMAGE_SIZE + sx]
        : fill;
    }
  }
}

/**
 * Returns a perturbed copy of `set` (labels copied unchanged): every image
 * shifted by one pixel and given noise of amplitude `noise` gray levels, from
 * the seed stream {@link SEED_STREAMS}.perturb of `seed`.
 */
export function perturbImages(set: ImageSet, seed: number, noise = PERTURB_NOISE): ImageSet {
  if (!(Number.isInteger(noise) && noise >= 0 && noise <= 255)) {
    throw new RangeError(`perturbImages: noise must be an integer in 0..255, got ${noise}`);
  }
  const rng = new Rng(deriveSeed(seed, SEED_STREAMS.perturb));
  const images = new Uint8Array(set.count * PIXELS);
  const row = new Uint8Array(PIXELS);
  for (let i = 0; i < set.count; i++) {
    const src = set.images.subarray(i * PIXELS, (i + 1) * PIXELS);
    const [dx, dy] = MOVES[rng.int(MOVES.length)];
    let fill = 255;
    for (let p = 0; p < PIXELS; p++) if (src[p] < fill) fill = src[p];
    shiftInto(src, row, dx, dy, fill);
    for (let p = 0; p < PIXELS; p++) {
      const v = row[p] + rng.int(2 * noise + 1) - noise;
      images[i * PIXELS + p] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { images, labels: set.labels.slice(0, set.count), count: set.count };
}
