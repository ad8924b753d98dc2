/**
 * Typed errors of the hidden-test renderer. Callers test them with
 * `instanceof` and read the fields instead of parsing the message.
 *
 * @module
 */

/** No font under the searched folders can draw ten distinct letters A-J. */
export class NoUsableFontError extends Error {
  /** The folders searched. */
  readonly dirs: readonly string[];
  /** Font files found there (all unusable). */
  readonly fontFiles: number;

  /** Names the folders and what was expected. */
  constructor(dirs: readonly string[], fontFiles: number) {
    super(
      `no usable font in ${dirs.join(", ")} (${fontFiles} font file${fontFiles === 1 ? "" : "s"} ` +
        `found; expected .ttf/.otf/.woff fonts with outline glyphs for the letters A-J)`,
    );
    this.name = "NoUsableFontError";
    this.dirs = [...dirs];
    this.fontFiles = fontFiles;
  }
}

/** The font folders hold more than the renderer reads (files or entries); pass narrower folders. */
export class FontFolderLimitError extends Error {
  /** What was found, e.g. `over 20000 font files`. */
  readonly found: string;
  /** The folders searched (empty while the walk is still under way). */
  readonly dirs: readonly string[];

  /** Names the folders, what was found and what to do. */
  constructor(found: string, dirs: readonly string[] = []) {
    super(
      `${dirs.length > 0 ? dirs.join(", ") : "the font folders"}: ${found}; ` +
        `pass narrower --fonts folders`,
    );
    this.name = "FontFolderLimitError";
    this.found = found;
    this.dirs = [...dirs];
  }
}
