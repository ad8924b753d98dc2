/**
 * Reading one notMNIST archive (a `.tar.gz` or an extracted folder) into an
 * `ImageSet`, with a decoded cache that is reloaded while the source is
 * unchanged. The source is walked by `archive_walk.ts`, entry paths are
 * checked by `entry_paths.ts` and decoded images gathered by
 * `image_collector.ts`.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { DecodePool } from "./decode_pool.ts";
import { PathTally } from "./duplicate_paths.ts";
import { listedName } from "./entry_listing.ts";
import { EmptyArchiveError } from "./errors.ts";
import type { DecodedBatch, RawBatch } from "./decode_batch.ts";
import { readCache, writeCache } from "./cache.ts";
import { folderFiles, MAX_ENTRY_BYTES, statSource, tarGzFiles } from "./archive_walk.ts";
import { archiveRoot, entryPathProblem, letterOf, MAX_FILE_NAME_BYTES } from "./entry_paths.ts";
import { Collector, letterCounts } from "./image_collector.ts";
import { type ArchiveSource, type DecodedArchive, LETTERS, type SkippedFile } from "./types.ts";

export type { ArchiveSource, DecodedArchive, SkippedFile };
export {
  archiveRoot,
  entryPathProblem,
  letterCounts,
  letterOf,
  MAX_ENTRY_BYTES,
  MAX_FILE_NAME_BYTES,
};

/** Options of {@link loadArchive}. */
export interface LoadArchiveOptions {
  /** Folder for the decoded cache; `null` disables caching. Default: no cache. */
  cacheDir?: string | null;
  /** Decode workers; 0 decodes on the calling thread. Default: {@link defaultWorkers}. */
  workers?: number;
  /** Ignore an existing cache and decode again. */
  refresh?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

const BATCH_FILES = 1024;
/** Bytes of raw files per decode batch (a batch ends at whichever limit comes first). */
const BATCH_BYTES = 8 << 20;

/**
 * Decodes archive `path` (a `notMNIST_*.tar.gz` or an extracted `notMNIST_*`
 * folder with `<letter>/<file>.png` inside), or reloads its cache. Each file's
 * label is its letter folder: entries must be named `<root>/<A-J>/<file>`,
 * where `<root>` is the archive's name without `.tar.gz` (see
 * {@link entryPathProblem}). Every other entry is skipped and listed with the
 * reason: other paths, links, devices and FIFOs, entries over
 * {@link MAX_ENTRY_BYTES} (drained unread, so memory stays bounded whatever an
 * archive declares), and files that are empty, not PNG, corrupt, not 28x28 or
 * not 8-bit grayscale. Throws {@link EmptyArchiveError} when no image is
 * readable.
 */
export async function loadArchive(
  path: string,
  opts: LoadArchiveOptions = {},
): Promise<DecodedArchive> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const source = await statSource(path);
  const cacheDir = opts.cacheDir ?? null;
  const cachePath = cacheDir === null ? null : cachePrefix(cacheDir, source.path);
  const cacheNotes: string[] = [];
  const seconds = () => (performance.now() - t0) / 1000;
  if (cachePath !== null && !opts.refresh) {
    const read = await readCache(cachePath, source);
    if (read.cached) {
      const cacheState = "reloaded";
      return {
        ...read.cached,
        cachePath,
        fromCache: true,
        cacheState,
        cacheNotes,
        seconds: seconds(),
      };
    }
    if (read.note !== null) {
      log(`note: ${read.note}`);
      cacheNotes.push(read.note);
    }
  }
  const decoded = await decodeSource(source, opts.workers ?? defaultWorkers(), log);
  let cacheState: DecodedArchive["cacheState"] = cachePath === null ? "off" : "written";
  if (cachePath !== null) {
    try {
      await writeCache(cachePath, decoded);
    } catch (err) {
      const note = `could not write the cache ${cachePath}: ${(err as Error).message}`;
      log(`warning: ${note}`);
      cacheNotes.push(note);
      cacheState = "unwritten";
    }
  }
  return { ...decoded, cachePath, fromCache: false, cacheState, cacheNotes, seconds: seconds() };
}

/**
 * Default number of decode workers: one less than the CPU count (the reading
 * thread also decodes when the workers are busy), at most 4; 0 on one CPU.
 */
export function defaultWorkers(): number {
  return Math.max(0, Math.min(4, (navigator.hardwareConcurrency || 1) - 1));
}

function cachePrefix(cacheDir: string, sourcePath: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < sourcePath.length; i++) {
    h = Math.imul(h ^ sourcePath.charCodeAt(i), 0x01000193);
  }
  return join(
    resolve(cacheDir),
    `${basename(sourcePath)}-${(h >>> 0).toString(16).padStart(8, "0")}`,
  );
}

type Decoded = Omit<
  DecodedArchive,
  "cachePath" | "fromCache" | "seconds" | "cacheState" | "cacheNotes"
>;

/**
 * Most skipped entries an archive may have: 100,000 (notMNIST_small has 2). An
 * archive of millions of unusable entries (each costs 512 bytes of a gzip
 * stream that compresses them 1000:1) would otherwise fill memory with the
 * list of them; it is refused instead.
 */
