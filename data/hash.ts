/**
 * A fast 64-bit content hash of decoded images (two independent 32-bit lanes
 * over the 784 pixel bytes). Used to find exact duplicates; equal hashes are
 * always confirmed by comparing the pixels, so a collision can never merge two
 * different images.
 *
 * @module
 */
import { PIXELS } from "./types.ts";

const WORDS = PIXELS / 4;

/**
 * Hashes `count` images stored back to back in `images` (784 bytes each,
 * starting at a 4-byte aligned byte offset) into `out[2i]` (high lane) and
 * `out[2i+1]` (low lane).
 */
export function hashImages(
  images: Uint8Array,
  count: number,
  out: Uint32Array = new Uint32Array(2 * count),
): Uint32Array {
  if (images.byteOffset % 4 !== 0) throw new Error("hashImages: images must be 4-byte aligned");
  const words = new Uint32Array(images.buffer, images.byteOffset, count * WORDS);
  for (let i = 0; i < count; i++) {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    const base = i * WORDS;
    for (let j = 0; j < WORDS; j++) {
      const w = words[base + j];
      h1 = Math.imul(h1 ^ w, 0x01000193);
      h1 ^= h1 >>> 13;
      h2 = Math.imul(h2 ^ w, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
    h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
    out[2 * i] = (h1 ^ (h1 >>> 16)) >>> 0;
    out[2 * i + 1] = (h2 ^ (h2 >>> 16)) >>> 0;
  }
  return out;
}

/** The hash of image `i` as 16 hex digits. */
export function hashHex(hashes: Uint32Array, i: number): string {
  return hashes[2 * i].toString(16).padStart(8, "0") +
    hashes[2 * i + 1].toString(16).padStart(8, "0");
}
