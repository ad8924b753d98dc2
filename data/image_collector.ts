/**
 * Collecting decoded batches into one {@link ImageSet}: a growing pixel
 * buffer with labels, hashes, names and per-letter counts, from which entries
 * whose path occurs twice are dropped.
 *
 * @module
 */
import type { DecodedBatch } from "./decode_batch.ts";
import { duplicatePathReason, pathKey } from "./duplicate_paths.ts";
import { listedName } from "./entry_listing.ts";
import { type ImageSet, type Letter, LETTERS, PIXELS, type SkippedFile } from "./types.ts";

/** A fresh per-letter counter, all zeros. */
export function letterCounts(): Record<Letter, number> {
  return Object.fromEntries(LETTERS.map((l) => [l, 0])) as Record<Letter, number>;
}

/** Largest archive the decoder accepts: 5,000,000 images (3.9 GB of pixels). */
const MAX_IMAGES = 5_000_000;

/**
 * Collects decoded batches in order into one growing pixel buffer. The buffer is
 * a resizable `ArrayBuffer` that grows in place, so the full set is never held
 * twice (a grow-and-copy array would need 1.5-2x the final size at its peak).
 */
export class Collector {
  #buf = new ArrayBuffer(0, { maxByteLength: MAX_IMAGES * PIXELS });
  #labels: number[] = [];
  #hashes: number[] = [];
  names: string[] = [];
  count = 0;
  perLetter = letterCounts();

  add(r: DecodedBatch, names: string[], labels: number[], skipped: SkippedFile[]): void {
    const ok = r.images.byteLength / PIXELS;
    const need = (this.count + ok) * PIXELS;
    if (need > this.#buf.maxByteLength) {
      throw new Error(`archive holds more than ${MAX_IMAGES} images; not supported`);
    }
    if (need > this.#buf.byteLength) {
      // growing in place costs no copy, so grow in 32 MB steps, not by doubling
      this.#buf.resize(Math.min(this.#buf.maxByteLength, need + (32 << 20)));
    }
    new Uint8Array(this.#buf, this.count * PIXELS, ok * PIXELS).set(r.images);
    for (let i = 0; i < ok * 2; i++) this.#hashes.push(r.hashes[i]);
    for (let i = 0; i < r.reasons.length; i++) {
      const reason = r.reasons[i];
      if (reason !== null) {
        skipped.push({ path: listedName(names[i]), reason });
        continue;
      }
      this.#labels.push(labels[i]);
      this.names.push(names[i]);
      this.perLetter[LETTERS[labels[i]]]++;
    }
    this.count += ok;
  }

  /**
   * Removes the images whose path is in `repeated` (keeping the others in
   * order, pixels moved in place) and lists each of them in `skipped`.
   */
  dropPaths(repeated: ReadonlyMap<string, number>, skipped: SkippedFile[]): void {
    const pixels = new Uint8Array(this.#buf);
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const n = repeated.get(pathKey(this.names[i]));
      if (n !== undefined) {
        skipped.push({ path: listedName(this.names[i]), reason: duplicatePathReason(n) });
        this.perLetter[LETTERS[this.#labels[i]]]--;
        continue;
      }
      if (kept !== i) {
        pixels.copyWithin(kept * PIXELS, i * PIXELS, (i + 1) * PIXELS);
        this.#labels[kept] = this.#labels[i];
        this.#hashes[2 * kept] = this.#hashes[2 * i];
        this.#hashes[2 * kept + 1] = this.#hashes[2 * i + 1];
        this.names[kept] = this.names[i];
      }
      kept++;
    }
    this.count = kept;
    this.#labels.length = kept;
    this.#hashes.length = 2 * kept;
    this.names.length = kept;
  }

  finish(): { set: ImageSet; hashes: Uint32Array } {
    // Shrink in place and keep the (resizable) buffer: transferToFixedLength()
    // may copy, which would briefly hold the whole set twice.
    this.#buf.resize(this.count * PIXELS);
    const images = new Uint8Array(this.#buf, 0, this.count * PIXELS);
    return {
      set: { images, labels: Uint8Array.from(this.#labels), count: this.count },
      hashes: Uint32Array.from(this.#hashes),
    };
  }
}
