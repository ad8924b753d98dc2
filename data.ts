/**
 * The notMNIST data pipeline: download, decode (with a cache), duplicate
 * grouping, the `small` and `lab` split protocols, grouped folds, and float32
 * batches.
 *
 * ```ts
 * import { loadSplits, toFloat32 } from "./data.ts";
 *
 * // Reads notMNIST_small.tar.gz from $NOTMNIST_DIR (or the per-user cache folder).
 * const { train, valid, test, summary } = await loadSplits({ protocol: "small" });
 * console.log(summary.sizes, valid.count, test.count);
 * const order = Array.from({ length: train.count }, (_, i) => i);
 * const batch = toFloat32(train, order, 0, 128); // 128 x 784 floats in [0, 1]
 * console.log(batch.length);
 * ```
 *
 * @module
 */
export * from "./data/types.ts";
export {
  type DataSplits,
  DEFAULT_LAB_VALID_SIZE,
  DEFAULT_SPLIT_SEED,
  foldsOf,
  groupedFolds,
  type GroupedFoldsOptions,
  type LetterCounts,
  loadSplits,
  type LoadSplitsOptions,
  missingLetters,
  SMALL_FRACTIONS,
  type SourceSummary,
  type SplitSummary,
} from "./data/splits.ts";
export { subset, toFloat32 } from "./data/batch.ts";
export { stratifiedSubset, SUBSET_STREAM, subsetIndices } from "./data/subset.ts";
export {
  archiveRoot,
  type ArchiveSource,
  type DecodedArchive,
  defaultWorkers,
  entryPathProblem,
  letterOf,
  loadArchive,
  type LoadArchiveOptions,
  MAX_ENTRY_BYTES,
  MAX_SKIPPED,
  type SkippedFile,
} from "./data/archive.ts";
export {
  EmptyArchiveError,
  EmptySplitError,
  MissingLettersError,
  type SplitName,
} from "./data/errors.ts";
export {
  digestNote,
  downloadArchive,
  type DownloadOptions,
  KNOWN_SIZES,
  OFFICIAL_BASE_URL,
  OFFICIAL_SHA256,
} from "./data/download.ts";
export {
  archiveFileName,
  type ArchiveName,
  findArchive,
  resolveCacheDir,
  resolveDataDir,
  userCacheDir,
} from "./data/paths.ts";
export {
  type DuplicateGroups,
  duplicateGroups,
  type DuplicateStats,
  duplicateStats,
} from "./data/groups.ts";
export {
  allocateGroups,
  type AllocateOptions,
  apportion,
  stratifiedSample,
} from "./data/allocate.ts";
export { hashHex, hashImages } from "./data/hash.ts";
export { type SampleGridOptions, sampleGridSvg } from "./data/sample_grid.ts";
