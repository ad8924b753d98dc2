/**
 * The train/valid/test splits of the two protocols, and grouped folds for
 * cross-validation. Each protocol's splits are built in `split_protocols.ts`,
 * from the archives loaded by `split_sources.ts`.
 *
 * @module
 */
import { deriveSeed } from "../utils/rng.ts";
import { SEED_STREAMS } from "../utils/seed_streams.ts";
import { allocateGroups, apportion } from "./allocate.ts";
import { type DecodedArchive, letterCounts, type SkippedFile } from "./archive.ts";
import { subset } from "./batch.ts";
import { MissingLettersError } from "./errors.ts";
import { protocolSplitChecks, requireSplits } from "./split_guard.ts";
import { stratifiedSubset } from "./subset.ts";
import { labSplits, SMALL_FRACTIONS, smallSplits } from "./split_protocols.ts";
import { load, type Loaded, locate } from "./split_sources.ts";
import { type DuplicateGroups, type DuplicateStats, duplicateStats } from "./groups.ts";
import { type ArchiveName, findArchive, resolveCacheDir, resolveDataDir } from "./paths.ts";
import {
  type ImageSet,
  type Letter,
  LETTERS,
  NUM_CLASSES,
  type Protocol,
  PROTOCOL_CHOICES,
  type ProtocolChoice,
} from "./types.ts";

export { SMALL_FRACTIONS };

/** Default split seed; independent of any training seed. */
export const DEFAULT_SPLIT_SEED = 20110908;

/** Default size of the `lab` protocol's validation split (taken from notMNIST_large). */
export const DEFAULT_LAB_VALID_SIZE = 10_000;

