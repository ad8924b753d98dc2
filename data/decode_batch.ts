/**
 * Decoding a batch of PNG files: the unit of work shared by the in-thread path
 * and the decode workers.
 *
 * @module
 */
import { decodeGray28 } from "./png_gray.ts";
import { hashImages } from "./hash.ts";
import { PIXELS } from "./types.ts";

/** A batch of raw files, packed back to back in one buffer. */
export interface RawBatch {
  /** Sequence number, to put results back in order. */
  seq: number;
  /** All files' bytes, concatenated. */
  blob: Uint8Array;
  /** `count + 1` offsets into `blob`: file i is `blob[offsets[i] .. offsets[i+1])`. */
  offsets: Uint32Array;
}

/** The decoded batch: only the usable images, plus the reasons for the rest. */
export interface DecodedBatch {
  /** Sequence number of the {@link RawBatch}. */
  seq: number;
  /** `ok` images x 784 bytes, in file order. */
  images: Uint8Array;
  /** 2 x `ok` hash lanes (see data/hash.ts). */
  hashes: Uint32Array;
  /** Per file: `null` when decoded, else why it was skipped. */
  reasons: (string | null)[];
}

/** Decodes every file of `batch`, keeping usable images and the reasons for the others. */
export function decodeBatch(batch: RawBatch): DecodedBatch {
  const count = batch.offsets.length - 1;
  const buf = new Uint8Array(count * PIXELS);
  const reasons: (string | null)[] = new Array(count);
  let ok = 0;
  for (let i = 0; i < count; i++) {
    const bytes = batch.blob.subarray(batch.offsets[i], batch.offsets[i + 1]);
    const reason = decodeGray28(bytes, buf, ok * PIXELS);
    reasons[i] = reason;
    if (reason === null) ok++;
  }
  const images = ok === count ? buf : buf.slice(0, ok * PIXELS);
  return { seq: batch.seq, images, hashes: hashImages(images, ok), reasons };
}
