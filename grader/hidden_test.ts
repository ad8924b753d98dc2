/**
 * Loading the hidden test set of `--hidden-test FILE`: an archive in the
 * notMNIST layout (`<root>/<A-J>/*.png`, `<root>` the file's name without
 * `.tar.gz`, as `deno task make-hidden-test` writes it), decoded by the data
 * layer like any archive, with its file record for the report.
 *
 * @module
 */
import { basename, resolve } from "node:path";
import { loadArchive } from "../data/archive.ts";
import { type ImageSet, LETTERS } from "../data/types.ts";
import type { FileRecord } from "./report/provenance.ts";

/** Raised when the hidden test set cannot be used; the message names the flag and the file. */
export class HiddenTestError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "HiddenTestError";
  }
}

/** The loaded hidden test set. */
export interface HiddenTest {
  /** Its images and labels (the labels never leave the grader). */
  set: ImageSet;
  /** The archive's record (path, size, SHA-256) for the report. */
  record: FileRecord;
  /**
   * The archive's absolute path: graded code may not import it (the archive
   * alone, not its folder, so a class folder beside it stays gradable).
   */
  forbidden: string;
}

/**
 * Decodes the hidden test archive at `path` (no cache: nothing of it is
 * written anywhere); throws a {@link HiddenTestError} naming `--hidden-test`
 * when it is missing, unreadable, or lacks images of a letter.
 */
export async function loadHiddenTest(
  path: string,
  log: (line: string) => void = () => {},
): Promise<HiddenTest> {
  const abs = resolve(path);
  let decoded;
  try {
    decoded = await loadArchive(abs, { cacheDir: null, log });
  } catch (err) {
    throw new HiddenTestError(
      `--hidden-test ${path}: could not read it as a notMNIST-layout archive ` +
        `(expected ${basename(abs).replace(/\.(tar\.gz|tgz)$/, "")}/<A-J>/*.png): ${
          (err as Error).message
        }`,
    );
  }
  const missing = LETTERS.filter((l) => decoded.perLetter[l] === 0);
  if (missing.length > 0) {
    throw new HiddenTestError(
      `--hidden-test ${path}: no readable images of ${missing.join(", ")} ` +
        `(expected images of every letter A-J)`,
    );
  }
  log(`hidden test set: ${decoded.set.count} images from ${abs}`);
  return {
    set: decoded.set,
    record: {
      path: decoded.source.path,
      name: basename(decoded.source.path),
      bytes: decoded.source.bytes,
      sha256: decoded.source.sha256 ?? "(folder: not hashed)",
    },
    forbidden: abs,
  };
}
