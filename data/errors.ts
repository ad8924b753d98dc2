/**
 * Typed errors of the data layer, for archives whose content cannot train or
 * grade a ten-class model. Callers may test them with `instanceof` and read
 * the archive path and the missing letters without parsing the message.
 *
 * @module
 */
import { type Letter, NUM_CLASSES, type Protocol } from "./types.ts";

/** The three splits of a protocol. */
export type SplitName = "train" | "valid" | "test";

/** An archive (or folder) that holds no readable image. */
export class EmptyArchiveError extends Error {
  /** Absolute path of the archive. */
  readonly path: string;

  /** `message` names the archive, what was expected and what was found. */
  constructor(path: string, message: string) {
    super(message);
    this.name = "EmptyArchiveError";
    this.path = path;
  }
}

/** An archive in which some letters have no readable image. */
export class MissingLettersError extends Error {
  /** Absolute path of the archive. */
  readonly path: string;
  /** The letters with no readable image, in label order. */
  readonly letters: Letter[];

  /** Names the archive and the letters missing from it. */
  constructor(path: string, letters: Letter[]) {
    super(
      `${path}: no readable image of letter${letters.length > 1 ? "s" : ""} ` +
        `${letters.join(", ")}; a 10-class model would be trained and tested on fewer ` +
        `classes (expected images of every letter A-J)`,
    );
    this.name = "MissingLettersError";
    this.path = path;
    this.letters = letters;
  }
}

/** A split that a protocol would make empty, or without images of some letters. */
export class EmptySplitError extends Error {
  /** Absolute path of the archive the split is drawn from. */
  readonly path: string;
  /** The protocol. */
  readonly protocol: Protocol;
  /** The split: `train`, `valid` or `test`. */
  readonly split: SplitName;
  /** Letters with no image in the split, in label order (all ten when it is empty). */
  readonly letters: Letter[];

  /** Names the archive, the protocol, the split, what it lacks and what was `expected`. */
  constructor(
    path: string,
    protocol: Protocol,
    split: SplitName,
    letters: Letter[],
    expected: string,
  ) {
    const what = letters.length === NUM_CLASSES
      ? "is empty"
      : `has no image of letter${letters.length > 1 ? "s" : ""} ${letters.join(", ")}`;
    super(
      `${path}: the "${protocol}" protocol's ${split} split ${what}; expected ${expected}, so ` +
        `a 10-class model cannot be trained, validated and tested on it`,
    );
    this.name = "EmptySplitError";
    this.path = path;
    this.protocol = protocol;
    this.split = split;
    this.letters = letters;
  }
}
