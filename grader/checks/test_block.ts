/**
 * The block of test images handed to a task after `train()` returned: the
 * public test split, perturbed copies of it (the memorisation check) and the
 * hidden test set when one is graded, concatenated in a fixed order, so every
 * one of them reaches the student's process the same way (images only, no
 * labels) and the predictions are split back here.
 *
 * @module
 */
import { type ImageSet, NUM_CLASSES, PIXELS } from "../../data/types.ts";

/** The parts of the block. */
export type TestPartName = "public" | "perturbed" | "hidden";

/** One part: its labelled set and where its images start in the block. */
export interface TestPart {
  /** Which part. */
  name: TestPartName;
  /** Index of its first image in the block. */
  offset: number;
  /** Its images and labels (labels never leave the grader). */
  set: ImageSet;
}

/** The concatenated block. */
export interface TestBlock {
  /** All parts' images, in order. */
  images: Uint8Array;
  /** Total images. */
  count: number;
  /** The parts, in order. */
  parts: TestPart[];
}

/** Concatenates the parts (absent ones skipped) into one block of images. */
export function testBlock(parts: [TestPartName, ImageSet | undefined][]): TestBlock {
  const present = parts.filter((p): p is [TestPartName, ImageSet] => p[1] !== undefined);
  const count = present.reduce((s, [, set]) => s + set.count, 0);
  const images = new Uint8Array(count * PIXELS);
  const out: TestPart[] = [];
  let offset = 0;
  for (const [name, set] of present) {
    images.set(set.images.subarray(0, set.count * PIXELS), offset * PIXELS);
    out.push({ name, offset, set });
    offset += set.count;
  }
  return { images, count, parts: out };
}

/** The part called `name`, or `undefined` when the block has none. */
export function testPart(block: TestBlock, name: TestPartName): TestPart | undefined {
  return block.parts.find((p) => p.name === name);
}

/**
 * The predictions of one part, cut from predictions of the whole block. The
 * caller validates the block's predictions first (`count` x 10 values).
 */
export function partPredictions(probs: Float32Array, part: TestPart): Float32Array {
  return probs.subarray(part.offset * NUM_CLASSES, (part.offset + part.set.count) * NUM_CLASSES);
}
