/**
 * Reading one notMNIST archive (a `.tar.gz` or an extracted folder) into an
 * {@link ImageSet}, with a decoded cache that is reloaded while the source is
 * unchanged.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, dirname, join, relative, resolve } from "node:path";
import { gunzipFile } from "../deps/gzip.ts";
import { tarEntries, type TarFileEntry } from "../deps/tar_reader.ts";
import { DecodePool } from "./decode_pool.ts";
import { duplicatePathReason, pathKey, PathTally } from "./duplicate_paths.ts";
import { listedName } from "./entry_listing.ts";
import { EmptyArchiveError } from "./errors.ts";
import type { DecodedBatch, RawBatch } from "./decode_batch.ts";
import { readCache, writeCache } from "./cache.ts";
import {
  type ArchiveSource,
  type DecodedArchive,
  type ImageSet,
  type Letter,
  LETTERS,
  PIXELS,
  type SkippedFile,
} from "./types.ts";

export type { ArchiveSource, DecodedArchive, SkippedFile };

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

/**
 * Largest entry read from an archive: 1 MiB (a notMNIST image is under 2 KiB).
 * Larger entries are skipped with their declared size, drained unread.
 */
export const MAX_ENTRY_BYTES = 1 << 20;

/** Longest file name (last path part) of an image, in UTF-8 bytes: 255 (`NAME_MAX`). */
export const MAX_FILE_NAME_BYTES = 255;

/**
 * The class of an entry named `<root>/<letter>/<file>`: the index of the letter
 * folder (A..J), or `null` when the path does not have that shape (see
 * {@link entryPathProblem} for the reason).
 */
export function letterOf(path: string): number | null {
  const parts = path.replace(/^(\.\/)+/, "").split("/");
  if (parts.length !== 3) return null;
  const idx = (LETTERS as readonly string[]).indexOf(parts[1]);
  return idx >= 0 ? idx : null;
}

/**
 * Why the entry `path` of an archive whose root folder is `root` cannot be
 * labelled, or `null` when it sits directly in a letter folder:
 * `<root>/<A-J>/<file>` (a leading `./` is ignored). Absolute paths, paths
 * with `..`, paths outside `root`, paths with no letter folder and files
 * nested deeper are refused, so no entry gets a label from a path an
 * extractor would write elsewhere.
 */
export function entryPathProblem(path: string, root: string): string | null {
  const expected = `expected ${root}/<A-J>/<file>`;
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) return `control character in the path (${expected})`;
  if (/^([/\\]|[A-Za-z]:)/.test(path)) return `absolute path (${expected})`;
  const parts = path.replace(/^(\.\/)+/, "").split("/");
  if (parts.includes("..")) return `path contains ".." (${expected})`;
  if (parts[0] !== root) return `outside the archive's root folder ${root}/ (${expected})`;
  if (parts.length > 3) return `not directly in a letter folder (${expected})`;
  if (parts.length < 3 || letterOf(path) === null) {
    return `no class folder (A..J) in its path (${expected})`;
  }
  if (parts[2] === "" || parts[2] === ".") return `no file name (${expected})`;
  const bytes = new TextEncoder().encode(parts[2]).length;
  if (bytes > MAX_FILE_NAME_BYTES) {
    return `file name of ${bytes} bytes, over the ${MAX_FILE_NAME_BYTES} allowed (NAME_MAX)`;
  }
  return null;
}

/**
 * The root folder an archive's entries must sit in: the archive's name
 * without `.tar.gz` / `.tgz` (`notMNIST_small.tar.gz` -> `notMNIST_small`), or
 * the folder's own name.
 */
export function archiveRoot(path: string): string {
  return basename(resolve(path)).replace(/\.(tar\.gz|tgz)$/, "");
}

/** A fresh per-letter counter, all zeros. */
export function letterCounts(): Record<Letter, number> {
  return Object.fromEntries(LETTERS.map((l) => [l, 0])) as Record<Letter, number>;
}

/** One non-directory entry: its bytes, or why they were not read. */
interface RawFile {
  name: string;
  bytes: Uint8Array;
  /** Why the entry is skipped before decoding (a link, a device, too large), else null. */
  skip: string | null;
  /** Why its tar headers cannot be used (e.g. a name over 4 KiB): skipped before its path is read. */
  header?: string | null;
}