/** Options of {@link loadSplits}. */
export interface LoadSplitsOptions {
  /**
   * Folder holding `notMNIST_{small,large}.tar.gz` or extracted `notMNIST_small/`
   * folders. Default: {@link resolveDataDir} (env `NOTMNIST_DIR`, else the
   * per-user cache folder).
   */
  dataDir?: string;
  /**
   * Where decoded caches go. Default: env `NOTMNIST_CACHE`, else `<dataDir>/.cache`
   * when writable, else the per-user cache folder.
   */
  cacheDir?: string;
  /** `lab`, `small`, or `auto` (default): `lab` when notMNIST_large is present, else `small`. */
  protocol?: ProtocolChoice;
  /** Split seed (default {@link DEFAULT_SPLIT_SEED}); independent of training seeds. */
  seed?: number;
  /**
   * Keep only the seeded, class-stratified subset of this many training images
   * ({@link stratifiedSubset}, the grader's profiles use the same function).
   */
  trainSize?: number;
  /**
   * Seed of the `trainSize` subset (default: the split seed). Pass the training
   * seed to draw the grader's subset: the grader seeds it with the grading seed.
   */
  subsetSeed?: number;
  /** `lab` only: images in the validation split (default {@link DEFAULT_LAB_VALID_SIZE}). */
  validSize?: number;
  /**
   * Remove exact duplicates from valid and test (default true): each distinct
   * image counts once in a split, and (`lab`) test/valid images that also occur
   * in training data are removed.
   */
  sanitize?: boolean;
  /** Download missing archives from the official URLs (default false). */
  download?: boolean;
  /**
   * Accept an archive in which some letters have no readable image (a warning
   * is logged instead). Default false: {@link MissingLettersError}, since a
   * 10-class model would be trained or graded on fewer classes. `deno task
   * data` sets it to show what such an archive holds.
   */
  allowMissingLetters?: boolean;
  /** Decode workers (default: CPU count - 1, at most 4; see defaultWorkers). */
  workers?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Counts per letter. */
export type LetterCounts = Record<Letter, number>;

/** One archive used by a split. */
export interface SourceSummary {
  /** `small` or `large`. */
  archive: ArchiveName;
  /** Absolute path. */
  path: string;
  /** `tar.gz` or `folder`. */
  kind: "tar.gz" | "folder";
  /** Size in bytes. */
  bytes: number;
  /** SHA-256 of the `.tar.gz` (null for a folder). */
  sha256: string | null;
  /** Readable images. */
  images: number;
  /** Whether the images came from the decoded cache. */
  fromCache: boolean;
  /** Duplicate structure of the archive. */
  duplicates: DuplicateStats;
}

/** What a split holds and how it was made (JSON-serialisable). */
export interface SplitSummary {
  /** The protocol. */
  protocol: Protocol;
  /** The split seed. */
  seed: number;
  /** Whether valid/test were sanitized. */
  sanitize: boolean;
  /** Images per split. */
  sizes: { train: number; valid: number; test: number };
  /** Images per letter per split. */
  perClass: { train: LetterCounts; valid: LetterCounts; test: LetterCounts };
  /** Duplicate handling. */
  duplicates: {
    /** Copies dropped because another copy of the same image is in the same split (sanitize). */
    withinRemoved: { valid: number; test: number };
    /** Images dropped because a copy is in an earlier split (valid vs train, test vs train/valid). */
    acrossRemoved: { valid: number; test: number };
    /** Images of groups with conflicting labels, and where they went. */
    conflicting: { images: number; placement: string };
    /** Images of the archive(s) that are in no split (the sum of the counts above and, with trainSize, the unsampled ones). */
    unused: number;
  };
  /** Training images before the `trainSize` subsample (equal to sizes.train without one). */
  trainBeforeSubsample: number;
  /** Skipped files of every archive used. */
  skipped: (SkippedFile & { archive: ArchiveName })[];
  /** The archives used. */
  sources: SourceSummary[];
}

/** The three splits. */
export interface DataSplits {
  /** The protocol used. */
  protocol: Protocol;
  /** Training images. */
  train: ImageSet;
  /** Validation images. */
  valid: ImageSet;
  /** Test images. */
  test: ImageSet;
  /** Sizes, counts and provenance (JSON-serialisable). */
  summary: SplitSummary;
}

/** The letters with no readable image in an archive, in label order. */
export function missingLetters(archive: DecodedArchive): Letter[] {
  return LETTERS.filter((l) => archive.perLetter[l] === 0);
}

/** Throws {@link MissingLettersError} (or logs a warning when `allow`) for an archive lacking letters. */
function requireAllLetters(l: Loaded, allow: boolean, log: (l: string) => void): void {
  const missing = missingLetters(l.archive);
  if (missing.length === 0) return;
  const err = new MissingLettersError(l.archive.source.path, missing);
  if (!allow) throw err;
  log(`warning: ${err.message}`);
}

function countLetters(set: ImageSet): LetterCounts {
  const c = letterCounts();
  for (let i = 0; i < set.count; i++) c[LETTERS[set.labels[i]]]++;
  return c;
}

function sourceSummary(l: Loaded): SourceSummary {
  const a = l.archive;
  return {
    archive: l.name,
    path: a.source.path,
    kind: a.source.kind,
    bytes: a.source.bytes,
    sha256: a.source.sha256,
    images: a.set.count,
    fromCache: a.fromCache,
    duplicates: duplicateStats(a.set, l.groups),
  };
}

/**
 * Loads the splits of a protocol.
 *
 * `small` (notMNIST_small alone): exact-duplicate images are grouped so all
 * copies of an image land in the same split; the groups are assigned to a
 * seeded, class-stratified 80/10/10 split whose valid/test class counts are
 * exactly on target (largest-remainder quotas of 10% of each class). With
 * `sanitize` (default) only images that have no exact copy anywhere in the set
 * are eligible for valid and test, so every duplicate group - the 254 blank
 * "I" images and the two conflicting-label groups included - goes to train
 * with all its copies, and no image is dropped. Without `sanitize` any group
 * that fits the remaining quota may go to valid/test with all its copies.
 *
 * `lab` (notMNIST_large present): train/valid are a grouped, class-stratified
 * split of notMNIST_large (valid: `validSize` single-copy images with
 * `sanitize`); test is notMNIST_small without the images that also occur in
 * large (`acrossRemoved`), one copy per duplicate group (`withinRemoved`), and
 * without conflicting-label groups.
 *
 * Throws {@link MissingLettersError} when an archive has no readable image of
 * some letter (unless `allowMissingLetters`), the archive loader's
 * `EmptyArchiveError` when it has none at all, and `EmptySplitError` when a
 * split would be empty (e.g. every image has an exact copy, so sanitize leaves
 * none for valid and test) or, unless `allowMissingLetters`, would lack a
 * letter (training split before any `trainSize` subsample).
 */
export async function loadSplits(opts: LoadSplitsOptions = {}): Promise<DataSplits> {
  const log = opts.log ?? (() => {});
  const dataDir = resolveDataDir(opts.dataDir);
  const cacheDir = await resolveCacheDir(dataDir, opts.cacheDir);
  const seed = opts.seed ?? DEFAULT_SPLIT_SEED;
  const sanitize = opts.sanitize ?? true;
  if (!Number.isInteger(seed)) throw new Error(`loadSplits: seed must be an integer, got ${seed}`);
  if (opts.trainSize !== undefined && !(Number.isInteger(opts.trainSize) && opts.trainSize > 0)) {
    throw new Error(`loadSplits: trainSize must be a positive integer, got ${opts.trainSize}`);
  }
  const requested = opts.protocol ?? "auto";
  if (!PROTOCOL_CHOICES.includes(requested)) {
    throw new Error(`loadSplits: protocol must be "auto", "lab" or "small", got "${requested}"`);
  }
  const smallPath = await locate(dataDir, "small", opts.download ?? false, log);
  if (!smallPath) {
    throw new Error(
      `notMNIST_small not found in ${dataDir}: expected notMNIST_small.tar.gz or a ` +
        `notMNIST_small/ folder (set --data-dir or NOTMNIST_DIR, or pass --download)`,
    );
  }
  let largePath: string | null = null;
  if (requested !== "small") {
    largePath = await locate(
      dataDir,
      "large",
      requested === "lab" && (opts.download ?? false),
      log,
    );
    if (requested === "lab" && !largePath) {
      throw new Error(
        `protocol "lab" needs notMNIST_large in ${dataDir} (notMNIST_large.tar.gz or a ` +
          `notMNIST_large/ folder); pass --download to fetch it, or use --protocol small`,
      );
    }
  }
  const protocol: Protocol = largePath ? "lab" : "small";
  const small = await load(smallPath, "small", cacheDir, opts.workers, log);
  requireAllLetters(small, opts.allowMissingLetters ?? false, log);
  const large = largePath ? await load(largePath, "large", cacheDir, opts.workers, log) : null;
  if (large) requireAllLetters(large, opts.allowMissingLetters ?? false, log);
  const made = large
    ? labSplits(large, small, seed, sanitize, opts.validSize ?? DEFAULT_LAB_VALID_SIZE)
    : smallSplits(small, seed, sanitize);
  const checks = protocolSplitChecks(made, small, large, sanitize);
  requireSplits(checks, protocol, opts.allowMissingLetters ?? false, log);
  let train = made.train;
  const trainBefore = train.count;
  if (opts.trainSize !== undefined) {
    train = stratifiedSubset(train, opts.trainSize, opts.subsetSeed ?? seed);
  }
  const loaded = large ? [small, large] : [small];
  const total = loaded.reduce((s, l) => s + l.archive.set.count, 0);
  const summary: SplitSummary = {
    protocol,
    seed,
    sanitize,
    sizes: { train: train.count, valid: made.valid.count, test: made.test.count },
    perClass: {
      train: countLetters(train),
      valid: countLetters(made.valid),
      test: countLetters(made.test),
    },
    duplicates: {
      withinRemoved: made.withinRemoved,
      acrossRemoved: made.acrossRemoved,
      conflicting: made.conflicting,
      unused: total - train.count - made.valid.count - made.test.count,
    },
    trainBeforeSubsample: trainBefore,
    skipped: loaded.flatMap((l) => l.archive.skipped.map((s) => ({ ...s, archive: l.name }))),
    sources: loaded.map(sourceSummary),
  };
  return { protocol, train, valid: made.valid, test: made.test, summary };
}

/** Options of {@link groupedFolds}. */
export interface GroupedFoldsOptions {
  /** Data folder (see {@link LoadSplitsOptions.dataDir}). */
  dataDir?: string;
  /** Cache folder (see {@link LoadSplitsOptions.cacheDir}). */
  cacheDir?: string;
  /** Number of folds, at least 2. */
  k: number;
  /** Fold seed (default {@link DEFAULT_SPLIT_SEED}). */
  seed?: number;
  /** Decode workers. */
  workers?: number;
  /** Progress lines. */
  log?: (l: string) => void;
}

/**
 * `k` grouped, class-stratified folds over the whole of notMNIST_small, for
 * k-fold cross-validation, built like the `small` protocol: images with exact
 * copies in the set (duplicate groups, conflicting-label groups included) are
 * never tested and sit in every fold's `train`; the single-copy images are
 * dealt to the folds, class-stratified and seeded. Fold i's `test` is its share
 * of them; its `train` is everything else.
 */
export async function groupedFolds(
  opts: GroupedFoldsOptions,
): Promise<{ train: ImageSet; test: ImageSet }[]> {
  const log = opts.log ?? (() => {});
  if (!(Number.isInteger(opts.k) && opts.k >= 2)) {
    throw new Error(`groupedFolds: k must be an integer >= 2, got ${opts.k}`);
  }
  const dataDir = resolveDataDir(opts.dataDir);
  const cacheDir = await resolveCacheDir(dataDir, opts.cacheDir);
  const path = await findArchive(dataDir, "small");
  if (!path) throw new Error(`notMNIST_small not found in ${dataDir}`);
  const small = await load(path, "small", cacheDir, opts.workers, log);
  requireAllLetters(small, false, log);
  const folds = foldsOf(small.archive.set, small.groups, opts.k, opts.seed ?? DEFAULT_SPLIT_SEED);
  const expected = `a 1/${opts.k} share of the images with no exact copy in the archive`;
  const tests = folds.map((f) => ({ split: "test" as const, set: f.test, path, expected }));
  requireSplits(tests, "small", true, log); // a fold may lack a letter, not be empty
  return folds;
}

/** The folds of {@link groupedFolds} for an already loaded set and its groups. */
export function foldsOf(
  set: ImageSet,
  g: DuplicateGroups,
  k: number,
  seed: number,
): { train: ImageSet; test: ImageSet }[] {
  const single = (id: number) => g.starts[id + 1] - g.starts[id] === 1;
  const perClass = new Array(NUM_CLASSES).fill(0);
  for (let id = 0; id < g.count; id++) if (single(id)) perClass[g.label[id]]++;
  const targets: number[][] = Array.from({ length: k }, () => new Array(NUM_CLASSES).fill(0));
  for (let c = 0; c < NUM_CLASSES; c++) {
    const parts = apportion(perClass[c], new Array(k).fill(1));
    // rotate so that the remainders do not all go to the first folds
    for (let f = 0; f < k; f++) targets[(f + c) % k][c] = parts[f];
  }
  const assign = allocateGroups(g, {
    targets,
    weight: () => 1,
    eligible: single,
    seed: deriveSeed(seed, SEED_STREAMS.folds),
    overflow: "fill",
  });
  const folds: { train: ImageSet; test: ImageSet }[] = [];
  for (let f = 0; f < k; f++) {
    const test: number[] = [];
    const train: number[] = [];
    for (let id = 0; id < g.count; id++) {
      if (assign[id] === f) test.push(g.members[g.starts[id]]);
      else for (let i = g.starts[id]; i < g.starts[id + 1]; i++) train.push(g.members[i]);
    }
    test.sort((a, b) => a - b);
    train.sort((a, b) => a - b);
    folds.push({ train: subset(set, train), test: subset(set, test) });
  }
  return folds;
}
