/**
 * Duplicate filter of the hidden test set: a rendering is dropped when its
 * pixels equal an image of the public archive (hash match confirmed pixel by
 * pixel) or an image already kept in the hidden set.
 *
 * @module
 */
import { hashHex, hashImages } from "../hash.ts";
import { type ImageSet, PIXELS } from "../types.ts";

/** What {@link ImageDeduper.check} decided about one image. */
export type DedupVerdict = "new" | "public" | "within";

/** Remembers the public images and the kept hidden ones. */
export class ImageDeduper {
  readonly #public = new Map<string, Uint8Array[]>();
  readonly #kept = new Set<string>();
  readonly #hash = new Uint32Array(2);
  #publicCount = 0;

  /** Adds the images of `set` (with their content hashes, data/hash.ts) as public ones. */
  addPublic(set: ImageSet, hashes: Uint32Array): void {
    for (let i = 0; i < set.count; i++) {
      const key = hashHex(hashes, i);
      const img = set.images.slice(i * PIXELS, (i + 1) * PIXELS);
      const list = this.#public.get(key);
      if (list) list.push(img);
      else this.#public.set(key, [img]);
    }
    this.#publicCount += set.count;
  }

  /** Public images added so far. */
  get publicCount(): number {
    return this.#publicCount;
  }

  /**
   * Whether `img` (784 bytes) is new, equals a public image, or equals a kept
   * one; a new image is remembered as kept. Among kept images equal 64-bit
   * hashes count as equal: a collision could only drop a distinct image,
   * never keep a duplicate, and memory stays at a few bytes per image.
   */
  check(img: Uint8Array): DedupVerdict {
    const aligned = img.byteOffset % 4 === 0 ? img : img.slice();
    hashImages(aligned, 1, this.#hash);
    const key = hashHex(this.#hash, 0);
    if (this.#public.get(key)?.some((p) => p.every((v, i) => v === img[i]))) return "public";
    if (this.#kept.has(key)) return "within";
    this.#kept.add(key);
    return "new";
  }
}