function mib(n: number): string {
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

function oversizedReason(size: number): string {
  return `declared size ${size} bytes (${mib(size)}), over the ${mib(MAX_ENTRY_BYTES)} ` +
    `allowed for one image; drained unread`;
}

/** Why a tar entry that is not a readable regular file is skipped, else null. */
function tarSkipReason(e: TarFileEntry): string | null {
  switch (e.type) {
    case "file":
      return e.oversized ? oversizedReason(e.size) : null;
    case "symlink":
      return `symbolic link to ${listedName(e.linkName)} (links are not followed)`;
    case "link":
      return `hard link to ${listedName(e.linkName)} (links are not followed)`;
    case "character-device":
      return "character device (not a regular file)";
    case "block-device":
      return "block device (not a regular file)";
    case "fifo":
      return "FIFO (not a regular file)";
    default:
      return `tar entry of type '${e.typeFlag}' (not a regular file)`;
  }
}

async function statSource(path: string): Promise<ArchiveSource> {
  const abs = resolve(path);
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(abs);
  } catch (err) {
    throw new Error(`notMNIST archive ${abs} cannot be read: ${(err as Error).message}`);
  }
  if (st.isFile) {
    if (!abs.endsWith(".tar.gz") && !abs.endsWith(".tgz")) {
      throw new Error(`notMNIST archive ${abs}: expected a .tar.gz file or an extracted folder`);
    }
    return {
      path: abs,
      kind: "tar.gz",
      bytes: st.size,
      mtimeMs: st.mtime?.getTime() ?? 0,
      files: 0,
      sha256: null,
    };
  }
  let files = 0;
  const bytes = 0;
  let mtimeMs = st.mtime?.getTime() ?? 0;
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) {
        const ds = await Deno.stat(p);
        mtimeMs = Math.max(mtimeMs, ds.mtime?.getTime() ?? 0);
        await walk(p);
      } else {
        files++; // regular files, links, devices, FIFOs: as counted when decoding
      }
    }
  };
  await walk(abs);
  // Folder identity: file count and folder mtimes (adding/removing files changes them);
  // total bytes would need one stat per file, so it is not part of the identity.
  return { path: abs, kind: "folder", bytes, mtimeMs, files, sha256: null };
}

/** Reads a regular file of at most {@link MAX_ENTRY_BYTES}; larger ones are not read. */
async function readLimited(p: string): Promise<{ bytes: Uint8Array; skip: string | null }> {
  using f = await Deno.open(p);
  const size = (await f.stat()).size;
  if (size > MAX_ENTRY_BYTES) return { bytes: new Uint8Array(0), skip: oversizedReason(size) };
  const buf = new Uint8Array(size);
  let o = 0;
  while (o < size) {
    const n = await f.read(buf.subarray(o));
    if (n === null) break;
    o += n;
  }
  return { bytes: buf.subarray(0, o), skip: null };
}

/** Why a folder entry that is not a regular file is skipped (links are not followed). */
async function folderSkipReason(p: string): Promise<string> {
  const st = await Deno.lstat(p);
  if (st.isSymlink) {
    const target = await Deno.readLink(p).catch(() => "?");
    return `symbolic link to ${listedName(target)} (links are not followed)`;
  }
  if (st.isCharDevice) return "character device (not a regular file)";
  if (st.isBlockDevice) return "block device (not a regular file)";
  if (st.isFifo) return "FIFO (not a regular file)";
  if (st.isSocket) return "socket (not a regular file)";
  return "not a regular file";
}

async function* folderFiles(root: string): AsyncGenerator<RawFile> {
  const base = dirname(root);
  const walk = async function* (dir: string): AsyncGenerator<Deno.DirEntry & { path: string }> {
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory) yield* walk(p);
      else yield { ...e, path: p };
    }
  };
  const window: Promise<RawFile>[] = [];
  const read = async (e: Deno.DirEntry & { path: string }): Promise<RawFile> => {
    const name = relative(base, e.path).split("\\").join("/");
    try {
      if (!e.isFile) {
        return { name, bytes: new Uint8Array(0), skip: await folderSkipReason(e.path) };
      }
      return { name, ...(await readLimited(e.path)) };
    } catch (err) {
      // e.g. a name that is not UTF-8: Deno lists it with U+FFFD and cannot open it by that name
      const why = name.includes("\ufffd") ? "; its name is not valid UTF-8" : "";
      return {
        name,
        bytes: new Uint8Array(0),
        skip: `cannot be opened${why} (${(err as Error).name})`,
      };
    }
  };
  for await (const e of walk(root)) {
    window.push(read(e));
    if (window.length >= 64) yield await window.shift()!;
  }
  while (window.length > 0) yield await window.shift()!;
}

