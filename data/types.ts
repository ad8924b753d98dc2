/**
 * Shared data types and constants of the notMNIST pipeline.
 *
 * @module
 */

/** The ten classes, in label order: label 0 is "A", label 9 is "J". */
export const LETTERS = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"] as const;

/** A class letter. */
export type Letter = typeof LETTERS[number];

/** Image side in pixels. */
export const IMAGE_SIZE = 28;

/** Pixels per image (28 x 28). */
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;

/** Number of classes. */
export const NUM_CLASSES: number = LETTERS.length;

/**
 * A set of images kept as raw bytes: `images` is N x 784 uint8 (row-major,
 * 0..255 as stored in the PNGs), `labels` is N class indices 0..9. Pixels are
 * scaled to float32 only when a batch is built, so the full notMNIST_large
 * stays about 415 MB in memory instead of 1.6 GB.
 */
export interface ImageSet {
  /** N x 784 pixel bytes, row-major. */
  images: Uint8Array;
  /** N labels, 0..9 for A..J. */
  labels: Uint8Array;
  /** N, the number of images. */
  count: number;
}

/**
 * Data protocol. `lab`: train/valid from notMNIST_large, test = notMNIST_small
 * without duplicates of training/valid images. `small`: a grouped, stratified
 * 80/10/10 split of notMNIST_small alone.
 */
export type Protocol = typeof PROTOCOLS[number];

/** The data protocols (see {@link Protocol}). */
export const PROTOCOLS = ["lab", "small"] as const;

/** What a caller may ask for: a protocol, or `auto` (`lab` when notMNIST_large is present). */
export type ProtocolChoice = Protocol | "auto";

/** The protocol choices, in the order the help texts list them. */
export const PROTOCOL_CHOICES: readonly ProtocolChoice[] = [...PROTOCOLS, "auto"];

/** A file that was not used, and why. */
export interface SkippedFile {
  /** Path inside the archive, e.g. `notMNIST_small/A/xyz.png`. */
  path: string;
  /** Why it was skipped, e.g. `empty file (0 bytes)`. */
  reason: string;
}

/** Identity of an archive source, used to decide whether a cache is still valid. */
export interface ArchiveSource {
  /** Absolute path of the `.tar.gz` or folder. */
  path: string;
  /** `tar.gz` or an extracted `folder`. */
  kind: "tar.gz" | "folder";
  /** Size in bytes of the `.tar.gz` (for a folder: total bytes of its files). */
  bytes: number;
  /** Modification time (ms since the epoch) of the `.tar.gz`; for a folder the newest folder mtime. */
  mtimeMs: number;
  /**
   * Entries found that are not directories: regular files, links, devices and
   * FIFOs, skipped ones included, so `files` = readable images + skipped. For a
   * `.tar.gz` filled in when decoded.
   */
  files: number;
  /** SHA-256 (hex) of the `.tar.gz` file, computed while decoding; `null` for a folder. */
  sha256: string | null;
}

/** A decoded archive. */
export interface DecodedArchive {
  /** Where the images came from. */
  source: ArchiveSource;
  /**
   * The readable images, in archive order. `set.images` may be a view into a
   * larger (or resizable) buffer: use it through its own offset and length.
   */
  set: ImageSet;
  /** Content hash of each image: `2 * count` lanes (see data/hash.ts). */
  hashes: Uint32Array;
  /** Path inside the archive of each image. */
  names: string[];
  /** Files that were not used, with reasons. */
  skipped: SkippedFile[];
  /** Readable images per letter. */
  perLetter: Record<Letter, number>;
  /** Entries directly in each letter folder (`<root>/<letter>/<file>`), skipped ones included. */
  filesPerLetter: Record<Letter, number>;
  /** Cache file prefix (`.json` manifest + `.bin` data), or `null` when caching is off. */
  cachePath: string | null;
  /** Whether the images came from the cache. */
  fromCache: boolean;
  /**
   * What this call did with the cache: `off` (no cache folder), `reloaded`,
   * `written`, or `unwritten` (it could not be written, e.g. a read-only
   * folder: the archive was decoded and used without it; see `cacheNotes`).
   */
  cacheState: "off" | "reloaded" | "written" | "unwritten";
  /** Why an existing cache was not trusted (e.g. a checksum mismatch) or could not be written. */
  cacheNotes: string[];
  /** Seconds taken by this call. */
  seconds: number;
}
