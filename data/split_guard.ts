/**
 * The last check of a protocol's splits: none may be empty, and (unless
 * missing letters are allowed) each must hold every letter, so an archive in
 * which, say, every image has an exact copy is refused with
 * {@link EmptySplitError} instead of giving valid 0 / test 0 and a NaN
 * accuracy.
 *
 * @module
 */
import type { DecodedArchive } from "./archive.ts";
import { EmptySplitError, type SplitName } from "./errors.ts";
import type { DuplicateGroups } from "./groups.ts";
import { type ImageSet, type Letter, LETTERS, NUM_CLASSES, type Protocol } from "./types.ts";

/** One split to check: the archive it is drawn from and what it should hold. */
export interface SplitToCheck {
  /** `train`, `valid` or `test`. */
  split: SplitName;
  /** Its images. */
  set: ImageSet;
  /** Absolute path of the archive it is drawn from. */
  path: string;
  /** What the protocol puts in it, for the error message. */
  expected: string;
}

/** The letters with no image in `set`, in label order. */
export function lettersMissingFrom(set: ImageSet): Letter[] {
  const seen = new Array(NUM_CLASSES).fill(false);
  for (let i = 0; i < set.count; i++) seen[set.labels[i]] = true;
  return LETTERS.filter((_, c) => !seen[c]);
}

/**
 * Throws {@link EmptySplitError} for the first split that is empty, or that
 * lacks letters unless `allowMissingLetters` (then `log` gets a warning).
 */
export function requireSplits(
  splits: SplitToCheck[],
  protocol: Protocol,
  allowMissingLetters: boolean,
  log: (line: string) => void,
): void {
  for (const s of splits) {
    const missing = lettersMissingFrom(s.set);
    if (missing.length === 0) continue;
    const err = new EmptySplitError(s.path, protocol, s.split, missing, s.expected);
    if (s.set.count === 0 || !allowMissingLetters) throw err;
    log(`warning: ${err.message}`);
  }
}

/** An archive a protocol draws splits from, with its duplicate groups. */
export interface SplitArchive {
  /** The decoded archive. */
  archive: DecodedArchive;
  /** Its exact-duplicate groups. */
  groups: DuplicateGroups;
}

/** `10% of each letter's images, drawn from images with no exact copy (sanitize: 3 of 40 ...)`. */
function drawnFrom(l: SplitArchive, sanitize: boolean): string {
  if (!sanitize) return "duplicate groups that fit the quota";
  const g = l.groups;
  let singles = 0;
  for (let id = 0; id < g.count; id++) if (g.starts[id + 1] - g.starts[id] === 1) singles++;
  return `images with no exact copy in the archive (sanitize: ${singles} of its ` +
    `${l.archive.set.count} images have none)`;
}

/**
 * The checks of the `small` protocol's splits (`large` null) or of the `lab`
 * protocol's (train/valid from `large`, test from `small`).
 */
export function protocolSplitChecks(
  made: { train: ImageSet; valid: ImageSet; test: ImageSet },
  small: SplitArchive,
  large: SplitArchive | null,
  sanitize: boolean,
): SplitToCheck[] {
  const from = large ?? small;
  const quota = large ? "the requested number of" : "10% of each letter's";
  const test = large
    ? `the images of notMNIST_small${
      sanitize ? " that do not occur in notMNIST_large (one copy of each)" : ""
    }`
    : `${quota} images, drawn from ${drawnFrom(small, sanitize)}`;
  return [
    {
      split: "train",
      set: made.train,
      path: from.archive.source.path,
      expected: "images of every letter (all those not in valid or test)",
    },
    {
      split: "valid",
      set: made.valid,
      path: from.archive.source.path,
      expected: `${quota} images, drawn from ${drawnFrom(from, sanitize)}`,
    },
    { split: "test", set: made.test, path: small.archive.source.path, expected: test },
  ];
}