async function* tarGzFiles(
  path: string,
  onDigest: (hex: string) => void,
): AsyncGenerator<RawFile> {
  const file = await Deno.open(path);
  const sha = createHash("sha256");
  const tar = gunzipFile(file, (chunk) => sha.update(chunk));
  try {
    for await (const e of tarEntries(tar, { maxBodyBytes: MAX_ENTRY_BYTES })) {
      if (e.problem !== null) yield { name: e.name, bytes: e.bytes, skip: null, header: e.problem };
      else if (e.type !== "directory") {
        yield { name: e.name, bytes: e.bytes, skip: tarSkipReason(e) };
      }
    }
  } catch (err) {
    throw new Error(`${path}: not a readable .tar.gz (${(err as Error).message})`);
  }
  onDigest(sha.digest("hex"));
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

/** Largest archive the decoder accepts: 5,000,000 images (3.9 GB of pixels). */
const MAX_IMAGES = 5_000_000;

/**
 * Collects decoded batches in order into one growing pixel buffer. The buffer is
 * a resizable `ArrayBuffer` that grows in place, so the full set is never held
 * twice (a grow-and-copy array would need 1.5-2x the final size at its peak).
 */
class Collector {
  #buf = new ArrayBuffer(0, { maxByteLength: MAX_IMAGES * PIXELS });
  #labels: number[] = [];
  #hashes: number[] = [];
  names: string[] = [];
  count = 0;
  perLetter = letterCounts();

  add(r: DecodedBatch, names: string[], labels: number[], skipped: SkippedFile[]): void {
    const ok = r.images.byteLength / PIXELS;
    const need = (this.count + ok) * PIXELS;
    if (need > this.#buf.maxByteLength) {
      throw new Error(`archive holds more than ${MAX_IMAGES} images; not supported`);
    }
    if (need > this.#buf.byteLength) {
      // growing in place costs no copy, so grow in 32 MB steps, not by doubling
      this.#buf.resize(Math.min(this.#buf.maxByteLength, need + (32 << 20)));
    }
    new Uint8Array(this.#buf, this.count * PIXELS, ok * PIXELS).set(r.images);
    for (let i = 0; i < ok * 2; i++) this.#hashes.push(r.hashes[i]);
    for (let i = 0; i < r.reasons.length; i++) {
      const reason = r.reasons[i];
      if (reason !== null) {
        skipped.push({ path: listedName(names[i]), reason });
        continue;
      }
      this.#labels.push(labels[i]);
      this.names.push(names[i]);
      this.perLetter[LETTERS[labels[i]]]++;
    }
    this.count += ok;
  }

  /**
   * Removes the images whose path is in `repeated` (keeping the others in
   * order, pixels moved in place) and lists each of them in `skipped`.
   */
  dropPaths(repeated: ReadonlyMap<string, number>, skipped: SkippedFile[]): void {
    const pixels = new Uint8Array(this.#buf);
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const n = repeated.get(pathKey(this.names[i]));
      if (n !== undefined) {
        skipped.push({ path: listedName(this.names[i]), reason: duplicatePathReason(n) });
        this.perLetter[LETTERS[this.#labels[i]]]--;
        continue;
      }
      if (kept !== i) {
        pixels.copyWithin(kept * PIXELS, i * PIXELS, (i + 1) * PIXELS);
        this.#labels[kept] = this.#labels[i];
        this.#hashes[2 * kept] = this.#hashes[2 * i];
        this.#hashes[2 * kept + 1] = this.#hashes[2 * i + 1];
        this.names[kept] = this.names[i];
      }
      kept++;
    }
    this.count = kept;
    this.#labels.length = kept;
    this.#hashes.length = 2 * kept;
    this.names.length = kept;
  }

  finish(): { set: ImageSet; hashes: Uint32Array } {
    // Shrink in place and keep the (resizable) buffer: transferToFixedLength()
    // may copy, which would briefly hold the whole set twice.
    this.#buf.resize(this.count * PIXELS);
    const images = new Uint8Array(this.#buf, 0, this.count * PIXELS);
    return {
      set: { images, labels: Uint8Array.from(this.#labels), count: this.count },
      hashes: Uint32Array.from(this.#hashes),
    };
  }
}

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
