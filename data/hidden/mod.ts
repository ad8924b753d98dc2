/**
 * The hidden test set: the letters A-J rendered from fonts in notMNIST's
 * style into a reproducible `.tar.gz` that no student has seen
 * (docs/hidden_test.md). The command line is `deno task make-hidden-test`.
 *
 * ```ts
 * import { defaultFontDirs, makeHiddenTest } from "./mod.ts";
 *
 * const report = await makeHiddenTest({
 *   out: "out/hidden.tar.gz",
 *   secret: "a secret of yours",
 *   fontDirs: defaultFontDirs(),
 *   count: 1000,
 * });
 * console.log(`${report.images} images from ${report.fonts.length} fonts: ${report.sha256}`);
 * ```
 *
 * @module
 */
export { type Letter, LETTERS } from "../types.ts";
export type { Polygon } from "./raster.ts";
export { FontFolderLimitError, NoUsableFontError } from "./errors.ts";
export {
  defaultFontDirs,
  type FontScan,
  type HiddenFont,
  scanFonts,
  type SkipKind,
  type SkippedFont,
} from "./fonts.ts";
export {
  DEFAULT_HIDDEN_COUNT,
  HiddenTestOptionError,
  type HiddenTestOptions,
  type HiddenTestReport,
  makeHiddenTest,
  MAX_HIDDEN_COUNT,
  seedOfSecret,
} from "./make.ts";