export const MAX_SKIPPED = 100_000;

async function decodeSource(
  source: ArchiveSource,
  workers: number,
  log: (line: string) => void,
): Promise<Decoded> {
  const pool = new DecodePool(workers);
  // With workers, the reading thread decodes a batch itself when they are all busy.
  const inlineWhenBusy = workers;
  const skipped: SkippedFile[] = [];
  const filesPerLetter = letterCounts();
  const out = new Collector();
  interface Job {
    names: string[];
    labels: number[];
    result: Promise<DecodedBatch>;
    done: DecodedBatch | null;
  }
  const jobs: Job[] = [];
  let names: string[] = [];
  let labels: number[] = [];
  let bytes: Uint8Array[] = [];
  let batchBytes = 0;
  let seq = 0;
  let files = 0;
  let totalBytes = 0;
  const collectReady = () => {
    while (jobs.length > 0 && jobs[0].done) {
      const j = jobs.shift()!;
      out.add(j.done!, j.names, j.labels, skipped);
    }
  };
  const flush = async () => {
    if (names.length === 0) return;
    let size = 0;
    for (const b of bytes) size += b.byteLength;
    const blob = new Uint8Array(size);
    const offsets = new Uint32Array(bytes.length + 1);
    let o = 0;
    for (let i = 0; i < bytes.length; i++) {
      blob.set(bytes[i], o);
      o += bytes[i].byteLength;
      offsets[i + 1] = o;
    }
    const batch: RawBatch = { seq: seq++, blob, offsets };
    const job: Job = { names, labels, result: pool.decode(batch, inlineWhenBusy), done: null };
    job.result.then((r) => (job.done = r), () => {});
    jobs.push(job);
    names = [];
    labels = [];
    bytes = [];
    batchBytes = 0;
    await pool.waitBelow(Math.max(2, workers * 4));
    collectReady();
  };
  let sha256: string | null = null;
  const iter = source.kind === "tar.gz"
    ? tarGzFiles(source.path, (hex) => (sha256 = hex))
    : folderFiles(source.path);
  const root = archiveRoot(source.path);
  const paths = new PathTally();
  try {
    for await (const f of iter) {
      files++;
      totalBytes += f.bytes.byteLength;
      const problem = f.header ?? entryPathProblem(f.name, root);
      if (problem !== null) {
        skipped.push({ path: listedName(f.name), reason: problem });
        if (skipped.length > MAX_SKIPPED) throw tooManySkipped(source.path, skipped);
        continue;
      }
      const label = letterOf(f.name)!;
      filesPerLetter[LETTERS[label]]++;
      paths.add(f.name);
      if (f.skip !== null) {
        skipped.push({ path: listedName(f.name), reason: f.skip });
        if (skipped.length > MAX_SKIPPED) throw tooManySkipped(source.path, skipped);
        continue;
      }
      names.push(f.name);
      labels.push(label);
      bytes.push(f.bytes);
      batchBytes += f.bytes.byteLength;
      if (names.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) await flush();
      if (skipped.length > MAX_SKIPPED) throw tooManySkipped(source.path, skipped);
      if (files % 100_000 === 0) log(`  ${files} files read`);
    }
    await flush();
    for (const j of jobs) j.done = await j.result;
    collectReady();
    if (paths.repeated.size > 0) out.dropPaths(paths.repeated, skipped);
    if (skipped.length > MAX_SKIPPED) throw tooManySkipped(source.path, skipped);
    const { set, hashes } = out.finish();
    const perLetter = out.perLetter;
    const outNames = out.names;
    skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (set.count === 0) throw emptyArchive(source.path, root, files, skipped);
    const src: ArchiveSource = {
      ...source,
      files,
      bytes: source.kind === "folder" ? totalBytes : source.bytes,
      sha256,
    };
    return {
      source: src,
      set,
      hashes,
      names: outNames,
      skipped,
      perLetter,
      filesPerLetter,
    };
  } finally {
    pool.close();
  }
}

function emptyArchive(
  path: string,
  root: string,
  files: number,
  skipped: SkippedFile[],
): EmptyArchiveError {
  const shown = skipped.slice(0, 3).map((s) => `${s.path}: ${s.reason}`);
  if (skipped.length > 3) shown.push(`... and ${skipped.length - 3} more`);
  return new EmptyArchiveError(
    path,
    `notMNIST archive ${path} holds no readable image: expected 28x28 8-bit grayscale PNGs ` +
      `named ${root}/<A-J>/<file>; found ${files} file${files === 1 ? "" : "s"}` +
      (shown.length > 0 ? `, all skipped (${shown.join("; ")})` : ""),
  );
}

function tooManySkipped(path: string, skipped: SkippedFile[]): Error {
  const shown = skipped.slice(0, 3).map((s) => `${s.path}: ${s.reason}`);
  return new Error(
    `notMNIST archive ${path}: more than ${MAX_SKIPPED} entries skipped, so it is not a notMNIST ` +
      `archive (first: ${shown.join("; ")})`,
  );
}
