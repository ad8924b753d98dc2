/**
 * Typed errors of the data layer, for archives whose content cannot train or
 * grade a ten-class model. Callers may test them with `instanceof` and read
 * the archive path and the missing letters without parsing the message.
 *
 * @module
 */
import type { Letter } from "./types.ts";

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
